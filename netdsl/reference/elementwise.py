"""Reference kernels for ELEMENTWISE and UNARY (TensorRT IElementWiseLayer, IUnaryLayer)."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .activation import erf
from .registry import kernel


def _div(a, b):
    if np.issubdtype(a.dtype, np.integer):
        return np.trunc(a / b).astype(a.dtype)  # integer DIV truncates toward zero
    return a / b


BINARY = {
    "SUM": np.add, "PROD": np.multiply, "MAX": np.maximum, "MIN": np.minimum, "SUB": np.subtract,
    "DIV": _div, "POW": np.power, "FLOOR_DIV": lambda a, b: np.floor_divide(a, b),
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


@kernel(LayerType.ELEMENTWISE)
def elementwise(layer, a, b):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return BINARY[layer.op.name](a, b)


@kernel(LayerType.UNARY)
def unary(layer, x):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return UNARY[layer.op.name](x)
