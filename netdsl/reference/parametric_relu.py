"""Reference kernel for PARAMETRIC_RELU: ``x >= 0 ? x : slopes * x`` (TensorRT IParametricReLULayer).

Precision: constant slopes are rounded to the input's dtype, as the lowering's
constant of that dtype holds them (:func:`netdsl.reference.executor.layer_weight`);
the product is float32; the executor rounds the output to its dtype.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .executor import layer_weight
from .registry import kernel


@kernel(LayerType.PARAMETRIC_RELU)
def parametric_relu(layer, x, slopes=None):
    if slopes is None:
        # Constant slopes become a constant tensor of the input's dtype: round them to it.
        slopes = layer_weight(layer, "slopes")
    return np.where(x >= 0, x, slopes * x)
