"""Reference kernel for POOLING (TensorRT IPoolingLayer)."""
from __future__ import annotations

import itertools

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


def _reduce(xp, window, stride, out_spatial, op):
    """Fold ``op`` over every window offset of padded NC* input xp."""
    acc = None
    for offset in itertools.product(*(range(k) for k in window)):
        index = (Ellipsis,) + tuple(slice(o, o + (n - 1) * s + 1, s) for o, n, s in zip(offset, out_spatial, stride))
        part = xp[(slice(None), slice(None)) + index[1:]]
        acc = part.copy() if acc is None else op(acc, part, out=acc)
    return acc


@kernel(LayerType.POOLING)
def pooling(layer, x):
    x = x.astype(np.float32, copy=False)
    out_spatial = layer.outputs[0].shape[2:]
    pads = [(0, 0), (0, 0)] + list(zip(layer.pre_padding, layer.post_padding))
    window, stride = layer.window_size_nd, layer.stride_nd
    kind = layer.pooling_type.name
    result = None
    if kind in ("MAX", "MAX_AVERAGE_BLEND"):
        xp = np.pad(x, pads, constant_values=-np.inf)
        result = _reduce(xp, window, stride, out_spatial, np.maximum)
    if kind in ("AVERAGE", "MAX_AVERAGE_BLEND"):
        total = _reduce(np.pad(x, pads), window, stride, out_spatial, np.add)
        if layer.average_count_excludes_padding:
            ones = np.pad(np.ones((1, 1) + x.shape[2:], np.float32), pads)
            count = _reduce(ones, window, stride, out_spatial, np.add)
        else:
            count = float(np.prod(window))
        average = total / count
        result = average if result is None else (1 - layer.blend_factor) * result + layer.blend_factor * average
    return result
