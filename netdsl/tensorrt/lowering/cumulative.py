"""CUMULATIVE -> ICumulativeLayer (TensorRT API reference, ICumulativeLayer; TensorRT >= 10.8)."""
from __future__ import annotations

import numpy as np

from ...graph.dtypes import DataType
from ...graph.enums import LayerType
from ...graph.errors import BackendUnavailableError
from .registry import lowering


@lowering(LayerType.CUMULATIVE)
def lower_cumulative(ctx, layer, inputs):
    """``add_cumulative(input, axis, op, exclusive, reverse)``; the axis is a 0-D INT32
    constant ("a build-time constant 0-D shape tensor").

    Raises:
        BackendUnavailableError: TensorRT older than 10.8 (no ICumulativeLayer).
    """
    (x,) = inputs
    if not hasattr(ctx.network, "add_cumulative"):
        raise BackendUnavailableError(f"{layer.name}: {ctx.tm.label} has no ICumulativeLayer "
                                      f"(needs TensorRT >= 10.8 or TensorRT-RTX)")
    axis = ctx.constant(layer, "axis", np.array(layer.axis, np.int32), DataType.INT32)
    cumulative = ctx.network.add_cumulative(x, axis, ctx.tm.enum(layer.op), bool(layer.exclusive),
                                            bool(layer.reverse))
    return [ctx.named(cumulative, layer).get_output(0)]
