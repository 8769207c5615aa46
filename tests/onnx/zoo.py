"""The model zoo: models people train with scikit-learn, XGBoost and LightGBM,
exported with their standard converters (skl2onnx, onnxmltools), on data sets
scikit-learn ships (no downloads).

    python zoo.py OUT [--only NAME ...]

For each model OUT/<name>/ gets:
  model.onnx        the converter's output, as a data scientist would get it
  request.json      {"data": {column: [...]}}: held-out rows, columns named as
                    `mlops-host init --lang onnx --from` names them
  library.json      the library's own predict (and predict_proba) on those rows
  onnxruntime.json  onnxruntime's answer on the same graph
  meta.json         library, estimator, input type, rows, operators

Outputs are stored by role: {"label": [...], "probabilities": [[p per class]],
"classes": [...]} for classifiers, {"value": [...]} for regressors. The Rust
test (runtime/cli/tests/e2e/onnx_zoo.rs) deploys each with the CLI, serves it,
calls it over HTTP and compares. Deterministic: fixed seeds.
"""

import argparse
import json
import warnings
from pathlib import Path

import lightgbm
import numpy as np
import onnxmltools
import onnxruntime as ort
import pandas as pd
import skl2onnx
import sklearn
import xgboost
from onnxmltools.convert.common.data_types import FloatTensorType as MlFloat
from skl2onnx import convert_sklearn
from skl2onnx.sklapi import CastTransformer
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, Int64TensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler
from sklearn.svm import SVC, SVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

warnings.filterwarnings("ignore")
SEED = 7
MODELS = {}


def model(fn):
    MODELS[fn.__name__] = fn
    return fn


def split(X, y):
    return train_test_split(X, y, test_size=0.3, random_state=SEED)


def with_missing(X, fraction=0.1):
    X = X.copy()
    rng = np.random.default_rng(SEED)
    X[rng.random(X.shape) < fraction] = np.nan
    return X


def matrix(X, tensor="X", dtype=np.float32):
    """One [rows, k] input: columns X_0 … X_{k-1}. The library and the
    request get the data as it is; onnxruntime gets it as the graph's type
    (`dtype`), as the runner makes it from the request."""
    return {"inputs": {tensor: np.asarray(X)}, "types": {tensor: dtype}}


def skl(est, X, dtype=np.float32, **options):
    kind = FloatTensorType if dtype == np.float32 else DoubleTensorType
    return convert_sklearn(est, initial_types=[("X", kind([None, X.shape[1]]))], target_opset={"": 17, "ai.onnx.ml": 3}, **options)


# ------------------------------------------------------------ regression

def diabetes():
    # The measurements as taken (age in years, BMI, blood pressure…), not
    # the scaled copy, whose values carry rounding noise in the last bits.
    return load_diabetes(return_X_y=True, scaled=False)


# scikit-learn scales in f64 and its trees compare in f32; a graph that
# takes f32 and scales in f32 sends a row near a split the other way now and
# then. skl2onnx's recipe: take f64, scale in f64, cast to f32 before the
# trees (a CastTransformer in the pipeline, which changes nothing in it).
@model
def gbr_scaler():
    X, y = diabetes()
    Xtr, Xte, ytr, _ = split(X, y)
    est = make_pipeline(StandardScaler(), CastTransformer(dtype=np.float32),
                        GradientBoostingRegressor(n_estimators=100, random_state=SEED)).fit(Xtr, ytr)
    return est, skl(est, X, np.float64), matrix(Xte, dtype=np.float64), "regression"


@model
def gbr_scaler_default_export():
    """The same pipeline exported with skl2onnx's defaults (a Scaler in f32):
    some rows differ from scikit-learn in onnxruntime too."""
    X, y = diabetes()
    Xtr, Xte, ytr, _ = split(X, y)
    est = make_pipeline(StandardScaler(), GradientBoostingRegressor(n_estimators=100, random_state=SEED)).fit(Xtr, ytr)
    return est, skl(est, X), matrix(Xte), "regression"


@model
def hgbr_missing():
    X, y = diabetes()
    X = with_missing(X)
    Xtr, Xte, ytr, _ = split(X, y)
    est = HistGradientBoostingRegressor(max_iter=100, random_state=SEED).fit(Xtr, ytr)
    return est, skl(est, X), matrix(Xte), "regression"


@model
def random_forest_regressor():
    X, y = diabetes()
    Xtr, Xte, ytr, _ = split(X, y)
    est = RandomForestRegressor(n_estimators=50, max_depth=8, random_state=SEED).fit(Xtr, ytr)
    return est, skl(est, X), matrix(Xte), "regression"


