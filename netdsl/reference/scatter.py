"""Reference kernel for SCATTER in ELEMENT and ND mode (TensorRT IScatterLayer).

Negative indices count from the end (ONNX ScatterElements/ScatterND); an
index still out of range raises ExecutionError. Repeated indices are
undefined in TensorRT; here the write of the last one in row-major order wins.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from ..graph.errors import ExecutionError
from .gather import nd_positions, wrap_indices
from .registry import kernel


def _in_range(layer, inside):
    if not np.all(inside):
        raise ExecutionError(f"{layer.name}: scatter indices out of range for data "
                             f"{layer.inputs[0].shape} (TensorRT leaves this undefined)")


def _element(layer, out, indices, updates):
    axis = layer.axis
    idx, inside = wrap_indices(indices, out.shape[axis])
    _in_range(layer, inside)
    grid = list(np.indices(indices.shape, sparse=True))
    grid[axis] = idx
    out[tuple(grid)] = updates


def _nd(layer, out, indices, updates):
    _, cols, inside = nd_positions(out.shape, indices, 0)
    _in_range(layer, inside)
    k = indices.shape[-1]
    out[tuple(cols)] = updates.reshape((-1,) + out.shape[k:])


@kernel(LayerType.SCATTER)
def scatter(layer, data, indices, updates):
    out = np.array(data, copy=True)
    (_element if layer.mode.name == "ELEMENT" else _nd)(layer, out, indices, updates)
    return out
