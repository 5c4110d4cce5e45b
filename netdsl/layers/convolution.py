"""convolution: ``Network.add_convolution_nd`` (TensorRT IConvolutionLayer).

Semantics: TensorRT API reference, IConvolutionLayer and the operator page
"Convolution" — a grouped cross-correlation over the innermost 2 (3) spatial
dims of an (N..., C, H, W) (or (N..., C, D, H, W)) input with a KCRS kernel
(K = num_output_maps, C = input channels / num_groups), dilation, stride,
zero padding per PaddingMode (``netdsl.layers.padding``), optional bias of K.
"""
from __future__ import annotations

from ..graph.dtypes import DataType
from ..graph.enums import LayerType, PaddingMode
from ..graph.network import network_method
from . import padding as _padding
from ._checks import FLOAT_TYPES, dims, fail, weights_arg


@network_method
def add_convolution_nd(self, input, num_output_maps: int, kernel_shape, kernel=None, bias=True, *,
                       stride_nd=1, padding_nd=None, pre_padding=None, post_padding=None,
                       dilation_nd=1, num_groups: int = 1,
                       padding_mode: PaddingMode = PaddingMode.EXPLICIT_ROUND_DOWN, name=None):
    """Add a 2-D or 3-D convolution.

    Output size per spatial dim (EXPLICIT_ROUND_DOWN):
    ``O = floor((I + B + A - (1 + D * (F - 1))) / S) + 1``; other modes in
    ``netdsl.layers.padding``.

    Args:
        input: (N..., C, H, W) or (N..., C, D, H, W) tensor, FLOAT, HALF or
            BF16; dims before C are batch dims (usually just N).
        num_output_maps: K, output channels (>= 1).
        kernel_shape: (R, S) or (T, R, S) window size, in elements.
        kernel: weights of shape (K, C / num_groups, *kernel_shape), KCRS as
            TensorRT's GKCRS with G folded into K — None (or True) declares
            ``<name>.kernel`` for a weight store; or an array or Weights.
            The TensorRT lowering converts them to the input's dtype.
        bias: True (declare ``<name>.bias`` of shape (K,)), False/None for
            none, an array or Weights.
        stride_nd, dilation_nd: ints or per-dimension tuples (default 1).
        padding_nd: symmetric padding; or pre_padding / post_padding for
            asymmetric padding (top/left vs bottom/right), in elements.
        num_groups: groups; C and K must both divide by it (C == K ==
            num_groups is depthwise).
        padding_mode: PaddingMode (or its name); SAME_* ignore explicit
            padding, CAFFE_* pad pre_padding on both sides.
        name: layer name (scoped); default ``convolution``, ``convolution1`` ...
    Returns:
        Layer with one output (N..., K, H', W') of the input's dtype. Its
        ``pre_padding`` / ``post_padding`` are the padding applied after
        ``padding_mode`` (post includes ``overhang``, the cells a ROUND_UP
        mode adds past the padded input).
    Raises:
        NetworkDefinitionError: kernel_shape not 2-D/3-D, input rank too low
            or not a float type, channels not divisible by groups, weights of
            the wrong shape, bad padding or an empty output — naming the layer.
    """
    name = self.begin_layer(LayerType.CONVOLUTION, name, [input])
    return window_layer(self, LayerType.CONVOLUTION, name, input, num_output_maps, kernel_shape, kernel, bias,
                        stride_nd, padding_nd, pre_padding, post_padding, dilation_nd, num_groups, padding_mode)


def window_layer(net, type_, name, input, num_output_maps, kernel_shape, kernel, bias, stride_nd, padding_nd,
                 pre_padding, post_padding, dilation_nd, num_groups, padding_mode):
    """Validate and append a CONVOLUTION or DECONVOLUTION layer (shared by both constructors).

    The kernel is (K, C/G, *kernel) for convolution and (C, K/G, *kernel)
    for deconvolution (TensorRT's KCRS and CKRS layouts).
    """
    if isinstance(kernel_shape, int) or not hasattr(kernel_shape, "__len__"):
        fail(name, f"kernel_shape must be a tuple of 2 or 3 ints, found {kernel_shape!r}")
    n = len(kernel_shape)
    # TensorRT operator reference, data types: Convolution int8/half/float/bfloat16, Deconvolution int8/half/float
    # (TensorRT-RTX 1.7 cannot build a BF16 deconvolution); INT8 there is quantized, not netdsl's.
    dtypes = FLOAT_TYPES if type_ is LayerType.CONVOLUTION else (DataType.FLOAT, DataType.HALF)
    _padding.check_input(name, input, n, dtypes=dtypes)
    kernel_shape = dims(kernel_shape, n, "kernel_shape", name)
    stride_nd = dims(stride_nd, n, "stride_nd", name)
    dilation_nd = dims(dilation_nd, n, "dilation_nd", name)
    padding_mode = _padding.as_padding_mode(name, padding_mode)
    pre, post = _padding.pre_post(name, n, padding_nd, pre_padding, post_padding)
    channels = input.shape[-n - 1]
    if int(num_output_maps) != num_output_maps or num_output_maps < 1:
        fail(name, f"num_output_maps must be a positive int, found {num_output_maps!r}")
    num_output_maps = int(num_output_maps)
    if int(num_groups) != num_groups or num_groups < 1 or channels % num_groups or num_output_maps % num_groups:
        fail(name, f"input channels ({channels}) and num_output_maps ({num_output_maps}) must both "
                   f"be divisible by num_groups ({num_groups}); input {input.name!r} has shape {input.shape}")
    num_groups = int(num_groups)
    kind = type_.name.lower()
    geometry = _padding.resolve(net, name, input.shape[-n:], kernel_shape, stride_nd, dilation_nd, pre, post,
                                padding_mode, kind=kind)
    if type_ is LayerType.CONVOLUTION:
        kshape = (num_output_maps, channels // num_groups, *kernel_shape)
    else:
        kshape = (channels, num_output_maps // num_groups, *kernel_shape)
    weights = {"kernel": weights_arg(net, name, "kernel", kernel, kshape)}
    b = weights_arg(net, name, "bias", bias, (num_output_maps,), optional=True)
    if b is not None:
        weights["bias"] = b
    attrs = dict(num_output_maps=num_output_maps, kernel_size_nd=kernel_shape, stride_nd=stride_nd,
                 dilation_nd=dilation_nd, pre_padding=geometry.pre, post_padding=geometry.post,
                 padding_nd=geometry.pre, padding_mode=padding_mode, num_groups=num_groups,
                 overhang=geometry.overhang)
    out = (*input.shape[:-n - 1], num_output_maps, *geometry.output)
    return net.append_layer(type_, name, [input], [(out, input.dtype)], attrs, weights)
