"""RESIZE -> IResizeLayer (TensorRT API reference, IResizeLayer).

TensorRT maps coordinates by the lengths (in / out), as netdsl. The given
scales are passed only when each is a float32 value and ``in * scale`` is
whole (then scale == out / in and TensorRT's floor(in * scale) cannot fall
short by rounding); otherwise the output shape is, which means the same.
"""
from __future__ import annotations

import numpy as np

from ...graph.enums import LayerType
from ...graph.shapes import is_static, is_static_shape
from .registry import lowering


def _exact_scales(in_shape, scales) -> bool:
    """Scales TensorRT may apply itself: float32 values, and ``in * scale`` whole for static dims.

    A runtime dimension must be resized by its scale (the output size is
    known only at run time); netdsl's shape rule then agrees with
    TensorRT's ``floor(in * scale)`` for every integral scale.
    """
    return scales is not None and all(float(np.float32(s)) == s and (not is_static(d) or float(d * s).is_integer())
                                      for d, s in zip(in_shape, scales))


@lowering(LayerType.RESIZE)
def lower_resize(ctx, layer, inputs):
    """Shape or scales, resize_mode, coordinate_transformation, nearest_rounding,
    selector_for_single_pixel, cubic_coeff, exclude_outside."""
    x = inputs[0]
    resize = ctx.named(ctx.network.add_resize(x), layer)
    if layer.shape_from_input:
        resize.set_input(1, inputs[1])
    elif _exact_scales(layer.inputs[0].shape, layer.scales):
        resize.scales = [float(s) for s in layer.scales]
    elif is_static_shape(layer.shape):
        resize.shape = tuple(layer.shape)
    else:  # runtime output dimensions: the output shape comes from a shape tensor
        resize.set_input(1, ctx.shape_tensor(layer, layer.shape, "output_shape"))
    tm = ctx.tm
    resize.resize_mode = tm.enum(layer.resize_mode)
    resize.coordinate_transformation = tm.enum(layer.coordinate_transformation)
    resize.nearest_rounding = tm.enum(layer.nearest_rounding)
    resize.selector_for_single_pixel = tm.enum(layer.selector_for_single_pixel)
    resize.cubic_coeff = float(layer.cubic_coeff)
    resize.exclude_outside = bool(layer.exclude_outside)
    return [resize.get_output(0)]
