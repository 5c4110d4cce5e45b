"""Reference kernel for FILL (rules in ``netdsl.layers.fill``)."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.FILL)
def fill(layer):
    """LINSPACE exactly (float64 sum, then the output dtype); random fills from ``Generator(PCG64(seed))``."""
    shape = tuple(layer.shape)
    op = layer.operation.name
    if op == "LINSPACE":
        out = np.full(shape, layer.alpha, dtype=np.float64)
        for axis, step in enumerate(layer.beta):
            index = np.arange(shape[axis], dtype=np.float64).reshape([-1 if a == axis else 1 for a in range(len(shape))])
            out = out + step * index
        return out
    rng = np.random.Generator(np.random.PCG64(layer.seed))
    if op == "RANDOM_UNIFORM":
        return rng.uniform(layer.alpha, layer.beta, shape).astype(np.float32)
    return rng.normal(layer.alpha, layer.beta, shape).astype(np.float32)
