"""add_softmax: reference executor vs torch.softmax; the axis is required and validated."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.graph.dtypes import DataType
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute


def softmax_net(shape, axes, dtype=DataType.FLOAT, in_dtype=DataType.FLOAT):
    net = Network("sm")
    x = net.add_input("x", in_dtype, shape)
    if dtype is not in_dtype:
        x = net.add_cast(x, dtype).output
    layer = net.add_softmax(x, axes=axes, name="prob")
    net.mark_output(layer.output)
    return net, layer


@pytest.mark.parametrize("shape, axes, axis", [
    ((2, 10), 1 << 1, 1), ((2, 10), (-1,), 1), ((2, 5, 3, 3), 0b10, 1), ((2, 5, 3, 3), (3,), 3), ((7,), 1, 0),
    ((1, 3, 4), [0], 0), ((1, 3, 4), 1, 0),  # an int is TensorRT's bitmask: 1 is axis 0
])
def test_matches_torch(shape, axes, axis):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 4
    net, layer = softmax_net(shape, axes)
    assert layer.axis == axis and layer.axes == 1 << axis
    got = execute(net, {"x": x})["prob"]
    want = torch.softmax(torch.from_numpy(x).double(), dim=axis).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=axis), 1.0, rtol=1e-5)


def test_large_logits_are_stable():
    x = np.array([[1000.0, 1001.0, -1000.0], [-1e4, -1e4, -1e4]], np.float32)
    got = execute(softmax_net(x.shape, (1,))[0], {"x": x})["prob"]
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, torch.softmax(torch.from_numpy(x), 1).numpy(), rtol=1e-6, atol=1e-7)


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), data=st.data())
def test_random_axis_fp16(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float32) * 3
    got = execute(softmax_net(tuple(shape), (axis,), DataType.HALF)[0], {"x": x})["prob"]
    assert got.dtype == np.float16
    want = torch.softmax(torch.from_numpy(x.astype(np.float16)).float(), dim=axis).numpy()
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=1e-3)


def test_axis_is_required():
    net = Network("sm")
    x = net.add_input("x", DataType.FLOAT, (2, 3))
    with pytest.raises(TypeError, match="axes"):
        net.add_softmax(x)


@pytest.mark.parametrize("shape, axes, message, dtype", [
    ((2, 3), 1, "input 'x' must be FLOAT, HALF, BF16, found INT32", DataType.INT32),
    ((2, 3), (2,), "axes index 2 is out of range for rank 2", DataType.FLOAT),
    ((2, 3), (-3,), "axes index -3 is out of range", DataType.FLOAT),
    ((2, 3), 1 << 2, r"axes bitmask 4 \(0b100\) sets bit\(s\) \[2\], past the last axis", DataType.FLOAT),
    ((2, 3), -1, r"axes bitmask must be >= 0 .*pass a tuple, e.g. \(-1,\)", DataType.FLOAT),
    ((2, 3), 3, r"axes must name exactly 1 axis, found 2 \(0, 1\) \(from 3\)", DataType.FLOAT),
    ((2, 3), (0, 1), r"axes must name exactly 1 axis, found 2 \(0, 1\)", DataType.FLOAT),
    ((2, 3), (), r"axes must name at least one axis", DataType.FLOAT),
    ((), 0, "input 'x' must have rank >= 1", DataType.FLOAT),
])
def test_invalid_use_raises_naming_layer(shape, axes, message, dtype):
    with pytest.raises(NetworkDefinitionError, match=rf"^prob: {message}"):
        softmax_net(shape, axes, dtype, dtype)
