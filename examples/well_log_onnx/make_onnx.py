"""Exports the well_log linear model to ONNX: examples/well_log_onnx/artifacts/model.onnx.

The model predicts sonic slowness AC (µs/ft) from ACS (µs/ft), RDEP (ohm·m, > 0)
and DEN (g/cm³):

    AC = c0 + c1·ACS + c2·ln(RDEP) + c3·DEN

It is fitted with scikit-learn's LinearRegression on the same deterministic
synthetic training log (3000 rows) as the Rust model in examples/well_log, which
writes that log as CSV (columns ACS,RDEP,DEN,AC). From the repository root:

    cargo run --release -q -p well-log --bin make-artifact -- --training-csv target/well_log_train.csv
    examples/well_log_onnx/make_onnx.sh

make_onnx.sh creates the venv target/onnx-venv with pinned package versions and
runs this script in it (run directly, this script re-runs itself with that venv's
python).

The graph takes ONE input `X`, float64 [N, 3], holding the RAW columns ACS, RDEP,
DEN in that order, and gives ONE output `AC`, float64 [N, 1]. ln(RDEP) is taken
inside the graph (Split, Log, Concat) before skl2onnx's MatMul, Add, Reshape.
Only default-domain (ai.onnx) operators are used, opset 13, IR version 8, so the
runner can execute it with tract-onnx.

The script then checks the graph with onnxruntime against the Rust model's
prediction fixture (examples/well_log/fixtures/predict.*.json, rows with a
missing input skipped), prints how far scikit-learn's coefficients are from the
Rust fit's (examples/well_log/artifacts/model.json), and writes model.onnx. The
output is byte-for-byte deterministic for the same inputs and package versions.
"""

import argparse
import csv
import hashlib
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
VENV = ROOT / "target" / "onnx-venv"


