"""Reference kernel for SHUFFLE (TensorRT IShuffleLayer): transpose, reshape, transpose.

Reshape reads and writes in row-major order, as TensorRT's; the 0 and -1
of ``reshape_dims`` were resolved when the layer was added.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.SHUFFLE)
def shuffle(layer, x):
    """``x`` of the input's shape -> array of the output's shape, same dtype."""
    x = np.transpose(x, layer.first_transpose)
    if layer.resolved_dims is not None:
        x = np.reshape(x, layer.resolved_dims)
    return np.transpose(x, layer.second_transpose).copy()  # C order; keeps a 0-d result 0-d
