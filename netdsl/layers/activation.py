"""activation: ``Network.add_activation`` (TensorRT IActivationLayer).

Semantics: TensorRT API reference, ``ActivationType`` (NvInfer.h), with
alpha and beta exactly as TensorRT defines them per type:

==================  ==========================================================
RELU                max(x, 0)
SIGMOID             1 / (1 + e^-x)
TANH                tanh(x)
LEAKY_RELU          x >= 0 ? x : alpha * x
ELU                 x >= 0 ? x : alpha * (e^x - 1)
SELU                x > 0 ? beta * x : beta * (alpha * e^x - alpha)
SOFTSIGN            x / (1 + |x|)
SOFTPLUS            alpha * log(e^(beta * x) + 1)
CLIP                max(alpha, min(beta, x))
HARD_SIGMOID        max(0, min(1, alpha * x + beta))
SCALED_TANH         alpha * tanh(beta * x)
THRESHOLDED_RELU    x > alpha ? x : 0
GELU_ERF            0.5 * x * (1 + erf(x / sqrt(2)))               (TensorRT >= 10)
GELU_TANH           0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))  (>= 10)
==================  ==========================================================

TensorRT's own defaults are alpha = beta = 0, so e.g. LEAKY_RELU without an
alpha is RELU. THRESHOLDED_RELU follows the API reference (and ONNX
ThresholdedRelu); the operator page's ``max(0, x - alpha)`` disagrees with it.

Common framework activations in these terms: torch ``leaky_relu(x, s)`` is
LEAKY_RELU alpha=s; ``elu(x, a)`` ELU alpha=a; ``selu`` SELU alpha=1.6732632,
beta=1.0507010; ``softplus(x, b)`` SOFTPLUS alpha=1/b, beta=b (torch returns x
where b * x > threshold = 20, off by at most log1p(e^-20) ~ 2e-9); ``hardtanh(x, lo, hi)``
and ``relu6`` CLIP; ``hardsigmoid`` HARD_SIGMOID alpha=1/6, beta=0.5;
``gelu(approximate='none' | 'tanh')`` GELU_ERF / GELU_TANH.

Data types (TensorRT operator reference, Activation): FLOAT, HALF, BF16; RELU
also INT32 and INT64. INT8 (a quantized type in TensorRT) is not accepted.
"""
from __future__ import annotations

import math

from ..graph.dtypes import DataType
from ..graph.enums import ActivationType, LayerType
from ..graph.network import network_method
from ._checks import FLOAT_TYPES, as_enum, check_dtype, fail

RELU_TYPES = FLOAT_TYPES + (DataType.INT32, DataType.INT64)


@network_method
def add_activation(self, input, type: ActivationType, alpha: float = 0.0, beta: float = 0.0, *, name=None):
    """Add an elementwise activation.

    Args:
        input: tensor of any shape; FLOAT, HALF or BF16 (RELU: also INT32, INT64).
        type: ActivationType member or its name in any case (``"LEAKY_RELU"``);
            formulas in the module docstring.
        alpha, beta: finite parameters as TensorRT defines them per type;
            TensorRT's defaults are 0, so LEAKY_RELU needs alpha.
    Returns:
        Layer with one output of the input's shape and dtype; the type is
        ``layer.activation_type`` (``layer.type`` is LayerType.ACTIVATION).
    Raises:
        NetworkDefinitionError: an unknown ``type``, input dtype not allowed
            for ``type``, or a non-finite alpha/beta (TensorRT: "must be finite").
    """
    name = self.begin_layer(LayerType.ACTIVATION, name, [input])
    kind = as_enum(name, ActivationType, type, "type")
    check_dtype(name, input, RELU_TYPES if kind.name == "RELU" else FLOAT_TYPES)
    for what, value in (("alpha", alpha), ("beta", beta)):
        if not math.isfinite(float(value)):
            fail(name, f"{what} must be finite, found {value}")
    attrs = dict(activation_type=kind, alpha=float(alpha), beta=float(beta))
    return self.append_layer(LayerType.ACTIVATION, name, [input], [(input.shape, input.dtype)], attrs)
