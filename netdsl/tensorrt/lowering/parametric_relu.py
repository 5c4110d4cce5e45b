"""PARAMETRIC_RELU -> IParametricReLULayer (TensorRT API reference, IParametricReLULayer).

TensorRT takes the slopes as a tensor of the input's dtype and rank: a netdsl
slopes tensor is passed as it is; constant slopes (weights) become the
constant ``<name>::slopes`` of the input's dtype (float16 for a HALF input).
"""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.PARAMETRIC_RELU)
def lower_parametric_relu(ctx, layer, inputs):
    x = inputs[0]
    if len(inputs) > 1:
        slopes = inputs[1]
    else:
        slopes = ctx.constant(layer, "slopes", layer.weights["slopes"].value, layer.inputs[0].dtype)
    return [ctx.named(ctx.network.add_parametric_relu(x, slopes), layer).get_output(0)]
