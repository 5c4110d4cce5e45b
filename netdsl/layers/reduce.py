"""reduce: ``Network.add_reduce`` (TensorRT IReduceLayer).

Semantics: TensorRT API reference, IReduceLayer and INetworkDefinition.add_reduce:
SUM / PROD / MAX / MIN / AVG over a set of axes (TensorRT's ``axes``
bitmask: bit i selects dim i); ``keep_dims`` keeps each reduced dim as 1,
otherwise they are removed (all of them: a scalar). Floats accumulate in
float32.
"""
from __future__ import annotations

import numpy as np

from ..graph.dtypes import DataType
from ..graph.enums import LayerType, ReduceOperation
from ..graph.network import network_method
from ._checks import FLOAT_TYPES, check_axis, check_dtype, fail

_INT_TYPES = (DataType.INT32, DataType.INT64)


def axes_tuple(name, axes, rank, what="axes") -> tuple[int, ...]:
    """Normalise an int or a sequence of ints to sorted, distinct axes in [0, rank)."""
    axes = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
    if not axes:
        fail(name, f"{what} must name at least one axis")
    resolved = [check_axis(name, int(a), rank, what) for a in axes]
    if len(set(resolved)) != len(resolved):
        fail(name, f"{what} {axes} repeats an axis (rank {rank})")
    return tuple(sorted(resolved))


def axes_mask(axes) -> int:
    """TensorRT's bitmask for a tuple of axes: bit i set for axis i."""
    return sum(1 << a for a in axes)


@network_method
def add_reduce(self, input, op: ReduceOperation, axes, keep_dims: bool, *, name=None):
    """Add a reduction of ``input`` over ``axes``.

    Args:
        input: FLOAT/HALF/BF16 tensor (INT32/INT64 for SUM, PROD, MAX, MIN), rank >= 1.
        op: ReduceOperation.SUM, PROD, MAX, MIN or AVG.
        axes: an int or a sequence of ints (negative count from the end);
            stored sorted as ``layer.axes`` and lowered to the bitmask
            ``sum(1 << a)``.
        keep_dims: keep reduced dims as size 1 (TensorRT's ``keep_dims``).
    Returns:
        Layer with one output of the input's dtype: the input shape with
        reduced dims set to 1 (keep_dims) or removed. The operation is
        ``layer.op``.
    Raises:
        NetworkDefinitionError: empty, repeated or out-of-range axes, a
            scalar input, or a dtype the operation does not take.
    """
    name = self.begin_layer(LayerType.REDUCE, name, [input])
    op = ReduceOperation[op.name]
    check_dtype(name, input, FLOAT_TYPES if op.name == "AVG" else FLOAT_TYPES + _INT_TYPES)
    if input.ndim == 0:
        fail(name, f"input {input.name!r} must have rank >= 1, found a scalar")
    axes = axes_tuple(name, axes, input.ndim)
    if keep_dims:
        shape = tuple(1 if i in axes else d for i, d in enumerate(input.shape))
    else:
        shape = tuple(d for i, d in enumerate(input.shape) if i not in axes)
    attrs = dict(op=op, axes=axes, keep_dims=bool(keep_dims))
    return self.append_layer(LayerType.REDUCE, name, [input], [(shape, input.dtype)], attrs)
