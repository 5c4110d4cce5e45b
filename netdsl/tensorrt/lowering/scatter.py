"""SCATTER -> IScatterLayer (TensorRT API reference, IScatterLayer / ScatterMode)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.SCATTER)
def lower_scatter(ctx, layer, inputs):
    """``add_scatter(data, indices, updates, mode)``; the axis is set for ELEMENT (ND ignores it)."""
    data, indices, updates = inputs
    scatter = ctx.named(ctx.network.add_scatter(data, indices, updates, ctx.tm.enum(layer.mode)), layer)
    if layer.mode.name == "ELEMENT":
        scatter.axis = int(layer.axis)
    return [scatter.get_output(0)]
