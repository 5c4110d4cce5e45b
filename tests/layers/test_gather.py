"""add_gather (IGatherLayer) in DEFAULT, ELEMENT and ND mode against ONNX and PyTorch."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper
from onnx.reference import ReferenceEvaluator

from netdsl.graph.dtypes import DataType
from netdsl.graph.enums import GatherMode
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute


def onnx_op(op, feeds, **attrs):
    """Run one ONNX node with onnx.reference (the oracle)."""
    node = helper.make_node(op, list(feeds), ["y"], **attrs)
    graph = helper.make_graph([node], "g", [helper.make_value_info(n, helper.TypeProto()) for n in feeds],
                              [helper.make_value_info("y", helper.TypeProto())])
    return ReferenceEvaluator(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])).run(None, feeds)[0]


def gather(data, indices, axis, half=False, **kw):
    """Build input -> [cast HALF] -> gather, run the reference executor, return the output."""
    net = Network("gather")
    x = net.add_input("x", DataType.from_numpy(data.dtype), data.shape)
    i = net.add_input("i", DataType.from_numpy(indices.dtype), indices.shape)
    src = net.add_cast(x, DataType.HALF).output if half else x
    layer = net.add_gather(src, i, axis, **kw)
    net.mark_output(layer.output)
    return layer, execute(net, {"x": data, "i": indices})[layer.output.name]


@st.composite
def default_case(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    ishape = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    d = shape[axis]
    idx = np.array(draw(st.lists(st.integers(-d, d - 1), min_size=int(np.prod(ishape)),
                                 max_size=int(np.prod(ishape))))).reshape(ishape)
    return shape, axis, idx.astype(draw(st.sampled_from([np.int32, np.int64])))


@settings(max_examples=25, deadline=None)
@given(default_case(), st.booleans())
def test_default_matches_onnx_gather(case, half):
    shape, axis, idx = case
    data = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    layer, out = gather(data, idx, axis, half=half)
    ref = onnx_op("Gather", {"x": data.astype(np.float16) if half else data, "i": idx}, axis=axis)
    assert out.dtype == (np.float16 if half else np.float32)
    assert out.shape == layer.output.shape == ref.shape
    np.testing.assert_array_equal(out, ref)


def test_default_scalar_index_drops_the_axis():
    data = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    layer, out = gather(data, np.array(-1, np.int64), 1)
    assert layer.output.shape == (2, 4)
    np.testing.assert_array_equal(out, torch.from_numpy(data)[:, -1, :].numpy())


@pytest.mark.parametrize("dshape,ishape,axis", [((3, 4, 5), (3, 6), 1), ((3, 4, 5), (1, 2), 2), ((1, 4, 5), (3, 2), 2),
                                                ((3, 4, 5), (3,), 1), ((2, 4, 5), (2, 2, 3), 1)])
def test_default_elementwise_dim_broadcasts(dshape, ishape, axis):
    """num_elementwise_dims=1: out[n] = gather(data[n], indices[n], axis - 1), dim 0 broadcast."""
    rng = np.random.default_rng(1)
    data = rng.standard_normal(dshape).astype(np.float32)
    idx = rng.integers(0, dshape[axis], ishape).astype(np.int32)
    layer, out = gather(data, idx, axis, num_elementwise_dims=1)
    t, ti = torch.from_numpy(data), torch.from_numpy(idx).long()
    n = max(dshape[0], ishape[0])
    row_shape = dshape[1:axis] + ishape[1:] + dshape[axis + 1:]
    rows = [t[b % dshape[0]].index_select(axis - 1, ti[b % ishape[0]].flatten()).reshape(row_shape) for b in range(n)]
    np.testing.assert_array_equal(out, torch.stack(rows).numpy())
    assert layer.output.shape == (n,) + row_shape


def test_default_out_of_range_reads_zero():
    """IGatherLayer: 'Zero will be stored for OOB access'; -1 wraps to the last element."""
    data = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    _, out = gather(data, np.array([0, 3, -1, -4], np.int32), 1)
    np.testing.assert_array_equal(out, [[1, 0, 3, 0], [4, 0, 6, 0]])


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_element_matches_torch_gather(shape, draw):
    axis = draw.draw(st.integers(0, len(shape) - 1))
    ishape = [draw.draw(st.integers(1, s)) if d != axis else draw.draw(st.integers(1, 5)) for d, s in enumerate(shape)]
    rng = np.random.default_rng(2)
    data = rng.standard_normal(shape).astype(np.float32)
    idx = rng.integers(0, shape[axis], ishape).astype(np.int64)
    layer, out = gather(data, idx, axis, mode=GatherMode.ELEMENT)
    ref = torch.gather(torch.from_numpy(data), axis, torch.from_numpy(idx)).numpy()
    assert layer.output.shape == tuple(ishape)
    np.testing.assert_array_equal(out, ref)


def test_element_negative_indices_match_onnx_gather_elements():
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    idx = np.array([[-1, 0], [-4, 3], [2, -2]], np.int32)
    _, out = gather(data, idx, -1, mode=GatherMode.ELEMENT, half=True)
    np.testing.assert_array_equal(out, onnx_op("GatherElements", {"x": data, "i": idx}, axis=1))


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_nd_matches_onnx_gather_nd(shape, draw):
    batch = draw.draw(st.integers(0, len(shape) - 1))
    k = draw.draw(st.integers(1, len(shape) - batch))
    middle = draw.draw(st.lists(st.integers(1, 3), max_size=2))
    rng = np.random.default_rng(3)
    cols = [rng.integers(-shape[batch + j], shape[batch + j], tuple(shape[:batch]) + tuple(middle)) for j in range(k)]
    idx = np.stack(cols, axis=-1).astype(np.int64)
    data = rng.standard_normal(shape).astype(np.float32)
    layer, out = gather(data, idx, 0, mode=GatherMode.ND, num_elementwise_dims=batch)
    ref = onnx_op("GatherND", {"x": data, "i": idx}, batch_dims=batch)
    assert layer.output.shape == ref.shape
    np.testing.assert_array_equal(out, ref)


def test_nd_fp16_and_integer_data():
    data = np.arange(60, dtype=np.float32).reshape(3, 4, 5) / 7
    idx = np.array([[[0, 1], [3, 4]], [[1, 0], [2, 2]], [[3, 3], [0, 0]]], np.int32)
    _, out = gather(data, idx, 0, mode=GatherMode.ND, num_elementwise_dims=1, half=True)
    ref = onnx_op("GatherND", {"x": data.astype(np.float16), "i": idx}, batch_dims=1)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, ref)
    ints = np.arange(60, dtype=np.int64).reshape(3, 4, 5)
    _, out = gather(ints, idx[:, :, :1], 0, mode=GatherMode.ND, num_elementwise_dims=1)
    np.testing.assert_array_equal(out, onnx_op("GatherND", {"x": ints, "i": idx[:, :, :1]}, batch_dims=1))


def _net(dshape, ishape, idtype=DataType.INT32):
    net = Network("bad")
    return net, net.add_input("x", DataType.FLOAT, dshape), net.add_input("i", idtype, ishape)


@pytest.mark.parametrize("ishape,idtype,axis,kw,needle", [
    ((2,), DataType.FLOAT, 0, {}, "must be INT32, INT64"),
    ((2,), DataType.INT32, 3, {}, "axis 3 is out of range"),
    ((3, 2), DataType.INT32, 1, dict(num_elementwise_dims=2), "num_elementwise_dims must be in [0, 1]"),
    ((3, 2), DataType.INT32, 0, dict(num_elementwise_dims=1), "axis 0 is the elementwise dimension"),
    ((2, 2), DataType.INT32, 1, dict(num_elementwise_dims=1), "does not broadcast"),
    ((3, 2), DataType.INT32, 1, dict(mode=GatherMode.ELEMENT), "needs indices of the data's rank"),
    ((4, 2, 5), DataType.INT32, 1, dict(mode=GatherMode.ELEMENT), "exceed data"),
    ((3, 4, 5), DataType.INT32, 1, dict(mode=GatherMode.ELEMENT, num_elementwise_dims=1), "num_elementwise_dims"),
    ((2, 2), DataType.INT32, 1, dict(mode=GatherMode.ND), "does not use axis"),
    ((2, 4), DataType.INT32, 0, dict(mode=GatherMode.ND), "index tuples of length 4"),
    ((2, 1), DataType.INT32, 0, dict(mode=GatherMode.ND, num_elementwise_dims=1), "batch"),
])
def test_invalid_gather_names_the_layer(ishape, idtype, axis, kw, needle):
    net, x, i = _net((3, 4, 5), ishape, idtype)
    with net.scope("head"), pytest.raises(NetworkDefinitionError, match="^head.pick: ") as err:
        net.add_gather(x, i, axis, name="pick", **kw)
    assert needle in str(err.value)
