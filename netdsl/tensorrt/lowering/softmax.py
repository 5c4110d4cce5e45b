"""SOFTMAX -> ISoftMaxLayer (TensorRT API reference, ISoftMaxLayer)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.SOFTMAX)
def lower_softmax(ctx, layer, inputs):
    """The axis is always set, as the bitmask ``1 << axis`` (never TensorRT's rank-dependent default)."""
    (x,) = inputs
    softmax = ctx.named(ctx.network.add_softmax(x), layer)
    softmax.axes = 1 << int(layer.axis)
    return [softmax.get_output(0)]
