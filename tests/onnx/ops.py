"""Operator conformance cases for the ONNX runner: one small graph per
ai.onnx.ml operator and attribute variant (every tree node mode, missing-value
tracks, aggregate functions, base values, post transforms, *_as_tensor
attributes, binary and multiclass layouts, SVM kernels and probabilities,
encoders), each run by onnxruntime on deterministic inputs.

    python ops.py OUT

writes OUT/<case>/artifacts/{model.onnx,runner.json}, OUT/<case>/request.json
(the call body) and OUT/<case>/expected.json (onnxruntime's outputs as
columns). tests/tests/all/onnx_ops.rs serves each case with the runner and
compares. Run with the pinned environment (tests/onnx/venv).
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ML = "ai.onnx.ml"
RNG = np.random.default_rng(20261129)
TYPES = {np.float32: ("f32", TensorProto.FLOAT), np.float64: ("f64", TensorProto.DOUBLE),
         np.int64: ("i64", TensorProto.INT64), np.str_: ("string", TensorProto.STRING)}

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def column_values(a):
    out = []
    for v in a.tolist():
        if isinstance(v, float) and np.isnan(v):
            out.append(None)
        else:
            out.append(v)
    return out


def build(name, nodes, inputs, outputs, ml_opset=3, initializers=(), std_opset=17):
    """inputs: [(tensor, np array)]; outputs: [tensor names]."""
    in_vi = []
    for tensor, array in inputs:
        kind = TYPES[array.dtype.type][1]
        shape = [None] + list(array.shape[1:])
        in_vi.append(helper.make_tensor_value_info(tensor, kind, shape))
    out_vi = [helper.make_empty_tensor_value_info(o) for o in outputs]
    graph = helper.make_graph(nodes, name, in_vi, out_vi, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", std_opset), helper.make_opsetid(ML, ml_opset)])
    model.ir_version = 10
    return model


def emit(out, name, model, inputs, missing_nan=()):
    """Runs `model` in onnxruntime and writes the case."""
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {tensor: array for tensor, array in inputs}
    results = session.run(None, feeds)
    folder = out / name
    (folder / "artifacts").mkdir(parents=True, exist_ok=True)
    (folder / "artifacts" / "model.onnx").write_bytes(model.SerializeToString())
    config_inputs, data = [], {}
    for tensor, array in inputs:
        ty = TYPES[array.dtype.type][0]
        width = 1 if array.ndim == 1 else array.shape[1]
        columns = [f"{tensor}_{j}" for j in range(width)]
        spec = {"tensor": tensor, "type": ty, "columns": columns}
        if tensor in missing_nan:
            spec["missing"] = "nan"
        config_inputs.append(spec)
        two = array.reshape(len(array), -1)
        for j, c in enumerate(columns):
            data[c] = column_values(two[:, j])
    config_outputs, expected, kinds = [], {}, {}
    for vi, result in zip(session.get_outputs(), results):
        result = np.asarray(result)
        two = result.reshape(len(result), -1)
        columns = [vi.name] if result.ndim == 1 else [f"{vi.name}_{j}" for j in range(two.shape[1])]
        config_outputs.append({"tensor": vi.name, "columns": columns})
        for j, c in enumerate(columns):
            expected[c] = column_values(two[:, j])
            kinds[c] = str(result.dtype)
    config = {"format": "mlops-onnx/2", "model": "model.onnx", "inputs": config_inputs, "outputs": config_outputs}
    (folder / "artifacts" / "runner.json").write_text(json.dumps(config, indent=1))
    (folder / "request.json").write_text(json.dumps({"data": data}))
    (folder / "expected.json").write_text(json.dumps({"columns": expected, "types": kinds}))


def rows(n, width, dtype=np.float32, scale=2.0, integers=False):
    a = RNG.normal(0, scale, size=(n, width))
    if integers:
        a = np.round(a)
    return a.astype(dtype)


# ---------------------------------------------------------------- trees

NODE_FIELDS = ["treeids", "nodeids", "featureids", "modes", "values", "truenodeids", "falsenodeids",
               "missing_value_tracks_true"]


def add_node(a, *values):
    """Appends one node (tree, node, feature, mode, value, true, false,
    missing-tracks-true) to the `nodes_*` attributes in `a`."""
    for field, value in zip(NODE_FIELDS, values, strict=True):
        a["nodes_" + field].append(value)


def tree_attrs(kind, trees, targets_or_classes, as_tensor=False):
    """A small forest: trees of depth 2 with mixed modes. kind: target|class."""
    modes_cycle = ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ"]
    a = {k: [] for k in ["nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_values",
                         "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true",
                         f"{kind}_treeids", f"{kind}_nodeids", f"{kind}_ids", f"{kind}_weights"]}
    for t in range(trees):
        # node 0 splits, children 1 and 2 split, 3..6 are leaves
        for node, (feature, true_id, false_id) in enumerate([(t % 3, 1, 2), ((t + 1) % 3, 3, 4), ((t + 2) % 3, 5, 6)]):
            value = float([0.0, 1.0, -1.0][node] + 0.5 * (t % 2))
            add_node(a, t, node, feature, modes_cycle[(t + node) % 6], value, true_id, false_id, (t + node) % 2)
        for leaf in range(3, 7):
            add_node(a, t, leaf, 0, "LEAF", 0.0, 0, 0, 0)
            for target in range(targets_or_classes):
                a[f"{kind}_treeids"].append(t)
                a[f"{kind}_nodeids"].append(leaf)
                a[f"{kind}_ids"].append(target)
                a[f"{kind}_weights"].append(float(np.round(RNG.normal(0, 1), 3)))
    if as_tensor:
        for key in ["nodes_values", f"{kind}_weights"]:
            a[key + "_as_tensor"] = numpy_helper.from_array(np.array(a.pop(key), dtype=np.float64) + 1e-9, key + "_as_tensor")
    return a


def deep_tree_attrs(trees, depth, mode, missing, seed_offset=0):
    """Full trees of `depth` levels, every branch `mode`: the runner's packed
    layouts (complete binary trees up to depth 10, linked nodes beyond)."""
    rng = np.random.default_rng(100 + depth + seed_offset)
    a = {k: [] for k in ["nodes_treeids", "nodes_nodeids", "nodes_featureids", "nodes_modes", "nodes_values",
                         "nodes_truenodeids", "nodes_falsenodeids", "nodes_missing_value_tracks_true",
                         "target_treeids", "target_nodeids", "target_ids", "target_weights"]}
    for t in range(trees):
        # breadth-first numbering of a complete tree, leaves shallower on the right
        for node in range(2 ** depth - 1):
            feature, value = int(rng.integers(0, 3)), float(rng.integers(-3, 4)) / 2
            tracks = int(missing and rng.random() < 0.5)
            add_node(a, t, node, feature, mode, value, 2 * node + 1, 2 * node + 2, tracks)
        for leaf in range(2 ** depth - 1, 2 ** (depth + 1) - 1):
            add_node(a, t, leaf, 0, "LEAF", 0.0, 0, 0, 0)
            a["target_treeids"].append(t)
            a["target_nodeids"].append(leaf)
            a["target_ids"].append(0)
            a["target_weights"].append(float(np.round(rng.normal(0, 1), 3)))
    return a


def tree_input(n=40, dtype=np.float32):
    x = rows(n, 3, dtype, integers=True)  # integers hit thresholds exactly (EQ, NEQ, LEQ vs LT)
    x[::7, 1] = np.nan
    x[3::11, 0] = np.nan
    return x


@case
def tree_regressor_modes_aggregates(out):
    x = tree_input()
    for agg in ["SUM", "AVERAGE", "MIN", "MAX"]:
        for targets in [1, 2]:
            a = tree_attrs("target", 4, targets)
            node = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain=ML, n_targets=targets,
                                    aggregate_function=agg, base_values=[0.25 * (k + 1) for k in range(targets)], **a)
            emit(out, f"tree_regressor_{agg.lower()}_{targets}", build("t", [node], [("X", x)], ["Y"]), [("X", x)], missing_nan={"X"})


@case
def tree_regressor_post_transforms(out):
    x = tree_input()
    for post in ["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"]:
        for targets in [1, 3]:
            if post == "PROBIT":
                # probit of a score outside (0, 1) is NaN: keep scores in range
                a = tree_attrs("target", 3, targets)
                a["target_weights"] = [abs(w) / 10 for w in a["target_weights"]]
            else:
                a = tree_attrs("target", 3, targets)
            node = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain=ML, n_targets=targets, post_transform=post, **a)
            emit(out, f"tree_regressor_post_{post.lower()}_{targets}", build("t", [node], [("X", x)], ["Y"]), [("X", x)], missing_nan={"X"})


@case
def tree_regressor_uniform_modes(out):
    """Every branch one mode, as converters write them: the fast layouts."""
    for mode in ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ"]:
        for missing in [False, True]:
            for dtype in [np.float32, np.float64]:
                x = tree_input(dtype=dtype)
                a = deep_tree_attrs(5, 4, mode, missing)
                node = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain=ML, n_targets=1,
                                        base_values=[0.5], **a)
                name = f"tree_uniform_{mode[7:].lower()}_{'missing' if missing else 'plain'}_{np.dtype(dtype).name}"
                emit(out, name, build("t", [node], [("X", x)], ["Y"]), [("X", x)], missing_nan={"X"})
    # Deeper than the complete-tree layout takes, and averaged.
    x = tree_input(n=60)
    a = deep_tree_attrs(2, 12, "BRANCH_LEQ", True)
    node = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain=ML, n_targets=1, aggregate_function="AVERAGE", **a)
    emit(out, "tree_uniform_deep_average", build("t", [node], [("X", x)], ["Y"]), [("X", x)], missing_nan={"X"})


@case
def tree_regressor_as_tensor(out):
    x = tree_input(dtype=np.float64)
    a = tree_attrs("target", 3, 1, as_tensor=True)
    node = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain=ML, n_targets=1,
                            base_values_as_tensor=numpy_helper.from_array(np.array([0.5], dtype=np.float64), "b"), **a)
    emit(out, "tree_regressor_as_tensor_f64", build("t", [node], [("X", x)], ["Y"]), [("X", x)], missing_nan={"X"})


@case
def tree_classifier_layouts(out):
    x = tree_input()
    for post in ["NONE", "SOFTMAX", "LOGISTIC", "SOFTMAX_ZERO"]:
        for labels in (dict(classlabels_int64s=[10, 20, 30]), dict(classlabels_strings=["a", "b", "c"])):
            a = tree_attrs("class", 4, 3)
            node = helper.make_node("TreeEnsembleClassifier", ["X"], ["label", "scores"], domain=ML, post_transform=post,
                                    base_values=[0.1, -0.2, 0.3], **labels, **a)
            kind = "int" if "classlabels_int64s" in labels else "str"
            emit(out, f"tree_classifier_multi_{post.lower()}_{kind}",
                 build("t", [node], [("X", x)], ["label", "scores"]), [("X", x)], missing_nan={"X"})
    # Binary: one class weighted (all positive: probabilities; mixed: margins), both weighted, base values 0/1/2.
    for name, weights_fn, classes_weighted, base, post in [
        ("prob_one_class", lambda w: abs(w) / 4, 1, None, "NONE"),
        ("margin_logistic", lambda w: w, 1, [0.2], "LOGISTIC"),
        ("margin_none", lambda w: w, 1, None, "NONE"),
        ("both_classes", lambda w: abs(w) / 4, 2, None, "NONE"),
        ("both_classes_base2", lambda w: w, 2, [0.1, 0.3], "LOGISTIC"),
        ("one_class_base2", lambda w: w, 1, [0.1, 0.3], "NONE"),
    ]:
        a = tree_attrs("class", 4, classes_weighted)
        a["class_weights"] = [weights_fn(w) for w in a["class_weights"]]
        extra = {"base_values": base} if base else {}
        node = helper.make_node("TreeEnsembleClassifier", ["X"], ["label", "scores"], domain=ML, post_transform=post,
                                classlabels_int64s=[0, 1], **extra, **a)
        emit(out, f"tree_classifier_binary_{name}", build("t", [node], [("X", x)], ["label", "scores"]), [("X", x)], missing_nan={"X"})


@case
def tree_ensemble_v5(out):
    """TreeEnsemble (ai.onnx.ml 5): two trees, one with a set-membership split."""
    x = rows(40, 3, np.float32, integers=True)
    x[::9, 2] = np.nan
    # tree 0: node0 (f0 <= 0.5) -> node1 (f1 in {-1, 0, 2}) -> leaves 0/1 ; false -> leaf 2
    # tree 1: node2 (f2 > -0.5, missing -> true) -> leaf 3 ; false -> leaf 4
    node = helper.make_node(
        "TreeEnsemble", ["X"], ["Y"], domain=ML,
        nodes_featureids=[0, 1, 2], nodes_modes=numpy_helper.from_array(np.array([0, 6, 3], dtype=np.uint8), "m"),
        nodes_splits=numpy_helper.from_array(np.array([0.5, 0.0, -0.5], dtype=np.float32), "s"),
        nodes_truenodeids=[1, 0, 3], nodes_trueleafs=[0, 1, 1], nodes_falsenodeids=[2, 1, 4], nodes_falseleafs=[1, 1, 1],
        nodes_missing_value_tracks_true=[0, 0, 1],
        membership_values=numpy_helper.from_array(np.array([-1.0, 0.0, 2.0], dtype=np.float32), "mv"),
        tree_roots=[0, 2], leaf_targetids=[0, 1, 0, 1, 0],
        leaf_weights=numpy_helper.from_array(np.array([1.5, -2.0, 0.25, 3.0, -0.75], dtype=np.float32), "w"),
        n_targets=2, aggregate_function=1, post_transform=0)
    emit(out, "tree_ensemble_v5_member", build("t", [node], [("X", x)], ["Y"], ml_opset=5, std_opset=21), [("X", x)], missing_nan={"X"})


# --------------------------------------------------------------- linear

@case
def linear(out):
    x = rows(30, 4)
    for targets in [1, 2]:
        for post in ["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO", "PROBIT"] if targets == 2 else ["NONE"]:
            node = helper.make_node("LinearRegressor", ["X"], ["Y"], domain=ML, targets=targets, post_transform=post,
                                    coefficients=list(np.round(RNG.normal(0, 0.3, 4 * targets), 3)),
                                    intercepts=list(np.round(RNG.normal(0, 0.3, targets), 3)))
            emit(out, f"linear_regressor_{targets}_{post.lower()}", build("l", [node], [("X", x)], ["Y"]), [("X", x)])
    for post in ["NONE", "LOGISTIC"]:
        for labels in (dict(classlabels_ints=[3, 7]), dict(classlabels_strings=["no", "yes"])):
            node = helper.make_node("LinearClassifier", ["X"], ["label", "scores"], domain=ML, post_transform=post,
                                    coefficients=[0.5, -0.25, 0.125, 1.0], intercepts=[0.1], **labels)
            kind = "int" if "classlabels_ints" in labels else "str"
            emit(out, f"linear_classifier_binary_{post.lower()}_{kind}", build("l", [node], [("X", x)], ["label", "scores"]), [("X", x)])
    for post in ["NONE", "LOGISTIC", "SOFTMAX", "SOFTMAX_ZERO"]:
        node = helper.make_node("LinearClassifier", ["X"], ["label", "scores"], domain=ML, post_transform=post,
                                coefficients=list(np.round(RNG.normal(0, 0.5, 12), 3)), intercepts=[0.1, -0.1, 0.0],
                                classlabels_ints=[0, 1, 2])
        emit(out, f"linear_classifier_multi_{post.lower()}", build("l", [node], [("X", x)], ["label", "scores"]), [("X", x)])


# ------------------------------------------------------------------ svm

def svm_params(n_sv, width):
    return dict(support_vectors=list(np.round(RNG.normal(0, 1, n_sv * width), 3)))


@case
def svm(out):
    x = rows(30, 3, scale=1.0)
    kernels = {"LINEAR": [0.0, 0.0, 0.0], "RBF": [0.3, 0.0, 0.0], "POLY": [0.2, 0.5, 3.0], "SIGMOID": [0.1, 0.2, 0.0]}
    for kernel, params in kernels.items():
        node = helper.make_node("SVMRegressor", ["X"], ["Y"], domain=ML, kernel_type=kernel, kernel_params=params, n_supports=5,
                                coefficients=list(np.round(RNG.normal(0, 1, 5), 3)), rho=[0.25], **svm_params(5, 3))
        emit(out, f"svm_regressor_{kernel.lower()}", build("s", [node], [("X", x)], ["Y"]), [("X", x)])
    node = helper.make_node("SVMRegressor", ["X"], ["Y"], domain=ML, n_supports=0, kernel_params=[0.0, 0.0, 0.0],
                            coefficients=[0.5, -1.0, 0.25], rho=[0.1])
    emit(out, "svm_regressor_linear_mode", build("s", [node], [("X", x)], ["Y"]), [("X", x)])
    node = helper.make_node("SVMRegressor", ["X"], ["Y"], domain=ML, kernel_type="RBF", kernel_params=[0.5, 0, 0], n_supports=4,
                            one_class=1, coefficients=[0.4, 0.3, 0.2, 0.1], rho=[-0.5], **svm_params(4, 3))
    emit(out, "svm_regressor_one_class", build("s", [node], [("X", x)], ["Y"]), [("X", x)])
    # Classifiers: 3 classes with 2, 3, 2 support vectors; 2 classes with 3, 2.
    for classes, per_class in [(3, [2, 3, 2]), (2, [3, 2])]:
        n_sv = sum(per_class)
        pairs = classes * (classes - 1) // 2
        for proba in [False, True]:
            for kernel in ["RBF", "LINEAR"]:
                extra = dict(prob_a=list(np.round(RNG.normal(-1.5, 0.3, pairs), 3)), prob_b=list(np.round(RNG.normal(0, 0.2, pairs), 3))) if proba else {}
                node = helper.make_node("SVMClassifier", ["X"], ["label", "scores"], domain=ML, kernel_type=kernel,
                                        kernel_params=kernels[kernel], vectors_per_class=per_class,
                                        coefficients=list(np.round(RNG.normal(0, 1, (classes - 1) * n_sv), 3)),
                                        rho=list(np.round(RNG.normal(0, 0.3, pairs), 3)),
                                        classlabels_ints=list(range(classes)), **svm_params(n_sv, 3), **extra)
                emit(out, f"svm_classifier_{classes}_{'proba' if proba else 'votes'}_{kernel.lower()}",
                     build("s", [node], [("X", x)], ["label", "scores"]), [("X", x)])
    node = helper.make_node("SVMClassifier", ["X"], ["label", "scores"], domain=ML, kernel_params=[0.0, 0.0, 0.0],
                            coefficients=list(np.round(RNG.normal(0, 1, 9), 3)), rho=[0.2], classlabels_strings=["a", "b", "c"])
    emit(out, "svm_classifier_linear_mode", build("s", [node], [("X", x)], ["label", "scores"]), [("X", x)])


# ------------------------------------------------------------ transforms

@case
def transforms(out):
    x = rows(20, 3)
    for dtype in [np.float32, np.float64, np.int64]:
        xi = rows(20, 3, dtype, integers=dtype == np.int64)
        node = helper.make_node("Scaler", ["X"], ["Y"], domain=ML, offset=[0.5, -1.0, 2.0], scale=[2.0, 0.1, 1.5])
        emit(out, f"scaler_{np.dtype(dtype).name}", build("p", [node], [("X", xi)], ["Y"]), [("X", xi)])
    node = helper.make_node("Scaler", ["X"], ["Y"], domain=ML, offset=[0.5], scale=[3.0])
    emit(out, "scaler_broadcast", build("p", [node], [("X", x)], ["Y"]), [("X", x)])
    xn = x.copy()
    xn[::3, 0] = np.nan
    xn[1::4, 2] = np.nan
    node = helper.make_node("Imputer", ["X"], ["Y"], domain=ML, imputed_value_floats=[1.0, 2.0, 3.0], replaced_value_float=float("nan"))
    emit(out, "imputer_nan", build("p", [node], [("X", xn)], ["Y"]), [("X", xn)], missing_nan={"X"})
    xi = rows(20, 2, np.int64, integers=True)
    node = helper.make_node("Imputer", ["X"], ["Y"], domain=ML, imputed_value_int64s=[100], replaced_value_int64=0)
    emit(out, "imputer_int", build("p", [node], [("X", xi)], ["Y"]), [("X", xi)])
    for norm in ["MAX", "L1", "L2"]:
        node = helper.make_node("Normalizer", ["X"], ["Y"], domain=ML, norm=norm)
        emit(out, f"normalizer_{norm.lower()}", build("p", [node], [("X", x)], ["Y"]), [("X", x)])
    node = helper.make_node("Binarizer", ["X"], ["Y"], domain=ML, threshold=0.5)
    emit(out, "binarizer", build("p", [node], [("X", x)], ["Y"]), [("X", x)])
    s = np.array([["red"], ["green"], ["blue"], ["teal"], ["red"]], dtype=np.str_)
    node = helper.make_node("OneHotEncoder", ["C"], ["Y"], domain=ML, cats_strings=["blue", "green", "red"], zeros=1)
    emit(out, "one_hot_strings", build("p", [node], [("C", s)], ["Y"]), [("C", s)])
    ci = np.array([[1], [5], [3], [1], [9]], dtype=np.int64)
    node = helper.make_node("OneHotEncoder", ["C"], ["Y"], domain=ML, cats_int64s=[1, 3, 5])
    emit(out, "one_hot_ints", build("p", [node], [("C", ci)], ["Y"]), [("C", ci)])
    node = helper.make_node("LabelEncoder", ["C"], ["Y"], domain=ML, classes_strings=["blue", "green", "red"], default_int64=-7)
    emit(out, "label_encoder_v1", build("p", [node], [("C", s)], ["Y"], ml_opset=1), [("C", s)])
    node = helper.make_node("LabelEncoder", ["C"], ["Y"], domain=ML, keys_strings=["blue", "red"], values_floats=[0.5, -1.5], default_float=9.0)
    emit(out, "label_encoder_v2_to_float", build("p", [node], [("C", s)], ["Y"], ml_opset=2), [("C", s)])
    node = helper.make_node("LabelEncoder", ["C"], ["Y"], domain=ML, keys_int64s=[1, 3], values_strings=["one", "three"], default_string="other")
    emit(out, "label_encoder_v2_to_string", build("p", [node], [("C", ci)], ["Y"], ml_opset=2), [("C", ci)])
    node = helper.make_node("LabelEncoder", ["C"], ["Y"], domain=ML,
                            keys_tensor=numpy_helper.from_array(np.array([1, 5, 9], dtype=np.int64), "k"),
                            values_tensor=numpy_helper.from_array(np.array([0.25, 0.5, 0.75], dtype=np.float64), "v"),
                            default_tensor=numpy_helper.from_array(np.array([-1.0], dtype=np.float64), "d"))
    emit(out, "label_encoder_v4_tensors", build("p", [node], [("C", ci)], ["Y"], ml_opset=4), [("C", ci)])
    idx = numpy_helper.from_array(np.array([2, 0], dtype=np.int64), "idx")
    node = helper.make_node("ArrayFeatureExtractor", ["X", "idx"], ["Y"], domain=ML)
    emit(out, "array_feature_extractor", build("p", [node], [("X", x)], ["Y"], initializers=[idx]), [("X", x)])
    x2 = rows(20, 2)
    node = helper.make_node("FeatureVectorizer", ["X", "Z"], ["Y"], domain=ML, inputdimensions=[3, 3])
    emit(out, "feature_vectorizer", build("p", [node], [("X", x), ("Z", x2)], ["Y"]), [("X", x), ("Z", x2)])


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for fn in CASES:
        fn(out)
    names = sorted(p.name for p in out.iterdir() if p.is_dir())
    print(f"{len(names)} cases, onnxruntime {ort.__version__}, onnx {onnx.__version__}")


if __name__ == "__main__":
    main()
