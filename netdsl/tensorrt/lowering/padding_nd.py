"""PADDING -> IPaddingLayer (2 padded dims) or ISliceLayer with SampleMode.FILL (3 padded dims).

Source: TensorRT API reference, IPaddingLayer ("only 2 dimensional padding
is currently supported"; "to pad across any subset of dimensions, use
ISliceLayer with SampleMode::kFILL") and ISliceLayer.
"""
from __future__ import annotations

import numpy as np

from ...graph.enums import LayerType, SampleMode
from .registry import lowering
from .slice import FILL_INPUT


@lowering(LayerType.PADDING)
def lower_padding(ctx, layer, inputs):
    """2 dims: ``add_padding_nd`` (``add_padding`` on 8.6). 3 dims: a slice starting at ``-pre`` on the
    padded dims, of the output's shape, stride 1, reading zeros outside the input."""
    (x,) = inputs
    pre, post = tuple(layer.pre_padding_nd), tuple(layer.post_padding_nd)
    if len(pre) == 2:
        return [ctx.named(ctx.tm.add_padding_nd(ctx.network, x, pre, post), layer).get_output(0)]
    shape = tuple(layer.outputs[0].shape)
    start = (0,) * (len(shape) - len(pre)) + tuple(-p for p in pre)
    sl = ctx.named(ctx.network.add_slice(x, start, shape, (1,) * len(shape)), layer)
    sl.mode = ctx.tm.enum(SampleMode.FILL)
    sl.set_input(FILL_INPUT, ctx.constant(layer, "fill_value", np.array(0), layer.inputs[0].dtype))
    return [sl.get_output(0)]
