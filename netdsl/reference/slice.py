"""Reference kernel for SLICE with every SampleMode (TensorRT ISliceLayer)."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


def source_indices(start, size, stride, extent, mode):
    """Input index per output index along one dim, and a mask of in-bounds reads."""
    idx = start + np.arange(size, dtype=np.int64) * stride
    inside = (idx >= 0) & (idx < extent)
    if mode == "WRAP":
        idx = np.mod(idx, extent)
    elif mode == "REFLECT":
        if extent == 1:
            idx = np.zeros_like(idx)
        else:
            period = 2 * (extent - 1)
            idx = np.mod(idx, period)
            idx = np.where(idx >= extent, period - idx, idx)
    else:  # CLAMP, FILL, STRICT_BOUNDS (checked at definition)
        idx = np.clip(idx, 0, extent - 1)
    return idx, inside


@kernel(LayerType.SLICE)
def slice_(layer, x):
    mode = layer.mode.name
    out = x
    mask = np.ones(layer.shape, bool)
    for axis, (b, n, s) in enumerate(zip(layer.start, layer.shape, layer.stride)):
        idx, inside = source_indices(b, n, s, x.shape[axis], mode)
        out = np.take(out, idx, axis=axis)
        mask &= inside.reshape((1,) * axis + (-1,) + (1,) * (x.ndim - axis - 1))
    if mode == "FILL" and not mask.all():
        out = np.where(mask, out, np.asarray(layer.fill_value).astype(out.dtype))
    return out
