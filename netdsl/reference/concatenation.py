"""Reference kernel for CONCATENATION (TensorRT IConcatenationLayer)."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.CONCATENATION)
def concatenation(layer, *inputs):
    """Join the inputs along ``layer.axis`` (normalised to [0, rank)), in order."""
    return np.concatenate(inputs, axis=layer.axis)
