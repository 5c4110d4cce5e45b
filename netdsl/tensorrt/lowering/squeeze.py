"""SQUEEZE -> ISqueezeLayer, UNSQUEEZE -> IUnsqueezeLayer (TensorRT >= 10.8, TensorRT-RTX);
an IShuffleLayer reshape on older versions."""
from __future__ import annotations

import numpy as np

from ...graph.dtypes import DataType
from ...graph.enums import LayerType
from ...graph.shapes import is_static_shape
from .registry import lowering


@lowering(LayerType.SQUEEZE, LayerType.UNSQUEEZE)
def lower_squeeze(ctx, layer, inputs):
    """``add_squeeze`` / ``add_unsqueeze`` with the axes as a 1-D INT64 constant (a build-time shape
    tensor); where the version lacks them, a shuffle to the output dims (no 0 or -1 placeholders; runtime
    dims from a shape tensor)."""
    (x,) = inputs
    method = "add_squeeze" if layer.type is LayerType.SQUEEZE else "add_unsqueeze"
    if hasattr(ctx.network, method):
        axes = ctx.constant(layer, "axes", np.array(layer.axes, np.int64), DataType.INT64)
        return [ctx.named(getattr(ctx.network, method)(x, axes), layer).get_output(0)]
    shuffle = ctx.named(ctx.network.add_shuffle(x), layer)
    shuffle.zero_is_placeholder = False
    shape = tuple(layer.outputs[0].shape)
    if is_static_shape(shape):
        shuffle.reshape_dims = shape
    else:
        shuffle.set_input(1, ctx.shape_tensor(layer, shape, "reshape_dims"))
    return [shuffle.get_output(0)]
