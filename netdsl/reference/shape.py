"""Reference kernel for SHAPE (``netdsl.layers.shape``): the input's dims as INT64."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.SHAPE)
def shape(layer, x):
    return np.array(x.shape, dtype=np.int64)
