#!/usr/bin/env bash
# Builds the ONNX runner (./runner: tract inside the component) into
# build/model.wasm and prints its path. CARGO_TARGET_DIR is honoured. The
# first build compiles tract: a few minutes.
set -euo pipefail
cd "$(dirname "$0")"

command -v cargo >/dev/null || { echo "build.sh: cargo not found (install Rust from https://rustup.rs)" >&2; exit 1; }
if command -v rustup >/dev/null; then
    rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
fi
target_dir=${CARGO_TARGET_DIR:-runner/target}
cargo build --quiet --profile guest --target wasm32-wasip2 --manifest-path runner/Cargo.toml \
    --target-dir "$target_dir"
mkdir -p build
cp "$target_dir/wasm32-wasip2/guest/mlops_onnx_runner.wasm" build/model.wasm.tmp
mv build/model.wasm.tmp build/model.wasm
echo "$(pwd)/build/model.wasm"
