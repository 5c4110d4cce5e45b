"""CONVOLUTION -> IConvolutionLayer (TensorRT API reference, IConvolutionLayer / PaddingMode)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


def apply_padding(ctx, trt_layer, layer, explicit_is_exact: bool = True) -> None:
    """Copy padding_mode and the resolved pre/post padding onto a convolution or pooling layer.

    netdsl stores the padding actually applied (``netdsl.layers.padding``):
    with TensorRT's own formula for the same ``padding_mode`` it gives the
    same output size, which ``lower_layer`` checks. SAME_* modes compute
    their padding themselves and ignore explicit values. A mode the
    TensorRT flavor lacks (CAFFE_* on RTX) is mapped by
    ``TensorRTModule.padding_mode``.
    """
    trt_layer.padding_mode = ctx.tm.padding_mode(layer.padding_mode, explicit_is_exact)
    if not layer.padding_mode.name.startswith("SAME"):
        trt_layer.pre_padding = tuple(layer.pre_padding)
        trt_layer.post_padding = tuple(layer.post_padding)


@lowering(LayerType.CONVOLUTION)
def lower_convolution(ctx, layer, inputs):
    """Kernel (KCRS) and bias become ``trt.Weights`` of the input's dtype (an empty bias when absent)."""
    (x,) = inputs
    dtype = layer.inputs[0].dtype
    kernel = ctx.weights(layer.weights["kernel"], dtype)
    bias = ctx.weights(layer.weights["bias"], dtype) if "bias" in layer.weights else ctx.empty_weights(dtype)
    conv = ctx.tm.add_convolution_nd(ctx.network, x, layer.num_output_maps, layer.kernel_size_nd, kernel, bias)
    ctx.named(conv, layer)
    conv.stride_nd = tuple(layer.stride_nd)
    conv.dilation_nd = tuple(layer.dilation_nd)
    conv.num_groups = int(layer.num_groups)
    apply_padding(ctx, conv, layer)
    return [conv.get_output(0)]
