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

Defaults (``DEFAULTS``, used for an alpha or beta not given) are TensorRT's
own, read from ``INetworkDefinition.add_activation`` of TensorRT-RTX 1.7.1
(tests/tensorrt/test_activation_defaults.py compares them with the installed
TensorRT): LEAKY_RELU alpha 0.01; ELU alpha 1; SELU alpha 1.6732632, beta
1.0507010; SOFTPLUS 1, 1; CLIP -FLT_MAX, FLT_MAX (no clipping); HARD_SIGMOID
0.2, 0.5 (ONNX's, not torch's 1/6); SCALED_TANH 1, 1; THRESHOLDED_RELU alpha
1; 0 for every other type, which ignores them. THRESHOLDED_RELU follows the
API reference (and ONNX ThresholdedRelu); the operator page's
``max(0, x - alpha)`` disagrees with it.

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

_FLT_MAX = 3.4028234663852886e38
DEFAULTS = {  # ActivationType name -> (alpha, beta) TensorRT gives a new layer (module docstring)
    "LEAKY_RELU": (0.01, 0.0),
    "ELU": (1.0, 0.0),
    "SELU": (1.6732632423543772, 1.0507009873554805),
    "SOFTPLUS": (1.0, 1.0),
    "CLIP": (-_FLT_MAX, _FLT_MAX),
    "HARD_SIGMOID": (0.2, 0.5),
    "SCALED_TANH": (1.0, 1.0),
    "THRESHOLDED_RELU": (1.0, 0.0),
}


@network_method
def add_activation(self, input, type: ActivationType, alpha: float | None = None, beta: float | None = None, *,
                   name=None):
    """Add an elementwise activation.

    Args:
        input: tensor of any shape; FLOAT, HALF or BF16 (RELU: also INT32, INT64).
        type: ActivationType member or its name in any case (``"LEAKY_RELU"``);
            formulas in the module docstring.
        alpha, beta: finite parameters as TensorRT defines them per type;
            None (not given): TensorRT's default for the type (``DEFAULTS``:
            LEAKY_RELU 0.01, ELU 1, SELU's constants, CLIP no bounds, ...).
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
    default_alpha, default_beta = DEFAULTS.get(kind.name, (0.0, 0.0))
    alpha = default_alpha if alpha is None else alpha
    beta = default_beta if beta is None else beta
    for what, value in (("alpha", alpha), ("beta", beta)):
        if not math.isfinite(float(value)):
            fail(name, f"{what} must be finite, found {value}")
    attrs = dict(activation_type=kind, alpha=float(alpha), beta=float(beta))
    return self.append_layer(LayerType.ACTIVATION, name, [input], [(input.shape, input.dtype)], attrs)
