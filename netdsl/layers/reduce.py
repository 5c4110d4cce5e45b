"""reduce: ``Network.add_reduce`` (TensorRT IReduceLayer).

Semantics: TensorRT API reference, IReduceLayer and ``INetworkDefinition.add_reduce(input,
op, axes, keep_dims)``: SUM / PROD / MAX / MIN / AVG over the axes selected
by the bitmask ``axes`` ("the bit in position i of bitmask axes corresponds
to explicit dimension i"); ``keep_dims`` keeps each reduced dim as 1,
otherwise they are removed (all of them: a scalar). Floats accumulate in
float32.

``axes`` means what TensorRT's means: an ``int`` is always the bitmask, so
``add_reduce(x, SUM, 1 << 1, True)`` reduces axis 1 and ``add_reduce(x,
SUM, 2, True)`` reduces axis 1 too (2 = 0b10). netdsl also accepts a tuple or
list, which always holds axis indices (``(1,)``, ``(-2, -1)``). Both are
checked by :func:`netdsl.layers._checks.axes_arg`.

Runtime dimensions: any dim may be a runtime dim, reduced or kept (the
output drops or keeps it as ``keep_dims`` says). Shape tensors: reducing a
1-D shape tensor of known value (``Tensor.shape_value``) gives its SUM,
PROD, MAX or MIN as the output's value, e.g. PROD of ``(n, 3, h, w)`` is
``3*h*n*w``: an element count as a Dim expression.
"""
from __future__ import annotations

from ..graph.dtypes import DataType
from ..graph.enums import LayerType, ReduceOperation
from ..graph.network import network_method
from ..graph.shapes import dmax, dmin, prod
from ._checks import FLOAT_TYPES, as_enum, axes_arg, axes_mask, check_dtype, fail

_INT_TYPES = (DataType.INT32, DataType.INT64)


@network_method
def add_reduce(self, input, op: ReduceOperation, axes, keep_dims: bool, *, name=None):
    """Add a reduction of ``input`` over ``axes`` (TensorRT's ``add_reduce(input, op, axes, keep_dims)``).

    Args:
        input: FLOAT/HALF/BF16 tensor (INT32/INT64 for SUM, PROD, MAX, MIN), rank >= 1.
        op: ReduceOperation SUM, PROD, MAX, MIN or AVG (the member or its name).
        axes: TensorRT's bitmask as an ``int``, bit i = axis i (``1 << 1`` or
            ``0b10`` is axis 1, ``0b1100`` axes 2 and 3), at least one bit,
            none at or past the rank; or a tuple/list of axis indices
            (negative count from the end), e.g. ``(2, 3)``.
        keep_dims: keep reduced dims as size 1 (TensorRT's ``keep_dims``).
    Returns:
        Layer with one output of the input's dtype: the input shape with
        reduced dims set to 1 (keep_dims) or removed. ``layer.axes`` is
        TensorRT's bitmask, ``layer.axis_indices`` the sorted axes, ``layer.op``
        the operation. For a 1-D shape tensor of known value and op SUM,
        PROD, MAX or MIN, ``output.shape_value`` is the reduced value.
    Raises:
        NetworkDefinitionError: an unknown op; a bool, negative, empty or
            too-wide bitmask; an empty, repeated or out-of-range index
            sequence; a scalar input; or a dtype the operation does not take.
    """
    name = self.begin_layer(LayerType.REDUCE, name, [input])
    op = as_enum(name, ReduceOperation, op, "op")
    check_dtype(name, input, FLOAT_TYPES if op.name == "AVG" else FLOAT_TYPES + _INT_TYPES)
    if input.ndim == 0:
        fail(name, f"input {input.name!r} must have rank >= 1, found a scalar")
    axes = axes_arg(name, axes, input)
    if keep_dims:
        shape = tuple(1 if i in axes else d for i, d in enumerate(input.shape))
    else:
        shape = tuple(d for i, d in enumerate(input.shape) if i not in axes)
    attrs = dict(op=op, axes=axes_mask(axes), axis_indices=axes, keep_dims=bool(keep_dims))
    return self.append_layer(LayerType.REDUCE, name, [input], [(shape, input.dtype)], attrs,
                             shape_values=[_shape_value(input, op)])


def _shape_value(input, op):
    """SUM / PROD / MAX / MIN of a 1-D shape tensor's known value (as a 1-tuple), else None."""
    values = input.shape_value
    if values is None or input.ndim != 1 or not values or op.name == "AVG":
        return None
    if op.name == "SUM":
        return (sum(values, 0),)
    if op.name == "PROD":
        return (prod(values),)
    out = values[0]
    for v in values[1:]:
        out = (dmax if op.name == "MAX" else dmin)(out, v)
    return (out,)
