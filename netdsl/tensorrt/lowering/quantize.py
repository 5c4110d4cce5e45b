"""QUANTIZE -> IQuantizeLayer, DEQUANTIZE -> IDequantizeLayer, DYNAMIC_QUANTIZE -> IDynamicQuantizeLayer
(TensorRT API reference; "Explicit Quantization").

A scale held as weights becomes a constant of the layer's float type (``<layer>::scale``); a
per-channel layer gets ``axis``, a block layer its block shape (``TensorRTModule.set_block_shape``).
An all-zero zero point is the same as none and is not passed on.
"""
from __future__ import annotations

import numpy as np

from ...graph.enums import LayerType
from .registry import lowering


def _qdq(ctx, layer, inputs, dequantize: bool):
    x = inputs[0]
    float_type = layer.to_type if dequantize else layer.inputs[0].dtype
    if len(inputs) > 1:
        scale = inputs[1]
    else:
        w = layer.weights["scale"]
        scale = ctx.constant(layer, "scale", np.asarray(w.value).reshape(w.shape), float_type)
    trt_layer = ctx.named(ctx.tm.add_quantize(ctx.network, x, scale, layer.to_type, dequantize=dequantize), layer)
    if layer.granularity == "channel":
        trt_layer.axis = int(layer.axis)
    elif layer.granularity == "block":
        ctx.tm.set_block_shape(trt_layer, layer.block_shape, layer.axis)
    return [trt_layer.get_output(0)]


@lowering(LayerType.QUANTIZE)
def lower_quantize(ctx, layer, inputs):
    return _qdq(ctx, layer, inputs, dequantize=False)


@lowering(LayerType.DEQUANTIZE)
def lower_dequantize(ctx, layer, inputs):
    return _qdq(ctx, layer, inputs, dequantize=True)


@lowering(LayerType.DYNAMIC_QUANTIZE)
def lower_dynamic_quantize(ctx, layer, inputs):
    """``add_dynamic_quantize(input, axis, block_size, FP4, FP8)`` and the double quantization scale as input 1."""
    x = inputs[0]
    if len(inputs) > 1:
        d = inputs[1]
    else:
        d = ctx.constant(layer, "double_quant_scale", np.asarray(layer.weights["double_quant_scale"].value).reshape(()),
                         layer.inputs[0].dtype)
    trt_layer = ctx.named(ctx.tm.add_dynamic_quantize(ctx.network, x, layer.axis, layer.block_size,
                                                      layer.to_type, layer.scale_type), layer)
    trt_layer.set_input(1, d)
    return [trt_layer.get_output(0), trt_layer.get_output(1)]
