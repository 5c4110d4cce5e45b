"""Reference kernels for CONSTANT, IDENTITY and CAST."""
from __future__ import annotations

import numpy as np

from ..graph.dtypes import DataType
from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.CONSTANT)
def constant(layer):
    return layer.weights["weights"].value


@kernel(LayerType.IDENTITY)
def identity(layer, x):
    return x.copy()


@kernel(LayerType.CAST)
def cast(layer, x):
    if layer.to_type is DataType.BOOL:
        return x != 0
    if not layer.to_type.is_float and np.issubdtype(x.dtype, np.floating):
        return np.trunc(x).astype(layer.to_type.to_numpy())
    return x
