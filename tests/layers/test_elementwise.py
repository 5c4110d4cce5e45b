"""add_elementwise: every ElementWiseOperation with TensorRT broadcasting, against torch."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl import DataType, ElementWiseOperation, Network
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.reference import execute

E = ElementWiseOperation
TORCH = {
    "SUM": torch.add, "PROD": torch.mul, "MAX": torch.maximum, "MIN": torch.minimum, "SUB": torch.sub,
    "DIV": torch.div, "POW": torch.pow, "FLOOR_DIV": lambda a, b: torch.floor(a / b),  # the doc's floor(a / b)
    "AND": torch.logical_and, "OR": torch.logical_or, "XOR": torch.logical_xor,
    "EQUAL": torch.eq, "GREATER": torch.gt, "LESS": torch.lt,
}
FLOAT_OPS = [op for op in E if op.name not in ("AND", "OR", "XOR")]
INT_OPS = [op for op in FLOAT_OPS if op.name != "POW"]


def binary_net(op, shape1, shape2, dtype=DataType.FLOAT, feed=DataType.FLOAT):
    """Inputs fed as ``feed`` and cast to ``dtype`` when they differ."""
    net = Network("ew")
    a, b = (net.add_input(n, feed, s) for n, s in (("a", shape1), ("b", shape2)))
    if dtype is not feed:
        a, b = (net.add_cast(t, dtype, name=f"cast_{t.name}").output for t in (a, b))
    layer = net.add_elementwise(a, b, op, name="op")
    net.mark_output(layer.output)
    return net, layer


def float_operands(op, shape1, shape2, seed=0):
    rng = np.random.default_rng(seed)
    a, b = (np.asarray(rng.standard_normal(s) * 3, np.float32) for s in (shape1, shape2))
    if op.name == "POW":
        a = np.abs(a) + 0.1  # a real power
    if op.name in ("DIV", "FLOOR_DIV"):
        b = np.where(np.abs(b) < 0.1, 0.5, b).astype(np.float32)
    if op.name in ("EQUAL", "GREATER", "LESS"):
        a, b = np.round(a), np.round(b)  # ties
    return np.asarray(a, np.float32), np.asarray(b, np.float32)


@st.composite
def broadcast_shapes(draw):
    """Two equal-rank shapes whose every dimension is equal or 1 on one side."""
    shape = draw(st.lists(st.integers(1, 4), min_size=0, max_size=4))
    pick = [draw(st.sampled_from(["both", "left1", "right1"])) for _ in shape]
    left = tuple(1 if p == "left1" else d for p, d in zip(pick, shape))
    right = tuple(1 if p == "right1" else d for p, d in zip(pick, shape))
    return left, right


@settings(max_examples=25, deadline=None)
@given(op=st.sampled_from(FLOAT_OPS), shapes=broadcast_shapes())
def test_fp32_broadcast_matches_torch(op, shapes):
    a, b = float_operands(op, *shapes)
    net, layer = binary_net(op, *shapes)
    got = execute(net, {"a": a, "b": b})["op"]
    want = TORCH[op.name](torch.from_numpy(a).double(), torch.from_numpy(b).double()).numpy()
    assert got.shape == want.shape == layer.output.shape
    if op.name in ("EQUAL", "GREATER", "LESS"):
        assert layer.output.dtype is DataType.BOOL and got.dtype == np.bool_
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype, tol", [(DataType.HALF, 2e-3), (DataType.BF16, 1.6e-2)], ids=["fp16", "bf16"])
@pytest.mark.parametrize("op", FLOAT_OPS, ids=lambda o: o.name)
def test_reduced_precision(op, dtype, tol):
    a, b = float_operands(op, (2, 3, 4), (1, 3, 1), seed=1)
    net, layer = binary_net(op, (2, 3, 4), (1, 3, 1), dtype)
    got = execute(net, {"a": a, "b": b})["op"]
    tdt = torch.float16 if dtype is DataType.HALF else torch.bfloat16
    ta, tb = (torch.from_numpy(v).to(tdt).double() for v in (a, b))
    want = TORCH[op.name](ta, tb)
    if op.name in ("EQUAL", "GREATER", "LESS"):
        np.testing.assert_array_equal(got, want.numpy())
    else:
        assert layer.output.dtype is dtype
        np.testing.assert_allclose(np.asarray(got, np.float64), want.to(tdt).double().numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [DataType.INT32, DataType.INT64], ids=lambda d: d.name)
@pytest.mark.parametrize("op", INT_OPS, ids=lambda o: o.name)
def test_integers(op, dtype):
    """Integer DIV truncates toward zero (C), FLOOR_DIV rounds toward -inf: torch's 'trunc' and 'floor' modes."""
    rng = np.random.default_rng(2)
    a = rng.integers(-50, 50, (3, 4)).astype(dtype.to_numpy())
    b = rng.integers(-7, 8, (1, 4)).astype(dtype.to_numpy())
    b[b == 0] = 3
    a[0, :] = [7, -7, 7, -7]
    b[0, :] = [2, 2, -2, -2]
    net, layer = binary_net(op, a.shape, b.shape, dtype, feed=dtype)
    got = execute(net, {"a": a, "b": b})["op"]
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    want = {"DIV": lambda: torch.div(ta, tb, rounding_mode="trunc"),
            "FLOOR_DIV": lambda: torch.div(ta, tb, rounding_mode="floor")}.get(op.name, lambda: TORCH[op.name](ta, tb))()
    assert got.dtype == (np.bool_ if op.name in ("EQUAL", "GREATER", "LESS") else dtype.to_numpy())
    np.testing.assert_array_equal(got, want.numpy())
    if op.name == "DIV":
        np.testing.assert_array_equal(got[0], [3, -3, -3, 3])
    if op.name == "FLOOR_DIV":
        np.testing.assert_array_equal(got[0], [3, -4, -4, 3])


