"""add_scatter (IScatterLayer) in ELEMENT and ND mode against PyTorch and ONNX."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper
from onnx.reference import ReferenceEvaluator

from netdsl.graph.dtypes import DataType
from netdsl.graph.enums import ScatterMode
from netdsl.graph.errors import ExecutionError, NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute


def scatter_nd_oracle(data, indices, updates):
    """ONNX ScatterND through onnx.reference."""
    node = helper.make_node("ScatterND", ["x", "i", "u"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_value_info(n, helper.TypeProto()) for n in "xiu"],
                              [helper.make_value_info("y", helper.TypeProto())])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    return ReferenceEvaluator(model).run(None, {"x": data, "i": indices, "u": updates})[0]


def scatter(data, indices, updates, mode, half=False, **kw):
    net = Network("scatter")
    feeds = {"x": data, "i": indices, "u": updates}
    x, i, u = (net.add_input(n, DataType.from_numpy(v.dtype), v.shape) for n, v in feeds.items())
    if half:
        x, u = net.add_cast(x, DataType.HALF).output, net.add_cast(u, DataType.HALF).output
    layer = net.add_scatter(x, i, u, mode, **kw)
    net.mark_output(layer.output)
    return layer, execute(net, feeds)[layer.output.name]


def distinct_positions(rng, extent, shape, axis):
    """Indices along ``axis`` that never repeat within one line (TensorRT: repeats are undefined)."""
    lines = np.moveaxis(np.zeros(shape, np.int64), axis, -1)
    flat = lines.reshape(-1, shape[axis])
    for row in flat:
        row[:] = rng.permutation(extent)[:shape[axis]]
    return np.moveaxis(flat.reshape(lines.shape), -1, axis)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data(), st.booleans())
def test_element_matches_torch_scatter(shape, draw, half):
    axis = draw.draw(st.integers(-len(shape), len(shape) - 1))
    ishape = tuple(draw.draw(st.integers(1, s)) for s in shape)
    rng = np.random.default_rng(4)
    data = rng.standard_normal(shape).astype(np.float32)
    updates = rng.standard_normal(ishape).astype(np.float32)
    index_type = draw.draw(st.sampled_from([np.int32, np.int64]))
    idx = distinct_positions(rng, shape[axis], ishape, axis % len(shape)).astype(index_type)
    layer, out = scatter(data, idx, updates, ScatterMode.ELEMENT, axis=axis, half=half)
    cast = (lambda a: a.astype(np.float16)) if half else (lambda a: a)
    ref = torch.from_numpy(cast(data)).scatter(axis, torch.from_numpy(idx).long(), torch.from_numpy(cast(updates)))
    assert layer.output.shape == data.shape and out.dtype == cast(data).dtype
    np.testing.assert_array_equal(out, ref.numpy())


def test_element_negative_indices_count_from_the_end():
    data = np.zeros((2, 4), np.int32)
    out = scatter(data, np.array([[-1, 0]], np.int64), np.array([[7, 8]], np.int32), ScatterMode.ELEMENT, axis=1)[1]
    np.testing.assert_array_equal(out, [[8, 0, 0, 7], [0, 0, 0, 0]])


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_nd_matches_onnx_scatter_nd(shape, draw):
    k = draw.draw(st.integers(1, len(shape)))
    rng = np.random.default_rng(5)
    cells = int(np.prod(shape[:k]))
    count = draw.draw(st.integers(1, cells))
    picks = rng.permutation(cells)[:count]
    idx = np.stack(np.unravel_index(picks, shape[:k]), axis=-1)
    idx = (idx - np.where(rng.random(idx.shape) < 0.3, np.array(shape[:k]), 0)).astype(np.int64)  # some negative
    data = rng.standard_normal(shape).astype(np.float32)
    updates = rng.standard_normal((count,) + tuple(shape[k:])).astype(np.float32)
    _, out = scatter(data, idx, updates, ScatterMode.ND)
    np.testing.assert_array_equal(out, scatter_nd_oracle(data, idx, updates))


def test_nd_fp16_rows():
    data = np.arange(12, dtype=np.float32).reshape(3, 4) / 3
    idx, updates = np.array([[[2]], [[0]]], np.int32), np.full((2, 1, 4), -1.5, np.float32)
    _, out = scatter(data, idx, updates, ScatterMode.ND, half=True)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, scatter_nd_oracle(data.astype(np.float16), idx, updates.astype(np.float16)))


def test_out_of_range_index_is_an_execution_error():
    with pytest.raises(ExecutionError, match="out of range"):
        scatter(np.zeros((2, 3), np.float32), np.array([[3]], np.int32), np.ones((1, 1), np.float32),
                ScatterMode.ELEMENT, axis=1)


@pytest.mark.parametrize("ishape,ushape,mode,kw,needle", [
    ((2, 2), (2, 2), ScatterMode.ELEMENT, dict(axis=2), "axis 2 is out of range"),
    ((2,), (2,), ScatterMode.ELEMENT, {}, "equal rank"),
    ((2, 2), (2, 3), ScatterMode.ELEMENT, {}, "must have the shape of indices"),
    ((4, 2), (4, 2), ScatterMode.ELEMENT, {}, "exceed data"),
    ((2, 1), (2, 4), ScatterMode.ND, dict(axis=1), "does not use axis"),
    ((2, 3), (2,), ScatterMode.ND, {}, "index tuples of length 3"),
    ((2, 1), (2, 3), ScatterMode.ND, {}, "must have shape (2, 4)"),
])
def test_invalid_scatter_names_the_layer(ishape, ushape, mode, kw, needle):
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, (3, 4))
    i = net.add_input("i", DataType.INT32, ishape)
    u = net.add_input("u", DataType.FLOAT, ushape)
    with pytest.raises(NetworkDefinitionError, match="^put: ") as err:
        net.add_scatter(x, i, u, mode, name="put", **kw)
    assert needle in str(err.value)


def test_scatter_dtype_rules():
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, (3, 4))
    with pytest.raises(NetworkDefinitionError, match="indices 'f' must be INT32, INT64"):
        net.add_scatter(x, net.add_input("f", DataType.FLOAT, (3, 4)), x, ScatterMode.ELEMENT)
    i = net.add_input("i", DataType.INT32, (3, 4))
    with pytest.raises(NetworkDefinitionError, match="updates 'h' is HALF, expected FLOAT"):
        net.add_scatter(x, i, net.add_input("h", DataType.HALF, (3, 4)), ScatterMode.ELEMENT)
