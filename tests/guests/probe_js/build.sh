#!/usr/bin/env bash
# Builds the JavaScript probe model into target/guests/js/probe_js.wasm with
# the componentize-js examples/well_log_js pins (its node_modules), and
# prints its path. Skips the build when the output is newer than every input.
set -euo pipefail
cd "$(dirname "$0")"

root=$(cd ../../.. && pwd)
tools="$root/examples/well_log_js"
out_dir="$root/target/guests/js"
out="$out_dir/probe_js.wasm"
componentize_js="$tools/node_modules/.bin/componentize-js"
wasi_wit="$tools/node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12"

# Up to date: the output exists and no input is newer.
if [[ -f "$out" && -z "$(find model.js build.sh "$root/sdk/js" "$root/wit" -newer "$out" -print -quit)" ]]; then
    echo "$out"
    exit 0
fi

for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool not found (Debian packages nodejs and npm)" >&2; exit 1; }
done

if [[ ! -x "$componentize_js" || "$tools/package-lock.json" -nt "$tools/node_modules/.package-lock.json" ]]; then
    echo "installing componentize-js (npm ci in examples/well_log_js)" >&2
    (cd "$tools" && npm ci --no-audit --no-fund >&2)
fi

wit=$(mktemp -d)
trap 'rm -rf "$wit"' EXIT
mkdir -p "$wit/deps"
cp "$root/sdk/js/wit/world.wit" "$wit/"
cp -r "$root/wit" "$wit/deps/mlops"
for package in filesystem io clocks; do
    cp -r "$wasi_wit/wasi-$package" "$wit/deps/"
done

mkdir -p "$out_dir"
# componentize-js maps the working folder to `/` while it loads the module:
# run it from the repository root, since model.js imports ../../../sdk/js.
# `-d http fetch-event`: the host links no wasi:http.
(cd "$root" && "$componentize_js" tests/guests/probe_js/model.js --wit "$wit" -n predictor \
    -d http fetch-event -o "$out.tmp" >&2)
mv "$out.tmp" "$out"
echo "$out"
