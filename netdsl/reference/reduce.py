"""Reference kernel for REDUCE (TensorRT IReduceLayer) over ``layer.axis_indices`` (the bits of
``layer.axes``); floats accumulate in float32, the executor rounds the output to its dtype."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel

_OPS = {"SUM": np.sum, "PROD": np.prod, "MAX": np.max, "MIN": np.min, "AVG": np.mean}


@kernel(LayerType.REDUCE)
def reduce(layer, x):
    with np.errstate(over="ignore"):
        return _OPS[layer.op.name](x, axis=layer.axis_indices, keepdims=layer.keep_dims)
