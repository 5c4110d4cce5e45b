"""Reference kernel for ACTIVATION: each ActivationType as TensorRT defines it
(formulas in ``netdsl.layers.activation``), computed in float64 and rounded by
the executor to the output's dtype. Also ``erf``, shared with UNARY ERF."""
from __future__ import annotations

import math

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def erf(x):
    """Elementwise error function in float64, relative error < 2e-15 for all finite x.

    |x| < 2: the everywhere-positive series
    ``erf(z) = 2/sqrt(pi) * e^(-z^2) * sum_n (2 z^2)^n z / (1*3*...*(2n+1))``
    summed until the terms no longer change the sum; |x| >= 2: ``1 - erfc``
    with erfc from its Laplace continued fraction (60 terms), where erfc is
    below 5e-3 so its own error hardly reaches erf. Checked against
    ``math.erf`` from 1e-30 to 30 (tests/layers/test_unary.py).
    """
    x = np.asarray(x, dtype=np.float64)
    a = np.abs(x)
    out = np.empty_like(a)
    small = a < 2.0
    z = a[small]
    z2 = z * z
    term, total = z.copy(), z.copy()
    n = 0
    while term.size and np.any(term > 1e-17 * total):
        n += 1
        term *= 2.0 * z2 / (2 * n + 1)
        total += term
    out[small] = _TWO_OVER_SQRT_PI * np.exp(-z2) * total
    z = a[~small]
    frac = np.zeros_like(z)
    for k in range(60, 0, -1):
        frac = (0.5 * k) / (z + frac)
    out[~small] = 1.0 - np.exp(-z * z) / math.sqrt(math.pi) / (z + frac)
    return np.where(x < 0, -out, out)


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def _negative_part(x):
    """e^x - 1 on the negative side only (no overflow warnings for large positive x)."""
    return np.expm1(np.minimum(x, 0))


FUNCTIONS = {
    "RELU": lambda x, a, b: np.maximum(x, 0),
    "SIGMOID": lambda x, a, b: _sigmoid(x),
    "TANH": lambda x, a, b: np.tanh(x),
    "LEAKY_RELU": lambda x, a, b: np.where(x >= 0, x, a * x),
    "ELU": lambda x, a, b: np.where(x >= 0, x, a * _negative_part(x)),
    "SELU": lambda x, a, b: np.where(x > 0, b * x, b * a * _negative_part(x)),
    "SOFTSIGN": lambda x, a, b: x / (1 + np.abs(x)),
    "SOFTPLUS": lambda x, a, b: a * np.logaddexp(0, b * x),
    "CLIP": lambda x, a, b: np.maximum(a, np.minimum(b, x)),
    "HARD_SIGMOID": lambda x, a, b: np.maximum(0, np.minimum(1, a * x + b)),
    "SCALED_TANH": lambda x, a, b: a * np.tanh(b * x),
    "THRESHOLDED_RELU": lambda x, a, b: np.where(x > a, x, 0),
    "GELU_ERF": lambda x, a, b: 0.5 * x * (1 + erf(x / math.sqrt(2))),
    "GELU_TANH": lambda x, a, b: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
}


def _leaky(x, a):
    """max(x, a*x) for 0 <= a <= 1: one temporary, maximum taken in place."""
    out = np.multiply(x, a)
    return np.maximum(x, out, out=out)


_PIECEWISE_LINEAR = {
    "RELU": lambda x, a, b: np.maximum(x, np.float32(0)),
    "LEAKY_RELU": lambda x, a, b: _leaky(x, a) if 0 <= a <= 1 else np.where(x >= 0, x, a * x),
    "CLIP": lambda x, a, b: np.maximum(a, np.minimum(b, x)),
    "THRESHOLDED_RELU": lambda x, a, b: np.where(x > a, x, np.float32(0)),
}


@kernel(LayerType.ACTIVATION)
def activation(layer, x):
    kind = layer.activation_type.name
    if kind == "RELU" and np.issubdtype(x.dtype, np.integer):
        return np.maximum(x, x.dtype.type(0))
    alpha, beta = (float(np.float32(v)) for v in (layer.alpha, layer.beta))  # TensorRT holds them as float
    if kind in _PIECEWISE_LINEAR:  # one float32 product at most: float32 is exact, and fast on big maps
        return _PIECEWISE_LINEAR[kind](x.astype(np.float32, copy=False), np.float32(alpha), np.float32(beta))
    with np.errstate(over="ignore", invalid="ignore"):
        return FUNCTIONS[kind](x.astype(np.float64), alpha, beta)
