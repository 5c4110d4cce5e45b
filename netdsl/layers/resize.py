"""resize: ``Network.add_resize`` (TensorRT IResizeLayer).

Semantics: TensorRT API reference, IResizeLayer, ResizeCoordinateTransformation,
ResizeSelector, ResizeRoundMode and InterpolationMode, and the TensorRT
operator reference, "Resize". For an axis of input length ``in`` resized to
``out``, output index o maps to the input coordinate

- ALIGN_CORNERS: ``o * (in - 1) / (out - 1)``;
- ASYMMETRIC (default): ``o * (in / out)``;
- HALF_PIXEL: ``(o + 0.5) * (in / out) - 0.5``;

and, when ``out == 1`` with ``selector_for_single_pixel=UPPER``, to 0.
The ratio is always of the lengths, so with ``scales`` whose ``in * scale``
is not whole, the mapping uses ``out / in`` and not the given scale (ONNX
Resize with a ``scales`` input would use the scale). NEAREST rounds the
coordinate by ``nearest_rounding`` (HALF_UP, HALF_DOWN, FLOOR (default),
CEIL) and clamps it to [0, in - 1]; LINEAR is 1-D to 3-D multi-linear with
the coordinate clamped to [0, in - 1]; CUBIC is 2-D Keys cubic convolution
with coefficient ``cubic_coeff`` (-0.75 default), reading edge values
outside the input or, with ``exclude_outside``, dropping those taps and
renormalising. This is ONNX Resize (opset >= 11) with
coordinate_transformation_mode align_corners / asymmetric / half_pixel
(HALF_PIXEL + UPPER is pytorch_half_pixel for NEAREST and LINEAR),
nearest_mode round_prefer_ceil / round_prefer_floor / floor / ceil,
cubic_coeff_a, exclude_outside, antialias 0 (TensorRT has no antialias).
"""
from __future__ import annotations

import math
from fractions import Fraction

from ..graph.dtypes import DataType
from ..graph.enums import (InterpolationMode, LayerType, ResizeCoordinateTransformation, ResizeRoundMode,
                           ResizeSelector)
from ..graph.network import network_method
from ..graph.shapes import format_shape, is_static, require_at_least
from ._checks import FLOAT_TYPES, as_enum, check_dtype, dims, fail
from ._shape_inputs import is_shape_tensor_arg, shape_tensor_dims

# Innermost dims each mode can resize (IResizeLayer: NEAREST up to 8-D,
# LINEAR 1-D to 3-D, CUBIC 2-D).
RESIZABLE_DIMS = {"NEAREST": 8, "LINEAR": 3, "CUBIC": 2}


