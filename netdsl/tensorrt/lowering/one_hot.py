"""ONE_HOT -> IOneHotLayer (TensorRT API reference, IOneHotLayer)."""
from __future__ import annotations

import numpy as np

from ...graph.dtypes import DataType
from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.ONE_HOT)
def lower_one_hot(ctx, layer, inputs):
    """``add_one_hot(indices, values, depth, axis)``; depth is a 0-D INT32 constant
    (TensorRT: "a positive build-time constant")."""
    indices, values = inputs
    depth = ctx.constant(layer, "depth", np.array(layer.depth, np.int32), DataType.INT32)
    one_hot = ctx.network.add_one_hot(indices, values, depth, int(layer.axis))
    return [ctx.named(one_hot, layer).get_output(0)]
