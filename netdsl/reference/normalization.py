"""Reference kernel for NORMALIZATION (TensorRT INormalizationLayer, per-channel group-norm coefficients).

Group norm views (N, C, ...) as (N, G, C / G, ...) and reduces over the
group's channels and the spatial dims; other layers reduce over the axes of
``layer.axis_indices`` (the bits of TensorRT's ``axes`` bitmask).

Precision: scale and bias are rounded to the input's dtype, as the lowering's
constants of that dtype hold them (:func:`netdsl.reference.executor.layer_weight`:
float16 for HALF, bfloat16 for BF16). Mean, variance and the affine step are
computed in float64, an exact reference for the formula (TensorRT 8.6 to
10.x also have ``INormalizationLayer.compute_precision``, FLOAT or HALF,
which the lowering leaves at TensorRT's default; TensorRT 11 and RTX have no
such attribute); the executor rounds the output to the output's dtype.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .executor import layer_weight
from .registry import kernel


@kernel(LayerType.NORMALIZATION)
def normalization(layer, x):
    x64 = x.astype(np.float64)
    axes = tuple(layer.axis_indices)
    if layer.num_groups > 1:
        n, c = x.shape[:2]
        x64 = x64.reshape((n, layer.num_groups, c // layer.num_groups) + x.shape[2:])
        axes = tuple(range(2, x64.ndim))
    mean = x64.mean(axis=axes, keepdims=True)
    var = np.square(x64 - mean).mean(axis=axes, keepdims=True)
    y = ((x64 - mean) / np.sqrt(var + layer.epsilon)).reshape(x.shape)
    scale = layer_weight(layer, "scale").astype(np.float64)
    bias = layer_weight(layer, "bias").astype(np.float64)
    return (y * scale + bias).astype(np.float32)
