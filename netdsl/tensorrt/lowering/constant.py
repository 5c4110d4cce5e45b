"""CONSTANT -> IConstantLayer, IDENTITY -> IIdentityLayer, CAST -> ICastLayer (TensorRT API reference)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.CONSTANT)
def lower_constant(ctx, layer, inputs):
    """Weights of the tensor's own dtype. INT8 (TensorRT reads it as quantized)
    and UINT8 (not accepted) constants are INT32 constants plus a cast."""
    value = layer.weights["weights"].value.reshape(tuple(layer.shape))
    return [ctx.constant(layer, None, value, layer.outputs[0].dtype)]


@lowering(LayerType.IDENTITY)
def lower_identity(ctx, layer, inputs):
    (x,) = inputs
    return [ctx.named(ctx.network.add_identity(x), layer).get_output(0)]


@lowering(LayerType.CAST)
def lower_cast(ctx, layer, inputs):
    """``add_cast(input, to_type)``."""
    (x,) = inputs
    cast = ctx.network.add_cast(x, ctx.tm.datatype(layer.to_type))
    return [ctx.named(cast, layer).get_output(0)]
