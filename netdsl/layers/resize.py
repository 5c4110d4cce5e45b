"""resize: ``Network.add_resize`` (TensorRT IResizeLayer).

Semantics: TensorRT API reference, IResizeLayer and ONNX Resize (which it
implements). For output index o and scale s = out/in, the input coordinate is
ASYMMETRIC: o / s; HALF_PIXEL: (o + 0.5) / s - 0.5; ALIGN_CORNERS:
o * (in - 1) / (out - 1). NEAREST rounds that coordinate by
``nearest_rounding`` (HALF_UP, HALF_DOWN, FLOOR, CEIL); LINEAR interpolates
(multi-linear over the resized dims); CUBIC uses ``cubic_coeff`` (-0.75).
TensorRT's defaults: ASYMMETRIC, FLOOR, selector FORMULA.
"""
from __future__ import annotations

import math

from ..graph.enums import (InterpolationMode, LayerType, ResizeCoordinateTransformation, ResizeRoundMode,
                           ResizeSelector)
from ..graph.network import network_method
from ._checks import fail


@network_method
def add_resize(self, input, *, shape=None, scales=None, resize_mode: InterpolationMode = InterpolationMode.NEAREST,
               coordinate_transformation=ResizeCoordinateTransformation.ASYMMETRIC,
               nearest_rounding=ResizeRoundMode.FLOOR, selector_for_single_pixel=ResizeSelector.FORMULA,
               cubic_coeff: float = -0.75, exclude_outside: bool = False, name=None):
    """Resize a tensor (e.g. NCHW upsample: ``scales=(1, 1, 2, 2)``).

    Args:
        input: any-rank tensor.
        shape: output dims, or
        scales: one factor per dim; output dim = floor(in * scale).
        resize_mode: InterpolationMode (LINEAR/CUBIC need a float input).
        coordinate_transformation, nearest_rounding, selector_for_single_pixel,
        cubic_coeff, exclude_outside: as TensorRT.
    Returns:
        Layer with one output, input dtype.
    Raises:
        NetworkDefinitionError: neither or both of shape/scales, wrong length.
    """
    name = self.begin_layer(LayerType.RESIZE, name, [input])
    if (shape is None) == (scales is None):
        fail(name, "give exactly one of shape= or scales=")
    n = input.ndim
    if scales is not None:
        scales = tuple(float(s) for s in scales)
        if len(scales) != n or any(s <= 0 for s in scales):
            fail(name, f"scales must be {n} positive factors (input {input.name!r} {input.shape}), found {scales}")
        out = tuple(int(math.floor(d * s)) for d, s in zip(input.shape, scales))
    else:
        out = tuple(int(d) for d in shape)
        if len(out) != n or any(d < 1 for d in out):
            fail(name, f"shape must be {n} positive dims (input {input.name!r} {input.shape}), found {out}")
    attrs = dict(shape=out, scales=scales, resize_mode=InterpolationMode[resize_mode.name],
                 coordinate_transformation=ResizeCoordinateTransformation[coordinate_transformation.name],
                 nearest_rounding=ResizeRoundMode[nearest_rounding.name],
                 selector_for_single_pixel=ResizeSelector[selector_for_single_pixel.name],
                 cubic_coeff=float(cubic_coeff), exclude_outside=bool(exclude_outside))
    return self.append_layer(LayerType.RESIZE, name, [input], [(out, input.dtype)], attrs)
