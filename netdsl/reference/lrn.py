"""Reference kernel for LRN (TensorRT ILRNLayer): see ``netdsl.layers.lrn`` for the formula.

Precision: float32 (HALF/BF16 inputs arrive as float32); the executor rounds the output to its dtype."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.LRN)
def lrn(layer, x):
    x = x.astype(np.float32, copy=False)
    w, r = layer.window_size, layer.window_size // 2
    channels = x.shape[1]
    sq = np.pad(np.square(x), [(0, 0), (r, r), (0, 0), (0, 0)])
    total = sum(sq[:, j:j + channels] for j in range(w))
    return x / np.power(layer.k + layer.alpha / w * total, layer.beta)
