"""Reference kernel for EINSUM (TensorRT IEinsumLayer) via numpy.einsum in float32.

Precision: float32 accumulation; the executor rounds the output to its dtype."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.EINSUM)
def einsum(layer, *xs):
    return np.einsum(layer.equation, *(x.astype(np.float32, copy=False) for x in xs))
