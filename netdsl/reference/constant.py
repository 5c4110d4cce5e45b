"""Reference kernels for CONSTANT, IDENTITY and CAST (rules in ``netdsl.layers.constant``)."""
from __future__ import annotations

import numpy as np

from ..graph.dtypes import DataType
from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.CONSTANT)
def constant(layer):
    return layer.weights["weights"].value.reshape(layer.shape)


@kernel(LayerType.IDENTITY)
def identity(layer, x):
    return x.copy()


@kernel(LayerType.CAST)
def cast(layer, x):
    """The executor converts the result to ``to_type`` (NumPy astype; bfloat16 rounded to nearest even)."""
    to = layer.to_type
    if to is DataType.BOOL:
        return x != 0
    if x.dtype == np.bool_:
        return x.astype(np.int32)
    with np.errstate(invalid="ignore", over="ignore"):
        if not to.is_float and np.issubdtype(x.dtype, np.floating):
            return np.trunc(x).astype(to.to_numpy())  # out of range / NaN: undefined in TensorRT
        if to is DataType.HALF:
            return x.astype(np.float16)  # overflow to +-inf is the defined result
    return x
