"""GATHER -> IGatherLayer (TensorRT API reference, IGatherLayer / GatherMode)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.GATHER)
def lower_gather(ctx, layer, inputs):
    """``add_gather_v2(data, indices, mode)``, then axis (DEFAULT, ELEMENT; ND leaves it at 0)
    and num_elementwise_dims."""
    data, indices = inputs
    gather = ctx.named(ctx.network.add_gather_v2(data, indices, ctx.tm.enum(layer.mode)), layer)
    if layer.mode.name != "ND":
        gather.axis = int(layer.axis)
    gather.num_elementwise_dims = int(layer.num_elementwise_dims)
    return [gather.get_output(0)]
