"""Reference kernel for REDUCE (TensorRT IReduceLayer); floats accumulate in float32."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel

_OPS = {"SUM": np.sum, "PROD": np.prod, "MAX": np.max, "MIN": np.min, "AVG": np.mean}


@kernel(LayerType.REDUCE)
def reduce(layer, x):
    with np.errstate(over="ignore"):
        return _OPS[layer.op.name](x, axis=layer.axes, keepdims=layer.keep_dims)
