"""Reference kernel for RESIZE (TensorRT IResizeLayer; ONNX Resize semantics).

The formulas are in ``netdsl/layers/resize.py``. Each resized axis is
handled separately (every mode is separable): NEAREST gathers, LINEAR and
CUBIC multiply by an (out, in) interpolation matrix along the axis.

Input coordinates are computed as exact fractions of integers, so NEAREST
rounds as the formula says even where the coordinate is exactly an integer
or a half (floating point, as in ONNX's reference, can land a hair to
either side there: 7 -> 9 HALF_PIXEL maps output 4 to exactly 3).

Precision: LINEAR and CUBIC interpolate in float64; the executor rounds the
output to its dtype.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


def coordinate_fractions(out_len: int, in_len: int, transform: str, selector: str = "FORMULA"):
    """Input coordinate of each output index along one axis, as ``numerator / denominator``.

    Args:
        out_len, in_len: the axis' output and input lengths (>= 1).
        transform: ResizeCoordinateTransformation name.
        selector: ResizeSelector name (UPPER maps a length-1 output to 0).
    Returns:
        ``(numerator, denominator)``: an int64 array of ``out_len`` and an int.
    """
    o = np.arange(out_len, dtype=np.int64)
    if out_len == 1 and (selector == "UPPER" or transform == "ALIGN_CORNERS"):
        return np.zeros(1, np.int64), 1
    if transform == "ALIGN_CORNERS":
        return o * (in_len - 1), out_len - 1
    if transform == "HALF_PIXEL":  # ((o + 1/2) * in / out) - 1/2
        return (2 * o + 1) * in_len - out_len, 2 * out_len
    return o * in_len, out_len  # ASYMMETRIC


def input_coordinates(out_len, in_len, scale=None, transform="ASYMMETRIC", selector="FORMULA"):
    """Input coordinate (float64) of every output index along one axis.

    ``scale`` is not used: TensorRT maps by the lengths (``in / out``). It
    stays so that callers that pass ``out / in`` keep working.
    """
    num, den = coordinate_fractions(out_len, in_len, transform, selector)
    return num / den


def nearest_indices(num, den: int, in_len: int, rounding: str):
    """Round ``num / den`` exactly by a ResizeRoundMode name and clamp to [0, in_len - 1]."""
    base, rest = np.divmod(num, den)  # floor, and 0 <= rest < den
    if rounding == "CEIL":
        base = base + (rest > 0)
    elif rounding == "HALF_UP":
        base = base + (2 * rest >= den)
    elif rounding == "HALF_DOWN":
        base = base + (2 * rest > den)
    return np.clip(base, 0, in_len - 1)


def _cubic_weights(t, a):
    """Keys cubic convolution weights of the taps at offsets -1, 0, 1, 2 from floor, for fraction t."""
    def w(d):
        d = np.abs(d)
        return np.where(d <= 1, ((a + 2) * d - (a + 3)) * d * d + 1,
                        np.where(d < 2, ((a * d - 5 * a) * d + 8 * a) * d - 4 * a, 0.0))
    return np.stack([w(t + 1), w(t), w(1 - t), w(2 - t)], axis=-1)


def interpolation_matrix(coords, in_len, mode, cubic_coeff=-0.75, exclude_outside=False):
    """(out, in) float64 matrix interpolating at ``coords`` by LINEAR or CUBIC.

    LINEAR clamps the coordinate to [0, in_len - 1]. CUBIC reads taps
    floor(c) - 1 .. floor(c) + 2; taps outside [0, in_len) read the edge
    value, or with ``exclude_outside`` get weight 0 and the rest are
    renormalised (ONNX Resize, edge padding).
    """
    coords = np.asarray(coords, dtype=np.float64)
    m = np.zeros((len(coords), in_len))
    rows = np.arange(len(coords))
    if mode == "LINEAR":
        c = np.clip(coords, 0, in_len - 1)
        lo = np.floor(c).astype(np.int64)
        hi = np.minimum(lo + 1, in_len - 1)
        t = c - lo
        np.add.at(m, (rows, lo), 1 - t)
        np.add.at(m, (rows, hi), t)
        return m
    base = np.floor(coords).astype(np.int64)
    weights = _cubic_weights(coords - base, cubic_coeff)
    for k, offset in enumerate((-1, 0, 1, 2)):
        idx = base + offset
        w = weights[:, k]
        if exclude_outside:
            w = np.where((idx >= 0) & (idx < in_len), w, 0.0)
        np.add.at(m, (rows, np.clip(idx, 0, in_len - 1)), w)
    if exclude_outside:
        m /= m.sum(axis=1, keepdims=True)
    return m


@kernel(LayerType.RESIZE)
def resize(layer, x, shape=None):
    """``x`` of the input's shape -> array of ``layer.shape`` (float32 for LINEAR/CUBIC).

    ``shape``: the output dims when they come from a shape-tensor input.
    """
    mode = layer.resize_mode.name
    out_shape = tuple(int(d) for d in shape) if shape is not None else layer.shape
    for axis, (n_in, n_out) in enumerate(zip(x.shape, out_shape)):
        if n_in == n_out:
            continue  # every coordinate transformation maps o -> o
        num, den = coordinate_fractions(n_out, n_in, layer.coordinate_transformation.name,
                                        layer.selector_for_single_pixel.name)
        if mode == "NEAREST":
            x = np.take(x, nearest_indices(num, den, n_in, layer.nearest_rounding.name), axis=axis)
        else:
            m = interpolation_matrix(num / den, n_in, mode, layer.cubic_coeff, layer.exclude_outside)
            x = np.moveaxis(np.tensordot(m, x.astype(np.float64), axes=([1], [axis])), 0, axis)
    return x