def _ensure_venv():
    """Re-runs this script with target/onnx-venv's python unless already in it."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    python = VENV / "bin" / "python"
    if not python.exists():
        sys.exit(f"make_onnx.py: no venv at {VENV}; run {HERE / 'make_onnx.sh'} instead")
    os.execv(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])


_ensure_venv()

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import skl2onnx  # noqa: E402
import sklearn  # noqa: E402
from onnx import TensorProto, helper  # noqa: E402
from skl2onnx import convert_sklearn  # noqa: E402
from skl2onnx.common.data_types import DoubleTensorType  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402

OPSET = 13  # default-domain opset of the whole graph (skl2onnx's choice for this model)
IR_VERSION = 8
COLUMNS = ["ACS", "RDEP", "DEN"]
TARGET = "AC"
MAX_REL_DIFF = 1e-9  # float64 graph vs the Rust model's fixture


def load_training(path):
    with open(path, newline="") as f:
        header = next(csv.reader(f))
    if header != COLUMNS + [TARGET]:
        sys.exit(f"make_onnx.py: {path}: expected columns {COLUMNS + [TARGET]}, found {header}")
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    acs, rdep, den, ac = data.T
    if np.any(rdep <= 0):
        sys.exit(f"make_onnx.py: {path}: RDEP must be greater than 0")
    return np.column_stack([acs, np.log(rdep), den]), ac


def preprocessing_model():
    """X [N, 3] = (ACS, RDEP, DEN) -> features [N, 3] = (ACS, ln(RDEP), DEN)."""
    nodes = [
        helper.make_node("Split", ["X", "split_sizes"], ["ACS", "RDEP", "DEN"], name="split_columns", axis=1),
        helper.make_node("Log", ["RDEP"], ["ln_RDEP"], name="ln_rdep"),
        helper.make_node("Concat", ["ACS", "ln_RDEP", "DEN"], ["features"], name="concat_features", axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "preprocessing",
        [helper.make_tensor_value_info("X", TensorProto.DOUBLE, ["N", 3])],
        [helper.make_tensor_value_info("features", TensorProto.DOUBLE, ["N", 3])],
        initializer=[helper.make_tensor("split_sizes", TensorProto.INT64, [3], [1, 1, 1])],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)


def set_batch_dim(value_info, name="N"):
    dim = value_info.type.tensor_type.shape.dim[0]
    dim.Clear()
    dim.dim_param = name


def build_model(reg):
    linear = convert_sklearn(
        reg,
        name="well_log_linear",
        initial_types=[("features", DoubleTensorType([None, 3]))],
        target_opset=OPSET,
    )
    # Name the output AC by hand: skl2onnx's final_types would add a no-op Cast.
    (output,) = linear.graph.output
    for node in linear.graph.node:
        node.output[:] = [TARGET if name == output.name else name for name in node.output]
    output.name = TARGET
    linear.ir_version = IR_VERSION
    linear.graph.name = "linear"  # skl2onnx names the graph with a random uuid
    model = onnx.compose.merge_models(preprocessing_model(), linear, io_map=[("features", "features")])

    # Deterministic metadata (nothing random, no timestamps).
    model.ir_version = IR_VERSION
    model.producer_name = "mlops-host examples/well_log_onnx/make_onnx.py"
    model.producer_version = f"skl2onnx {skl2onnx.__version__}, scikit-learn {sklearn.__version__}"
    model.domain = ""
    model.model_version = 1
    model.doc_string = (
        "Well log sonic slowness AC (us/ft) = c0 + c1*ACS + c2*ln(RDEP) + c3*DEN. "
        "Input X: float64 [N, 3] = raw ACS (us/ft), RDEP (ohm.m, > 0), DEN (g/cm3). "
        "Output AC: float64 [N, 1]."
    )
    del model.metadata_props[:]
    # merge_models lists the default-domain opset once per input model: keep one.
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("", OPSET))
    model.graph.name = "well_log_onnx"
    model.graph.doc_string = ""
    for node in model.graph.node:
        node.doc_string = ""
    set_batch_dim(model.graph.input[0])
    set_batch_dim(model.graph.output[0])

    # The runner executes the graph with tract-onnx: default domain only, opset <= 17.
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)], model.opset_import
    assert all(n.domain in ("", "ai.onnx") for n in model.graph.node), [n.domain for n in model.graph.node]
    assert [i.name for i in model.graph.input] == ["X"]
    assert [o.name for o in model.graph.output] == [TARGET]
    return model


def run(model_bytes, x):
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    (out,) = session.run([TARGET], {"X": np.ascontiguousarray(x, dtype=np.float64)})
    assert out.dtype == np.float64 and out.shape == (len(x), 1), (out.dtype, out.shape)
    return out[:, 0]


def max_rel(a, b):
    return float(np.max(np.abs(a - b) / np.abs(b)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv", type=Path, default=ROOT / "target" / "well_log_train.csv", help="training log")
    parser.add_argument("--out", type=Path, default=HERE / "artifacts" / "model.onnx", help="ONNX file to write")
    args = parser.parse_args()

    features, ac = load_training(args.csv)
    reg = LinearRegression().fit(features, ac)
    coefficients = np.concatenate([[reg.intercept_], reg.coef_])
    print(f"fitted LinearRegression on {len(ac)} rows: coefficients {coefficients.tolist()}")

    rust = json.loads((ROOT / "examples/well_log/artifacts/model.json").read_text())
    rust_coefficients = np.array(rust["coefficients"], dtype=np.float64)
    print("coefficients vs the Rust fit (examples/well_log/artifacts/model.json):")
    for term, ours, theirs in zip(rust["terms"], coefficients.tolist(), rust_coefficients.tolist()):
        print(f"  {term:>9}: sklearn {ours!r:<22} rust {theirs!r:<22} "
              f"abs diff {abs(ours - theirs):.3e}  rel diff {abs(ours - theirs) / abs(theirs):.3e}")

    model = build_model(reg)
    model_bytes = model.SerializeToString()
    print(f"graph: {[n.op_type for n in model.graph.node]}, opset {OPSET}, ir_version {model.ir_version}, "
          f"{len(model_bytes)} bytes")

    # The graph on the raw training columns vs scikit-learn's own predictions.
    raw = np.loadtxt(args.csv, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)[:, :3]
    train_rel = max_rel(run(model_bytes, raw), reg.predict(features))
    print(f"onnxruntime vs sklearn on the {len(raw)} training rows: max rel diff {train_rel:.3e}")

    # The graph vs the Rust model's prediction fixture (rows with a missing input skipped).
    fixtures = ROOT / "examples/well_log/fixtures"
    request = json.loads((fixtures / "predict.request.json").read_text())["data"]
    expected = json.loads((fixtures / "predict.expected.json").read_text())["prediction"][TARGET]
    rows = [i for i in range(len(expected)) if all(request[c][i] is not None for c in COLUMNS)]
    assert all(expected[i] is not None for i in rows)
    x = np.array([[request[c][i] for c in COLUMNS] for i in rows], dtype=np.float64)
    got = run(model_bytes, x)
    want = np.array([expected[i] for i in rows], dtype=np.float64)
    fixture_rel = max_rel(got, want)
    print(f"onnxruntime vs predict.expected.json ({len(rows)} of {len(expected)} rows; "
          f"skipped {len(expected) - len(rows)} with a missing input): max rel diff {fixture_rel:.3e}, "
          f"max abs diff {float(np.max(np.abs(got - want))):.3e}")
    if not fixture_rel <= MAX_REL_DIFF:
        sys.exit(f"make_onnx.py: max rel diff {fixture_rel:.3e} exceeds {MAX_REL_DIFF:.0e}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_bytes(model_bytes)
    tmp.replace(args.out)
    print(f"wrote {args.out} ({len(model_bytes)} bytes, sha256 {hashlib.sha256(model_bytes).hexdigest()})")


if __name__ == "__main__":
    main()
