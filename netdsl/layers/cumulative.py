"""cumulative: ``Network.add_cumulative`` (TensorRT ICumulativeLayer, TensorRT >= 10.8).

Semantics: TensorRT API reference, ICumulativeLayer (and ONNX CumSum): along
``axis`` of a vector x of length n, the output y has
``y[j] = sum(x[0..j])`` forward inclusive, ``sum(x[0..j-1])`` forward
exclusive, ``sum(x[j..n-1])`` reverse inclusive and ``sum(x[j+1..n-1])``
reverse exclusive (an empty sum is 0). The output has the input's shape and dtype.
"""
from __future__ import annotations

from ..graph.dtypes import DataType
from ..graph.enums import CumulativeOperation, LayerType
from ..graph.network import network_method
from ._checks import FLOAT_TYPES, as_enum, check_axis, check_dtype

CUMULATIVE_TYPES = FLOAT_TYPES + (DataType.INT32, DataType.INT64)


@network_method
def add_cumulative(self, input, axis: int, op: CumulativeOperation = CumulativeOperation.SUM, *,
                   exclusive: bool = False, reverse: bool = False, name=None):
    """Add a prefix reduction (cumulative sum) along ``axis``.

    Args:
        input: FLOAT, HALF, BF16, INT32 or INT64 tensor of rank >= 1.
        axis: index of the dimension to accumulate along (TensorRT's axis
            tensor holds an index, not a bitmask); negative counts from the end.
        op: CumulativeOperation or its name (SUM is the only one TensorRT has).
        exclusive: leave the element itself out of its sum.
        reverse: accumulate from the end of the axis.
    Returns:
        Layer with one output of the input's shape and dtype.
    Raises:
        NetworkDefinitionError: an unknown op, dtype, rank, or an axis that is
            a bool or out of range.
    """
    name = self.begin_layer(LayerType.CUMULATIVE, name, [input])
    op = as_enum(name, CumulativeOperation, op, "op")
    check_dtype(name, input, CUMULATIVE_TYPES)
    axis = check_axis(name, axis, input.ndim)  # a scalar has no axis: rank >= 1
    attrs = dict(op=op, axis=axis, exclusive=bool(exclusive), reverse=bool(reverse))
    return self.append_layer(LayerType.CUMULATIVE, name, [input], [(input.shape, input.dtype)], attrs)
