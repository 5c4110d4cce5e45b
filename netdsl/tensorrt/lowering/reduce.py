"""REDUCE -> IReduceLayer (TensorRT API reference, IReduceLayer)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.REDUCE)
def lower_reduce(ctx, layer, inputs):
    """``add_reduce(input, op, axes, keep_dims)`` with the layer's ``axes``, already TensorRT's bitmask."""
    (x,) = inputs
    reduce = ctx.network.add_reduce(x, ctx.tm.enum(layer.op), int(layer.axes), bool(layer.keep_dims))
    return [ctx.named(reduce, layer).get_output(0)]
