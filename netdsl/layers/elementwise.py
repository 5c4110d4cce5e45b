"""elementwise and unary: ``Network.add_elementwise`` / ``add_unary``.

Semantics: TensorRT API reference, IElementWiseLayer / ElementWiseOperation
and IUnaryLayer / UnaryOperation, with the operator reference pages.

Elementwise: both inputs of equal rank and dtype; each dimension equal or 1
(broadcast). SUM, PROD, MAX, MIN, SUB: the usual; DIV ``a / b`` (integer
inputs: truncated toward zero, as C; TensorRT documents no other rounding);
POW ``a ** b``; FLOOR_DIV ``floor(a / b)`` (rounds toward -inf, integers
too); AND, OR, XOR on BOOL; EQUAL, GREATER, LESS give BOOL.

=====================================  ======================================
ops                                    input dtypes
=====================================  ======================================
SUM PROD MAX MIN SUB DIV FLOOR_DIV     FLOAT HALF BF16 INT32 INT64
POW                                    FLOAT HALF BF16
EQUAL GREATER LESS (-> BOOL)           FLOAT HALF BF16 INT32 INT64
AND OR XOR                             BOOL
=====================================  ======================================

POW on INT32/INT64 is only in the newest operator pages (the 10.x API
reference allows "floating-point type or INT8"); INT8 is TensorRT's
quantized type and is accepted nowhere here.

Unary (element by element, output shape = input shape): EXP LOG SQRT RECIP
ABS NEG SIN COS TAN SINH COSH ASIN ACOS ATAN ASINH ACOSH ATANH CEIL FLOOR ERF
take FLOAT, HALF, BF16; ABS and SIGN also INT32, INT64 (SIGN: 1, -1 or 0);
ROUND rounds half to even; ISINF and ISNAN (TensorRT >= 10.8) take floats
and give BOOL; NOT takes and gives BOOL. (TensorRT-RTX 1.7 also builds NEG on
integers, but the API reference allows floats only: use SUB from zero.)
"""
from __future__ import annotations

from ..graph.dtypes import DataType
from ..graph.enums import ElementWiseOperation, LayerType, UnaryOperation
from ..graph.network import network_method
from ..graph.shapes import broadcast_dim, dmax, dmin, floor_div, format_shape, is_static
from ._checks import FLOAT_TYPES, as_enum, check_dtype, fail

INTEGER_TYPES = (DataType.INT32, DataType.INT64)
NUMERIC_TYPES = FLOAT_TYPES + INTEGER_TYPES
BOOL_TYPES = (DataType.BOOL,)

COMPARISONS = ("EQUAL", "GREATER", "LESS")
LOGICAL = ("AND", "OR", "XOR")

# Allowed input dtypes per operation (module docstring).
ELEMENTWISE_TYPES = {op.name: NUMERIC_TYPES for op in ElementWiseOperation}
ELEMENTWISE_TYPES.update({"POW": FLOAT_TYPES}, **{op: BOOL_TYPES for op in LOGICAL})
UNARY_TYPES = {op.name: FLOAT_TYPES for op in UnaryOperation}
UNARY_TYPES.update(ABS=NUMERIC_TYPES, SIGN=NUMERIC_TYPES, NOT=BOOL_TYPES)
UNARY_TO_BOOL = ("ISINF", "ISNAN")


def broadcast_shape(net, name, a, b):
    """TensorRT broadcast of two equal-rank tensors (each dim equal or 1); fails naming ``name``.

    Runtime dimensions broadcast as :func:`netdsl.graph.shapes.broadcast_dim`
    says (a static 1 broadcasts; two different runtime dimensions must be
    equal or 1 at run time, a requirement recorded on the network).
    """
    if a.ndim != b.ndim:
        fail(name, f"inputs must have equal rank: {a.name!r} {format_shape(a.shape)} vs {b.name!r} "
                   f"{format_shape(b.shape)} (add a shuffle or unsqueeze to match ranks)")
    out = []
    for i, (x, y) in enumerate(zip(a.shape, b.shape)):
        if is_static(x) and is_static(y):
            if x != y and 1 not in (x, y):
                fail(name, f"dimension {i} does not broadcast: {a.name!r} {a.shape} vs {b.name!r} {b.shape} "
                           f"(each dimension must be equal or 1)")
            out.append(max(x, y) if min(x, y) != 0 else 0)
        else:
            out.append(broadcast_dim(net, name, x, y, f"dimension {i} of {a.name!r} and {b.name!r}"))
    return tuple(out)


