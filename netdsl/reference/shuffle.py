"""Reference kernel for SHUFFLE (TensorRT IShuffleLayer): transpose, reshape, transpose.

Reshape reads and writes in row-major order, as TensorRT's; the 0 and -1
of ``reshape_dims`` were resolved when the layer was added.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from ..layers.shuffle import resolve_reshape_dims
from .registry import kernel


@kernel(LayerType.SHUFFLE)
def shuffle(layer, x, dims=None):
    """``x`` of the input's shape -> array of the output's shape, same dtype.

    ``dims``: the reshape dimensions when they come from a shape-tensor input
    (their 0 and -1 are resolved here, by TensorRT's rules).
    """
    x = np.transpose(x, layer.first_transpose)
    if dims is not None:
        x = np.reshape(x, resolve_reshape_dims(None, layer.name, x.shape, [int(d) for d in dims],
                                               layer.zero_is_placeholder))
    elif layer.resolved_dims is not None:
        x = np.reshape(x, layer.resolved_dims)
    return np.transpose(x, layer.second_transpose).copy()  # C order; keeps a 0-d result 0-d
