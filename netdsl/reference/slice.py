"""Reference kernel for SLICE with every SampleMode (TensorRT ISliceLayer).

Semantics: TensorRT operator reference, "Slice" (the formulas are repeated
in ``netdsl/layers/slice.py``). Each dim is gathered separately: the source
index of every output index along the dim, plus a mask of in-bounds reads
for FILL.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from ..graph.errors import ExecutionError
from .registry import kernel


def source_indices(start: int, size: int, stride: int, extent: int, mode: str):
    """Input index per output index along one dim, and which reads were in bounds.

    Args:
        start, size, stride: the slice along this dim.
        extent: the input's dim (> 0 unless ``mode`` is FILL).
        mode: a SampleMode name.
    Returns:
        ``(indices, inside)``: int64 and bool arrays of length ``size``.
        Out-of-bounds indices are mapped by WRAP/CLAMP/REFLECT; for FILL
        (and STRICT_BOUNDS, which never has any) they are clamped so that
        they can be gathered and then masked.
    """
    x = start + np.arange(size, dtype=np.int64) * stride
    inside = (x >= 0) & (x < extent)
    if mode == "WRAP":
        x = np.mod(x, extent)
    elif mode == "REFLECT":
        period = 2 * extent - 2
        if period == 0:
            x = np.zeros_like(x)
        else:
            c = np.mod(np.abs(x), period)
            x = np.where(c >= extent, period - c, c)
    else:
        x = np.clip(x, 0, max(extent - 1, 0))
    return x, inside


def _basic_slice(start: int, size: int, stride: int) -> slice:
    """The Python slice reading ``size`` elements from ``start`` by ``stride`` (non-zero, in bounds)."""
    if size == 0:
        return slice(0, 0)
    stop = start + (size - 1) * stride + (1 if stride > 0 else -1)
    return slice(start, stop if stop >= 0 else None, stride)


@kernel(LayerType.SLICE)
def slice_(layer, x, *tensors):
    """``x`` of the input's shape -> array of the slice's shape, same dtype.

    ``tensors``: the values of the parameters given as shape tensors
    (``layer.tensor_args`` names them, in order).
    """
    mode = layer.mode.name
    params = {"start": layer.start, "shape": layer.shape, "stride": layer.stride}
    for name, value in zip(layer.tensor_args, tensors):
        params[name] = tuple(int(v) for v in value)
    start, shape, stride = params["start"], params["shape"], params["stride"]
    if tensors:
        for axis, (b, n, s, d) in enumerate(zip(start, shape, stride, x.shape)):
            if n < 0:
                raise ExecutionError(f"{layer.name}: slice size {shape} has a negative dimension")
            if mode == "STRICT_BOUNDS" and n and not (0 <= b < d and 0 <= b + (n - 1) * s < d):
                raise ExecutionError(f"{layer.name}: dimension {axis}: start {b}, size {n}, stride {s} reads "
                                     f"outside [0, {d}) of the input (STRICT_BOUNDS)")
    if any(d == 0 and n for d, n in zip(x.shape, shape)):  # FILL reading an empty dim
        return np.full(shape, layer.fill_value, dtype=x.dtype)
    if all(st != 0 for st in stride) and all(0 <= b < d and 0 <= b + (n - 1) * st < d for b, n, st, d
                                             in zip(start, shape, stride, x.shape) if n):
        # every read in bounds (so the mode does not matter): a strided view, copied
        return np.array(x[tuple(_basic_slice(b, n, st) for b, n, st in zip(start, shape, stride))], copy=True)
    out = x
    inside_all = np.ones(shape, bool)
    for axis, (b, n, s) in enumerate(zip(start, shape, stride)):
        idx, inside = source_indices(b, n, s, x.shape[axis], mode)
        out = np.take(out, idx, axis=axis)
        inside_all &= inside.reshape((1,) * axis + (-1,) + (1,) * (x.ndim - axis - 1))
    if mode == "FILL":
        out = np.where(inside_all, out, np.asarray(layer.fill_value).astype(out.dtype))
    return out
