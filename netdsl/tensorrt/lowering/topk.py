"""TOPK -> ITopKLayer (TensorRT API reference, ITopKLayer)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.TOPK)
def lower_topk(ctx, layer, inputs):
    """``add_topk(input, op, k, axes bitmask)``: output 0 the values, output 1 the INT32 indices (the default)."""
    (x,) = inputs
    topk = ctx.named(ctx.network.add_topk(x, ctx.tm.enum(layer.op), int(layer.k), int(layer.axes)), layer)
    return [topk.get_output(0), topk.get_output(1)]
