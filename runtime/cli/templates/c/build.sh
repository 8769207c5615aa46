#!/usr/bin/env bash
# Builds the model into a WebAssembly component, build/model.wasm, and
# prints its path: mlops-host writes the C bindings for wit/mlops.wit, clang
# compiles them and model.c for wasm32-wasi (preview 1, reactor) against
# Debian's wasi-libc, and mlops-host turns the core module into a component
# (adapting its preview-1 imports to WASI 0.2).
# MLOPS_HOST names the mlops-host binary if it is not on PATH.
set -euo pipefail
cd "$(dirname "$0")"

mlops_host=${MLOPS_HOST:-mlops-host}

need() {  # need <command> <where it comes from>
    command -v "$1" >/dev/null || { echo "build.sh: $1 not found ($2)" >&2; exit 1; }
}
need "$mlops_host" "put mlops-host on PATH, or set MLOPS_HOST to its path"
need clang-19 "Debian packages clang-19, lld-19, wasi-libc and libclang-rt-19-dev-wasm32"
need wasm-ld-19 "Debian package lld-19"
[[ -f /usr/lib/wasm32-wasi/libc.a ]] || {
    echo "build.sh: wasi-libc not found in /usr/lib/wasm32-wasi (Debian package wasi-libc)" >&2
    exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# predictor.h, predictor.c and predictor_component_type.o (the world's type,
# so the core module needs no separate `embed` step).
"$mlops_host" guest bindings --lang c --world predictor --out-dir "$work" >&2
clang-19 --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Wl,--strip-debug \
    -I "$work" -o "$work/core.wasm" model.c "$work/predictor.c" "$work/predictor_component_type.o"
mkdir -p build
"$mlops_host" guest componentize "$work/core.wasm" -o build/model.wasm.tmp >&2
mv build/model.wasm.tmp build/model.wasm
echo "$(pwd)/build/model.wasm"
