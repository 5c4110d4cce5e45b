"""Reference kernel for NORMALIZATION (TensorRT INormalizationLayer, per-channel group-norm coefficients).

Statistics in float64 for an exact reference; group norm views (N, C, ...)
as (N, G, C / G, ...) and reduces over the group's channels and the
spatial dims.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.NORMALIZATION)
def normalization(layer, x):
    x64 = x.astype(np.float64)
    axes = tuple(layer.axes)
    if layer.num_groups > 1:
        n, c = x.shape[:2]
        x64 = x64.reshape((n, layer.num_groups, c // layer.num_groups) + x.shape[2:])
        axes = tuple(range(2, x64.ndim))
    mean = x64.mean(axis=axes, keepdims=True)
    var = np.square(x64 - mean).mean(axis=axes, keepdims=True)
    y = ((x64 - mean) / np.sqrt(var + layer.epsilon)).reshape(x.shape)
    scale = layer.weights["scale"].value.astype(np.float64)
    bias = layer.weights["bias"].value.astype(np.float64)
    return (y * scale + bias).astype(np.float32)
