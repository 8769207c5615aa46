#!/usr/bin/env bash
# Load times of the well-log model in every language: how long the first
# deploy compiles the component (cold), how long a second deploy or serve
# loads it from the compile cache (warm), instantiating and initialising
# it, and warm predict latency; then 100,000 rows per call for Rust, Python
# and Python with numpy, against the same numpy model run natively (CPython
# and numpy from PyPI, bench/numpy_native.py). Writes
# bench/results/languages/<date>.{json,md} and the tables in README.md.
#
#     bench/languages.sh
#
# Needs the guest toolchains (.ci/toolchains installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

cargo build --quiet --release -p mlops-host
host="$root/target/release/mlops-host"
export MLOPS_HOST="$host"

# The components, from source.
cargo build --quiet --profile guest --target wasm32-wasip2 -p well-log --lib --target-dir target/guests
guest=target/guests/wasm32-wasip2/guest
declare -A component=(
    [rust]="$guest/well_log.wasm"
    [python]="$(examples/well_log_py/build.sh)"
    [numpy]="$(examples/well_log_numpy/build.sh)"
    [js]="$(examples/well_log_js/build.sh)"
    [c]="$(examples/well_log_c/build.sh)"
    # The runner the host build made and carries.
    [onnx]="target/onnx-runner/wasm32-wasip2/guest/mlops_onnx_runner.wasm"
)
declare -A artifacts=(
    [rust]=examples/well_log/artifacts [python]=examples/well_log/artifacts
    [numpy]=examples/well_log/artifacts
    [js]=examples/well_log/artifacts [c]=examples/well_log/artifacts
    [onnx]=examples/well_log_onnx/artifacts
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for lang in rust python numpy js c onnx; do
    echo "measuring $lang" >&2
    # A cache of its own: the first load compiles, the later ones load.
    MLOPS_CACHE_DIR="$work/cache-$lang" "$host" bench --no-http --format json \
        --rows 1 --rows 1000 --samples 300 \
        --request examples/well_log/fixtures/predict.request.json \
        --artifacts "${artifacts[$lang]}" "${component[$lang]}" > "$work/$lang.json"
    stat -c %s "${component[$lang]}" > "$work/$lang.size"
done
# Large batches: the sandbox against native CPython + numpy (the same numpy
# version as the sandbox's build).
for lang in rust python numpy; do
    echo "measuring $lang, 100,000 rows" >&2
    MLOPS_CACHE_DIR="$work/cache-$lang" "$host" bench --no-http --format json \
        --rows 100000 --samples 10 \
        --request examples/well_log/fixtures/predict.request.json \
        --artifacts "${artifacts[$lang]}" "${component[$lang]}" > "$work/$lang-100k.json"
done
venv=target/bench-venv
numpy_version=$(sed -n 's/^numpy_version=//p' sdk/python/numpy/build-numpy.sh)
if [[ "$("$venv/bin/python" -c 'import numpy; print(numpy.__version__)' 2>/dev/null)" != "$numpy_version" ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "numpy==$numpy_version"
fi
echo "measuring the numpy model natively, 100,000 rows" >&2
"$venv/bin/python" bench/numpy_native.py examples/well_log_numpy \
    examples/well_log/fixtures/predict.request.json 100000 10 > "$work/numpy-native.json"
python3 bench/languages.py "$work" "$(date -u +%Y-%m-%d)"
