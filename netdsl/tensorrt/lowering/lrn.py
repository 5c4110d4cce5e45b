"""LRN -> ILRNLayer (TensorRT API reference, ILRNLayer; formula in ``netdsl.layers.lrn``)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.LRN)
def lower_lrn(ctx, layer, inputs):
    """``add_lrn(input, window, alpha, beta, k)`` with netdsl's (= TensorRT's) parameters unchanged."""
    (x,) = inputs
    lrn = ctx.network.add_lrn(x, int(layer.window_size), float(layer.alpha), float(layer.beta), float(layer.k))
    return [ctx.named(lrn, layer).get_output(0)]