@model
def extra_trees_regressor():
    X, y = diabetes()
    Xtr, Xte, ytr, _ = split(X, y)
    est = ExtraTreesRegressor(n_estimators=50, max_depth=8, random_state=SEED).fit(Xtr, ytr)
    return est, skl(est, X), matrix(Xte), "regression"


@model
def decision_tree_regressor():
    X, y = diabetes()
    Xtr, Xte, ytr, _ = split(X, y)
    est = DecisionTreeRegressor(max_depth=6, random_state=SEED).fit(Xtr, ytr)
    return est, skl(est, X), matrix(Xte), "regression"


@model
def linear_regression_f64():
    X, y = diabetes()
    Xtr, Xte, ytr, _ = split(X, y)
    est = LinearRegression().fit(Xtr, ytr)
    return est, skl(est, X, np.float64), matrix(Xte, dtype=np.float64), "regression"


@model
def scaler_ridge_f64():
    X, y = diabetes()
    Xtr, Xte, ytr, _ = split(X, y)
    est = make_pipeline(StandardScaler(), Ridge(alpha=0.5)).fit(Xtr, ytr)
    return est, skl(est, X, np.float64), matrix(Xte, dtype=np.float64), "regression"


@model
def imputer_minmax_ridge():
    X, y = diabetes()
    X = with_missing(X)
    Xtr, Xte, ytr, _ = split(X, y)
    est = make_pipeline(SimpleImputer(strategy="median"), MinMaxScaler(), Ridge(alpha=0.1)).fit(Xtr, ytr)
    return est, skl(est, X), matrix(Xte), "regression"


@model
def scaler_svr():
    X, y = diabetes()
    Xtr, Xte, ytr, _ = split(X, y)
    est = make_pipeline(StandardScaler(), SVR(C=50.0)).fit(Xtr, ytr)
    return est, skl(est, X), matrix(Xte), "regression"


@model
def xgboost_regressor():
    X, y = diabetes()
    Xtr, Xte, ytr, _ = split(X, y)
    est = xgboost.XGBRegressor(n_estimators=100, max_depth=4, random_state=SEED).fit(Xtr, ytr)
    onx = onnxmltools.convert_xgboost(est, initial_types=[("X", MlFloat([None, X.shape[1]]))], target_opset=15)
    return est, onx, matrix(Xte), "regression"


@model
def lightgbm_regressor():
    X, y = diabetes()
    Xtr, Xte, ytr, _ = split(X, y)
    est = lightgbm.LGBMRegressor(n_estimators=100, random_state=SEED, verbose=-1).fit(Xtr, ytr)
    onx = onnxmltools.convert_lightgbm(est, initial_types=[("X", MlFloat([None, X.shape[1]]))], target_opset=15)
    return est, onx, matrix(Xte), "regression"


def patients(with_nan):
    """diabetes as a table a data scientist would have: named numeric
    columns, a categorical string column, an integer column."""
    X, y = diabetes()
    frame = pd.DataFrame({
        "age": X[:, 0],
        "bmi": X[:, 2],
        "sex": np.where(X[:, 1] == 2, "male", "female"),
        "bp_mmhg": np.round(X[:, 3]).astype(np.int64),
    })
    if with_nan:
        frame.loc[frame.index % 9 == 0, "bmi"] = np.nan
    return frame, y


def column_transformer(impute=True):
    numeric = make_pipeline(SimpleImputer(), StandardScaler()) if impute else StandardScaler()
    return ColumnTransformer([
        ("num", numeric, ["age", "bmi"]),
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["sex"]),
        # Scaled in f32 in the graph but in f64 by scikit-learn: fine for a
        # linear model, not in front of trees (a row near a split flips).
        ("int", MinMaxScaler() if impute else "passthrough", ["bp_mmhg"]),
    ])


def frame_types(real=FloatTensorType):
    return [("age", real([None, 1])), ("bmi", real([None, 1])),
            ("sex", StringTensorType([None, 1])), ("bp_mmhg", Int64TensorType([None, 1]))]


def frame_inputs(frame, real=np.float32):
    types = {"age": real, "bmi": real, "sex": np.str_, "bp_mmhg": np.int64}
    return {"inputs": {c: frame[[c]].to_numpy() for c in frame.columns}, "types": types, "frame": frame}


