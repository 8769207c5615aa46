#!/usr/bin/env bash
# Builds the JavaScript model in the current folder (its `model.js`, against
# the SDK in sdk/js) into target/guests/js/<name>.wasm with componentize-js,
# and prints its path. componentize-js is pinned by
# examples/well_log_js/package-lock.json and installed into its
# node_modules. Skips the build when the output is newer than every input.
# The world is `predictor` unless given: `model` for a model that also
# trains.
#
#   cd <model folder> && ../../sdk/js/build-component.sh <name> [predictor|model]
set -euo pipefail
name="$1"
world="${2:-predictor}"
case "$world" in
    predictor|model) ;;
    *) echo "build: unknown world \`$world\` (predictor or model)" >&2; exit 2 ;;
esac
sdk=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$sdk/../.." && pwd)
here=$(pwd)
tools="$root/examples/well_log_js"
out_dir="$root/target/guests/js"
out="$out_dir/$name.wasm"
componentize_js="$tools/node_modules/.bin/componentize-js"
wasi_wit="$tools/node_modules/@bytecodealliance/jco/lib/wit/builtin/0.2.12"

# Up to date: the output exists and no input is newer.
if [[ -f "$out" && -z "$(find model.js build.sh "$tools/package-lock.json" "$sdk" "$root/wit" -newer "$out" \
        -not -path '*/node_modules/*' -print -quit)" ]]; then
    echo "$out"
    exit 0
fi

for tool in node npm; do
    command -v "$tool" >/dev/null || { echo "build: $tool not found (Debian packages nodejs and npm)" >&2; exit 1; }
done

if [[ ! -x "$componentize_js" || "$tools/package-lock.json" -nt "$tools/node_modules/.package-lock.json" ]]; then
    echo "installing componentize-js (npm ci in examples/well_log_js)" >&2
    (cd "$tools" && npm ci --no-audit --no-fund >&2)
fi

# The world: the SDK's (mlops:model's `predictor` plus wasi:filesystem, which
# the SDK reads artifacts with), with its dependencies beside it. The WASI
# WIT comes with jco, which componentize-js depends on.
wit=$(mktemp -d)
trap 'rm -rf "$wit"' EXIT
mkdir -p "$wit/deps"
cp "$sdk/wit/world.wit" "$wit/"
cp -r "$root/wit" "$wit/deps/mlops"
for package in filesystem io clocks; do
    cp -r "$wasi_wit/wasi-$package" "$wit/deps/"
done

mkdir -p "$out_dir"
# componentize-js maps the working folder to `/` while it loads the module,
# so run it from the repository root, where the model's relative import of
# the SDK resolves. `-d http fetch-event`: the host links no wasi:http.
(cd "$root" && "$componentize_js" "${here#"$root"/}/model.js" --wit "$wit" -n "$world" \
    -d http fetch-event -o "$out.tmp" >&2)
mv "$out.tmp" "$out"
echo "$out"
