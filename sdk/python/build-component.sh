#!/usr/bin/env bash
# Builds the Python model in the current folder (its `app.py`, against the
# SDK in sdk/python) into target/guests/python/<name>.wasm with
# componentize-py (from PyPI, in a venv under target/), and prints its path.
# Skips the build when the output is newer than every input. The world is
# `predictor` unless given: `model` for a model that also trains. With
# `--with numpy`, numpy (built for the sandbox by numpy/build-numpy.sh, and
# cached) is on the path: the model's `import numpy` links it in.
#
#   cd <model folder> && ../../sdk/python/build-component.sh <name> [predictor|model] [--with numpy]
set -euo pipefail
name="$1"
world="${2:-predictor}"
case "$world" in
    predictor|model|trainer) ;;
    *) echo "build: unknown world \`$world\` (predictor, model or trainer)" >&2; exit 2 ;;
esac
extra_paths=()
case "${3:-} ${4:-}" in
    " ") ;;
    "--with numpy") ;;
    *) echo "build: unknown options \`${3:-} ${4:-}\` (--with numpy)" >&2; exit 2 ;;
esac
sdk=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$sdk/../.." && pwd)
venv="$root/target/py-build-venv"
out_dir="$root/target/guests/python"
out="$out_dir/$name.wasm"
componentize_py_version=0.25.1

# Up to date: the output exists and no input is newer.
if [[ -f "$out" && -z "$(find app.py build.sh "$sdk" "$root/wit" -newer "$out" \
        -not -path '*/__pycache__*' -print -quit)" ]]; then
    echo "$out"
    exit 0
fi

command -v python3 >/dev/null || { echo "build: python3 not found (Debian package python3, with python3-venv)" >&2; exit 1; }

if [[ "$("$venv/bin/componentize-py" --version 2>/dev/null)" != "componentize-py $componentize_py_version" ]]; then
    echo "installing componentize-py $componentize_py_version into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$componentize_py_version"
fi

if [[ "${4:-}" == numpy ]]; then
    extra_paths+=(-p "$("$sdk/numpy/build-numpy.sh")")
fi

mkdir -p "$out_dir"
# componentize-py generates the `wit_world` bindings itself; -p adds the
# model's folder and the SDK (sdk/python/mlops_model) to the Python path.
"$venv/bin/componentize-py" -d "$root/wit" -w "$world" componentize app \
    -p . -p "$sdk" "${extra_paths[@]}" -o "$out.tmp" >&2
mv "$out.tmp" "$out"
echo "$out"
