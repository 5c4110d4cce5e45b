"""Reference kernel for ONE_HOT (TensorRT IOneHotLayer, index rules of ONNX OneHot)."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.ONE_HOT)
def one_hot(layer, indices, values):
    depth, axis = layer.depth, layer.axis
    idx = indices.astype(np.int64)
    idx = np.where(idx < 0, idx + depth, idx)
    classes = np.arange(depth).reshape((depth,) + (1,) * (indices.ndim - axis))
    hot = np.expand_dims(idx, axis) == classes
    return np.where(hot, values[1], values[0])
