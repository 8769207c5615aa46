#!/usr/bin/env bash
# Makes examples/well_log_onnx/artifacts/model.onnx: creates the venv
# target/onnx-venv with pinned scikit-learn, skl2onnx, onnx, onnxruntime and
# numpy (from PyPI) if it is missing or differs, then runs make_onnx.py with it.
# Works from any folder; extra arguments go to make_onnx.py.
#
# Needs the training log first (from the repository root):
#   cargo run --release -q -p well-log --bin make-artifact -- --training-csv target/well_log_train.csv
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv="$root/target/onnx-venv"

pins=(
    "scikit-learn==1.9.1"
    "skl2onnx==1.20.0"
    "onnx==1.23.2"
    "onnxruntime==1.32.0"
    "numpy==2.4.6"
)

command -v python3 >/dev/null || { echo "make_onnx.sh: python3 not found (Debian package python3, with python3-venv)" >&2; exit 1; }

stamp="$venv/.mlops-pins"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "${pins[*]}" ]]; then
    echo "installing ${pins[*]} into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}"
    echo "${pins[*]}" > "$stamp"
fi

exec "$venv/bin/python" "$here/make_onnx.py" "$@"
