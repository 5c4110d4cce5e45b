"""add_shuffle (IShuffleLayer): transpose -> reshape -> transpose against torch permute/reshape."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.graph.dtypes import DataType
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute
from layer_run import run_layer

TORCH_OF = {DataType.HALF: torch.float16, DataType.BF16: torch.bfloat16}


def shuffled(x, cast=None, **kwargs):
    """input x -> [cast] -> add_shuffle(**kwargs); returns (layer, reference output)."""
    return run_layer("add_shuffle", x, cast, name="sh", **kwargs)


def torch_input(x, cast=None):
    t = torch.from_numpy(x)
    return t.to(TORCH_OF[cast]) if cast in TORCH_OF else t


@st.composite
def shuffle_case(draw):
    """A shape, two permutations and reshape dims with their true values (0/-1 placed on some)."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=5)))
    first = tuple(draw(st.permutations(range(len(shape)))))
    moved = [shape[p] for p in first]
    primes = [p for n in shape for p in (2, 3) for k in range(1, 3) if n % p ** k == 0]  # dims are 1..4
    rank = draw(st.integers(1, 5))
    target = [1] * rank
    for p in primes:
        target[draw(st.integers(0, rank - 1))] *= p
    assert math.prod(target) == math.prod(shape)
    asked = [0 if i < len(moved) and d == moved[i] and draw(st.booleans()) else d for i, d in enumerate(target)]
    if draw(st.booleans()):
        asked[draw(st.integers(0, rank - 1))] = -1
    second = tuple(draw(st.permutations(range(rank))))
    return shape, first, tuple(asked), tuple(target), second


@settings(max_examples=25, deadline=None)
@given(shuffle_case(), st.sampled_from([None, DataType.HALF, DataType.BF16]))
def test_matches_torch_permute_reshape_permute(case, cast):
    shape, first, asked, target, second = case
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    layer, out = shuffled(x, cast, first_transpose=first, reshape_dims=asked, second_transpose=second)
    ref = torch_input(x, cast).permute(first).reshape(target).permute(second).float().numpy()
    assert layer.output.shape == ref.shape and layer.resolved_dims == target
    np.testing.assert_array_equal(out.astype(np.float32), ref)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.bool_, np.float16])
def test_every_dtype_moves_exactly(dtype):
    x = (np.arange(2 * 3 * 4 * 5) % 7 - 3).reshape(2, 3, 4, 5).astype(dtype)
    layer, out = shuffled(x, first_transpose=(0, 2, 3, 1), reshape_dims=(0, 4, -1), second_transpose=(2, 0, 1))
    ref = torch.from_numpy(x).permute(0, 2, 3, 1).reshape(2, 4, 15).permute(2, 0, 1).numpy()
    assert out.dtype == dtype and layer.output.dtype is DataType.from_numpy(dtype)
    np.testing.assert_array_equal(out, ref)


def test_placeholder_zero_copies_the_transposed_dim():
    """0 copies the dim of the first-transposed tensor (TensorRT-RTX infers (4, 6) too)."""
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    layer, out = shuffled(x, first_transpose=(2, 0, 1), reshape_dims=(0, -1))
    assert layer.output.shape == (4, 6)
    np.testing.assert_array_equal(out, np.transpose(x, (2, 0, 1)).reshape(4, 6))


def test_transposes_only_and_identity():
    x = np.random.default_rng(1).standard_normal((2, 3, 4)).astype(np.float32)
    layer, out = shuffled(x, second_transpose=(1, 2, 0))
    assert layer.resolved_dims is None and layer.first_transpose == (0, 1, 2)
    np.testing.assert_array_equal(out, torch.from_numpy(x).permute(1, 2, 0).numpy())
    layer, out = shuffled(x)
    np.testing.assert_array_equal(out, x)


def test_reshape_to_and_from_a_scalar():
    x = np.array([[[7.5]]], np.float32)
    layer, out = shuffled(x, reshape_dims=())
    assert layer.output.shape == () and out == np.float32(7.5)


