"""activation: ``Network.add_activation`` (TensorRT IActivationLayer).

Semantics (TensorRT API reference, ActivationType), alpha/beta as TensorRT:
RELU max(x, 0); SIGMOID 1/(1+e^-x); TANH; LEAKY_RELU x>=0 ? x : alpha*x;
ELU x>=0 ? x : alpha*(e^x-1); SELU beta*(x>0 ? x : alpha*(e^x-1));
SOFTSIGN x/(1+|x|); SOFTPLUS alpha*log(e^(beta*x)+1); CLIP max(alpha, min(beta, x));
HARD_SIGMOID max(0, min(1, alpha*x+beta)); SCALED_TANH alpha*tanh(beta*x);
THRESHOLDED_RELU x>alpha ? x : 0; GELU_ERF 0.5x(1+erf(x/sqrt 2));
GELU_TANH 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))).
"""
from __future__ import annotations

from ..graph.enums import ActivationType, LayerType
from ..graph.network import network_method
from ._checks import FLOAT_TYPES, check_dtype


@network_method
def add_activation(self, input, type: ActivationType, alpha: float = 0.0, beta: float = 0.0, *, name=None):
    """Add an elementwise activation.

    Args:
        input: tensor of any shape, FLOAT/HALF/BF16.
        type: ActivationType member.
        alpha, beta: parameters as TensorRT defines them per type (see module
            docstring); TensorRT's defaults are 0, so LEAKY_RELU needs alpha.
    Returns:
        Layer with one output of the input's shape and dtype; the type is
        ``layer.activation_type`` (``layer.type`` is LayerType.ACTIVATION).
    Raises:
        NetworkDefinitionError: non-float input.
    """
    name = self.begin_layer(LayerType.ACTIVATION, name, [input])
    check_dtype(name, input, FLOAT_TYPES)
    attrs = dict(activation_type=ActivationType[type.name], alpha=float(alpha), beta=float(beta))
    return self.append_layer(LayerType.ACTIVATION, name, [input], [(input.shape, input.dtype)], attrs)
