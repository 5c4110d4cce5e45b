"""Reference kernel for EINSUM (TensorRT IEinsumLayer) via numpy.einsum in float32."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.EINSUM)
def einsum(layer, *xs):
    return np.einsum(layer.equation, *(x.astype(np.float32, copy=False) for x in xs))