@network_method
def add_elementwise(self, input1, input2, op: ElementWiseOperation, *, name=None):
    """Add ``op(input1, input2)`` with broadcasting.

    Args:
        input1, input2: tensors of equal rank and dtype; each dimension equal
            or 1. Dtypes per op: see the module docstring.
        op: ElementWiseOperation member or its name in any case.
    Returns:
        Layer with one output of the broadcast shape; BOOL for EQUAL, GREATER
        and LESS, else the inputs' dtype.
    Raises:
        NetworkDefinitionError: an unknown ``op``, rank or broadcast mismatch,
            differing dtypes, or a dtype the op does not take (e.g. AND on FLOAT).
    """
    name = self.begin_layer(LayerType.ELEMENTWISE, name, [input1, input2])
    op = as_enum(name, ElementWiseOperation, op, "op")
    if input1.dtype != input2.dtype:
        fail(name, f"inputs must have the same dtype: {input1.name!r} is {input1.dtype.name}, "
                   f"{input2.name!r} is {input2.dtype.name} (add a cast)")
    check_dtype(name, input1, ELEMENTWISE_TYPES[op.name], what=f"{op.name} input")
    shape = broadcast_shape(self, name, input1, input2)
    dtype = DataType.BOOL if op.name in COMPARISONS else input1.dtype
    value = _shape_value(op, input1, input2, shape)
    return self.append_layer(LayerType.ELEMENTWISE, name, [input1, input2], [(shape, dtype)], dict(op=op),
                             shape_values=[value])


_SHAPE_OPS = {"SUM": lambda a, b: a + b, "SUB": lambda a, b: a - b, "PROD": lambda a, b: a * b,
              "FLOOR_DIV": floor_div, "MAX": dmax, "MIN": dmin}


def _shape_value(op, a, b, shape):
    """Shape-tensor arithmetic: the value of SUM/SUB/PROD/FLOOR_DIV/MAX/MIN of two 0-D/1-D integer shape
    tensors whose values are known (a length-1 operand broadcasts), else None."""
    if a.shape_value is None or b.shape_value is None or op.name not in _SHAPE_OPS or len(shape) > 1:
        return None
    n = shape[0] if shape else 1
    if not is_static(n):
        return None
    va = a.shape_value * n if len(a.shape_value) == 1 else a.shape_value
    vb = b.shape_value * n if len(b.shape_value) == 1 else b.shape_value
    try:
        return tuple(_SHAPE_OPS[op.name](x, y) for x, y in zip(va, vb))
    except ZeroDivisionError:
        return None


@network_method
def add_unary(self, input, op: UnaryOperation, *, name=None):
    """Add ``op(input)`` elementwise.

    Args:
        input: tensor of any shape; FLOAT, HALF or BF16 for most ops (ABS,
            SIGN: also INT32, INT64; NOT: BOOL only).
        op: UnaryOperation member or its name in any case (ISNAN needs
            TensorRT >= 10.8 to lower).
    Returns:
        Layer with one output of the input's shape; BOOL for ISINF/ISNAN,
        else the input's dtype.
    Raises:
        NetworkDefinitionError: an unknown ``op``, or a dtype not allowed for ``op``.
    """
    name = self.begin_layer(LayerType.UNARY, name, [input])
    op = as_enum(name, UnaryOperation, op, "op")
    check_dtype(name, input, UNARY_TYPES[op.name], what=f"{op.name} input")
    dtype = DataType.BOOL if op.name in UNARY_TO_BOOL else input.dtype
    return self.append_layer(LayerType.UNARY, name, [input], [(input.shape, dtype)], dict(op=op))
