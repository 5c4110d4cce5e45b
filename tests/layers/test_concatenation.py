"""add_concatenation (IConcatenationLayer) on every axis against torch.cat and np.concatenate."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.graph.dtypes import DataType
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute


def concatenated(arrays, axis, cast=None):
    """inputs x0..xn -> [cast each] -> add_concatenation; returns (layer, reference output)."""
    net = Network("concat")
    ins = [net.add_input(f"x{i}", DataType.from_numpy(a.dtype), a.shape) for i, a in enumerate(arrays)]
    if cast is not None:
        ins = [net.add_cast(t, cast).output for t in ins]
    layer = net.add_concatenation(ins, axis=axis, name="cat")
    net.mark_output(layer.output)
    return layer, execute(net, {f"x{i}": a for i, a in enumerate(arrays)})[layer.output.name]


@st.composite
def concat_case(draw):
    base = draw(st.lists(st.integers(1, 4), min_size=1, max_size=5))
    axis = draw(st.integers(-len(base), len(base) - 1))
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=6))
    shapes = [tuple(s if i == axis % len(base) else d for i, d in enumerate(base)) for s in sizes]
    return shapes, axis


@settings(max_examples=25, deadline=None)
@given(concat_case(), st.sampled_from([np.float32, np.int32, np.int64, np.int8, np.bool_]))
def test_matches_torch_cat(case, dtype):
    shapes, axis = case
    rng = np.random.default_rng(len(shapes))
    arrays = [np.clip(rng.standard_normal(s) * 50, -100, 100).astype(dtype) for s in shapes]
    layer, out = concatenated(arrays, axis)
    ref = torch.cat([torch.from_numpy(a) for a in arrays], dim=axis).numpy()
    assert layer.axis == axis % len(shapes[0]) and layer.output.shape == ref.shape and out.dtype == dtype
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("cast", [DataType.HALF, DataType.BF16])
@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1, -4])
def test_half_and_bf16_on_every_axis(cast, axis):
    rng = np.random.default_rng(3)
    shapes = [(2, 3, 4, 5), (2, 3, 4, 5), (2, 3, 4, 5)]
    shapes[1] = tuple(1 if i == axis % 4 else d for i, d in enumerate(shapes[1]))
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    _, out = concatenated(arrays, axis, cast=cast)
    torch_type = torch.float16 if cast is DataType.HALF else torch.bfloat16
    ref = torch.cat([torch.from_numpy(a).to(torch_type) for a in arrays], dim=axis)
    np.testing.assert_array_equal(out.astype(np.float32), ref.float().numpy())


def test_many_inputs_and_a_single_input():
    arrays = [np.full((1, k % 3 + 1, 2), k, np.float32) for k in range(40)]
    layer, out = concatenated(arrays, 1)
    assert layer.num_inputs == 40
    np.testing.assert_array_equal(out, np.concatenate(arrays, axis=1))
    _, out = concatenated(arrays[:1], -2)
    np.testing.assert_array_equal(out, arrays[0])


def test_negative_and_positive_axis_agree():
    a, b = np.ones((2, 3), np.int32), np.zeros((2, 5), np.int32)
    (_, neg), (_, pos) = concatenated([a, b], -1), concatenated([a, b], 1)
    np.testing.assert_array_equal(neg, pos)
    np.testing.assert_array_equal(neg, np.concatenate([a, b], axis=1))


def test_definition_errors_name_the_layer():
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, (1, 2, 3))
    with pytest.raises(NetworkDefinitionError, match=r"cat: needs at least one input"):
        net.add_concatenation([], axis=0, name="cat")
    with pytest.raises(NetworkDefinitionError, match=r"cat: axis -4 is out of range for rank 3"):
        net.add_concatenation([x, x], axis=-4, name="cat")
    i = net.add_input("i", DataType.INT32, (1, 2, 3))
    with pytest.raises(NetworkDefinitionError, match=r"cat: input 'i' is INT32, expected FLOAT like 'x'"):
        net.add_concatenation([x, i], axis=0, name="cat")
    y = net.add_input("y", DataType.FLOAT, (1, 4, 4))
    with pytest.raises(NetworkDefinitionError, match=r"cat: input 'y' has shape \(1, 4, 4\); expected \(1, 2, 3\) "
                                                     r"except on axis 1"):
        net.add_concatenation([x, y], axis=1, name="cat")
    z = net.add_input("z", DataType.FLOAT, (1, 2, 3, 1))
    with pytest.raises(NetworkDefinitionError, match=r"cat: input 'z' has shape \(1, 2, 3, 1\)"):
        net.add_concatenation([x, z], axis=0, name="cat")
    u = net.add_input("u", DataType.UINT8, (1, 2, 3))
    with net.scope("neck"), pytest.raises(NetworkDefinitionError, match=r"neck\.cat: input 'u' is UINT8"):
        net.add_concatenation([u, u], axis=0, name="cat")
    other = Network("other").add_input("w", DataType.FLOAT, (1, 2, 3))
    with pytest.raises(NetworkDefinitionError, match=r"cat input 1: tensor 'w' belongs to network 'other'"):
        net.add_concatenation([x, other], axis=0, name="cat")
