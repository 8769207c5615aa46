#!/usr/bin/env bash
# Builds the JavaScript well_log model into a WebAssembly component with
# componentize-js (pinned in package.json, installed into ./node_modules),
# and prints its path.
set -euo pipefail
cd "$(dirname "$0")"

root=$(cd ../.. && pwd)
here=$(pwd)
out_dir="$root/target/guests/js"
out="$out_dir/well_log_js.wasm"
componentize_js="$here/node_modules/.bin/componentize-js"
wasi_wit="$here/node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12"

# Up to date: the output exists and no input is newer.
if [[ -f "$out" && -z "$(find model.js build.sh package-lock.json "$root/sdk/js" "$root/wit" -newer "$out" \
        -print -quit)" ]]; then
    echo "$out"
    exit 0
fi

for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool not found (Debian packages nodejs and npm)" >&2; exit 1; }
done

if [[ ! -x "$componentize_js" || package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "installing componentize-js (npm ci)" >&2
    npm ci --no-audit --no-fund >&2
fi

# The world: the SDK's (mlops:model's `predictor` plus wasi:filesystem, which
# the SDK reads artifacts with), with its dependencies beside it. The WASI
# WIT comes with jco, which componentize-js depends on.
wit=$(mktemp -d)
trap 'rm -rf "$wit"' EXIT
mkdir -p "$wit/deps"
cp "$root/sdk/js/wit/world.wit" "$wit/"
cp -r "$root/wit" "$wit/deps/mlops"
for package in filesystem io clocks; do
    cp -r "$wasi_wit/wasi-$package" "$wit/deps/"
done

mkdir -p "$out_dir"
# componentize-js maps the working folder to `/` while it loads the module,
# so run it from the repository root: model.js imports ../../sdk/js.
# `-d http fetch-event`: the host links no wasi:http.
(cd "$root" && "$componentize_js" examples/well_log_js/model.js --wit "$wit" -n predictor \
    -d http fetch-event -o "$out.tmp" >&2)
mv "$out.tmp" "$out"
echo "$out"
