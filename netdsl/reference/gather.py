"""Reference kernel for GATHER in DEFAULT, ELEMENT and ND mode (TensorRT IGatherLayer).

Negative indices count from the end of their dimension; indices still out
of range read zero (IGatherLayer notes: "Zero will be stored for OOB access").
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


def wrap_indices(indices, extent):
    """Return (indices in [0, extent) with negatives wrapped and OOB clipped, in-range mask)."""
    idx = np.asarray(indices, dtype=np.int64)
    idx = np.where(idx < 0, idx + extent, idx)
    inside = (idx >= 0) & (idx < extent)
    return np.clip(idx, 0, max(extent - 1, 0)), inside


def _take(data, indices, axis):
    """ONNX Gather on ``axis`` with zero for out-of-range indices."""
    idx, inside = wrap_indices(indices, data.shape[axis])
    out = np.take(data, idx, axis=axis)
    mask = inside.reshape((1,) * axis + inside.shape + (1,) * (data.ndim - axis - 1))
    return np.where(mask, out, np.zeros((), out.dtype))


def _default(layer, data, indices):
    if layer.num_elementwise_dims == 0:
        return _take(data, indices, layer.axis)
    n = max(data.shape[0], indices.shape[0])
    rows = [_take(data[b if data.shape[0] > 1 else 0], indices[b if indices.shape[0] > 1 else 0], layer.axis - 1)
            for b in range(n)]
    return np.stack(rows) if rows else np.zeros(layer.outputs[0].shape, data.dtype)


def _element(layer, data, indices):
    axis = layer.axis
    region = tuple(slice(0, n) if d != axis else slice(None) for d, n in enumerate(indices.shape))
    idx, inside = wrap_indices(indices, data.shape[axis])
    out = np.take_along_axis(data[region], idx, axis=axis)
    return np.where(inside, out, np.zeros((), out.dtype))


def nd_positions(data_shape, indices, batch):
    """Flatten ND-mode indices: (batch row, index tuple columns, in-range mask), one row per tuple.

    ``indices`` has shape ``data_shape[:batch] + (..., k)``; negatives are
    wrapped per dimension.
    """
    k = indices.shape[-1]
    nb = int(np.prod(data_shape[:batch], dtype=np.int64))
    tuples = indices.reshape(nb, -1, k)
    rows = np.repeat(np.arange(nb), tuples.shape[1])
    cols, inside = [], np.ones(rows.shape, bool)
    for j in range(k):
        idx, ok = wrap_indices(tuples[:, :, j].reshape(-1), data_shape[batch + j])
        cols.append(idx)
        inside &= ok
    return rows, cols, inside


def _nd(layer, data, indices):
    batch = layer.num_elementwise_dims
    rows, cols, inside = nd_positions(data.shape, indices, batch)
    flat = data.reshape((-1,) + data.shape[batch:])
    out = flat[(rows, *cols)]
    out = np.where(inside.reshape((-1,) + (1,) * (out.ndim - 1)), out, np.zeros((), out.dtype))
    return out.reshape(layer.outputs[0].shape)


@kernel(LayerType.GATHER)
def gather(layer, data, indices):
    return {"DEFAULT": _default, "ELEMENT": _element, "ND": _nd}[layer.mode.name](layer, data, indices)
