"""topk: ``Network.add_topk`` (TensorRT ITopKLayer).

Semantics: TensorRT API reference, ITopKLayer / ``INetworkDefinition.add_topk``
and the TopK operator page: along one axis, the k largest (MAX) or smallest
(MIN) values, sorted (largest first for MAX, smallest first for MIN), and
their positions along that axis. ``axes`` is a bitmask with exactly one bit
set (bit i = dimension i), one of the last four dims; the input has rank
>= 2; 1 <= k <= min(dim, 3840).

Equal values: TensorRT does not document which of them comes first;
netdsl's reference puts the lower index first (ONNX TopK's rule).
"""
from __future__ import annotations

from ..graph.dtypes import DataType
from ..graph.enums import LayerType, TopKOperation
from ..graph.network import network_method
from ._checks import FLOAT_TYPES, check_dtype, fail

MAX_K = 3840
TOPK_TYPES = FLOAT_TYPES + (DataType.INT32, DataType.INT64)


def axis_from_bitmask(name, axes: int, rank: int) -> int:
    """The single dimension named by bitmask ``axes`` (TensorRT reduce/topk convention)."""
    axes = int(axes)
    if axes <= 0 or axes & (axes - 1):
        fail(name, f"axes must be a bitmask with exactly one bit set (1 << axis), found {axes} ({axes:#b})")
    axis = axes.bit_length() - 1
    if axis >= rank:
        fail(name, f"axes {axes:#b} names dimension {axis}, but the input has rank {rank}")
    return axis


@network_method
def add_topk(self, input, op: TopKOperation, k: int, axes: int, *, name=None):
    """Keep the k largest (MAX) or smallest (MIN) values along one axis.

    Args:
        input: FLOAT, HALF, BF16, INT32 or INT64 tensor of rank >= 2.
        op: TopKOperation.MAX or TopKOperation.MIN.
        k: number of values to keep, 1 <= k <= min(input dim, 3840).
        axes: bitmask naming one of the last four dimensions, e.g. ``1 << 2``.
    Returns:
        Layer with two outputs of the input's shape with the axis dim set to
        k: output 0 the values (input dtype), output 1 their INT32 indices
        along the axis.
    Raises:
        NetworkDefinitionError: dtype, rank, bitmask or k out of range.
    """
    name = self.begin_layer(LayerType.TOPK, name, [input])
    op = TopKOperation[op.name]
    check_dtype(name, input, TOPK_TYPES)
    if input.ndim < 2:
        fail(name, f"input {input.name!r} must have rank >= 2 (TensorRT TopK), found shape {input.shape}")
    axis = axis_from_bitmask(name, axes, input.ndim)
    if axis < input.ndim - 4:
        fail(name, f"axis {axis} is not one of the last four dimensions of input {input.name!r} {input.shape}")
    k = int(k)
    if not 1 <= k <= min(input.shape[axis], MAX_K):
        fail(name, f"k must be in [1, {min(input.shape[axis], MAX_K)}] for dimension {axis} of input "
                   f"{input.name!r} {input.shape} (TensorRT caps k at {MAX_K}), found {k}")
    shape = input.shape[:axis] + (k,) + input.shape[axis + 1:]
    attrs = dict(op=op, k=k, axes=1 << axis, axis=axis)
    return self.append_layer(LayerType.TOPK, name, [input], [(shape, input.dtype), (shape, DataType.INT32)], attrs)