@model
def column_transformer_regressor():
    # f64 in, scaled in f64, f32 into the trees (onnxruntime has no f64
    # Imputer: this one has no missing values to impute).
    frame, y = patients(with_nan=False)
    ftr, fte, ytr, _ = split(frame, y)
    est = make_pipeline(column_transformer(impute=False), CastTransformer(dtype=np.float32),
                        GradientBoostingRegressor(n_estimators=50, random_state=SEED)).fit(ftr, ytr)
    onx = convert_sklearn(est, initial_types=frame_types(DoubleTensorType), target_opset={"": 17, "ai.onnx.ml": 3})
    return est, onx, frame_inputs(fte, np.float64), "regression"


# --------------------------------------------------------- classification

@model
def gradient_boosting_binary():
    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, _ = split(X, y)
    est = GradientBoostingClassifier(n_estimators=100, random_state=SEED).fit(Xtr, ytr)
    return est, skl(est, X), matrix(Xte), "classification"


@model
def hist_gradient_boosting_multiclass():
    X, y = load_wine(return_X_y=True)
    Xtr, Xte, ytr, _ = split(X, y)
    est = HistGradientBoostingClassifier(max_iter=50, random_state=SEED).fit(Xtr, ytr)
    return est, skl(est, X), matrix(Xte), "classification"


@model
def random_forest_string_labels():
    data = load_wine()
    X, y = data.data, data.target_names[data.target]
    Xtr, Xte, ytr, _ = split(X, y)
    est = RandomForestClassifier(n_estimators=50, max_depth=6, random_state=SEED).fit(Xtr, ytr)
    return est, skl(est, X), matrix(Xte), "classification"


@model
def extra_trees_binary():
    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, _ = split(X, y)
    est = ExtraTreesClassifier(n_estimators=50, max_depth=8, random_state=SEED).fit(Xtr, ytr)
    return est, skl(est, X), matrix(Xte), "classification"


@model
def decision_tree_classifier():
    X, y = load_iris(return_X_y=True)
    Xtr, Xte, ytr, _ = split(X, y)
    est = DecisionTreeClassifier(max_depth=4, random_state=SEED).fit(Xtr, ytr)
    return est, skl(est, X), matrix(Xte), "classification"


@model
def scaler_logistic_regression():
    X, y = load_iris(return_X_y=True)
    Xtr, Xte, ytr, _ = split(X, y)
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(Xtr, ytr)
    return est, skl(est, X), matrix(Xte), "classification"


@model
def logistic_regression_binary_f64():
    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, _ = split(X, y)
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(Xtr, ytr)
    # ZipMap takes f32 only: a double graph keeps the probability tensor.
    onx = skl(est, X, np.float64, options={LogisticRegression: {"zipmap": False}})
    return est, onx, matrix(Xte, dtype=np.float64), "classification"


@model
def scaler_svc_probability():
    X, y = load_iris(return_X_y=True)
    Xtr, Xte, ytr, _ = split(X, y)
    est = make_pipeline(StandardScaler(), SVC(probability=True, random_state=SEED)).fit(Xtr, ytr)
    return est, skl(est, X), matrix(Xte), "classification"


@model
def xgboost_classifier():
    X, y = load_iris(return_X_y=True)
    Xtr, Xte, ytr, _ = split(X, y)
    est = xgboost.XGBClassifier(n_estimators=50, max_depth=3, random_state=SEED).fit(Xtr, ytr)
    onx = onnxmltools.convert_xgboost(est, initial_types=[("X", MlFloat([None, X.shape[1]]))], target_opset=15)
    return est, onx, matrix(Xte), "classification"


@model
def lightgbm_binary():
    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, _ = split(X, y)
    est = lightgbm.LGBMClassifier(n_estimators=100, random_state=SEED, verbose=-1).fit(Xtr, ytr)
    onx = onnxmltools.convert_lightgbm(est, initial_types=[("X", MlFloat([None, X.shape[1]]))], target_opset=15)
    return est, onx, matrix(Xte), "classification"


@model
def column_transformer_classifier():
    frame, y = patients(with_nan=True)
    y = (y > 140).astype(np.int64)
    ftr, fte, ytr, _ = split(frame, y)
    est = make_pipeline(column_transformer(), LogisticRegression(max_iter=1000)).fit(ftr, ytr)
    onx = convert_sklearn(est, initial_types=frame_types(), target_opset={"": 17, "ai.onnx.ml": 3})
    return est, onx, frame_inputs(fte), "classification"


# ------------------------------------------------------------------ write

def columns(inputs):
    """The request's columns, named as `init --from` names them: a [rows, 1]
    tensor by itself, a [rows, k] one `<tensor>_<j>`."""
    data = {}
    for tensor, array in inputs.items():
        two = array.reshape(len(array), -1)
        names = [tensor] if two.shape[1] == 1 else [f"{tensor}_{j}" for j in range(two.shape[1])]
        for j, name in enumerate(names):
            values = []
            for v in two[:, j].tolist():
                values.append(None if isinstance(v, float) and np.isnan(v) else v)
            data[name] = values
    return data


