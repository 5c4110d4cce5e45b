"""SHUFFLE -> IShuffleLayer (TensorRT API reference, IShuffleLayer)."""
from __future__ import annotations

from ...graph.enums import LayerType
from ...graph.shapes import is_static_shape
from .registry import lowering


@lowering(LayerType.SHUFFLE)
def lower_shuffle(ctx, layer, inputs):
    """first_transpose, then reshape to netdsl's resolved dims (no 0 or -1 left, so
    ``zero_is_placeholder`` is off), then second_transpose."""
    x = inputs[0]
    shuffle = ctx.named(ctx.network.add_shuffle(x), layer)
    shuffle.first_transpose = tuple(layer.first_transpose)
    if layer.dims_from_input:  # the user's shape tensor, with TensorRT's own 0 / -1 rules
        shuffle.zero_is_placeholder = bool(layer.zero_is_placeholder)
        shuffle.set_input(1, inputs[1])
    elif layer.resolved_dims is not None:
        shuffle.zero_is_placeholder = False
        if is_static_shape(layer.resolved_dims):
            shuffle.reshape_dims = tuple(layer.resolved_dims)
        else:  # runtime dimensions: the reshape dims come from a shape tensor
            shuffle.set_input(1, ctx.shape_tensor(layer, layer.resolved_dims, "reshape_dims"))
    shuffle.second_transpose = tuple(layer.second_transpose)
    return [shuffle.get_output(0)]
