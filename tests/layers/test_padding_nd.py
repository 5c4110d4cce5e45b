"""add_padding_nd (IPaddingLayer) against torch.nn.functional.pad (zeros; negative values crop)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.graph.dtypes import DataType
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute


def pad(x, pre, post, half=False):
    net = Network("pad")
    src = net.add_input("x", DataType.from_numpy(x.dtype), x.shape)
    if half:
        src = net.add_cast(src, DataType.HALF).output
    layer = net.add_padding_nd(src, pre, post)
    net.mark_output(layer.output)
    return layer, execute(net, {"x": x})[layer.output.name]


def torch_pad(x, pre, post):
    """F.pad lists (start, end) pairs from the last dim backwards."""
    pairs = [v for a, b in zip(reversed(pre), reversed(post)) for v in (a, b)]
    return F.pad(torch.from_numpy(x), pairs).numpy()


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 3), st.data())
def test_matches_torch_pad(n, draw):
    lead = draw.draw(st.lists(st.integers(1, 2), min_size=2, max_size=3))
    spatial = draw.draw(st.lists(st.integers(1, 5), min_size=n, max_size=n))
    pre = [draw.draw(st.integers(-(d - 1) // 2, 3)) for d in spatial]
    post = [draw.draw(st.integers(-(d - 1) // 2, 3)) for d in spatial]
    kind = draw.draw(st.sampled_from(["float32", "half", "int8"]))
    rng = np.random.default_rng(13)
    shape = tuple(lead + spatial)
    x = rng.integers(-100, 100, shape) if kind == "int8" else rng.standard_normal(shape)
    x = x.astype(np.int8 if kind == "int8" else np.float32)
    layer, out = pad(x, pre, post, half=kind == "half")
    ref = torch_pad(x.astype(np.float16) if kind == "half" else x, pre, post)
    assert layer.output.shape == ref.shape and out.dtype == ref.dtype
    np.testing.assert_array_equal(out, ref)


def test_operator_page_example_crops_and_pads():
    """TensorRT's Padding example: (1,1,3,5), pre (-1, 3), post (3, -2) -> (1,1,5,6)."""
    x = np.array([[[[-3, -2, -1, 10, -25], [-4, -9, -1, 10, -25], [0, 1, 2, -2, -1]]]], np.float32)
    layer, out = pad(x, (-1, 3), (3, -2))
    assert layer.output.shape == (1, 1, 5, 6)
    np.testing.assert_array_equal(out[0, 0, :2], [[0, 0, 0, -4, -9, -1], [0, 0, 0, 0, 1, 2]])
    np.testing.assert_array_equal(out, torch_pad(x, (-1, 3), (3, -2)))


def test_crop_past_the_edge_leaves_zeros():
    """out[i] = in[i - pre] where inside the input, else 0, also when pre crops past the far edge."""
    x = np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4) + 1
    _, out = pad(x, (0, -5), (0, 3))
    assert out.shape == (1, 1, 3, 2)
    np.testing.assert_array_equal(out, 0)


@pytest.mark.parametrize("shape,dtype,pre,post,needle", [
    ((1, 2, 3, 4), DataType.INT32, (1, 1), (1, 1), "input 'x' must be FLOAT, HALF, BF16, INT8"),
    ((2, 3, 4), DataType.FLOAT, (1, 1), (1, 1), "must have rank >= 4 to pad its last 2 dims"),
    ((1, 2, 3, 4), DataType.FLOAT, (1, 1, 1), (1, 1, 1), "must have rank >= 5 to pad its last 3 dims"),
    ((1, 2, 3, 4), DataType.FLOAT, (1,), (1,), "must both have 2 (or 3) values"),
    ((1, 2, 3, 4), DataType.FLOAT, (1, 1), (1, 1, 1), "must both have 2 (or 3) values"),
    ((1, 2, 3, 4), DataType.FLOAT, (-2, 0), (-2, 0), "to negative dims (1, 2, -1, 4)"),
])
def test_invalid_padding_names_the_layer(shape, dtype, pre, post, needle):
    net = Network("bad")
    x = net.add_input("x", dtype, shape)
    with pytest.raises(NetworkDefinitionError, match="^border: ") as err:
        net.add_padding_nd(x, pre, post, name="border")
    assert needle in str(err.value)