def roles(kind, label=None, proba=None, value=None, classes=None):
    if kind == "classification":
        return {"label": [c.item() if hasattr(c, "item") else c for c in label],
                "probabilities": np.asarray(proba, dtype=np.float64).tolist(),
                "classes": [c.item() if hasattr(c, "item") else c for c in classes]}
    return {"value": np.asarray(value, dtype=np.float64).ravel().tolist()}


def graph_differs(lib, rt, tolerance):
    """Rows where onnxruntime's answer is not the library's."""
    if "label" in lib:
        rows = [i for i, (a, b) in enumerate(zip(lib["label"], rt["label"])) if a != b]
        p, q = np.array(lib["probabilities"]), np.array(rt["probabilities"])
        far = np.abs(p - q) > tolerance * np.maximum(1.0, np.abs(p))
        rows += [int(i) for i in np.where(far.any(axis=1))[0]]
    else:
        a, b = np.array(lib["value"]), np.array(rt["value"])
        rows = [int(i) for i in np.where(np.abs(a - b) > tolerance * np.maximum(1.0, np.abs(a)))[0]]
    return sorted(set(rows))


def library_version(est):
    if isinstance(est, xgboost.XGBModel):
        return f"xgboost {xgboost.__version__}"
    if isinstance(est, lightgbm.LGBMModel):
        return f"lightgbm {lightgbm.__version__}"
    return f"scikit-learn {sklearn.__version__}"


def write(out, name):
    est, onx, data, kind = MODELS[name]()
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.onnx").write_bytes(onx.SerializeToString())
    inputs = data["inputs"]
    frame = data.get("frame")
    X = frame if frame is not None else next(iter(inputs.values()))
    feeds = {k: v.astype(data["types"][k]) for k, v in inputs.items()}
    session = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    results = session.run(None, feeds)
    if kind == "classification":
        classes = est.classes_
        lib = roles(kind, label=est.predict(X), proba=est.predict_proba(X), classes=classes)
        probs = results[1]
        if isinstance(probs, list):  # ZipMap: a list of {class: probability}
            probs = [[row[c.item() if hasattr(c, "item") else c] for c in classes] for row in probs]
        rt = roles(kind, label=results[0], proba=probs, classes=classes)
    else:
        lib = roles(kind, value=est.predict(X))
        rt = roles(kind, value=results[0])
    # An f32 output anywhere makes the graph's precision f32.
    real_outputs = [np.asarray(r).dtype for r in results if not isinstance(r, list) and np.asarray(r).dtype.kind == "f"]
    dtype = "float64" if real_outputs and all(d == np.float64 for d in real_outputs) else "float32"
    tolerance = 1e-9 if dtype == "float64" else 1e-5
    differs = graph_differs(lib, rt, tolerance)
    (folder / "request.json").write_text(json.dumps({"data": columns(inputs)}))
    (folder / "library.json").write_text(json.dumps(lib))
    (folder / "onnxruntime.json").write_text(json.dumps(rt))
    ops = sorted({(n.domain or "ai.onnx", n.op_type) for n in onx.graph.node})
    meta = {
        "library": library_version(est),
        "converter": "onnxmltools " + onnxmltools.__version__ if "xgboost" in name or "lightgbm" in name else "skl2onnx " + skl2onnx.__version__,
        "estimator": type(est).__name__ if not hasattr(est, "steps") else " + ".join(type(s).__name__ for _, s in est.steps),
        "kind": kind,
        "dtype": dtype,
        "rows": len(X),
        "operators": [op for domain, op in ops if domain == "ai.onnx.ml"] + [op for domain, op in ops if domain != "ai.onnx.ml"],
        # Rows where the graph itself (onnxruntime) does not give the
        # library's answer: the runner must give onnxruntime's there.
        "graph_differs_from_library": differs,
    }
    (folder / "meta.json").write_text(json.dumps(meta))
    return meta


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    names = args.only or list(MODELS)
    for name in names:
        meta = write(args.out, name)
        differs = meta["graph_differs_from_library"]
        note = f"; onnxruntime differs from the library on {len(differs)} rows" if differs else ""
        print(f"{name}: {meta['estimator']} ({meta['library']}, {meta['dtype']}), {meta['rows']} rows, {', '.join(meta['operators'])}{note}")
    print(f"{len(names)} models; onnxruntime {ort.__version__}")


if __name__ == "__main__":
    main()
