"""REDUCE -> IReduceLayer (TensorRT API reference, IReduceLayer)."""
from __future__ import annotations

from ...graph.enums import LayerType
from ...layers.reduce import axes_mask
from .registry import lowering


@lowering(LayerType.REDUCE)
def lower_reduce(ctx, layer, inputs):
    """``add_reduce(input, op, axes bitmask, keep_dims)``."""
    (x,) = inputs
    reduce = ctx.network.add_reduce(x, ctx.tm.enum(layer.op), axes_mask(layer.axes), bool(layer.keep_dims))
    return [ctx.named(reduce, layer).get_output(0)]