def zero_volume(reshape_dims, zero_is_placeholder):
    """(2, 3, 4) -> slice to (2, 0, 4) -> shuffle; returns (layer, output)."""
    net = Network("empty")
    x = net.add_input("x", DataType.FLOAT, (2, 3, 4))
    empty = net.add_slice(x, (0, 0, 0), (2, 0, 4), (1, 1, 1)).output
    layer = net.add_shuffle(empty, reshape_dims=reshape_dims, zero_is_placeholder=zero_is_placeholder, name="sh")
    net.mark_output(layer.output)
    return layer, execute(net, {"x": np.zeros((2, 3, 4), np.float32)})[layer.output.name]


@pytest.mark.parametrize("dims,expected", [((0, 8), (0, 8)), ((4, -1), (4, 0)), ((8, 0, 1), (8, 0, 1))])
def test_zero_is_placeholder_false_makes_zero_size_dims(dims, expected):
    layer, out = zero_volume(dims, zero_is_placeholder=False)
    ref = torch.empty(2, 0, 4).reshape(tuple(d for d in dims))
    assert layer.output.shape == expected == tuple(ref.shape) == out.shape


def test_zero_volume_errors():
    with pytest.raises(NetworkDefinitionError, match=r"sh: reshape_dims \(0, -1\): the -1 is indeterminate"):
        zero_volume((0, -1), zero_is_placeholder=False)
    with pytest.raises(NetworkDefinitionError, match=r"sh: cannot reshape \(2, 0, 4\) \(0 elements\) to \(0, 8\) "
                                                     r"\(16 elements\)"):
        zero_volume((0, 8), zero_is_placeholder=True)


@pytest.mark.parametrize("kwargs,message", [
    (dict(first_transpose=(0, 0, 1)), r"sh: first_transpose \(0, 0, 1\) is not a permutation of the 3 dims"),
    (dict(first_transpose=(1, 0)), r"sh: first_transpose \(1, 0\) is not a permutation of the 3 dims"),
    (dict(reshape_dims=(6, 4), second_transpose=(2, 1, 0)),
     r"sh: second_transpose \(2, 1, 0\) is not a permutation of the 2 dims of shape \(6, 4\)"),
    (dict(reshape_dims=(5, -1)), r"sh: cannot reshape \(2, 3, 4\) \(24 elements\) to \(5, -1\)"),
    (dict(reshape_dims=(5, 5)), r"sh: cannot reshape \(2, 3, 4\) \(24 elements\) to \(5, 5\) \(25 elements\)"),
    (dict(reshape_dims=(-1, 2, -1)), r"sh: reshape_dims \(-1, 2, -1\): at most one -1"),
    (dict(reshape_dims=(-2, -12)), r"sh: reshape_dims \(-2, -12\): at most one -1 and no other negative"),
    (dict(reshape_dims=(2, 3, 4, 0)), r"sh: reshape_dims \(2, 3, 4, 0\): the 0 at index 3 copies an input dim"),
    (dict(reshape_dims=(0, 12), zero_is_placeholder=False), r"sh: cannot reshape .* \(0 elements\)"),
])
def test_definition_errors_name_the_layer(kwargs, message):
    with pytest.raises(NetworkDefinitionError, match=message):
        shuffled(np.zeros((2, 3, 4), np.float32), **kwargs)


def test_uint8_is_refused_and_scoped_names_are_reported():
    net = Network("u8")
    x = net.add_input("x", DataType.UINT8, (2, 3))
    with net.scope("head"), pytest.raises(NetworkDefinitionError, match=r"head\.sh: input 'x' is UINT8"):
        net.add_shuffle(x, reshape_dims=(3, 2), name="sh")
    f = net.add_input("f", DataType.FLOAT, (2, 3))
    with net.scope("head"), pytest.raises(NetworkDefinitionError, match=r"head\.flat: first_transpose"):
        net.add_shuffle(f, first_transpose=(0, 2), name="flat")
