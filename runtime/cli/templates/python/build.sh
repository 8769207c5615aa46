#!/usr/bin/env bash
# Builds the model into a WebAssembly component, build/model.wasm, with
# componentize-py 0.25.1, and prints its path. componentize-py is taken from
# $COMPONENTIZE_PY if set, else from PATH if it is version 0.25.1, else it is
# installed into .venv in this folder.
set -euo pipefail
cd "$(dirname "$0")"

version=0.25.1

if [[ -n "${COMPONENTIZE_PY:-}" ]]; then
    componentize_py=$COMPONENTIZE_PY
elif [[ "$(componentize-py --version 2>/dev/null)" == "componentize-py $version" ]]; then
    componentize_py=componentize-py
else
    componentize_py=.venv/bin/componentize-py
    if [[ "$("$componentize_py" --version 2>/dev/null)" != "componentize-py $version" ]]; then
        command -v python3 >/dev/null || {
            echo "build.sh: python3 not found (Debian packages python3 and python3-venv)" >&2
            exit 1
        }
        echo "installing componentize-py $version into .venv" >&2
        python3 -m venv .venv || {
            echo "build.sh: cannot make a venv (Debian package python3-venv)" >&2
            exit 1
        }
        .venv/bin/pip install --quiet --disable-pip-version-check "componentize-py==$version" >&2
    fi
fi

# numpy, when the model has it (`init --with numpy` writes numpy/): built
# for the sandbox and cached, about 2 minutes the first time.
numpy_path=()
if [[ -x numpy/build-numpy.sh ]]; then
    numpy_path=(-p "$(numpy/build-numpy.sh)")
fi

# The Python path: app.py and the SDK (mlops_model/) are in this folder.
python_path=(-p .)
# The world: `model` predicts and trains; `predictor` for a model without
# `Training`.
world=model

mkdir -p build
# -d wit: the contract; componentize-py generates the bindings itself.
"$componentize_py" -d wit -w "$world" componentize app "${python_path[@]}" "${numpy_path[@]}" \
    -o build/model.wasm.tmp >&2
mv build/model.wasm.tmp build/model.wasm
echo "$(pwd)/build/model.wasm"