def _output_shape(net, layer: str, input, shape, scales):
    """The output dims from exactly one of ``shape`` / ``scales`` (floor(in * scale), in float64)."""
    n = input.ndim
    if (shape is None) == (scales is None):
        fail(layer, "give exactly one of shape= or scales=")
    if scales is not None:
        scales = tuple(float(s) for s in scales)
        if len(scales) != n or not all(math.isfinite(s) and s > 0 for s in scales):
            fail(layer, f"scales must be {n} finite positive factors (input {input.name!r} {input.shape}), "
                        f"found {scales}")
        out = []
        for axis, (d, s) in enumerate(zip(input.shape, scales)):
            if is_static(d):
                out.append(int(math.floor(d * s)))
                continue
            ratio = Fraction(s)  # exact: floor(d * p / q) for the float's exact value p / q
            out.append(d if ratio == 1 else (d * ratio.numerator) // ratio.denominator)
            require_at_least(net, layer, out[-1], 1, f"output dimension {axis} (input {format_shape(input.shape)} "
                                                    f"scaled by {s})")
        out = tuple(out)
        if 0 in [d for d in out if is_static(d)]:
            fail(layer, f"scales {scales} make an empty output {out} from input {input.name!r} {input.shape}")
        return out, scales
    out = dims(shape, len(shape) if hasattr(shape, "__len__") else n, "shape", layer, runtime=True)
    if len(out) != n or any(is_static(d) and d < 1 for d in out):
        fail(layer, f"shape must be {n} positive dims (input {input.name!r} {format_shape(input.shape)}), "
                    f"found {format_shape(out)}")
    for axis, d in enumerate(out):
        if not is_static(d):
            require_at_least(net, layer, d, 1, f"output dimension {axis}")
    return out, None


@network_method
def add_resize(self, input, *, shape=None, scales=None, resize_mode: InterpolationMode = InterpolationMode.NEAREST,
               coordinate_transformation: ResizeCoordinateTransformation = ResizeCoordinateTransformation.ASYMMETRIC,
               nearest_rounding: ResizeRoundMode = ResizeRoundMode.FLOOR,
               selector_for_single_pixel: ResizeSelector = ResizeSelector.FORMULA,
               cubic_coeff: float = -0.75, exclude_outside: bool = False, name=None):
    """Resize a tensor, e.g. an NCHW 2x upsample with ``scales=(1, 1, 2, 2)``.

    Args:
        input: FLOAT, HALF or BF16 of rank >= 1 without zero-size dims
            (INT8 with NEAREST only).
        shape: the output dims, or
        scales: one factor per dim; output dim = floor(in * scale) >= 1.
        resize_mode: InterpolationMode NEAREST, LINEAR (at most the 3
            innermost dims change) or CUBIC (at most the 2 innermost).
        coordinate_transformation: ResizeCoordinateTransformation.
        nearest_rounding: ResizeRoundMode, for NEAREST.
        selector_for_single_pixel: ResizeSelector for axes resized to 1.
        Each of the four enum parameters takes the member or its name in any case.
        cubic_coeff: the cubic kernel's ``a``, for CUBIC.
        exclude_outside: drop CUBIC taps outside the input and renormalise
            (no effect on NEAREST and LINEAR, which read inside the input).
    Returns:
        Layer with one output of the input's dtype. Attributes ``shape``
        (output dims), ``scales`` (as given, or None), ``shape_from_input``
        and the modes above. ``shape`` may also be a 1-D INT32/INT64 shape
        tensor computed in the network (TensorRT's input 1).
    Raises:
        NetworkDefinitionError: an unknown enum value, not exactly one of shape/scales, wrong
            length, non-positive or non-finite scales, an empty output dim,
            an unsupported dtype, an empty input dim, a LINEAR/CUBIC resize
            of an outer dim, or a non-finite cubic_coeff.
    """
    shape_tensor = shape if is_shape_tensor_arg(shape) else None
    name = self.begin_layer(LayerType.RESIZE, name, [input] + ([shape_tensor] if shape_tensor is not None else []))
    if shape_tensor is not None:
        shape = shape_tensor_dims(name, shape_tensor, "shape", input.ndim)
    mode = as_enum(name, InterpolationMode, resize_mode, "resize_mode")
    transformation = as_enum(name, ResizeCoordinateTransformation, coordinate_transformation,
                             "coordinate_transformation")
    rounding = as_enum(name, ResizeRoundMode, nearest_rounding, "nearest_rounding")
    selector = as_enum(name, ResizeSelector, selector_for_single_pixel, "selector_for_single_pixel")
    check_dtype(name, input, FLOAT_TYPES + ((DataType.INT8,) if mode is InterpolationMode.NEAREST else ()),
                f"{mode.name} resize input")
    if input.ndim == 0 or 0 in input.shape:
        fail(name, f"input {input.name!r} must have rank >= 1 and no empty dim, found shape {input.shape}")
    out, scales = _output_shape(self, name, input, shape, scales)
    resized = [i for i, (a, b) in enumerate(zip(input.shape, out)) if a != b]
    innermost = RESIZABLE_DIMS[mode.name]
    if resized and resized[0] < input.ndim - innermost:
        fail(name, f"{mode.name} resizes at most the {innermost} innermost dims, but {input.shape} -> {out} "
                   f"resizes dim {resized[0]}")
    if not math.isfinite(float(cubic_coeff)):
        fail(name, f"cubic_coeff must be finite, found {cubic_coeff}")
    attrs = dict(shape=out, scales=scales, shape_from_input=shape_tensor is not None, resize_mode=mode,
                 coordinate_transformation=transformation, nearest_rounding=rounding,
                 selector_for_single_pixel=selector,
                 cubic_coeff=float(cubic_coeff), exclude_outside=bool(exclude_outside))
    inputs = [input] + ([shape_tensor] if shape_tensor is not None else [])
    return self.append_layer(LayerType.RESIZE, name, inputs, [(out, input.dtype)], attrs)
