"""add_reduce: reference executor vs torch reductions (sum, prod, amax, amin, mean) over axis sets."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.graph.dtypes import DataType
from netdsl.graph.enums import ReduceOperation as RO
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.layers._checks import axes_mask
from netdsl.reference import execute


def torch_reduce(x, op, axes, keep):
    t = torch.from_numpy(x)
    t = t.double() if t.is_floating_point() else t
    if op is RO.PROD:  # torch.prod takes one dim at a time
        for a in sorted(axes, reverse=True):
            t = torch.prod(t, dim=a, keepdim=True)
        return (t if keep else t.reshape([d for i, d in enumerate(t.shape) if i not in axes])).numpy()
    fn = {RO.SUM: torch.sum, RO.MAX: torch.amax, RO.MIN: torch.amin, RO.AVG: torch.mean}[op]
    return fn(t, dim=tuple(axes), keepdim=keep).numpy()


def reduce_net(shape, op, axes, keep, dtype=DataType.FLOAT, in_dtype=DataType.FLOAT):
    net = Network("red")
    x = net.add_input("x", in_dtype, shape)
    if dtype is not in_dtype:
        x = net.add_cast(x, dtype).output
    layer = net.add_reduce(x, op, axes, keep, name="r")
    net.mark_output(layer.output)
    return net, layer


@pytest.mark.parametrize("op", list(RO))
@pytest.mark.parametrize("axes, keep, resolved, out_shape", [
    ((2, 3), True, (2, 3), (2, 3, 1, 1)),
    ((3, 1), False, (1, 3), (2, 4)),
    ((-1,), False, (3,), (2, 3, 4)),
    (0b1100, True, (2, 3), (2, 3, 1, 1)),  # an int is TensorRT's bitmask
    (1 << 1, False, (1,), (2, 4, 5)),
    ((0, 1, 2, 3), False, (0, 1, 2, 3), ()),
    ((0, 1, 2, 3), True, (0, 1, 2, 3), (1, 1, 1, 1)),
])
def test_matches_torch_fp32(op, axes, keep, resolved, out_shape):
    x = np.random.default_rng(0).uniform(0.5, 1.5, (2, 3, 4, 5)).astype(np.float32)
    net, layer = reduce_net(x.shape, op, axes, keep)
    assert layer.axis_indices == resolved and layer.axes == axes_mask(resolved) and layer.output.shape == out_shape
    got = execute(net, {"x": x})["r"]
    assert got.shape == out_shape and got.dtype == np.float32
    np.testing.assert_allclose(got, torch_reduce(x, op, resolved, keep), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("op", [RO.SUM, RO.PROD, RO.MAX, RO.MIN])
def test_int32_input_keeps_dtype(op):
    x = np.random.default_rng(1).integers(-3, 4, (3, 4, 2)).astype(np.int32)
    got = execute(reduce_net(x.shape, op, (0, 2), False, DataType.INT32, DataType.INT32)[0], {"x": x})["r"]
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, torch_reduce(x, op, (0, 2), False))


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4), op=st.sampled_from(list(RO)),
       keep=st.booleans(), data=st.data())
def test_random_axes_fp16(shape, op, keep, data):
    axes = data.draw(st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True))
    x = np.random.default_rng(len(shape)).uniform(0.5, 1.5, shape).astype(np.float32)
    got = execute(reduce_net(tuple(shape), op, axes, keep, DataType.HALF)[0], {"x": x})["r"]
    assert got.dtype == np.float16
    want = torch_reduce(x.astype(np.float16).astype(np.float32), op, sorted(axes), keep)
    np.testing.assert_allclose(got, want, rtol=3e-3, atol=1e-3)


def test_axes_mask_is_tensorrt_bitmask():
    assert axes_mask((0,)) == 1 and axes_mask((1, 3)) == 0b1010 and axes_mask((0, 1, 2, 3)) == 15


@pytest.mark.parametrize("shape, op, axes, message", [
    ((2, 3), RO.SUM, (), "axes must name at least one axis"),
    ((2, 3), RO.SUM, (2,), "axes index 2 is out of range for rank 2"),
    ((2, 3), RO.MAX, (1, -1), r"repeats an axis"),
    ((), RO.SUM, 0, "must have rank >= 1"),
])
def test_invalid_axes_raise_naming_layer(shape, op, axes, message):
    with pytest.raises(NetworkDefinitionError, match=rf"^r: .*{message}"):
        reduce_net(shape, op, axes, False)


def test_invalid_dtypes_raise():
    with pytest.raises(NetworkDefinitionError, match=r"^r: input 'x' must be FLOAT, HALF, BF16, found INT32"):
        reduce_net((2, 3), RO.AVG, 1, True, DataType.INT32, DataType.INT32)
    with pytest.raises(NetworkDefinitionError, match=r"^r: input 'x' must be .*INT64, found BOOL"):
        reduce_net((2, 3), RO.SUM, 1, True, DataType.BOOL, DataType.BOOL)
