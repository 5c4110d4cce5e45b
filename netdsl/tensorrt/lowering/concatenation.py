"""CONCATENATION -> IConcatenationLayer (TensorRT API reference, IConcatenationLayer)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.CONCATENATION)
def lower_concatenation(ctx, layer, inputs):
    """The axis is always set: TensorRT's default (rank - 3) is rarely the one meant."""
    concat = ctx.named(ctx.network.add_concatenation(list(inputs)), layer)
    concat.axis = int(layer.axis)
    return [concat.get_output(0)]
