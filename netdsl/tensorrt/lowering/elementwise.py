"""ELEMENTWISE -> IElementWiseLayer, UNARY -> IUnaryLayer (TensorRT API reference)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.ELEMENTWISE)
def lower_elementwise(ctx, layer, inputs):
    """Both inputs already have equal rank (netdsl checks), so TensorRT broadcasts them directly."""
    a, b = inputs
    op = ctx.network.add_elementwise(a, b, ctx.tm.enum(layer.op))
    return [ctx.named(op, layer).get_output(0)]


@lowering(LayerType.UNARY)
def lower_unary(ctx, layer, inputs):
    """UnaryOperation by name (ISNAN needs TensorRT >= 10.8)."""
    (x,) = inputs
    op = ctx.network.add_unary(x, ctx.tm.enum(layer.op))
    return [ctx.named(op, layer).get_output(0)]
