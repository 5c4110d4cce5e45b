"""RESIZE -> IResizeLayer (TensorRT API reference, IResizeLayer).

netdsl's scale is out/in. When every ``in * scale`` is a whole number the
given scales are passed (same meaning); otherwise the output shape, so
TensorRT too uses out/in.
"""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.RESIZE)
def lower_resize(ctx, layer, inputs):
    """Shape or scales, resize_mode, coordinate_transformation, nearest_rounding,
    selector_for_single_pixel, cubic_coeff, exclude_outside."""
    (x,) = inputs
    resize = ctx.named(ctx.network.add_resize(x), layer)
    in_shape = layer.inputs[0].shape
    scales = layer.scales
    if scales is not None and all(float(d * s).is_integer() for d, s in zip(in_shape, scales)):
        resize.scales = [float(s) for s in scales]
    else:
        resize.shape = tuple(layer.shape)
    tm = ctx.tm
    resize.resize_mode = tm.enum(layer.resize_mode)
    resize.coordinate_transformation = tm.enum(layer.coordinate_transformation)
    resize.nearest_rounding = tm.enum(layer.nearest_rounding)
    resize.selector_for_single_pixel = tm.enum(layer.selector_for_single_pixel)
    resize.cubic_coeff = float(layer.cubic_coeff)
    resize.exclude_outside = bool(layer.exclude_outside)
    return [resize.get_output(0)]
