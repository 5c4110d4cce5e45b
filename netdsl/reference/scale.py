"""Reference kernel for SCALE: (x * scale + shift) ** power (TensorRT IScaleLayer)."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.SCALE)
def scale(layer, x):
    axis = layer.channel_axis
    out = x.astype(np.float32, copy=True)
    for role in ("scale", "shift", "power"):
        if role not in layer.weights:
            continue
        w = layer.weights[role].value.astype(np.float32, copy=False)
        if layer.mode.name == "UNIFORM":
            coeff = w.reshape(())
        else:
            coeff = w.reshape(w.shape + (1,) * (x.ndim - axis - w.ndim))
        if role == "scale":
            out *= coeff
        elif role == "shift":
            out += coeff
        else:
            out = np.power(out, coeff)
    return out
