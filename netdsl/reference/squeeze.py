"""Reference kernels for SQUEEZE and UNSQUEEZE (TensorRT ISqueezeLayer / IUnsqueezeLayer)."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.SQUEEZE, LayerType.UNSQUEEZE)
def squeeze(layer, x):
    return np.reshape(x, layer.outputs[0].shape)
