"""EINSUM -> IEinsumLayer (TensorRT API reference, IEinsumLayer)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.EINSUM)
def lower_einsum(ctx, layer, inputs):
    """``add_einsum(inputs, equation)`` with netdsl's explicit equation (``ij,jk->ik``)."""
    einsum = ctx.network.add_einsum(list(inputs), str(layer.equation))
    return [ctx.named(einsum, layer).get_output(0)]
