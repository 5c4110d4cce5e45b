"""add_cumulative (ICumulativeLayer) against ONNX Runtime CumSum and torch.cumsum."""
import numpy as np
import onnxruntime as ort
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from netdsl.graph.dtypes import DataType
from netdsl.graph.enums import CumulativeOperation
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute


def onnx_cumsum(x, axis, exclusive, reverse):
    kind = helper.np_dtype_to_tensor_dtype(x.dtype)
    node = helper.make_node("CumSum", ["x", "axis"], ["y"], exclusive=int(exclusive), reverse=int(reverse))
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", kind, x.shape),
                                            helper.make_tensor_value_info("axis", TensorProto.INT64, ())],
                              [helper.make_tensor_value_info("y", kind, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=8)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x, "axis": np.array(axis, np.int64)})[0]


def cumulative(x, axis, half=False, **kw):
    net = Network("cumulative")
    src = net.add_input("x", DataType.from_numpy(x.dtype), x.shape)
    if half:
        src = net.add_cast(src, DataType.HALF).output
    layer = net.add_cumulative(src, axis, CumulativeOperation.SUM, **kw)
    net.mark_output(layer.output)
    return layer, execute(net, {"x": x})[layer.output.name]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=4), st.data())
def test_matches_onnx_cumsum(shape, draw):
    axis = draw.draw(st.integers(-len(shape), len(shape) - 1))
    exclusive, reverse = draw.draw(st.booleans()), draw.draw(st.booleans())
    kind = draw.draw(st.sampled_from(["float32", "int32", "int64"]))
    rng = np.random.default_rng(8)
    x = rng.standard_normal(shape).astype(kind) if kind == "float32" else rng.integers(-50, 50, shape).astype(kind)
    layer, out = cumulative(x, axis, exclusive=exclusive, reverse=reverse)
    ref = onnx_cumsum(x, axis, exclusive, reverse)
    assert out.dtype == x.dtype and layer.output.shape == x.shape
    np.testing.assert_allclose(out, ref, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("reverse", [False, True])
def test_fp16_against_torch_cumsum(reverse):
    x = np.random.default_rng(9).uniform(-1, 1, (2, 3, 40)).astype(np.float32)
    _, out = cumulative(x, 2, half=True, reverse=reverse)
    t = torch.from_numpy(x.astype(np.float16).astype(np.float64))
    ref = torch.cumsum(t.flip(2), 2).flip(2) if reverse else torch.cumsum(t, 2)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out.astype(np.float64), ref.numpy(), rtol=1e-2, atol=2e-2)


def test_exclusive_forward_and_reverse_on_a_vector():
    """ICumulativeLayer's table: exclusive forward sums 0..j-1, exclusive reverse sums j+1..n-1."""
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    np.testing.assert_array_equal(cumulative(x, 0, exclusive=True)[1], [0, 1, 3, 6])
    np.testing.assert_array_equal(cumulative(x, 0, exclusive=True, reverse=True)[1], [9, 7, 4, 0])


@pytest.mark.parametrize("dtype,shape,axis,needle", [
    (DataType.BOOL, (2, 3), 0, "input 'x' must be FLOAT, HALF, BF16, INT32, INT64"),
    (DataType.INT8, (2, 3), 0, "found INT8"),
    (DataType.FLOAT, (2, 3), 2, "axis 2 is out of range for rank 2"),
    (DataType.FLOAT, (2, 3), -3, "axis -3 is out of range"),
    (DataType.FLOAT, (), 0, "axis 0 is out of range for rank 0"),
])
def test_invalid_cumulative_names_the_layer(dtype, shape, axis, needle):
    net = Network("bad")
    x = net.add_input("x", dtype, shape)
    with pytest.raises(NetworkDefinitionError, match="^running: ") as err:
        net.add_cumulative(x, axis, name="running")
    assert needle in str(err.value)
