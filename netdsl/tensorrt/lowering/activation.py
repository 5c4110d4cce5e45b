"""ACTIVATION -> IActivationLayer (TensorRT API reference, IActivationLayer / ActivationType)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.ACTIVATION)
def lower_activation(ctx, layer, inputs):
    """ActivationType by name (GELU_* need TensorRT >= 10.0); alpha and beta as given."""
    (x,) = inputs
    act = ctx.named(ctx.network.add_activation(x, ctx.tm.enum(layer.activation_type)), layer)
    act.alpha = float(layer.alpha)
    act.beta = float(layer.beta)
    return [act.get_output(0)]
