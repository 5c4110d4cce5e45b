"""convolution: ``Network.add_convolution_nd`` (TensorRT IConvolutionLayer).

Semantics: TensorRT API reference, IConvolutionLayer — cross-correlation over
the last ``len(kernel_shape)`` dims of an NC(D)HW input with a KCRS kernel
(K = num_output_maps, C = input channels / num_groups), optional bias of K.
"""
from __future__ import annotations

from ..graph.enums import LayerType, PaddingMode
from ..graph.network import network_method
from . import padding as _padding
from ._checks import FLOAT_TYPES, check_dtype, check_rank, dims, fail, weights_arg


@network_method
def add_convolution_nd(self, input, num_output_maps: int, kernel_shape, kernel=None, bias=True, *,
                       stride_nd=1, padding_nd=None, pre_padding=None, post_padding=None,
                       dilation_nd=1, num_groups: int = 1,
                       padding_mode: PaddingMode = PaddingMode.EXPLICIT_ROUND_DOWN, name=None):
    """Add a 2-D or 3-D convolution.

    Args:
        input: NCHW (or NCDHW) float tensor (FLOAT, HALF or BF16).
        num_output_maps: K, output channels.
        kernel_shape: (R, S) or (T, R, S) window size, in elements.
        kernel: weights of shape (K, C / num_groups, *kernel_shape) — None to
            declare ``<name>.kernel`` for a weight store, an array, or Weights.
        bias: True (declare ``<name>.bias`` of shape (K,)), False for none,
            an array or Weights.
        stride_nd, dilation_nd: ints or per-dimension tuples (default 1).
        padding_nd: symmetric padding; or pre_padding / post_padding for
            asymmetric padding (top/left vs bottom/right), in elements.
        num_groups: groups; C and K must both divide by it (C == K ==
            num_groups is depthwise).
        padding_mode: PaddingMode (see ``netdsl.layers.padding``).
    Returns:
        Layer with one output (N, K, H', W') of the input's dtype.
    Raises:
        NetworkDefinitionError: wrong rank or dtype, channels not divisible by
            groups, weights of the wrong shape, or an empty output.
    """
    n = len(tuple(kernel_shape))
    name = self.begin_layer(LayerType.CONVOLUTION, name, [input])
    check_rank(name, input, n + 2)
    check_dtype(name, input, FLOAT_TYPES)
    kernel_shape = dims(kernel_shape, n, "kernel_shape", name)
    stride_nd = dims(stride_nd, n, "stride_nd", name)
    dilation_nd = dims(dilation_nd, n, "dilation_nd", name)
    pre, post = _pre_post(name, n, padding_nd, pre_padding, post_padding)
    channels = input.shape[1]
    if num_groups < 1 or channels % num_groups or num_output_maps % num_groups:
        fail(name, f"input channels ({channels}) and num_output_maps ({num_output_maps}) must both "
                   f"be divisible by num_groups ({num_groups}); input {input.name!r} has shape {input.shape}")
    spatial, pre, post = _padding.resolve(name, input.shape[2:], kernel_shape, stride_nd, dilation_nd,
                                          pre, post, padding_mode)
    kshape = (num_output_maps, channels // num_groups, *kernel_shape)
    weights = {"kernel": weights_arg(self, name, "kernel", kernel, kshape)}
    b = weights_arg(self, name, "bias", bias, (num_output_maps,), optional=True)
    if b is not None:
        weights["bias"] = b
    attrs = dict(num_output_maps=num_output_maps, kernel_size_nd=kernel_shape, stride_nd=stride_nd,
                 dilation_nd=dilation_nd, pre_padding=pre, post_padding=post, padding_nd=pre,
                 padding_mode=padding_mode, num_groups=num_groups)
    out = (input.shape[0], num_output_maps, *spatial)
    return self.append_layer(LayerType.CONVOLUTION, name, [input], [(out, input.dtype)], attrs, weights)


def _pre_post(name, n, padding_nd, pre_padding, post_padding):
    """Combine padding_nd / pre_padding / post_padding as TensorRT does (later wins)."""
    if padding_nd is not None and (pre_padding is not None or post_padding is not None):
        fail(name, "give either padding_nd or pre_padding/post_padding, not both")
    if padding_nd is not None:
        p = dims(padding_nd, n, "padding_nd", name)
        return p, p
    pre = dims(pre_padding if pre_padding is not None else 0, n, "pre_padding", name)
    post = dims(post_padding if post_padding is not None else 0, n, "post_padding", name)
    return pre, post
