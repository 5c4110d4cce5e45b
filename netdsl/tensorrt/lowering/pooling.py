"""POOLING -> IPoolingLayer (TensorRT API reference, IPoolingLayer)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .convolution import apply_padding
from .registry import lowering


def _post_did_not_grow(layer) -> bool:
    """CAFFE modes pad ``pre`` on both sides; a larger resolved post padding is round-up growth."""
    return tuple(layer.post_padding) == tuple(layer.pre_padding)


@lowering(LayerType.POOLING)
def lower_pooling(ctx, layer, inputs):
    """MAX / AVERAGE / MAX_AVERAGE_BLEND with stride, asymmetric pre/post padding and padding_mode."""
    (x,) = inputs
    pool = ctx.tm.add_pooling_nd(ctx.network, x, ctx.tm.enum(layer.pooling_type), layer.window_size_nd)
    ctx.named(pool, layer)
    pool.stride_nd = tuple(layer.stride_nd)
    counts_padding = layer.pooling_type.name != "MAX" and not layer.average_count_excludes_padding
    apply_padding(ctx, pool, layer, explicit_is_exact=not counts_padding or _post_did_not_grow(layer))
    pool.average_count_excludes_padding = bool(layer.average_count_excludes_padding)
    if layer.pooling_type.name == "MAX_AVERAGE_BLEND":
        pool.blend_factor = float(layer.blend_factor)
    return [pool.get_output(0)]
