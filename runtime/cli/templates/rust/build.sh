#!/usr/bin/env bash
# Builds the model into build/model.wasm (cargo, wasm32-wasip2, release) and
# prints its path. CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")"

command -v cargo >/dev/null || { echo "build.sh: cargo not found (install Rust from https://rustup.rs)" >&2; exit 1; }
if command -v rustup >/dev/null; then
    rustup target add wasm32-wasip2 >/dev/null 2>&1 || true
fi
target_dir=${CARGO_TARGET_DIR:-target}
cargo build --quiet --release --target wasm32-wasip2 --target-dir "$target_dir"
mkdir -p build
cp "$target_dir/wasm32-wasip2/release/{{model_name}}.wasm" build/model.wasm.tmp
mv build/model.wasm.tmp build/model.wasm
echo "$(pwd)/build/model.wasm"
