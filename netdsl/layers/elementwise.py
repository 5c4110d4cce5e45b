"""elementwise and unary: ``Network.add_elementwise`` / ``add_unary``.

Semantics: TensorRT API reference, IElementWiseLayer (both inputs of equal
rank and dtype; each dimension equal or 1, broadcast; EQUAL/GREATER/LESS
give BOOL; AND/OR/XOR take BOOL; FLOOR_DIV rounds toward -inf) and
IUnaryLayer (NOT takes BOOL; ISINF/ISNAN give BOOL; ROUND is half to even).
"""
from __future__ import annotations

from ..graph.dtypes import DataType
from ..graph.enums import ElementWiseOperation, LayerType, UnaryOperation
from ..graph.network import network_method
from ._checks import FLOAT_TYPES, check_dtype, fail

_COMPARE = {"EQUAL", "GREATER", "LESS"}
_LOGICAL = {"AND", "OR", "XOR"}
_NUMERIC = FLOAT_TYPES + (DataType.INT8, DataType.INT32, DataType.INT64)


def broadcast_shape(name, a, b):
    """TensorRT broadcast of two equal-rank shapes (each dim equal or 1)."""
    if a.ndim != b.ndim:
        fail(name, f"inputs must have equal rank: {a.name!r} {a.shape} vs {b.name!r} {b.shape} "
                   f"(add a shuffle or unsqueeze to match ranks)")
    out = []
    for i, (x, y) in enumerate(zip(a.shape, b.shape)):
        if x != y and 1 not in (x, y):
            fail(name, f"dimension {i} does not broadcast: {a.name!r} {a.shape} vs {b.name!r} {b.shape}")
        out.append(max(x, y) if min(x, y) != 0 else 0)
    return tuple(out)


@network_method
def add_elementwise(self, input1, input2, op: ElementWiseOperation, *, name=None):
    """Add ``op(input1, input2)`` with broadcasting.

    Args:
        input1, input2: tensors of equal rank and dtype; dims equal or 1.
        op: ElementWiseOperation.
    Returns:
        Layer with one output of the broadcast shape; BOOL for comparisons,
        else the inputs' dtype.
    Raises:
        NetworkDefinitionError: rank, broadcast or dtype mismatch.
    """
    name = self.begin_layer(LayerType.ELEMENTWISE, name, [input1, input2])
    op = ElementWiseOperation[op.name]
    if input1.dtype != input2.dtype:
        fail(name, f"inputs must have the same dtype: {input1.name!r} is {input1.dtype.name}, "
                   f"{input2.name!r} is {input2.dtype.name} (add a cast)")
    if op.name in _LOGICAL:
        check_dtype(name, input1, (DataType.BOOL,))
    else:
        check_dtype(name, input1, _NUMERIC)
    shape = broadcast_shape(name, input1, input2)
    dtype = DataType.BOOL if op.name in _COMPARE else input1.dtype
    return self.append_layer(LayerType.ELEMENTWISE, name, [input1, input2], [(shape, dtype)], dict(op=op))


@network_method
def add_unary(self, input, op: UnaryOperation, *, name=None):
    """Add ``op(input)`` elementwise.

    Args:
        input: FLOAT/HALF/BF16 tensor (NOT: BOOL; ABS, NEG, SIGN: also INT32/INT64).
        op: UnaryOperation.
    Returns:
        Layer with one output of the input's shape; BOOL for ISINF/ISNAN.
    Raises:
        NetworkDefinitionError: dtype not allowed for ``op``.
    """
    name = self.begin_layer(LayerType.UNARY, name, [input])
    op = UnaryOperation[op.name]
    if op.name == "NOT":
        check_dtype(name, input, (DataType.BOOL,))
    elif op.name in ("ABS", "NEG", "SIGN"):
        check_dtype(name, input, _NUMERIC)
    else:
        check_dtype(name, input, FLOAT_TYPES)
    dtype = DataType.BOOL if op.name in ("ISINF", "ISNAN") else input.dtype
    return self.append_layer(LayerType.UNARY, name, [input], [(input.shape, dtype)], dict(op=op))
