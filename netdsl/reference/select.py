"""Reference kernel for SELECT (TensorRT ISelectLayer): ``numpy.where`` with broadcasting."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


@kernel(LayerType.SELECT)
def select(layer, condition, then_value, else_value):
    return np.where(condition, then_value, else_value)
