"""add_unary: every UnaryOperation on its allowed dtypes, against torch; the reference erf against math.erf."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl import DataType, Network, UnaryOperation
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.reference import execute
from netdsl.reference.activation import erf

U = UnaryOperation
# op -> (torch oracle, (low, high) of a valid input domain)
FLOAT_CASES = {
    "EXP": (torch.exp, (-10, 10)), "LOG": (torch.log, (0.01, 100)), "SQRT": (torch.sqrt, (0, 100)),
    "RECIP": (torch.reciprocal, (0.1, 10)), "ABS": (torch.abs, (-5, 5)), "NEG": (torch.neg, (-5, 5)),
    "SIN": (torch.sin, (-7, 7)), "COS": (torch.cos, (-7, 7)), "TAN": (torch.tan, (-1.4, 1.4)),
    "SINH": (torch.sinh, (-5, 5)), "COSH": (torch.cosh, (-5, 5)), "ASIN": (torch.asin, (-0.99, 0.99)),
    "ACOS": (torch.acos, (-0.99, 0.99)), "ATAN": (torch.atan, (-10, 10)), "ASINH": (torch.asinh, (-10, 10)),
    "ACOSH": (torch.acosh, (1.01, 10)), "ATANH": (torch.atanh, (-0.99, 0.99)), "CEIL": (torch.ceil, (-5, 5)),
    "FLOOR": (torch.floor, (-5, 5)), "ERF": (torch.erf, (-4, 4)), "SIGN": (torch.sign, (-5, 5)),
    "ROUND": (torch.round, (-5, 5)), "ISINF": (torch.isinf, (-5, 5)), "ISNAN": (torch.isnan, (-5, 5)),
}
FLOAT_OPS = [U[name] for name in FLOAT_CASES]


def unary_net(op, shape, dtype=DataType.FLOAT, feed=DataType.FLOAT):
    net = Network("unary")
    x = net.add_input("x", feed, shape)
    if dtype is not feed:
        x = net.add_cast(x, dtype, name="cast").output
    layer = net.add_unary(x, op, name="op")
    net.mark_output(layer.output)
    return net, layer


def domain_values(op, shape, seed=0):
    low, high = FLOAT_CASES[op.name][1]
    x = np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)
    if op.name in ("CEIL", "FLOOR", "ROUND", "SIGN", "ABS", "NEG"):
        x.flat[:8] = [-2.5, -1.5, -0.5, 0.0, 0.5, 1.5, 2.5, -0.0]  # halves and zeros
    if op.name in ("ISINF", "ISNAN"):
        x.flat[:4] = [np.inf, -np.inf, np.nan, 0.0]
    return x


def check(op, got, want, tol):
    if op.name in ("ISINF", "ISNAN"):
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=tol, atol=tol)


@pytest.mark.parametrize("op", FLOAT_OPS, ids=lambda o: o.name)
def test_fp32_matches_torch(op):
    x = domain_values(op, (3, 4, 5))
    net, layer = unary_net(op, x.shape)
    got = execute(net, {"x": x})["op"]
    assert layer.output.dtype is (DataType.BOOL if op.name in ("ISINF", "ISNAN") else DataType.FLOAT)
    check(op, got, FLOAT_CASES[op.name][0](torch.from_numpy(x).double()).numpy(), 1e-6)


@pytest.mark.parametrize("dtype, tdt", [(DataType.HALF, torch.float16), (DataType.BF16, torch.bfloat16)],
                         ids=["fp16", "bf16"])
@pytest.mark.parametrize("op", FLOAT_OPS, ids=lambda o: o.name)
def test_reduced_precision(op, dtype, tdt):
    """Against torch on the rounded input, computed in float64 and rounded to the same type: equal."""
    x = domain_values(op, (2, 16), seed=1)
    if op.name == "EXP":
        x = np.clip(x, -9, 9)  # below float16's overflow
    got = execute(unary_net(op, x.shape, dtype)[0], {"x": x})["op"]
    out = FLOAT_CASES[op.name][0](torch.from_numpy(x).to(tdt).double())
    want = out.numpy() if out.dtype == torch.bool else out.to(tdt).double().numpy()
    check(op, got, want, 0.0)  # both are the correctly rounded result


@pytest.mark.parametrize("dtype", [DataType.INT32, DataType.INT64], ids=lambda d: d.name)
@pytest.mark.parametrize("op", [U.ABS, U.SIGN], ids=lambda o: o.name)
def test_integer_abs_and_sign(op, dtype):
    x = np.array([[-7, -1, 0, 1, 9, np.iinfo(dtype.to_numpy()).max]], dtype.to_numpy())
    net, layer = unary_net(op, x.shape, dtype, dtype)
    got = execute(net, {"x": x})["op"]
    assert layer.output.dtype is dtype and got.dtype == dtype.to_numpy()
    np.testing.assert_array_equal(got, getattr(torch, op.name.lower())(torch.from_numpy(x)).numpy())


def test_not_on_bool():
    x = np.array([[True, False], [False, True]])
    net, layer = unary_net(U.NOT, x.shape, DataType.BOOL, DataType.BOOL)
    assert layer.output.dtype is DataType.BOOL
    np.testing.assert_array_equal(execute(net, {"x": x})["op"], torch.logical_not(torch.from_numpy(x)).numpy())


def test_round_is_half_to_even_and_special_values_propagate():
    """UnaryOperation.ROUND: "Round to nearest even for floating-point data type" (NvInfer.h)."""
    x = np.array([[-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, np.inf, np.nan]], np.float32)
    got = execute(unary_net(U.ROUND, x.shape)[0], {"x": x})["op"]
    np.testing.assert_array_equal(got, [[-2, -2, -0.0, 0, 2, 2, np.inf, np.nan]])
    logs = execute(unary_net(U.LOG, (1, 3))[0], {"x": np.array([[0.0, -1.0, np.inf]], np.float32)})["op"]
    np.testing.assert_array_equal(logs, [[-np.inf, np.nan, np.inf]])
    assert execute(unary_net(U.SIGN, (1, 1))[0], {"x": np.array([[np.nan]], np.float32)})["op"][0, 0] != 0


def test_reference_erf_is_accurate_over_a_wide_range():
    """erf (also behind GELU_ERF) against math.erf, relative, from 1e-30 to 30 and at the series/fraction seam."""
    x = np.concatenate([np.logspace(-30, 1.5, 4000), np.linspace(0, 8, 4001), [1.999999, 2.0, 2.000001]])
    x = np.concatenate([x, -x])
    want = np.array([math.erf(v) for v in x])
    got = erf(x)
    assert np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300)) < 5e-15
    np.testing.assert_array_equal(erf(np.array([np.inf, -np.inf, 0.0])), [1.0, -1.0, 0.0])
    assert np.isnan(erf(np.array([np.nan])))[0]


@settings(max_examples=20, deadline=None)
@given(op=st.sampled_from(FLOAT_OPS), shape=st.lists(st.integers(1, 5), min_size=0, max_size=4))
def test_random_shapes(op, shape):
    x = domain_values(op, tuple(shape), seed=len(shape)) if shape else np.float32(0.5).reshape(())
    net, layer = unary_net(op, tuple(shape))
    got = execute(net, {"x": x})["op"]
    assert got.shape == tuple(shape) == layer.output.shape
    check(op, got, FLOAT_CASES[op.name][0](torch.from_numpy(np.asarray(x)).double()).numpy(), 1e-6)


@pytest.mark.parametrize("op, dtype", [(U.EXP, DataType.INT32), (U.NEG, DataType.INT32), (U.NOT, DataType.FLOAT),
                                       (U.ABS, DataType.BOOL), (U.ISNAN, DataType.INT64), (U.SQRT, DataType.INT8),
                                       (U.SIGN, DataType.UINT8)], ids=lambda v: getattr(v, "name", v))
def test_dtype_not_allowed_names_layer(op, dtype):
    net = Network("bad")
    x = net.add_input("x", dtype, (2, 3))
    with pytest.raises(NetworkDefinitionError, match=rf"^blk\.op: {op.name} input 'x' must be .*found {dtype.name}"):
        with net.scope("blk"):
            net.add_unary(x, op, name="op")
