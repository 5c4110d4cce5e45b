"""deconvolution: ``Network.add_deconvolution_nd`` (TensorRT IDeconvolutionLayer).

Semantics: TensorRT API reference, IDeconvolutionLayer and the operator page
"Deconvolution" — the transpose (gradient) of a convolution, as ONNX
ConvTranspose and ``torch.nn.functional.conv_transpose2d/3d``: every input
cell scatters ``x * kernel`` into the output at stride S, dilation D; the
padding crops the result. The kernel is CKRS (C input channels, K/G output
maps per group); bias is per output map.
"""
from __future__ import annotations

from ..graph.enums import LayerType, PaddingMode
from ..graph.network import network_method
from .convolution import window_layer


@network_method
def add_deconvolution_nd(self, input, num_output_maps: int, kernel_shape, kernel=None, bias=True, *,
                         stride_nd=1, padding_nd=None, pre_padding=None, post_padding=None,
                         dilation_nd=1, num_groups: int = 1,
                         padding_mode: PaddingMode = PaddingMode.EXPLICIT_ROUND_DOWN, name=None):
    """Add a 2-D or 3-D deconvolution (transposed convolution).

    Output size per spatial dim (EXPLICIT_* and CAFFE_* modes):
    ``O = (I - 1) * S + (1 + D * (F - 1)) - (B + A)``; SAME_* give
    ``min(I * S, (I - 1) * S + DK)`` (``netdsl.layers.padding``).

    Args:
        input: (N..., C, H, W) or (N..., C, D, H, W) tensor, FLOAT or HALF
            (TensorRT's Deconvolution takes no BF16); dims before C are batch dims.
        num_output_maps: K, output channels (>= 1).
        kernel_shape: (R, S) or (T, R, S), in elements.
        kernel: weights of shape (C, K / num_groups, *kernel_shape) —
            TensorRT's CKRS layout, the same as torch's ConvTranspose weight.
            None (or True) declares ``<name>.kernel`` for a weight store; or
            an array or Weights. The lowering converts them to the input's dtype.
        bias: True (declare ``<name>.bias`` of shape (K,)), False/None for
            none, an array or Weights.
        stride_nd, dilation_nd: ints or per-dimension tuples (default 1).
        padding_nd / pre_padding / post_padding: cells cropped from the
            start / end of each spatial dim of the full output, in elements.
        num_groups: C and K must both divide by it.
        padding_mode: PaddingMode (or its name). ROUND_DOWN and ROUND_UP give
            the same size; CAFFE_* crop pre_padding at both ends; SAME_* ignore
            explicit padding.
        name: layer name (scoped); default ``deconvolution``, ``deconvolution1`` ...
    Returns:
        Layer with one output (N..., K, H', W') of the input's dtype;
        ``pre_padding`` / ``post_padding`` hold the crops applied.
    Raises:
        NetworkDefinitionError: kernel_shape not 2-D/3-D, input rank too low
            or not FLOAT/HALF, channels not divisible by groups, weights of
            the wrong shape (with a hint when the input looks NHWC or the
            kernel looks KRSC/RSKC, as ``add_convolution_nd``), an unknown
            padding_mode, bad padding, or padding that crops the whole
            output — naming the layer.
    """
    name = self.begin_layer(LayerType.DECONVOLUTION, name, [input])
    return window_layer(self, LayerType.DECONVOLUTION, name, input, num_output_maps, kernel_shape, kernel, bias,
                        stride_nd, padding_nd, pre_padding, post_padding, dilation_nd, num_groups, padding_mode)
