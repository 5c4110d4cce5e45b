"""add_topk (ITopKLayer) against torch.topk, and its tie order against ONNX Runtime TopK."""
import numpy as np
import onnxruntime as ort
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

from netdsl.graph.dtypes import DataType
from netdsl.graph.enums import TopKOperation
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute


def topk(x, op, k, axis, half=False):
    net = Network("topk")
    src = net.add_input("x", DataType.from_numpy(x.dtype), x.shape)
    if half:
        src = net.add_cast(src, DataType.HALF).output
    layer = net.add_topk(src, op, k, 1 << axis)
    for t in layer.outputs:
        net.mark_output(t)
    out = execute(net, {"x": x})
    return layer, out[layer.get_output(0).name], out[layer.get_output(1).name]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=2, max_size=5), st.data())
def test_matches_torch_topk_without_ties(shape, draw):
    axis = draw.draw(st.integers(max(0, len(shape) - 4), len(shape) - 1))
    k = draw.draw(st.integers(1, shape[axis]))
    op = draw.draw(st.sampled_from(list(TopKOperation)))
    kind = draw.draw(st.sampled_from(["float32", "half", "int32", "int64"]))
    rng = np.random.default_rng(6)
    values = rng.permutation(int(np.prod(shape))).reshape(shape) - 40  # distinct, exact in fp16
    x = (values / 8).astype(np.float32) if kind in ("float32", "half") else values.astype(kind)
    layer, vals, idx = topk(x, op, k, axis, half=kind == "half")
    ref = torch.from_numpy(x.astype(np.float16) if kind == "half" else x).topk(
        k, dim=axis, largest=op is TopKOperation.MAX, sorted=True)
    assert vals.dtype == (np.float16 if kind == "half" else x.dtype) and idx.dtype == np.int32
    assert layer.get_output(0).shape == layer.get_output(1).shape == ref.values.shape
    np.testing.assert_array_equal(vals, ref.values.numpy())
    np.testing.assert_array_equal(idx, ref.indices.numpy())


@pytest.mark.parametrize("op", list(TopKOperation))
def test_ties_keep_the_lower_index_first_like_onnx_topk(op):
    x = np.array([[3, 1, 3, 2, 1, 3], [0, 0, 0, 0, 0, 0]], np.float32)
    _, vals, idx = topk(x, op, 4, 1)
    node = helper.make_node("TopK", ["x", "k"], ["v", "i"], axis=1, largest=int(op is TopKOperation.MAX), sorted=1)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape),
                      helper.make_tensor_value_info("k", TensorProto.INT64, (1,))],
        [helper.make_tensor_value_info("v", TensorProto.FLOAT, None),
         helper.make_tensor_value_info("i", TensorProto.INT64, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    ref_vals, ref_idx = session.run(None, {"x": x, "k": np.array([4], np.int64)})
    np.testing.assert_array_equal(vals, ref_vals)
    np.testing.assert_array_equal(idx, ref_idx)


def test_torch_topk_values_agree_with_ties_in_fp16():
    x = np.array([[0.1, 0.10001, 5.0, -2.0, 5.0]], np.float32)  # 0.1 and 0.10001 tie once rounded to fp16
    _, vals, _ = topk(x, TopKOperation.MAX, 5, 1, half=True)
    np.testing.assert_array_equal(vals, torch.from_numpy(x.astype(np.float16)).topk(5, dim=1).values.numpy())


@pytest.mark.parametrize("shape,k,axes,needle", [
    ((8,), 2, 1, "rank >= 2"),
    ((2, 8), 2, 3, "axes must name exactly 1 axis, found 2 (0, 1) (from 3)"),
    ((2, 8), 2, 0, "axes bitmask 0 names no axis"),
    ((2, 8), 2, 4, "axes bitmask 4 (0b100) sets bit(s) [2], past the last axis of input 'x' (2, 8)"),
    ((2, 8), 2, (2,), "axes index 2 is out of range for rank 2"),
    ((2, 8), 2, True, "axes must be an int bitmask (bit i = axis i) or a tuple/list of axis indices, found bool"),
    ((2, 3, 4, 5, 6), 1, 1, "not one of the last four"),
    ((2, 8), 9, 2, "k must be in [1, 8]"),
    ((2, 8), 0, 2, "k must be in [1, 8]"),
    ((2, 4000), 3841, 2, "k must be in [1, 3840]"),
])
def test_invalid_topk_names_the_layer(shape, k, axes, needle):
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, shape)
    with pytest.raises(NetworkDefinitionError, match="^best: ") as err:
        net.add_topk(x, TopKOperation.MAX, k, axes, name="best")
    assert needle in str(err.value)


def test_topk_rejects_bool_input():
    net = Network("bad")
    with pytest.raises(NetworkDefinitionError, match="best: input 'x' must be FLOAT, HALF, BF16, INT32, INT64"):
        net.add_topk(net.add_input("x", DataType.BOOL, (2, 3)), TopKOperation.MAX, 1, 2, name="best")
