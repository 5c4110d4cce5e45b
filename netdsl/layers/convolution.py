"""convolution: ``Network.add_convolution_nd`` (TensorRT IConvolutionLayer).

Semantics: TensorRT API reference, IConvolutionLayer and the operator page
"Convolution" — a grouped cross-correlation over the innermost 2 (3) spatial
dims of an (N..., C, H, W) (or (N..., C, D, H, W)) input with a KCRS kernel
(K = num_output_maps, C = input channels / num_groups), dilation, stride,
zero padding per PaddingMode (``netdsl.layers.padding``), optional bias of K.

Layout hints: TensorRT convolutions read channels-first input (NCHW /
NCDHW) and KCRS kernels. A kernel of the wrong shape -- given at definition
time or bound later from a weight store -- gets a hint when the input looks
channels-last (its last dim is the C that the kernel implies, dim 1 is not:
``add_shuffle(x, first_transpose=(0, 3, 1, 2))`` first) or when the kernel is
a permutation of the expected shape, such as a TFLite KRSC (OHWI) or a
TensorFlow/Keras RSCK (HWIO) kernel (the transpose to pass is named).
"""
from __future__ import annotations

import itertools

from ..graph.dtypes import DataType
from ..graph.enums import LayerType, PaddingMode
from ..graph.shapes import is_static
from ..graph.network import Tensor, network_method
from . import padding as _padding
from ._checks import FLOAT_TYPES, as_enum, dims, fail, weights_arg

# Kernel layouts of other frameworks: (label, permutation taking such an array to TensorRT's layout,
# i.e. ``kernel.transpose(perm)``), per (layer type, spatial dims). TensorRT: KCRS (convolution), CKRS
# (deconvolution); TFLite CONV_2D OHWI, TensorFlow/Keras Conv2D HWIO, Conv2DTranspose HWOI (out, in last),
# TFLite TRANSPOSE_CONV OHWI.
_FOREIGN_LAYOUTS = {
    ("CONVOLUTION", 2): [("KRSC (OHWI, TFLite)", (0, 3, 1, 2)), ("RSCK (HWIO, TensorFlow/Keras)", (3, 2, 0, 1))],
    ("CONVOLUTION", 3): [("KTRSC (ODHWI, TFLite)", (0, 4, 1, 2, 3)),
                         ("TRSCK (DHWIO, TensorFlow/Keras)", (4, 3, 0, 1, 2))],
    ("DECONVOLUTION", 2): [("KRSC (OHWI, TFLite TRANSPOSE_CONV)", (3, 0, 1, 2)),
                           ("RSKC (HWOI, TensorFlow/Keras Conv2DTranspose)", (3, 2, 0, 1))],
    ("DECONVOLUTION", 3): [("TRSKC (DHWOI, TensorFlow/Keras Conv3DTranspose)", (4, 3, 0, 1, 2))],
}
_TENSORRT_LAYOUT = {("CONVOLUTION", 2): "KCRS", ("CONVOLUTION", 3): "KCTRS",
                    ("DECONVOLUTION", 2): "CKRS", ("DECONVOLUTION", 3): "CKTRS"}


