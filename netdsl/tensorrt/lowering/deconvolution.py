"""DECONVOLUTION -> IDeconvolutionLayer (TensorRT API reference, IDeconvolutionLayer / PaddingMode)."""
from __future__ import annotations

import numpy as np

from ...graph.enums import LayerType
from .convolution import lower_window_layer
from .registry import lowering


def dilate_kernel(kernel: np.ndarray, dilation) -> np.ndarray:
    """(C, K/G, *R) -> (C, K/G, *(D * (R - 1) + 1)) with the taps D apart and zeros between.

    A deconvolution with this kernel and dilation 1 equals the dilated one
    exactly (the zero taps add nothing).
    """
    n = len(dilation)
    ksize = kernel.shape[-n:]
    out = np.zeros(kernel.shape[:-n] + tuple(d * (r - 1) + 1 for r, d in zip(ksize, dilation)), kernel.dtype)
    out[(Ellipsis,) + tuple(slice(None, None, d) for d in dilation)] = kernel
    return out


@lowering(LayerType.DECONVOLUTION)
def lower_deconvolution(ctx, layer, inputs):
    """CKRS kernel, stride, dilation, groups and padding as the netdsl layer.

    TensorRT-RTX 1.7 refuses a deconvolution that is both strided and dilated
    ("Strided & Dilated Deconv are currently not supported"); such a layer
    gets its kernel dilated with zeros and dilation 1, which is exact.
    """
    (x,) = inputs
    kernel, ksize, dilation = layer.weights["kernel"].value, layer.kernel_size_nd, layer.dilation_nd
    if max(layer.stride_nd) > 1 and max(dilation) > 1:
        kernel = dilate_kernel(kernel, dilation)
        ksize, dilation = kernel.shape[2:], (1,) * len(dilation)
    return lower_window_layer(ctx, layer, x, ctx.tm.add_deconvolution_nd, kernel, ksize, dilation)
