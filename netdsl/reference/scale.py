"""Reference kernel for SCALE: (x * scale + shift) ** power (TensorRT IScaleLayer).

Precision: the coefficients are lowered as weights of the input's dtype,
so they are rounded to it first (float16 for a HALF input, bfloat16 for
BF16: :func:`netdsl.reference.executor.layer_weight`); the arithmetic is
float32, as TensorRT computes, or float64 where a power is raised; the
executor rounds the output to its dtype.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .executor import layer_weight
from .registry import kernel


def _coefficient(layer, role, ndim, work):
    """A coefficient rounded to the input's dtype (as the lowering stores it), shaped to broadcast."""
    w = layer_weight(layer, role).astype(work)
    if layer.mode.name == "UNIFORM":
        return w.reshape(())
    return w.reshape(w.shape + (1,) * (ndim - layer.channel_axis - w.ndim))


@kernel(LayerType.SCALE)
def scale(layer, x):
    # float32 as TensorRT computes; float64 only where a power is raised (accuracy of pow)
    work = np.float64 if "power" in layer.weights else np.float32
    out = x.astype(work, copy=False)
    owned = out is not x  # after the first operation the result is ours to update in place
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for role, op in (("scale", np.multiply), ("shift", np.add), ("power", np.power)):
            if role in layer.weights:
                out = op(out, _coefficient(layer, role, x.ndim, work), out=out if owned else None)
                owned = True
    return out if owned else out.copy()
