"""add_cast, add_identity, add_constant over every DataType, against torch's conversions."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl import DataType, Network
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.reference import execute

D = DataType
# The types ICastLayer converts between; FP8, INT4 and FP4 are quantized types (add_quantize / add_dequantize).
PLAIN = [d for d in D if d not in (D.FP8, D.INT4, D.FP4)]
TORCH_TYPES = {D.FLOAT: torch.float32, D.HALF: torch.float16, D.BF16: torch.bfloat16, D.INT8: torch.int8,
               D.INT32: torch.int32, D.INT64: torch.int64, D.BOOL: torch.bool, D.UINT8: torch.uint8}


def cast_net(src, dst, shape):
    net = Network("cast")
    x = net.add_input("x", src, shape)
    layer = net.add_cast(x, dst, name="c")
    net.mark_output(layer.output)
    return net, layer


def in_range_values(dtype, n=64, seed=0):
    """Values every target type holds after truncation (float -> UINT8/INT8 elsewhere is undefined)."""
    rng = np.random.default_rng(seed)
    if dtype is D.BOOL:
        return rng.integers(0, 2, n).astype(bool)
    if dtype.is_float:
        x = rng.uniform(-0.99, 127.99, n)
        x[:6] = [0.0, -0.0, 0.5, 1.2, 5.6, 8.9]  # the operator page's 1.2 -> 1 ... 8.9 -> 8
        return x.astype(np.float32)
    return rng.integers(0, 128, n).astype(dtype.to_numpy())


@pytest.mark.parametrize("dst", PLAIN, ids=lambda d: d.name)
@pytest.mark.parametrize("src", PLAIN, ids=lambda d: d.name)
def test_all_conversions_match_torch(src, dst):
    """All 64 pairs ("all conversions between supported data types are allowed")."""
    raw = in_range_values(src)
    feed = D.FLOAT if src in (D.HALF, D.BF16) else src
    net = Network("cast")
    x = net.add_input("x", feed, raw.shape)
    if src is not feed:
        x = net.add_cast(x, src, name="to_src").output
    layer = net.add_cast(x, dst, name="c")
    net.mark_output(layer.output)
    got = execute(net, {"x": raw})["c"]
    assert layer.output.dtype is dst and layer.to_type is dst
    want = torch.from_numpy(raw).to(TORCH_TYPES[src]).to(TORCH_TYPES[dst])
    if dst is D.BF16:
        want = want.float()  # netdsl holds bfloat16 values in float32
    np.testing.assert_array_equal(got, want.numpy())
    assert got.dtype == dst.to_numpy()


def test_float_to_integer_truncates_toward_zero():
    x = np.array([-2.7, -2.5, -0.5, -0.0, 0.4, 1.5, 2.5, 2.99, 1e9], np.float32)
    for dst in (D.INT32, D.INT64, D.INT8):
        got = execute(cast_net(D.FLOAT, dst, x.shape)[0], {"x": x})["c"]
        if dst is D.INT8:
            x, got = x[:-1], got[:-1]  # 1e9 is outside int8: undefined
        np.testing.assert_array_equal(got, torch.from_numpy(x).to(TORCH_TYPES[dst]).numpy())
        np.testing.assert_array_equal(got[:8], [-2, -2, 0, 0, 0, 1, 2, 2])


def test_to_bool_is_nonzero_and_half_rounds_to_even_with_overflow():
    x = np.array([0.0, -0.0, 1e-30, -3.0, np.nan, np.inf, 70000.0, 1.0 + 2 ** -11], np.float32)
    to_bool = execute(cast_net(D.FLOAT, D.BOOL, x.shape)[0], {"x": x})["c"]
    np.testing.assert_array_equal(to_bool, torch.from_numpy(x).bool().numpy())
    np.testing.assert_array_equal(to_bool, [False, False, True, True, True, True, True, True])
    half = execute(cast_net(D.FLOAT, D.HALF, x.shape)[0], {"x": x})["c"]
    np.testing.assert_array_equal(half, torch.from_numpy(x).half().numpy())
    assert half[6] == np.inf and half[7] == 1.0  # 70000 overflows; a tie rounds to even


@settings(max_examples=20, deadline=None)
@given(values=st.lists(st.floats(width=32, allow_nan=False), min_size=1, max_size=30))
def test_float_to_bf16_rounds_to_nearest_even(values):
    x = np.array(values, np.float32)
    got = execute(cast_net(D.FLOAT, D.BF16, x.shape)[0], {"x": x})["c"]
    np.testing.assert_array_equal(got, torch.from_numpy(x).bfloat16().float().numpy())


def test_int64_to_int32_keeps_low_bits():
    x = np.array([2 ** 31, -(2 ** 31) - 1, 2 ** 40 + 5, -7], np.int64)
    got = execute(cast_net(D.INT64, D.INT32, x.shape)[0], {"x": x})["c"]
    np.testing.assert_array_equal(got, torch.from_numpy(x).int().numpy())


@pytest.mark.parametrize("dtype", list(D), ids=lambda d: d.name)
def test_identity_copies_every_dtype(dtype):
    raw = in_range_values(dtype, 12).reshape(3, 4)
    feed = D.FLOAT if dtype in (D.HALF, D.BF16) else dtype
    net = Network("identity")
    x = net.add_input("x", feed, raw.shape)
    if dtype is not feed:
        x = net.add_cast(x, dtype, name="to").output
    layer = net.add_identity(x, name="id")
    net.mark_output(layer.output)
    assert layer.output.dtype is dtype and layer.output.shape == (3, 4)
    got = execute(net, {"x": raw}, outputs="all")
    np.testing.assert_array_equal(got["id"], got[x.name])


@pytest.mark.parametrize("dtype", PLAIN, ids=lambda d: d.name)
def test_constant_of_every_dtype(dtype):
    values = in_range_values(dtype if not dtype.is_float else D.FLOAT, 6, seed=3).reshape(2, 3)
    net = Network("const")
    layer = net.add_constant((2, 3), values, dtype=dtype, name="k")
    net.mark_output(layer.output)
    assert layer.output.dtype is dtype and net.weights()["k.weights"].is_bound
    got = execute(net, {})["k"]
    want = torch.from_numpy(values).to(TORCH_TYPES[dtype])
    np.testing.assert_array_equal(got, (want.float() if dtype is D.BF16 else want).numpy())


def test_constant_dtype_from_array_scalar_and_declared():
    net = Network("const2")
    assert net.add_constant((2,), np.array([1.5, 2.5])).output.dtype is D.FLOAT  # float64 -> FLOAT
    assert net.add_constant((2,), [1, 2]).output.dtype is D.INT64
    assert net.add_constant((1, 2), np.array([[True, False]])).output.dtype is D.BOOL
    scalar = net.add_constant((), 3.0, name="three")
    assert scalar.output.shape == () and scalar.output.dtype is D.FLOAT
    declared = net.add_constant((2, 2), dtype=D.HALF, name="table")
    net.mark_output(scalar.output)
    net.mark_output(declared.output)
    assert net.unbound_weights() == ["table.weights"] and net.weights()["table.weights"].dtype is D.HALF
    net.bind_weights({"table.weights": np.arange(4, dtype=np.float16).reshape(2, 2)})
    out = execute(net, {})
    assert out["three"] == 3.0 and out["table"].dtype == np.float16
    np.testing.assert_array_equal(out["table"], [[0, 1], [2, 3]])


def test_invalid_definitions_name_the_layer():
    net = Network("bad")
    x = net.add_input("x", D.FLOAT, (2, 3))
    with pytest.raises(NetworkDefinitionError, match=r"^c: to_type must be a DataType member or one of its names \(FLOAT, .*found 'float128'$"):
        net.add_cast(x, "float128", name="c")
    with pytest.raises(NetworkDefinitionError, match=r"^k: weights must have shape \(2, 3\), found \(3, 2\)"):
        net.add_constant((2, 3), np.zeros((3, 2), np.float32), name="k")
    with pytest.raises(NetworkDefinitionError, match=r"^k2: dimensions must be >= 0, found \(2, -1\)"):
        net.add_constant((2, -1), name="k2")
    with pytest.raises(NetworkDefinitionError, match=r"^k3: dtype must be a DataType .*\(NumPy dtype complex64 has no TensorRT DataType"):
        net.add_constant((1,), np.zeros(1, np.complex64), name="k3")
