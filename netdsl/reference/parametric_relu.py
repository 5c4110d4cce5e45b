"""Reference kernel for PARAMETRIC_RELU: ``x >= 0 ? x : slopes * x`` (TensorRT IParametricReLULayer)."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .executor import to_dtype
from .registry import kernel


@kernel(LayerType.PARAMETRIC_RELU)
def parametric_relu(layer, x, slopes=None):
    if slopes is None:
        # Constant slopes become a constant tensor of the input's dtype: round them to it.
        values = layer.weights["slopes"].value.astype(np.float32)
        slopes = to_dtype(values, layer.inputs[0].dtype).astype(np.float32)
    return np.where(x >= 0, x, slopes * x)
