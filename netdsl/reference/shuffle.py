"""Reference kernel for SHUFFLE: transpose, reshape, transpose (TensorRT IShuffleLayer)."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.SHUFFLE)
def shuffle(layer, x):
    x = np.transpose(x, layer.first_transpose)
    if layer.resolved_dims is not None:
        x = x.reshape(layer.resolved_dims)
    return np.ascontiguousarray(np.transpose(x, layer.second_transpose))