def test_int64_division_is_exact_beyond_float_precision():
    a = np.array([[2 ** 62 + 1, -(2 ** 62) - 1]], np.int64)
    b = np.array([[3, 3]], np.int64)
    got = execute(binary_net(E.DIV, a.shape, b.shape, DataType.INT64, DataType.INT64)[0], {"a": a, "b": b})["op"]
    np.testing.assert_array_equal(got, [[(2 ** 62 + 1) // 3, -((2 ** 62 + 1) // 3)]])


def test_float_floor_div_is_floor_of_quotient():
    """TensorRT's FLOOR_DIV is floor(a / b) of the float32 quotient; torch's // differs (1.0 // 0.1 == 9)."""
    a, b = np.array([[1.0, -7.0, 7.5]], np.float32), np.array([[0.1, 2.0, -2.5]], np.float32)
    got = execute(binary_net(E.FLOOR_DIV, a.shape, b.shape)[0], {"a": a, "b": b})["op"]
    np.testing.assert_array_equal(got, torch.floor(torch.from_numpy(a) / torch.from_numpy(b)).numpy())
    np.testing.assert_array_equal(got, [[10.0, -4.0, -3.0]])
    assert (torch.from_numpy(a) // torch.from_numpy(b))[0, 0] == 9.0


@pytest.mark.parametrize("op", [E.AND, E.OR, E.XOR], ids=lambda o: o.name)
def test_logical(op):
    a = np.array([[True, True, False, False]])
    b = np.array([[True], [False]])
    net, layer = binary_net(op, a.shape, b.shape, DataType.BOOL, DataType.BOOL)
    got = execute(net, {"a": a, "b": b})["op"]
    assert layer.output.dtype is DataType.BOOL and got.shape == (2, 4)
    np.testing.assert_array_equal(got, TORCH[op.name](torch.from_numpy(a), torch.from_numpy(b)).numpy())


def test_special_values():
    a = np.array([[np.inf, -np.inf, np.nan, 0.0, 1.0, -1.0]], np.float32)
    b = np.array([[1.0, 1.0, 1.0, 0.0, 0.0, 0.0]], np.float32)
    got = execute(binary_net(E.DIV, a.shape, b.shape)[0], {"a": a, "b": b})["op"]
    np.testing.assert_array_equal(got, torch.from_numpy(a) / torch.from_numpy(b))
    eq = execute(binary_net(E.EQUAL, a.shape, a.shape)[0], {"a": a, "b": a})["op"]
    np.testing.assert_array_equal(eq, [[True, True, False, True, True, True]])  # NaN != NaN


# Input dtypes per op from the TensorRT docs (see netdsl.layers.elementwise), written out independently.
_NUM = {"FLOAT", "HALF", "BF16", "INT32", "INT64"}
ALLOWED = {**{op: _NUM for op in ("SUM", "PROD", "MAX", "MIN", "SUB", "DIV", "FLOOR_DIV", "EQUAL", "GREATER", "LESS")},
           "POW": {"FLOAT", "HALF", "BF16"}, "AND": {"BOOL"}, "OR": {"BOOL"}, "XOR": {"BOOL"}}


def test_dtype_matrix_and_errors_name_the_layer():
    """Every (op, dtype): accepted exactly where allowed, else an error naming the scoped layer and op."""
    net = Network("matrix")
    for dtype in DataType:
        a = net.add_input(f"a_{dtype.name}", dtype, (2, 3))
        for op in E:
            if dtype.name in ALLOWED[op.name]:
                net.add_elementwise(a, a, op)
                continue
            with pytest.raises(NetworkDefinitionError, match=rf"^head\.op: {op.name} input 'a_{dtype.name}' must be "
                                                             rf".*found {dtype.name}"):
                with net.scope("head"):
                    net.add_elementwise(a, a, op, name="op")


@pytest.mark.parametrize("shape1, shape2, message", [
    ((2, 3), (2, 4), r"dimension 1 does not broadcast: 'a' \(2, 3\) vs 'b' \(2, 4\)"),
    ((2, 3), (3,), r"inputs must have equal rank: 'a' \(2, 3\) vs 'b' \(3,\)"),
    ((4, 1, 3), (2, 5, 3), r"dimension 0 does not broadcast"),
])
def test_broadcast_mismatch_raises(shape1, shape2, message):
    with pytest.raises(NetworkDefinitionError, match=rf"^op: {message}"):
        binary_net(E.SUM, shape1, shape2)


def test_mixed_dtypes_raise():
    net = Network("mixed")
    a = net.add_input("a", DataType.FLOAT, (2,))
    b = net.add_input("b", DataType.HALF, (2,))
    with pytest.raises(NetworkDefinitionError, match=r"^op: inputs must have the same dtype: 'a' is FLOAT, 'b' is HALF"):
        net.add_elementwise(a, b, E.SUM, name="op")
