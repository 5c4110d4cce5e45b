"""SOFTMAX -> ISoftMaxLayer (TensorRT API reference, ISoftMaxLayer)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.SOFTMAX)
def lower_softmax(ctx, layer, inputs):
    """``axes`` is always set, to the layer's bitmask ``1 << axis`` (never TensorRT's rank-dependent default)."""
    (x,) = inputs
    softmax = ctx.named(ctx.network.add_softmax(x), layer)
    softmax.axes = int(layer.axes)
    return [softmax.get_output(0)]
