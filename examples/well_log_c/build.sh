#!/usr/bin/env bash
# Builds the C well_log model into a WebAssembly component, and prints its
# path: mlops-host writes the C bindings for the contract, clang compiles
# them and model.c for wasm32-wasi (preview 1, reactor) against Debian's
# wasi-libc, and mlops-host turns the core module into a component (adapting
# its preview-1 imports to WASI 0.2 with its wasmtime's adapter).
# MLOPS_HOST names the mlops-host binary (`deploy` and `test` set it); else
# the one on PATH, else the repository's release build.
set -euo pipefail
cd "$(dirname "$0")"

root=$(cd ../.. && pwd)
out_dir="$root/target/guests/c"
out="$out_dir/well_log_c.wasm"
mlops_host=${MLOPS_HOST:-$(command -v mlops-host || echo "$root/target/release/mlops-host")}

need() {  # need <command> <where it comes from>
    command -v "$1" >/dev/null || { echo "build.sh: $1 not found ($2)" >&2; exit 1; }
}
need "$mlops_host" "build it with cargo build --release -p mlops-host, or set MLOPS_HOST"
need clang-19 "Debian packages clang-19, lld-19, wasi-libc and libclang-rt-19-dev-wasm32"
need wasm-ld-19 "Debian package lld-19"
[[ -f /usr/lib/wasm32-wasi/libc.a ]] || {
    echo "build.sh: wasi-libc not found in /usr/lib/wasm32-wasi (Debian package wasi-libc)" >&2
    exit 1
}

# Up to date: nothing to do.
if [[ -f "$out" && -z "$(find model.c "$mlops_host" -newer "$out" 2>/dev/null)" ]]; then
    echo "$out"
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out_dir"
# predictor.h, predictor.c and predictor_component_type.o (the world's type,
# so the core module needs no separate `embed` step).
"$mlops_host" guest bindings --lang c --world predictor --out-dir "$work" >/dev/null
clang-19 --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Wl,--strip-debug \
    -I "$work" -o "$work/core.wasm" model.c "$work/predictor.c" "$work/predictor_component_type.o"
"$mlops_host" guest componentize "$work/core.wasm" -o "$out" >/dev/null
echo "$out"
