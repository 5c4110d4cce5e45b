"""SLICE reads in bounds as one strided view (netdsl.reference.slice): the same elements as gathering each
dim's source indices, for positive and negative strides, every mode, empty and one-element slices."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.graph.dtypes import DataType
from netdsl.graph.enums import SampleMode
from netdsl.graph.network import Network
from netdsl.reference import execute


@st.composite
def in_bounds_slices(draw):
    shape = draw(st.lists(st.integers(1, 7), min_size=1, max_size=4))
    start, size, stride = [], [], []
    for d in shape:
        s = draw(st.sampled_from([-3, -2, -1, 1, 2, 3]))
        b = draw(st.integers(0, d - 1))
        room = (d - 1 - b) // s if s > 0 else b // -s
        start.append(b), stride.append(s), size.append(draw(st.integers(0, room + 1)))
    return tuple(shape), tuple(start), tuple(size), tuple(stride)


@settings(max_examples=150, deadline=None)
@given(case=in_bounds_slices(), mode=st.sampled_from(["STRICT_BOUNDS", "WRAP", "CLAMP", "FILL", "REFLECT"]))
def test_in_bounds_slice_is_the_gathered_elements(case, mode):
    shape, start, size, stride = case
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    net = Network("slice")
    t = net.add_input("x", DataType.FLOAT, shape)
    layer = net.add_slice(t, start, size, stride, mode=SampleMode[mode])
    net.mark_output(layer.output)
    got = execute(net, {"x": x})[layer.output.name]
    expected = x
    for axis, (b, n, s) in enumerate(zip(start, size, stride)):
        expected = np.take(expected, [b + i * s for i in range(n)], axis=axis)
    assert got.shape == expected.shape and got.dtype == np.float32
    assert np.array_equal(got, expected)
    assert got.flags.owndata or got.base is not x   # a copy, never a view of the caller's array
