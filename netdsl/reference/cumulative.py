"""Reference kernel for CUMULATIVE (TensorRT ICumulativeLayer): inclusive/exclusive, forward/reverse sums.

Precision: sums in the input's compute form (float32 for FLOAT/HALF/BF16, the integer type for INT32/INT64);
the executor rounds the output to its dtype."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.CUMULATIVE)
def cumulative(layer, x):
    axis = layer.axis
    y = np.flip(x, axis) if layer.reverse else x
    total = np.cumsum(y, axis=axis, dtype=x.dtype)
    if layer.exclusive and x.shape[axis]:  # shift by one: position j gets the sum before it, position 0 gets 0
        zero = np.zeros_like(np.take(total, [0], axis=axis))
        total = np.concatenate([zero, np.take(total, np.arange(x.shape[axis] - 1), axis=axis)], axis=axis)
    return np.flip(total, axis) if layer.reverse else total
