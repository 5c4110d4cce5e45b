"""add_non_zero (TensorRT INonZeroLayer) against onnxruntime's and onnx.reference's ONNX NonZero."""
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from netdsl import DataType, Network
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.shapes import dim
from netdsl.reference import execute

ONNX_TYPES = {np.float32: TensorProto.FLOAT, np.float16: TensorProto.FLOAT16, np.int32: TensorProto.INT32,
              np.int64: TensorProto.INT64, np.bool_: TensorProto.BOOL, np.int8: TensorProto.INT8}


def onnx_non_zero(x):
    """ONNX NonZero by onnx.reference, and by onnxruntime where it implements the dtype (checked equal)."""
    graph = helper.make_graph([helper.make_node("NonZero", ["x"], ["y"])], "nz",
                              [helper.make_tensor_value_info("x", ONNX_TYPES[x.dtype.type], x.shape)],
                              [helper.make_tensor_value_info("y", TensorProto.INT64, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    want = ReferenceEvaluator(model).run(None, {"x": x})[0]
    try:
        session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    except ort.capi.onnxruntime_pybind11_state.NotImplemented:  # onnxruntime has no NonZero for this dtype
        return want
    np.testing.assert_array_equal(session.run(None, {"x": x})[0], want)
    return want


def non_zero(x, dims=None):
    net = Network("nz")
    src = net.add_input("x", DataType.from_numpy(x.dtype), dims or x.shape)
    layer = net.add_non_zero(src)
    net.mark_output(layer.output)
    return layer, execute(net, {"x": x})["non_zero"]


@pytest.mark.parametrize("x", [
    np.array([[0, 1.5, 0], [-2, 0, 3]], np.float32),
    np.array([0.0, -0.0, np.nan, 1e-30], np.float32),  # -0.0 is zero, NaN and a denormal-sized value are not
    np.zeros((2, 3, 4), np.float32),  # empty result: (3, 0)
    np.ones((1, 1), np.float16),
    np.array([[True, False], [False, True]]),
    np.array([[0, 5], [-7, 0]], np.int32),
    np.array([0, 3, 0, 0, -1], np.int64),
    np.array([[[0, 1]], [[2, 0]]], np.int8),
    np.random.default_rng(3).integers(-1, 2, (3, 4, 5)).astype(np.float32),
], ids=lambda x: f"{x.dtype}{x.shape}")
def test_matches_onnx_non_zero(x):
    layer, out = non_zero(x)
    want = onnx_non_zero(x)
    assert out.dtype == np.int64 and out.shape == want.shape
    np.testing.assert_array_equal(out, want)


def test_output_shape_is_rank_by_a_runtime_count_the_executor_learns():
    x = np.array([[0, 1, 1], [1, 0, 0]], np.float32)
    layer, out = non_zero(x, ("n", 3))
    assert layer.output.shape == (2, dim("non_zero.count")) and layer.count == dim("non_zero.count")
    assert layer.output.dtype is DataType.INT64
    np.testing.assert_array_equal(out, onnx_non_zero(x))


def test_count_feeds_a_later_shape():
    """A layer after NonZero computes with the learned count: the transposed coordinates (count, rank)."""
    net = Network("nz")
    x = net.add_input("x", DataType.FLOAT, (2, "w"))
    coords = net.add_non_zero(x).output
    rows = net.add_shuffle(coords, first_transpose=(1, 0)).output
    assert rows.shape == (dim("non_zero.count"), 2)
    net.mark_output(rows)
    x_value = np.array([[0, 2, 0, 1], [3, 0, 0, 0]], np.float32)
    np.testing.assert_array_equal(execute(net, {"x": x_value})[rows.name], onnx_non_zero(x_value).T)


@pytest.mark.parametrize("shape, dtype, message", [
    ((), DataType.FLOAT, "L: input 'constant' must have rank >= 1"),
    ((2,), DataType.UINT8, "L: input 'x' must be FLOAT, HALF, BF16, INT8, INT32, INT64, BOOL, found UINT8"),
])
def test_refused(shape, dtype, message):
    net = Network("bad")
    with pytest.raises(NetworkDefinitionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        net.add_non_zero(net.add_input("x", dtype, shape) if shape else net.add_constant((), 1.0).output, name="L")
