"""composite: activations without a TensorRT ActivationType, built from native layers.

Each helper adds a few ACTIVATION and ELEMENTWISE layers (no new LayerType,
so every backend already runs them). The helper layers live under the name
scope ``<name>`` and the final product is the layer ``<name>`` itself, so its
output tensor carries the helper's name:

* ``add_mish``: x * tanh(softplus(x)) (Misra 2019, "Mish"; torch ``F.mish``)
  = PROD(x, TANH(SOFTPLUS alpha=1 beta=1 (x))).
* ``add_swish`` / ``add_silu``: x * sigmoid(x) (Ramachandran et al. 2017;
  torch ``F.silu``) = PROD(x, SIGMOID(x)).
* ``add_hard_swish``: x * relu6(x + 3) / 6 (Howard et al. 2019, MobileNetV3;
  torch ``F.hardswish``) = PROD(x, HARD_SIGMOID alpha=1/6 beta=0.5 (x)),
  since max(0, min(1, x/6 + 1/2)) = relu6(x + 3) / 6.
"""
from __future__ import annotations

from ..graph.enums import ActivationType, ElementWiseOperation
from ..graph.network import network_method
from ._checks import FLOAT_TYPES, check_dtype, fail


def _free_name(net, name, base):
    """``name`` (checked unused), or the first of ``base``, ``base1``, ``base2`` ... not yet taken by a layer."""
    taken = {layer.name for layer in net.layers}
    if name is not None:
        if net.scoped_name(name) in taken:
            fail(net.scoped_name(name), f"a layer of that name already exists in network {net.name!r}")
        return name
    candidate, i = base, 0
    while net.scoped_name(candidate) in taken:
        i += 1
        candidate = f"{base}{i}"
    return candidate


def _gated(net, x, name, base, activation, alpha=0.0, beta=0.0, then=None):
    """``x * f(x)``: f one activation (optionally followed by a second) in scope ``name``."""
    name = _free_name(net, name, base)
    check_dtype(net.scoped_name(name), x, FLOAT_TYPES)
    with net.scope(name):
        gate = net.add_activation(x, activation, alpha, beta, name=activation.name.lower()).output
        if then is not None:
            gate = net.add_activation(gate, then, name=then.name.lower()).output
    return net.add_elementwise(x, gate, ElementWiseOperation.PROD, name=name)


@network_method
def add_mish(self, input, *, name=None):
    """Add Mish, ``x * tanh(softplus(x))``, as SOFTPLUS -> TANH -> PROD.

    Args:
        input: tensor of any shape, FLOAT, HALF or BF16.
        name: name of the final PROD layer (default ``mish``, ``mish1`` ...);
            the helpers are ``<name>.softplus`` and ``<name>.tanh``.
    Returns:
        the final ELEMENTWISE Layer; its output has the input's shape and dtype.
    Raises:
        NetworkDefinitionError: non-float input (naming ``<name>``).
    """
    return _gated(self, input, name, "mish", ActivationType.SOFTPLUS, 1.0, 1.0, then=ActivationType.TANH)


@network_method
def add_swish(self, input, *, name=None):
    """Add Swish / SiLU, ``x * sigmoid(x)``, as SIGMOID -> PROD.

    Args:
        input: tensor of any shape, FLOAT, HALF or BF16.
        name: name of the final PROD layer (default ``swish``); the helper is
            ``<name>.sigmoid``.
    Returns:
        the final ELEMENTWISE Layer; its output has the input's shape and dtype.
    Raises:
        NetworkDefinitionError: non-float input.
    """
    return _gated(self, input, name, "swish", ActivationType.SIGMOID)


@network_method
def add_silu(self, input, *, name=None):
    """``add_swish`` under torch's name: x * sigmoid(x) (default layer name ``silu``).

    Returns:
        the final PROD Layer, output of the input's shape and dtype.
    Raises:
        NetworkDefinitionError: non-float input.
    """
    return _gated(self, input, name, "silu", ActivationType.SIGMOID)


@network_method
def add_hard_swish(self, input, *, name=None):
    """Add hard swish, ``x * relu6(x + 3) / 6``, as HARD_SIGMOID(alpha=1/6, beta=0.5) -> PROD.

    Args:
        input: tensor of any shape, FLOAT, HALF or BF16.
        name: name of the final PROD layer (default ``hard_swish``); the
            helper is ``<name>.hard_sigmoid``.
    Returns:
        the final ELEMENTWISE Layer; its output has the input's shape and dtype.
    Raises:
        NetworkDefinitionError: non-float input.
    """
    return _gated(self, input, name, "hard_swish", ActivationType.HARD_SIGMOID, 1.0 / 6.0, 0.5)
