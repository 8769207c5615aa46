#!/usr/bin/env bash
# Builds the model into a WebAssembly component, build/model.wasm, with
# componentize-js (pinned in package.json, installed into ./node_modules by
# `npm ci`), and prints its path.
set -euo pipefail
cd "$(dirname "$0")"

componentize_js=node_modules/.bin/componentize-js
wasi_wit=node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12

for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool not found (Debian packages nodejs and npm)" >&2; exit 1; }
done

if [[ ! -x "$componentize_js" || package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "installing componentize-js (npm ci)" >&2
    npm ci --no-audit --no-fund >&2
fi

# The world: `model` in wit-js/world.wit (mlops:model's `model`, which
# predicts and trains — `predictor` for a model without `training` — plus
# the WASI filesystem the SDK reads and writes artifacts with), its dependencies in deps/: the
# contract (wit/) and WASI 0.2.12's filesystem, io and clocks (from jco,
# which componentize-js depends on).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/deps"
cp wit-js/world.wit "$work/"
cp -r wit "$work/deps/mlops"
for package in filesystem io clocks; do
    cp -r "$wasi_wit/wasi-$package" "$work/deps/"
done

mkdir -p build
# componentize-js maps this folder to `/` while it loads model.js (which
# imports ./mlops-model.js). `-d http fetch-event`: the host links no wasi:http.
"$componentize_js" model.js --wit "$work" -n model -d http fetch-event -o build/model.wasm.tmp >&2
mv build/model.wasm.tmp build/model.wasm
echo "$(pwd)/build/model.wasm"
