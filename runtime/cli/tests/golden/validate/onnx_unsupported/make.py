"""Writes model.onnx here: a graph with two operators the ONNX runner does
not support, for the validate golden test (18_onnx_unsupported_operator):
DictVectorizer (ai.onnx.ml; its input is a map) and FusedMatMul
(com.microsoft, an onnxruntime extension). Run with tests/onnx/venv's python."""

from pathlib import Path

from onnx import TensorProto, helper

nodes = [
    helper.make_node("FusedMatMul", ["X", "W"], ["Y"], name="fused", domain="com.microsoft", alpha=1.0),
    helper.make_node("DictVectorizer", ["Y"], ["Z"], name="vectorize", domain="ai.onnx.ml", int64_vocabulary=[0, 1]),
]
graph = helper.make_graph(
    nodes,
    "unsupported",
    [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 2])],
    [helper.make_tensor_value_info("Z", TensorProto.FLOAT, [None, 2])],
    initializer=[helper.make_tensor("W", TensorProto.FLOAT, [2, 2], [1.0, 0.0, 0.0, 1.0])],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 3),
                                                helper.make_opsetid("com.microsoft", 1)], producer_name="make.py")
model.ir_version = 9
(Path(__file__).parent / "model.onnx").write_bytes(model.SerializeToString())
