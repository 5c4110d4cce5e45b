"""Reference kernels for ELEMENTWISE and UNARY (TensorRT IElementWiseLayer, IUnaryLayer).

Float inputs are computed in float64 (SUM, SUB, PROD, DIV, MAX and MIN of two
float32 inputs in float32, which gives the same bits) and rounded by the
executor to the output dtype; integer inputs stay integers (two's-complement wrap on
overflow; integer division by zero is undefined in TensorRT and gives 0 here).
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .activation import erf
from .registry import kernel


def _div(a, b):
    """DIV: true division for floats; integers truncate toward zero (C semantics)."""
    if not np.issubdtype(a.dtype, np.integer):
        return a / b
    q = np.floor_divide(a, b)
    inexact = (np.remainder(a, b) != 0) & ((a < 0) != (b < 0))
    return np.where(inexact, q + 1, q).astype(a.dtype)


def _floor_div(a, b):
    """FLOOR_DIV: floor(a / b) toward -inf, the quotient rounded to float32 first as a float kernel
    computes it (1.0 / 0.1 is 10.0 in float32, so the result is 10; NumPy's // gives 9)."""
    if np.issubdtype(a.dtype, np.integer):
        return np.floor_divide(a, b)
    return np.floor((a / b).astype(np.float32))


BINARY = {
    "SUM": np.add, "PROD": np.multiply, "MAX": np.maximum, "MIN": np.minimum, "SUB": np.subtract,
    "DIV": _div, "POW": np.power, "FLOOR_DIV": _floor_div,
    "AND": np.logical_and, "OR": np.logical_or, "XOR": np.logical_xor,
    "EQUAL": np.equal, "GREATER": np.greater, "LESS": np.less,
}

UNARY = {
    "EXP": np.exp, "LOG": np.log, "SQRT": np.sqrt, "RECIP": lambda x: 1 / x, "ABS": np.abs,
    "NEG": np.negative, "SIN": np.sin, "COS": np.cos, "TAN": np.tan, "SINH": np.sinh, "COSH": np.cosh,
    "ASIN": np.arcsin, "ACOS": np.arccos, "ATAN": np.arctan, "ASINH": np.arcsinh, "ACOSH": np.arccosh,
    "ATANH": np.arctanh, "CEIL": np.ceil, "FLOOR": np.floor, "ERF": erf, "NOT": np.logical_not,
    "SIGN": np.sign, "ROUND": np.rint, "ISINF": np.isinf, "ISNAN": np.isnan,
}


def _compute_form(x):
    return x.astype(np.float64) if np.issubdtype(x.dtype, np.floating) else x


# Correctly rounded in float32 itself: computing these in float64 and rounding to float32 (or to
# float16 / bfloat16, which arrive as float32) gives the same bits, since float64 carries more than
# 2 * 24 + 2 significand bits (Figueroa, "When is double rounding innocuous?", SIGNUM 1995); MAX and
# MIN are exact. So two float32 inputs skip the float64 round trip.
_FLOAT32_EXACT = {"SUM", "SUB", "PROD", "DIV", "MAX", "MIN"}


@kernel(LayerType.ELEMENTWISE)
def elementwise(layer, a, b):
    op = layer.op.name
    if op in _FLOAT32_EXACT and a.dtype == np.float32 and b.dtype == np.float32:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return BINARY[op](a, b)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return BINARY[op](_compute_form(a), _compute_form(b))


@kernel(LayerType.UNARY)
def unary(layer, x):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return UNARY[layer.op.name](_compute_form(x))
