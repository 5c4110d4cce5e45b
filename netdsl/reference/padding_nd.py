"""Reference kernel for PADDING (TensorRT IPaddingLayer): zero padding, negative values crop."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.PADDING)
def padding(layer, x):
    out = x
    lead = x.ndim - len(layer.pre_padding_nd)
    for axis, pre, size in zip(range(lead, x.ndim), layer.pre_padding_nd, layer.outputs[0].shape[lead:]):
        src = np.arange(size) - pre
        inside = (src >= 0) & (src < x.shape[axis])
        picked = np.take(out, np.clip(src, 0, max(x.shape[axis] - 1, 0)), axis=axis)
        mask = inside.reshape((-1,) + (1,) * (x.ndim - axis - 1))
        out = np.where(mask, picked, np.zeros((), x.dtype))
    return out
