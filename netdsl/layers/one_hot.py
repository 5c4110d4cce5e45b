"""one_hot: ``Network.add_one_hot`` (TensorRT IOneHotLayer).

Semantics: TensorRT API reference, IOneHotLayer: ``values`` is the
two-element tensor [off_value, on_value]; the output has rank
rank(indices) + 1, the new dimension of size ``depth`` inserted at ``axis``
(-rank(indices)-1 <= axis <= rank(indices)); it holds on_value where its
coordinate equals the index and off_value elsewhere. For axis = -1:
``out[i, j, indices[i, j]] = on_value``.

TensorRT's docs do not say what negative or out-of-range indices do; the
reference follows ONNX OneHot: an index in [-depth, -1] counts from the
end, one outside [-depth, depth) gives a row of off_value only.

Runtime dimensions: indices may have runtime dims (the output keeps them);
``depth`` is a build-time int (TensorRT: "a positive build-time constant"),
and ``values`` must have 2 elements (a runtime length is required to be 2).
"""
from __future__ import annotations

import numpy as np

from ..graph.dtypes import DataType
from ..graph.enums import LayerType
from ..graph.network import network_method
from ..graph.shapes import format_shape, is_static, require_equal
from ._checks import FLOAT_TYPES, check_dtype, fail, index_arg
from .gather import INDEX_TYPES

ONE_HOT_TYPES = FLOAT_TYPES + (DataType.INT32, DataType.INT64, DataType.BOOL)


@network_method
def add_one_hot(self, indices, values, depth: int, axis: int, *, name=None):
    """Encode ``indices`` as one-hot vectors of length ``depth`` along ``axis``.

    Args:
        indices: INT32 or INT64 tensor of any rank (a scalar too).
        values: tensor of shape (2,) holding [off_value, on_value]; FLOAT,
            HALF, BF16, INT32, INT64 or BOOL (e.g. from ``add_constant``).
        depth: number of classes, a positive int (TensorRT needs a build-time
            constant; the lowering makes it an INT32 scalar constant).
        axis: index of the one-hot dimension in the output (IOneHotLayer's
            ``axis``, an index), -rank(indices)-1 <= axis <= rank(indices);
            negative counts from the end of the output.
    Returns:
        Layer with one output of values' dtype and shape
        ``indices.dims[:axis] + (depth,) + indices.dims[axis:]``.
    Raises:
        NetworkDefinitionError: dtype, values shape, depth, or an axis that is a
            bool or out of range.
    """
    name = self.begin_layer(LayerType.ONE_HOT, name, [indices, values])
    check_dtype(name, indices, INDEX_TYPES, "indices")
    check_dtype(name, values, ONE_HOT_TYPES, "values")
    if values.ndim != 1 or (is_static(values.shape[0]) and values.shape[0] != 2):
        fail(name, f"values {values.name!r} must have shape (2,) = [off_value, on_value], found "
                   f"{format_shape(values.shape)}")
    require_equal(self, name, values.shape[0], 2, f"the length of values {values.name!r} ([off_value, on_value])")
    if isinstance(depth, bool) or not isinstance(depth, (int, np.integer)):
        fail(name, f"depth must be an int known when the network is defined, found {type(depth).__name__} "
                   f"{depth!r}")
    depth = int(depth)
    if depth < 1:
        fail(name, f"depth must be a positive int, found {depth}")
    rank = indices.ndim
    axis = index_arg(name, axis, "axis")
    if not -rank - 1 <= axis <= rank:
        fail(name, f"axis {axis} is out of range [{-rank - 1}, {rank}] for indices {indices.name!r} "
                   f"{indices.shape} (an index into the output, of rank {rank + 1})")
    axis %= rank + 1
    shape = indices.shape[:axis] + (depth,) + indices.shape[axis:]
    return self.append_layer(LayerType.ONE_HOT, name, [indices, values], [(shape, values.dtype)],
                             dict(depth=depth, axis=axis))
