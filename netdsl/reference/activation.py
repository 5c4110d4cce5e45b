"""Reference kernel for ACTIVATION: each ActivationType as TensorRT defines it
(formulas in ``netdsl.layers.activation``)."""
from __future__ import annotations

import math

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


def erf(x):
    """Elementwise error function, |error| < 1.2e-7 (Numerical Recipes erfc Chebyshev fit), float64."""
    x = np.asarray(x, dtype=np.float64)
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = (-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
    r = 1.0 - t * np.exp(poly)
    return np.where(x >= 0, r, -r)


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


FUNCTIONS = {
    "RELU": lambda x, a, b: np.maximum(x, 0),
    "SIGMOID": lambda x, a, b: _sigmoid(x),
    "TANH": lambda x, a, b: np.tanh(x),
    "LEAKY_RELU": lambda x, a, b: np.where(x >= 0, x, a * x),
    "ELU": lambda x, a, b: np.where(x >= 0, x, a * np.expm1(np.minimum(x, 0))),
    "SELU": lambda x, a, b: b * np.where(x > 0, x, a * np.expm1(np.minimum(x, 0))),
    "SOFTSIGN": lambda x, a, b: x / (1 + np.abs(x)),
    "SOFTPLUS": lambda x, a, b: a * np.logaddexp(0, b * x),
    "CLIP": lambda x, a, b: np.clip(x, a, b),
    "HARD_SIGMOID": lambda x, a, b: np.clip(a * x + b, 0, 1),
    "SCALED_TANH": lambda x, a, b: a * np.tanh(b * x),
    "THRESHOLDED_RELU": lambda x, a, b: np.where(x > a, x, 0),
    "GELU_ERF": lambda x, a, b: 0.5 * x * (1 + erf(x / math.sqrt(2))),
    "GELU_TANH": lambda x, a, b: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
}


@kernel(LayerType.ACTIVATION)
def activation(layer, x):
    x = x.astype(np.float32, copy=False)
    if layer.activation_type.name == "LEAKY_RELU" and 0 <= layer.alpha <= 1:
        return np.maximum(x, x * np.float32(layer.alpha))
    return FUNCTIONS[layer.activation_type.name](x, np.float32(layer.alpha), np.float32(layer.beta))
