"""topk: ``Network.add_topk`` (TensorRT ITopKLayer).

Semantics: TensorRT API reference, ITopKLayer / ``INetworkDefinition.add_topk(input,
op, k, axes)`` and the TopK operator page: along one axis, the k largest
(MAX) or smallest (MIN) values, sorted (largest first for MAX, smallest
first for MIN), and their positions along that axis. ``axes`` is TensorRT's
bitmask with exactly one bit set (bit i = dimension i), one of the last four
dims; the input has rank >= 2; 1 <= k <= min(dim, 3840). As everywhere in
netdsl (:func:`netdsl.layers._checks.axes_arg`), an ``int`` is the bitmask
and a one-element tuple/list is the axis index.

Runtime dimensions: any dim may be a runtime dim, the axis's too; k stays a
build-time int (TensorRT's ``add_topk`` takes an int k), so ``k <= dim`` on
a runtime axis dim is a requirement checked per optimization profile and
against the executor's feeds.

Equal values: TensorRT does not document which of them comes first;
netdsl's reference puts the lower index first (ONNX TopK's rule).
"""
from __future__ import annotations

import numpy as np

from ..graph.dtypes import DataType
from ..graph.enums import LayerType, TopKOperation
from ..graph.network import network_method
from ..graph.shapes import format_shape, is_static, require
from ._checks import FLOAT_TYPES, as_enum, axes_arg, axes_mask, check_dtype, fail

MAX_K = 3840
TOPK_TYPES = FLOAT_TYPES + (DataType.INT32, DataType.INT64)


@network_method
def add_topk(self, input, op: TopKOperation, k: int, axes, *, name=None):
    """Keep the k largest (MAX) or smallest (MIN) values along one axis.

    Args:
        input: FLOAT, HALF, BF16, INT32 or INT64 tensor of rank >= 2.
        op: TopKOperation.MAX or TopKOperation.MIN (or its name).
        k: number of values to keep, an int, 1 <= k <= min(input dim, 3840)
            (a runtime axis dim: required at run time).
        axes: TensorRT's bitmask as an ``int``, bit i = axis i, naming one
            of the last four dimensions, e.g. ``1 << 2`` for axis 2; or a
            one-element tuple/list holding the axis index, e.g. ``(2,)`` or
            ``(-1,)``.
    Returns:
        Layer with two outputs of the input's shape with the axis dim set to
        k: output 0 the values (input dtype), output 1 their INT32 indices
        along the axis. ``layer.axes`` is the bitmask, ``layer.axis`` the index.
    Raises:
        NetworkDefinitionError: an unknown op, dtype, rank, axes that are not
            exactly one axis among the last four (a bool, negative or
            too-wide bitmask included), k not an int or out of range. A runtime
            axis dim below k raises ShapeError at an optimization profile or
            ExecutionError at the executor's feeds.
    """
    name = self.begin_layer(LayerType.TOPK, name, [input])
    op = as_enum(name, TopKOperation, op, "op")
    check_dtype(name, input, TOPK_TYPES)
    if input.ndim < 2:
        fail(name, f"input {input.name!r} must have rank >= 2 (TensorRT TopK), found shape {input.shape}")
    (axis,) = axes_arg(name, axes, input, count=1)
    if axis < input.ndim - 4:
        fail(name, f"axis {axis} is not one of the last four dimensions of input {input.name!r} {input.shape}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        fail(name, f"k must be an int known when the network is defined, found {type(k).__name__} {k!r}")
    k = int(k)
    d = input.shape[axis]
    if not is_static(d):
        if not 1 <= k <= MAX_K:
            fail(name, f"k must be in [1, {MAX_K}] (TensorRT caps k at {MAX_K}), found {k}")
        require(self, name, lambda n: k <= n, (d,),
                f"k = {k} at most dimension {axis} of input {input.name!r} {format_shape(input.shape)}: {k} <= {d}",
                error=lambda v: f"k = {k} exceeds dimension {axis} of input {input.name!r} ({v[0]})")
    elif not 1 <= k <= min(d, MAX_K):
        fail(name, f"k must be in [1, {min(d, MAX_K)}] for dimension {axis} of input "
                   f"{input.name!r} {input.shape} (TensorRT caps k at {MAX_K}), found {k}")
    shape = input.shape[:axis] + (k,) + input.shape[axis + 1:]
    attrs = dict(op=op, k=k, axes=axes_mask((axis,)), axis=axis, axis_indices=(axis,))
    return self.append_layer(LayerType.TOPK, name, [input], [(shape, input.dtype), (shape, DataType.INT32)], attrs)
