"""FILL -> IFillLayer (TensorRT API reference, IFillLayer / FillOperation).

Static shapes go to ``add_fill``; runtime dimensions come from a shape tensor
(input 0). alpha and beta are set as layer attributes (``alpha``: a number,
``beta``: a number or, for LINSPACE, one step per dimension); TensorRT then
fills in the output dtype (``to_type``).
"""
from __future__ import annotations

import numpy as np

from ...graph.enums import LayerType
from ...graph.shapes import is_static_shape
from .registry import lowering


@lowering(LayerType.FILL)
def lower_fill(ctx, layer, inputs):
    shape = tuple(layer.shape)
    static = shape if is_static_shape(shape) else (0,) * len(shape)
    fill = ctx.named(ctx.network.add_fill(static, ctx.tm.enum(layer.operation), ctx.tm.datatype(layer.outputs[0].dtype)),
                     layer)
    if not is_static_shape(shape):
        fill.set_input(0, ctx.shape_tensor(layer, shape, "fill_shape"))
    if layer.operation.name == "LINSPACE":
        dtype = layer.outputs[0].dtype
        alpha = ctx.constant(layer, "alpha", np.array(layer.alpha), dtype)
        beta = ctx.constant(layer, "beta", np.array(layer.beta), dtype)
        fill.set_input(1, alpha)
        fill.set_input(2, beta)
    else:
        fill.alpha = float(layer.alpha)
        fill.beta = float(layer.beta)
    return [fill.get_output(0)]
