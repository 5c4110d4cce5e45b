"""POOLING -> IPoolingLayer (TensorRT API reference, IPoolingLayer); large global pooling -> IReduceLayer."""
from __future__ import annotations

import math

import numpy as np

from ...graph.enums import LayerType
from ...graph.shapes import is_static, is_static_shape
from ...layers.padding import MAX_WINDOW_VOLUME_2D
from .convolution import apply_padding
from .registry import lowering


@lowering(LayerType.POOLING)
def lower_pooling(ctx, layer, inputs):
    """MAX / AVERAGE / MAX_AVERAGE_BLEND with stride, asymmetric pre/post padding and padding_mode.

    Where netdsl emulates a CAFFE_* mode (TensorRT-RTX has none) with
    explicit padding, an AVERAGE that counts padding is exact only if the
    last window did not overhang; otherwise ``padding_mode`` raises
    BackendUnavailableError.
    """
    (x,) = inputs
    window = layer.window_size_nd
    if layer.global_pooling and (not is_static_shape(window) or math.prod(window) >= MAX_WINDOW_VOLUME_2D):
        return [_global_by_reduce(ctx, layer, x)]
    pool = ctx.tm.add_pooling_nd(ctx.network, x, ctx.tm.enum(layer.pooling_type), layer.window_size_nd)
    ctx.named(pool, layer)
    pool.stride_nd = tuple(layer.stride_nd)
    counts_padding = layer.pooling_type.name != "MAX" and not layer.average_count_excludes_padding
    overhang = any(not is_static(o) or o != 0 for o in layer.overhang)  # a runtime overhang may be > 0
    apply_padding(ctx, pool, layer, explicit_is_exact=not counts_padding or not overhang)
    pool.average_count_excludes_padding = bool(layer.average_count_excludes_padding)
    if layer.pooling_type.name == "MAX_AVERAGE_BLEND":
        pool.blend_factor = float(layer.blend_factor)
    return [pool.get_output(0)]


def _global_by_reduce(ctx, layer, x):
    """Global pooling over a window larger than IPoolingLayer takes: IReduceLayer MAX / AVG (keep_dims).

    MAX_AVERAGE_BLEND: ``max * (1 - blend_factor) + avg * blend_factor`` with
    two constants of the input's dtype.
    """
    trt, rank = ctx.trt, len(layer.inputs[0].shape)
    axes = sum(1 << a for a in range(rank - len(layer.window_size_nd), rank))
    kind = layer.pooling_type.name

    def reduce(op, suffix=None):
        r = ctx.network.add_reduce(x, getattr(trt.ReduceOperation, op), axes, True)
        return ctx.named(r, layer, suffix).get_output(0)

    if kind != "MAX_AVERAGE_BLEND":
        return reduce("MAX" if kind == "MAX" else "AVG")
    dtype, shape = layer.inputs[0].dtype, (1,) * rank
    parts = []
    for op, weight in (("MAX", 1.0 - layer.blend_factor), ("AVG", layer.blend_factor)):
        factor = ctx.constant(layer, f"{op.lower()}_weight", np.full(shape, weight, np.float32), dtype)
        scaled = ctx.network.add_elementwise(reduce(op, op.lower()), factor, trt.ElementWiseOperation.PROD)
        parts.append(ctx.named(scaled, layer, f"{op.lower()}_scaled").get_output(0))
    total = ctx.network.add_elementwise(parts[0], parts[1], trt.ElementWiseOperation.SUM)
    return ctx.named(total, layer).get_output(0)
