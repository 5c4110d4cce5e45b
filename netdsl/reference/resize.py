"""Reference kernel for RESIZE (TensorRT IResizeLayer; ONNX Resize semantics).

Each resized axis is handled separately: NEAREST gathers, LINEAR and CUBIC
apply an (out, in) interpolation matrix along the axis.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


def input_coordinates(out_len, in_len, scale, transform, selector):
    """Input coordinate of every output index along one axis (float64)."""
    o = np.arange(out_len, dtype=np.float64)
    if out_len == 1 and selector == "UPPER":
        return np.zeros(1)
    if transform == "ALIGN_CORNERS":
        return o * ((in_len - 1) / (out_len - 1)) if out_len > 1 else np.zeros(1)
    if transform == "HALF_PIXEL":
        return (o + 0.5) / scale - 0.5
    return o / scale


def _round(x, mode):
    if mode == "FLOOR":
        return np.floor(x)
    if mode == "CEIL":
        return np.ceil(x)
    if mode == "HALF_UP":
        return np.floor(x + 0.5)
    return np.ceil(x - 0.5)  # HALF_DOWN


def _cubic_weights(t, a):
    """Keys cubic convolution weights for offsets -1, 0, 1, 2 at fraction t."""
    def w(d):
        d = np.abs(d)
        return np.where(d <= 1, ((a + 2) * d - (a + 3)) * d * d + 1,
                        np.where(d < 2, ((a * d - 5 * a) * d + 8 * a) * d - 4 * a, 0.0))
    return np.stack([w(t + 1), w(t), w(1 - t), w(2 - t)], axis=-1)


def interpolation_matrix(coords, in_len, mode, cubic_coeff, exclude_outside):
    """(out, in) matrix for LINEAR or CUBIC interpolation at ``coords``."""
    m = np.zeros((len(coords), in_len))
    rows = np.arange(len(coords))
    if mode == "LINEAR":
        c = np.clip(coords, 0, in_len - 1)
        lo = np.floor(c).astype(int)
        hi = np.minimum(lo + 1, in_len - 1)
        t = c - lo
        np.add.at(m, (rows, lo), 1 - t)
        np.add.at(m, (rows, hi), t)
        return m
    base = np.floor(coords).astype(int)
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
def resize(layer, x):
    mode = layer.resize_mode.name
    out_shape = layer.outputs[0].shape
    for axis, (n_in, n_out) in enumerate(zip(x.shape, out_shape)):
        scale = layer.scales[axis] if layer.scales is not None else n_out / n_in
        if n_in == n_out and scale == 1.0:
            continue  # every coordinate transformation maps o -> o
        coords = input_coordinates(n_out, n_in, scale, layer.coordinate_transformation.name,
                                   layer.selector_for_single_pixel.name)
        if mode == "NEAREST":
            idx = np.clip(_round(coords, layer.nearest_rounding.name), 0, n_in - 1).astype(np.int64)
            x = np.take(x, idx, axis=axis)
        else:
            m = interpolation_matrix(coords, n_in, mode, layer.cubic_coeff, layer.exclude_outside)
            x = np.moveaxis(np.tensordot(m.astype(np.float32), x.astype(np.float32), axes=([1], [axis])), 0, axis)
    return x