def _kernel_shape_for(type_, channels, num_output_maps, num_groups, kernel_shape):
    """TensorRT's kernel shape for ``channels`` input channels: KCRS (convolution) or CKRS (deconvolution)."""
    if type_ is LayerType.CONVOLUTION:
        return (num_output_maps, channels // num_groups, *kernel_shape)
    return (channels, num_output_maps // num_groups, *kernel_shape)


def _transpose_hint(type_, n, expected, found):
    """'kernel ... looks RSCK ...: pass kernel.transpose(...)' when ``found`` is a permutation of ``expected``."""
    if found == expected or sorted(found) != sorted(expected):
        return ""
    layout = _TENSORRT_LAYOUT[(type_.name, n)]
    named = [(label, perm) for label, perm in _FOREIGN_LAYOUTS[(type_.name, n)]
             if tuple(found[p] for p in perm) == expected]
    if named:
        looks = " or ".join(f"{label}: kernel.transpose{perm}" for label, perm in named)
        return f"kernel {found} looks {looks} gives TensorRT's {layout} {expected}"
    perm = next(p for p in itertools.permutations(range(len(found))) if tuple(found[i] for i in p) == expected)
    return (f"kernel {found} is a permutation of TensorRT's {layout} {expected}: if it is another layout, "
            f"kernel.transpose{perm} reorders it")


def layout_hint(type_, input, n, num_output_maps, num_groups, kernel_shape, found) -> str:
    """Why a kernel of shape ``found`` may not fit: a channels-last input and/or a foreign kernel layout.

    Returns:
        '' or one or two hint sentences joined by '; '.
    """
    found = tuple(found)
    expected = _kernel_shape_for(type_, input.shape[-n - 1], num_output_maps, num_groups, kernel_shape)
    hints = []
    last, first = input.shape[-1], input.shape[-n - 1]
    if (type_ is LayerType.CONVOLUTION and num_groups == 1 and len(found) == n + 2 and found[0] == num_output_maps
            and found[2:] == tuple(kernel_shape) and is_static(first) and 0 < found[1] < first
            and first % found[1] == 0 and num_output_maps % (first // found[1]) == 0):
        groups = first // found[1]
        hints.append(f"a kernel of {found[1]} input channels of {first} is a grouped convolution's: pass "
                     f"num_groups={groups}")
    if input.ndim == n + 2 and is_static(last) and last != first and last % num_groups == 0:
        if_nchw = _kernel_shape_for(type_, last, num_output_maps, num_groups, kernel_shape)
        if found == if_nchw or sorted(found) == sorted(if_nchw):
            hints.append(channels_last_hint(type_, input, n))
            if found != if_nchw and sorted(found) != sorted(expected):
                hints.append(_transpose_hint(type_, n, if_nchw, found))
    hints.append(_transpose_hint(type_, n, expected, found))
    return "; ".join(h for h in hints if h)


def channels_last_hint(type_, input, n) -> str:
    """'input ... looks NHWC; TensorRT convolutions read NCHW: add_shuffle(x, first_transpose=(0, 3, 1, 2)) first'."""
    last, first = ("NHWC", "NCHW") if n == 2 else ("NDHWC", "NCDHW")
    perm = (0, n + 1) + tuple(range(1, n + 1))
    kind = "convolutions" if type_ is LayerType.CONVOLUTION else "deconvolutions"
    return (f"input {input.name!r} {input.shape} looks {last}; TensorRT {kind} read {first}: "
            f"add_shuffle(x, first_transpose={perm}) first")


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
            The TensorRT lowering converts them to the input's dtype. Or a
            Tensor of that shape and the input's dtype (TensorRT's kernel
            input 1), e.g. the dequantized kernel of an explicitly
            quantized network.
        bias: True (declare ``<name>.bias`` of shape (K,)), False/None for
            none, an array or Weights.
        stride_nd, dilation_nd: ints or per-dimension tuples (default 1).
        padding_nd: symmetric padding; or pre_padding / post_padding for
            asymmetric padding (top/left vs bottom/right), in elements.
        num_groups: groups; C and K must both divide by it (C == K ==
            num_groups is depthwise).
        padding_mode: PaddingMode (or its name, any case); SAME_* ignore explicit
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
            the wrong shape, an unknown padding_mode, bad padding or an empty
            output — naming the layer. A wrong kernel shape (here, or a
            WeightsError when bound later) carries a hint when the input looks
            NHWC or the kernel looks KRSC/RSCK (module docstring).
    """
    name = self.begin_layer(LayerType.CONVOLUTION, name, [input] + ([kernel] if isinstance(kernel, Tensor) else []))
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
    padding_mode = as_enum(name, PaddingMode, padding_mode, "padding_mode")
    pre, post = _padding.pre_post(name, n, padding_nd, pre_padding, post_padding)
    channels = input.shape[-n - 1]
    if int(num_output_maps) != num_output_maps or num_output_maps < 1:
        fail(name, f"num_output_maps must be a positive int, found {num_output_maps!r}")
    num_output_maps = int(num_output_maps)
    if int(num_groups) != num_groups or num_groups < 1 or channels % num_groups or num_output_maps % num_groups:
        last = input.shape[-1]
        # the NHWC hint only for a static last dimension: a runtime one has no truth value (TypeError)
        nhwc = (int(num_groups) == num_groups and num_groups >= 1 and input.ndim == n + 2 and is_static(last)
                and last != channels and not last % num_groups and not num_output_maps % num_groups)
        fail(name, f"input channels ({channels}) and num_output_maps ({num_output_maps}) must both "
                   f"be divisible by num_groups ({num_groups}); input {input.name!r} has shape {input.shape}"
                   + (f"; {channels_last_hint(type_, input, n)}" if nhwc else ""))
    num_groups = int(num_groups)
    kind = type_.name.lower()
    geometry = _padding.resolve(net, name, input.shape[-n:], kernel_shape, stride_nd, dilation_nd, pre, post,
                                padding_mode, kind=kind)
    kshape = _kernel_shape_for(type_, channels, num_output_maps, num_groups, kernel_shape)

    def hint(found):
        return layout_hint(type_, input, n, num_output_maps, num_groups, kernel_shape, found)

    inputs = [input]
    if isinstance(kernel, Tensor):
        # TensorRT IConvolutionLayer input 1: the kernel as a tensor (explicit quantization feeds the
        # dequantized kernel this way, "Explicit Quantization"); convolution only.
        if type_ is not LayerType.CONVOLUTION:
            fail(name, f"kernel must be weights for a {type_.name.lower()}, found tensor {kernel.name!r}")
        if tuple(kernel.shape) != kshape or kernel.dtype is not input.dtype:
            fail(name, f"kernel tensor {kernel.name!r} must be {kshape} {input.dtype.name} (KCRS, the input's "
                       f"dtype), found {kernel.shape} {kernel.dtype.name}")
        weights, inputs = {}, [input, kernel]
    else:
        weights = {"kernel": weights_arg(net, name, "kernel", kernel, kshape, hint=hint)}
    b = weights_arg(net, name, "bias", bias, (num_output_maps,), optional=True)
    if b is not None:
        weights["bias"] = b
    attrs = dict(num_output_maps=num_output_maps, kernel_size_nd=kernel_shape, stride_nd=stride_nd,
                 dilation_nd=dilation_nd, pre_padding=geometry.pre, post_padding=geometry.post,
                 padding_nd=geometry.pre, padding_mode=padding_mode, num_groups=num_groups,
                 overhang=geometry.overhang)
    out = (*input.shape[:-n - 1], num_output_maps, *geometry.output)
    return net.append_layer(type_, name, inputs, [(out, input.dtype)], attrs, weights)
