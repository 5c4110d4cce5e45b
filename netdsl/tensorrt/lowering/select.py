"""SELECT -> ISelectLayer (TensorRT API reference, ISelectLayer)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.SELECT)
def lower_select(ctx, layer, inputs):
    """The three inputs already have equal rank (netdsl checks), so TensorRT broadcasts them directly."""
    condition, then_input, else_input = inputs
    return [ctx.named(ctx.network.add_select(condition, then_input, else_input), layer).get_output(0)]
