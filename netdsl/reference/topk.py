"""Reference kernel for TOPK (TensorRT ITopKLayer).

Sorted values (largest first for MAX, smallest first for MIN) and their
INT32 indices along the axis; among equal values the lower index comes
first (ONNX TopK's rule; TensorRT leaves it undocumented).
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.TOPK)
def topk(layer, x):
    axis, k = layer.axis, layer.k
    if layer.op.name == "MIN":
        order = np.argsort(x, axis=axis, kind="stable")
    else:
        # A stable ascending sort of the reversed axis, read backwards, is a
        # descending sort that keeps equal values in ascending index order.
        flipped = np.argsort(np.flip(x, axis=axis), axis=axis, kind="stable")
        order = x.shape[axis] - 1 - np.flip(flipped, axis=axis)
    order = np.take(order, np.arange(k), axis=axis)
    return [np.take_along_axis(x, order, axis=axis), order.astype(np.int32)]
