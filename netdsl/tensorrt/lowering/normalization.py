"""NORMALIZATION -> INormalizationLayer (TensorRT API reference, INormalizationLayer).

scale and bias become constants of the input's dtype. netdsl's group-norm
coefficients are per channel, (1, C, 1, ...): ``add_normalization_v2``
(TensorRT >= 10.16 and RTX; ``compat.has_per_channel_group_norm``) takes them as they are. Where only the older
``add_normalization`` exists, whose group-norm coefficients are per group
(1, G, 1, ...), the layer gets identity per-group coefficients and is
followed by ``<name>::scale_mul`` (PROD) and ``<name>::bias_add`` (SUM)
with the per-channel constants. Instance and layer norm are the same on both.
"""
from __future__ import annotations

import numpy as np

from ...graph.enums import ElementWiseOperation, LayerType
from .registry import lowering


@lowering(LayerType.NORMALIZATION)
def lower_normalization(ctx, layer, inputs):
    """Constants ``<name>::scale`` / ``<name>::bias``; the layer's ``axes`` is already TensorRT's bitmask."""
    (x,) = inputs
    dtype = layer.inputs[0].dtype
    net = ctx.network
    scale = ctx.constant(layer, "scale", layer.weights["scale"].value, dtype)
    bias = ctx.constant(layer, "bias", layer.weights["bias"].value, dtype)
    mask = int(layer.axes)
    groups = int(layer.num_groups)
    v2 = ctx.tm.has_per_channel_group_norm(net)
    per_group = groups > 1 and not v2
    if not per_group:
        norm = (net.add_normalization_v2 if v2 else net.add_normalization)(x, scale, bias, mask)
    else:
        shape = (1, groups) + (1,) * (len(layer.inputs[0].shape) - 2)
        ones = ctx.constant(layer, "group_scale", np.ones(shape, np.float32), dtype)
        zeros = ctx.constant(layer, "group_bias", np.zeros(shape, np.float32), dtype)
        norm = net.add_normalization(x, ones, zeros, mask)
    ctx.named(norm, layer)
    norm.epsilon = float(layer.epsilon)
    norm.num_groups = groups
    out = norm.get_output(0)
    if per_group:
        prod = net.add_elementwise(out, scale, ctx.tm.enum(ElementWiseOperation.PROD))
        out = ctx.named(prod, layer, "scale_mul").get_output(0)
        out = ctx.named(net.add_elementwise(out, bias, ctx.tm.enum(ElementWiseOperation.SUM)), layer,
                        "bias_add").get_output(0)
    return [out]
