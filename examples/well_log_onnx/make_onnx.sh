#!/usr/bin/env bash
# Makes examples/well_log_onnx/artifacts/model.onnx with the pinned ONNX
# environment (tests/onnx/requirements.txt, installed into target/onnx-venv
# by tests/onnx/venv when missing or changed), running make_onnx.py in it.
# Works from any folder; extra arguments go to make_onnx.py.
#
# Needs the training log first (from the repository root):
#   cargo run --release -q -p well-log --bin make-artifact -- --training-csv target/well_log_train.csv
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
eval "$("$root/tests/onnx/venv")"
exec "$MLOPS_ONNX_PYTHON" "$here/make_onnx.py" "$@"
