"""Reference kernel for SCALE: (x * scale + shift) ** power (TensorRT IScaleLayer).

The coefficients are lowered as weights of the input's dtype, so they are
rounded to it first (float16 for a HALF input); the arithmetic is float64.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .executor import to_dtype
from .registry import kernel


@kernel(LayerType.SCALE)
def scale(layer, x):
    axis = layer.channel_axis
    dtype = layer.inputs[0].dtype
    out = x.astype(np.float64)
    for role in ("scale", "shift", "power"):
        if role not in layer.weights:
            continue
        w = to_dtype(layer.weights[role].value.astype(np.float32), dtype).astype(np.float64)
        if layer.mode.name == "UNIFORM":
            coeff = w.reshape(())
        else:
            coeff = w.reshape(w.shape + (1,) * (x.ndim - axis - w.ndim))
        if role == "scale":
            out *= coeff
        elif role == "shift":
            out += coeff
        else:
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                out = np.power(out, coeff)
    return out
