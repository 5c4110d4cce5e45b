"""non_zero: ``Network.add_non_zero`` (TensorRT INonZeroLayer): the indices of the non-zero elements.

Semantics: TensorRT API reference, INonZeroLayer ("Computes the indices of
the input tensor where the value is non-zero. The returned indices are in
row-major order. The output shape is always {D, C}, where D is the number of
dimensions of the input and C is the number of non-zero values"), as ONNX
NonZero and ``numpy.nonzero`` stacked: column j holds the coordinates of the
j-th non-zero element in row-major order. For BOOL inputs non-zero means
True; for floats, ``-0.0`` is zero and NaN is non-zero (``x != 0``).

Output dtype: INT64, as ONNX NonZero and TensorRT 10's default. TensorRT-RTX
1.7 makes INT32 by default; the lowering then casts.

C depends on the data: it is a fresh runtime dimension named
``<layer>.count`` that the reference executor learns when the kernel runs
(and that a later layer's shape can use, e.g. a gather of the coordinates).
TensorRT-RTX (1.7.1) has no runner for NonZero: such a network runs in the
reference executor and builds with full TensorRT, and netdsl refuses a
TensorRT-RTX build before calling TensorRT
(``TensorRTModule.has_runner``).
"""
from __future__ import annotations

from ..graph.dtypes import DataType
from ..graph.enums import LayerType
from ..graph.network import network_method
from ..graph.shapes import dim
from ._checks import FLOAT_TYPES, check_dtype, fail

NON_ZERO_TYPES = FLOAT_TYPES + (DataType.INT8, DataType.INT32, DataType.INT64, DataType.BOOL)


@network_method
def add_non_zero(self, input, *, name=None):
    """Add the coordinates of the non-zero elements of ``input``.

    Args:
        input: tensor of rank >= 1 (any dims, runtime ones too); FLOAT,
            HALF, BF16, INT8, INT32, INT64 or BOOL.
        name: layer name (scoped); default ``non_zero``, ``non_zero1`` ...
    Returns:
        Layer with one INT64 output of shape (rank, C): column j holds the
        coordinates of the j-th non-zero element in row-major order. C is
        the runtime dimension ``<layer>.count`` (``layer.count``), known only
        when the layer runs.
    Raises:
        NetworkDefinitionError: a scalar input or another dtype.
    """
    name = self.begin_layer(LayerType.NON_ZERO, name, [input])
    check_dtype(name, input, NON_ZERO_TYPES)
    if input.ndim == 0:
        fail(name, f"input {input.name!r} must have rank >= 1 (its coordinates are the output's rows), "
                   f"found a scalar")
    count = dim(f"{name}.count")
    return self.append_layer(LayerType.NON_ZERO, name, [input], [((input.ndim, count), DataType.INT64)],
                             dict(count=count))
