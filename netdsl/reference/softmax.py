"""Reference kernel for SOFTMAX (TensorRT ISoftMaxLayer), max-subtracted for stability, along
``layer.axis`` (the one bit of ``layer.axes``).

Precision: float32; the executor rounds the output to its dtype."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.SOFTMAX)
def softmax(layer, x):
    x = x.astype(np.float32, copy=False)
    e = np.exp(x - np.max(x, axis=layer.axis, keepdims=True))
    return e / np.sum(e, axis=layer.axis, keepdims=True)
