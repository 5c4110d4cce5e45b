"""CONVOLUTION -> IConvolutionLayer (TensorRT API reference, IConvolutionLayer / PaddingMode)."""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


def apply_padding(ctx, trt_layer, layer, explicit_is_exact: bool = True) -> None:
    """Copy padding_mode and the padding onto a convolution, deconvolution or pooling layer.

    Where TensorRT has the layer's ``padding_mode``, the layer gets that mode
    and the padding the user declared (the resolved padding less the
    ROUND_UP ``overhang``, which TensorRT adds itself): TensorRT then
    computes the same output size and, for AVERAGE pooling, counts the same
    cells. SAME_* modes compute their padding themselves. A mode the
    TensorRT flavor lacks (CAFFE_* on RTX) is mapped by
    ``TensorRTModule.padding_mode`` to EXPLICIT_ROUND_DOWN with the resolved
    padding, which gives the same size and, where ``explicit_is_exact``, the
    same values.
    """
    mode = ctx.tm.padding_mode(layer.padding_mode, explicit_is_exact)
    trt_layer.padding_mode = mode
    if layer.padding_mode.name.startswith("SAME"):
        return
    post = tuple(layer.post_padding)
    if mode == getattr(ctx.trt.PaddingMode, layer.padding_mode.name, None):
        post = tuple(p - extra for p, extra in zip(post, layer.overhang))
    trt_layer.pre_padding = tuple(layer.pre_padding)
    trt_layer.post_padding = post


def lower_window_layer(ctx, layer, x, add, kernel_value, kernel_shape, dilation, kernel_tensor=None):
    """Add a convolution or deconvolution: ``add`` is ``ctx.tm.add_convolution_nd`` or ``add_deconvolution_nd``.

    Kernel and bias become ``trt.Weights`` of the input's dtype (a strongly
    typed network needs HALF weights for a HALF input; an absent bias is
    empty Weights). With ``kernel_value`` None the kernel is ``kernel_tensor``,
    set as the layer's input 1 (TensorRT's kernel tensor input).
    """
    dtype = layer.inputs[0].dtype
    kernel = ctx.weights(kernel_value, dtype) if kernel_value is not None else ctx.empty_weights(dtype)
    bias = ctx.weights(layer.weights["bias"], dtype) if "bias" in layer.weights else ctx.empty_weights(dtype)
    trt_layer = ctx.named(add(ctx.network, x, layer.num_output_maps, kernel_shape, kernel, bias), layer)
    trt_layer.stride_nd = tuple(layer.stride_nd)
    trt_layer.dilation_nd = tuple(dilation)
    trt_layer.num_groups = int(layer.num_groups)
    apply_padding(ctx, trt_layer, layer)
    if kernel_value is None:
        trt_layer.set_input(1, kernel_tensor)
    return [trt_layer.get_output(0)]


@lowering(LayerType.CONVOLUTION)
def lower_convolution(ctx, layer, inputs):
    """KCRS kernel, stride, dilation, groups and padding as the netdsl layer."""
    x = inputs[0]
    return lower_window_layer(ctx, layer, x, ctx.tm.add_convolution_nd, layer.weights.get("kernel"),
                              layer.kernel_size_nd, layer.dilation_nd,
                              kernel_tensor=inputs[1] if len(inputs) > 1 else None)
