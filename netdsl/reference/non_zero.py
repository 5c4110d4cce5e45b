"""Reference kernel for NON_ZERO (TensorRT INonZeroLayer): ``numpy.nonzero`` stacked to (rank, count), INT64.

Row-major order of the non-zero elements (``x != 0``: True for BOOL, NaN
counts, -0.0 does not), as INonZeroLayer and ONNX NonZero. The executor
learns the layer's runtime dimension ``<layer>.count`` from the result.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.NON_ZERO)
def non_zero(layer, x):
    coordinates = np.nonzero(np.asarray(x) != 0)
    return np.stack(coordinates).astype(np.int64).reshape(x.ndim, -1)
