"""SCALE -> IScaleLayer via add_scale_nd (TensorRT API reference, IScaleLayer).

``output = (input * scale + shift) ** power``; an absent coefficient is
passed as empty Weights (TensorRT then uses the identity). Batch-norm's
folded DerivedWeights arrive here already computed.
"""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.SCALE)
def lower_scale(ctx, layer, inputs):
    """Coefficients become ``trt.Weights`` of the input's dtype (float16 for HALF inputs)."""
    (x,) = inputs
    dtype = layer.inputs[0].dtype
    coeffs = [ctx.weights(layer.weights[r], dtype) if r in layer.weights else ctx.empty_weights(dtype)
              for r in ("shift", "scale", "power")]
    scale = ctx.network.add_scale_nd(x, ctx.tm.enum(layer.mode), *coeffs, int(layer.channel_axis))
    return [ctx.named(scale, layer).get_output(0)]
