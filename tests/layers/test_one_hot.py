"""add_one_hot (IOneHotLayer) against ONNX Runtime's OneHot."""
import numpy as np
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from netdsl.graph.dtypes import DataType
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute


def onnx_one_hot(indices, depth, values, axis):
    """ONNX Runtime OneHot (int64 indices, float32 values: its kernels); the result in values' dtype."""
    if indices.ndim == 0:  # ONNX Runtime wants rank >= 1: encode [index] on the last axis, take row 0
        return onnx_one_hot(indices.reshape(1), depth, values, -1)[0]
    feeds = {"i": indices.astype(np.int64), "d": np.array(depth, np.int64), "v": values.astype(np.float32)}
    inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), None)
              for n, v in feeds.items()]
    out = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    graph = helper.make_graph([helper.make_node("OneHot", list(feeds), ["y"], axis=axis)], "g", inputs, [out])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)], ir_version=8)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0].astype(values.dtype)


def one_hot(indices, values, depth, axis, half=False):
    net = Network("one_hot")
    i = net.add_input("i", DataType.from_numpy(indices.dtype), indices.shape)
    v = net.add_constant(values.shape, values, name="values").output
    if half:
        v = net.add_cast(v, DataType.HALF).output
    layer = net.add_one_hot(i, v, depth, axis)
    net.mark_output(layer.output)
    return layer, execute(net, {"i": indices})[layer.output.name]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3), max_size=3), st.integers(1, 5), st.data())
def test_matches_onnx_one_hot(ishape, depth, draw):
    rank = len(ishape)
    axis = draw.draw(st.integers(-rank - 1, rank))
    kind = draw.draw(st.sampled_from(["float32", "half", "int32", "int64"]))
    rng = np.random.default_rng(7)
    indices = rng.integers(-depth - 2, depth + 2, ishape).astype(draw.draw(st.sampled_from([np.int32, np.int64])))
    values = np.array([-0.5, 3.25]) if kind in ("float32", "half") else np.array([4, -9])
    values = values.astype(np.float32 if kind == "half" else kind)
    layer, out = one_hot(indices, values, depth, axis, half=kind == "half")
    ref = onnx_one_hot(indices, depth, values.astype(np.float16) if kind == "half" else values, axis)
    assert out.dtype == ref.dtype and layer.output.shape == ref.shape
    np.testing.assert_array_equal(out, ref)


def test_values_from_a_network_input_and_bool_values():
    net = Network("one_hot")
    i = net.add_input("i", DataType.INT32, (2, 2))
    v = net.add_input("v", DataType.BOOL, (2,))
    layer = net.add_one_hot(i, v, 3, 1)
    net.mark_output(layer.output)
    indices = np.array([[0, 2], [-1, 5]], np.int32)
    out = execute(net, {"i": indices, "v": np.array([False, True])})[layer.output.name]
    expected = onnx_one_hot(indices, 3, np.array([False, True]), 1)
    np.testing.assert_array_equal(out, expected)
    assert layer.output.shape == (2, 3, 2) and out.dtype == np.bool_


@pytest.mark.parametrize("idtype,vshape,depth,axis,needle", [
    (DataType.FLOAT, (2,), 3, -1, "indices 'i' must be INT32, INT64"),
    (DataType.INT32, (3,), 3, -1, "must have shape (2,)"),
    (DataType.INT32, (2,), 0, -1, "depth must be a positive int"),
    (DataType.INT32, (2,), 3, 3, "axis 3 is out of range [-3, 2]"),
    (DataType.INT32, (2,), 3, -4, "axis -4 is out of range"),
])
def test_invalid_one_hot_names_the_layer(idtype, vshape, depth, axis, needle):
    net = Network("bad")
    i = net.add_input("i", idtype, (4, 5))
    v = net.add_input("v", DataType.FLOAT, vshape)
    with pytest.raises(NetworkDefinitionError, match="^enc: ") as err:
        net.add_one_hot(i, v, depth, axis, name="enc")
    assert needle in str(err.value)


def test_one_hot_rejects_int8_values():
    net = Network("bad")
    v = net.add_constant((2,), np.array([0, 1], np.int8))
    with pytest.raises(NetworkDefinitionError, match="values 'constant' must be FLOAT"):
        net.add_one_hot(net.add_input("i", DataType.INT32, (4,)), v.output, 3, 0)
