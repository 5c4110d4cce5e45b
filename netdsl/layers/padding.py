"""Window geometry of convolution, deconvolution and pooling: output size and padding per PaddingMode.

Source: TensorRT API reference, ``PaddingMode`` (NvInfer.h, "Formulas for
Convolution / Deconvolution / Pooling") and the operator pages Convolution,
Deconvolution and Pooling. Per spatial dimension, with I the input size,
B the pre padding, A the post padding, S the stride, F the window (kernel)
size, D the dilation (1 for pooling) and DK = 1 + D * (F - 1):

Convolution and pooling:

- EXPLICIT_ROUND_DOWN: O = floor((I + B + A - DK) / S) + 1
- EXPLICIT_ROUND_UP:   O = ceil((I + B + A - DK) / S) + 1; the last window may
  run past the padded input by up to S - 1 cells (the *overhang*).
- CAFFE_ROUND_DOWN / CAFFE_ROUND_UP: as EXPLICIT_* with A = B (the pre padding
  on both sides); for pooling only, O -= 1 when (O - 1) * S >= I + B (the last
  window would start in the post padding: Caffe's rule, kept by TensorRT).
  Pooling also needs B < F (Caffe's ``pad < kernel``, TensorRT's restriction).
- SAME_UPPER / SAME_LOWER: O = ceil(I / S), P = floor((I - 1) / S) * S + DK - I,
  B = floor(P / 2) (UPPER) or P - floor(P / 2) (LOWER), A = P - B. Explicit
  padding is ignored ("padding mode takes precedence"). P is clamped at 0 as
  in ONNX's ``auto_pad`` (a negative P only means the last window ends early).

Deconvolution (B and A crop the full output of size (I - 1) * S + DK):

- EXPLICIT_*, CAFFE_* (A = B): O = (I - 1) * S + DK - (B + A)
- SAME_UPPER / SAME_LOWER: O = min(I * S, (I - 1) * S + DK), P = max(DK - S, 0),
  split into B and A as above.

TensorRT's API also limits each stride, dilation and padding to 100000 and a
2-D window to fewer than 100000 cells (IConvolutionLayer / IPoolingLayer
parameter checks, as reported by TensorRT-RTX 1.7); these are checked here too.

Runtime spatial dimensions: the same formulas as expressions of the input
size (``netdsl.graph.shapes``); SAME_* padding is then an expression too
(TensorRT computes it at run time from the padding mode), and "output >= 1"
becomes a requirement checked per optimization profile. CAFFE_* modes
(TensorRT 8.6 only) need static spatial dimensions.
"""
from __future__ import annotations

from typing import NamedTuple

from ..graph.enums import PaddingMode
from ..graph.shapes import ceil_div, dmax, dmin, format_shape, is_static, is_static_shape, require_at_least
from ._checks import FLOAT_TYPES, check_dtype, dims, fail

MAX_STRIDE = MAX_DILATION = MAX_PADDING = 100_000
MAX_WINDOW_VOLUME_2D = 100_000  # exclusive bound on F0 * F1 of a 2-D window


class Geometry(NamedTuple):
    """Resolved window geometry of one layer, one entry per spatial dimension.

    Attributes:
        output: output sizes.
        pre, post: padding actually applied before/after the input (for
            deconvolution: cropped from the start/end of the full output).
            For the ROUND_UP modes ``post`` includes ``overhang``.
        overhang: cells of the last window past the padded input (ROUND_UP
            modes only; they are not padding, so AVERAGE never counts them).
    """

    output: tuple
    pre: tuple
    post: tuple
    overhang: tuple


def pre_post(layer: str, n: int, padding_nd=None, pre_padding=None, post_padding=None):
    """Combine ``padding_nd`` (symmetric) or ``pre_padding`` / ``post_padding`` into n-tuples.

    Returns:
        (pre, post); post is None when neither ``padding_nd`` nor
        ``post_padding`` was given (CAFFE modes then use ``pre``).
    Raises:
        NetworkDefinitionError: both forms given, or a wrong number of values.
    """
    if padding_nd is not None and (pre_padding is not None or post_padding is not None):
        fail(layer, "give either padding_nd or pre_padding/post_padding, not both")
    if padding_nd is not None:
        p = dims(padding_nd, n, "padding_nd", layer)
        return p, p
    pre = dims(pre_padding if pre_padding is not None else 0, n, "pre_padding", layer)
    post = dims(post_padding, n, "post_padding", layer) if post_padding is not None else None
    return pre, post


def check_input(layer: str, tensor, n: int, what: str = "kernel_shape", dtypes=FLOAT_TYPES) -> None:
    """An NC(D)HW input for an n-D window: rank n + 2 or more (leading dims are batch dims), one of ``dtypes``.

    TensorRT applies 2-D (3-D) convolution, deconvolution and pooling to the
    innermost 3 (4) dims and treats the dims before them as batch dims.
    """
    if n not in (2, 3):
        fail(layer, f"{what} must have 2 or 3 values (a 2-D or 3-D window), found {n}")
    if tensor.ndim < n + 2:
        layout = "C, H, W" if n == 2 else "C, D, H, W"
        fail(layer, f"input {tensor.name!r} must have rank {n + 2} or more (batch dims, {layout}) for a "
                    f"{n}-D window, found shape {tensor.shape}")
    check_dtype(layer, tensor, dtypes)


def _split(p, mode: PaddingMode):
    small = p // 2
    return (small, p - small) if mode.name == "SAME_UPPER" else (p - small, small)


def _window_1d(i, f, s, d, b, a, mode, kind):
    """(output, pre, post, overhang) of one dimension; kind 'convolution' or 'pooling'. ``i`` may be a Dim."""
    dk = 1 + d * (f - 1)
    if mode.name.startswith("SAME"):
        o = ceil_div(i, s)
        b, a = _split(dmax(0, (i - 1) // s * s + dk - i), mode)
        return o, b, a, 0
    span = i + b + a - dk
    o = (ceil_div(span, s) if mode.name.endswith("ROUND_UP") else span // s) + 1
    if kind == "pooling" and mode.name.startswith("CAFFE") and (o - 1) * s >= i + b:
        o -= 1
    overhang = dmax(0, (o - 1) * s + dk - (i + b + a))
    return o, b, a + overhang, overhang


def _deconv_1d(i, f, s, d, b, a, mode):
    dk = 1 + d * (f - 1)
    if mode.name.startswith("SAME"):
        b, a = _split(max(dk - s, 0), mode)
        return dmin(i * s, (i - 1) * s + dk), b, a, 0
    return (i - 1) * s + dk - (b + a), b, a, 0


def resolve(net, layer: str, spatial, kernel, stride, dilation, pre, post, mode: PaddingMode,
            kind: str = "convolution") -> Geometry:
    """Resolve output size and padding of every spatial dimension.

    Args:
        net: the Network (records requirements on runtime dimensions).
        layer: scoped layer name (for errors).
        spatial: input spatial sizes (the last len(kernel) dims).
        kernel, stride, dilation, pre: n-tuples; post: n-tuple or None (not given).
        mode: PaddingMode.
        kind: 'convolution', 'pooling' or 'deconvolution'.
    Returns:
        Geometry.
    Raises:
        NetworkDefinitionError: kernel/stride/dilation < 1 or past TensorRT's
            limits, negative or too large padding, CAFFE padding with a
            different post padding, CAFFE pooling padding >= window, a CAFFE
            mode on runtime spatial dimensions, or an output dimension < 1
            (for runtime dimensions: recorded, checked per profile).
    """
    n = len(kernel)
    caffe = mode.name.startswith("CAFFE")
    if caffe and not is_static_shape(spatial):
        fail(layer, f"{mode.name} needs static spatial dimensions, found {format_shape(spatial)}; use an "
                    f"EXPLICIT_* or SAME_* padding mode (CAFFE modes exist only in TensorRT 8.6)")
    if post is None:
        post = pre if caffe else (0,) * n
    elif caffe and tuple(post) != tuple(pre):
        fail(layer, f"{mode.name} pads symmetrically with pre_padding {tuple(pre)}; post_padding "
                    f"{tuple(post)} differs (use padding_nd, or an EXPLICIT_* mode for asymmetric padding)")
    what = "window_size" if kind == "pooling" else "kernel_shape"
    if min(kernel) < 1 or min(stride) < 1 or min(dilation) < 1:
        fail(layer, f"{what}, stride_nd and dilation_nd must be >= 1, found {what} {tuple(kernel)}, "
                    f"stride_nd {tuple(stride)}, dilation_nd {tuple(dilation)}")
    if max(stride) > MAX_STRIDE or max(dilation) > MAX_DILATION:
        fail(layer, f"stride_nd {tuple(stride)} and dilation_nd {tuple(dilation)} must be <= {MAX_STRIDE}")
    if min(pre + post) < 0 or max(pre + post) > MAX_PADDING:
        fail(layer, f"padding must be in [0, {MAX_PADDING}], found pre_padding {tuple(pre)}, "
                    f"post_padding {tuple(post)}")
    if n == 2 and kernel[0] * kernel[1] >= MAX_WINDOW_VOLUME_2D:
        fail(layer, f"{what} {tuple(kernel)} has {kernel[0] * kernel[1]} cells; TensorRT takes fewer than "
                    f"{MAX_WINDOW_VOLUME_2D} for a 2-D window")
    if kind == "pooling" and caffe and any(b >= f for b, f in zip(pre, kernel)):
        fail(layer, f"{mode.name} pooling needs padding smaller than the window, found padding "
                    f"{tuple(pre)} for window_size {tuple(kernel)}")
    dims_out = []
    for args in zip(spatial, kernel, stride, dilation, pre, post):
        dims_out.append(_deconv_1d(*args, mode) if kind == "deconvolution" else _window_1d(*args, mode, kind))
    out, pres, posts, overhangs = (tuple(v) for v in zip(*dims_out))
    for ax, o in enumerate(out):
        if not is_static(o):
            require_at_least(net, layer, o, 1, f"output spatial dimension {ax} ({kind} of input "
                                               f"{format_shape(spatial)}, {what} {tuple(kernel)})")
        elif o < 1:
            if kind == "deconvolution":
                fail(layer, f"padding {tuple(pres)}/{tuple(posts)} crops the whole output: spatial input "
                            f"{tuple(spatial)} is too small for kernel {tuple(kernel)} (stride {tuple(stride)}, "
                            f"dilation {tuple(dilation)}), output dimension {ax} would be {o}")
            fail(layer, f"spatial input {tuple(spatial)} is too small for {what} {tuple(kernel)} "
                        f"(stride {tuple(stride)}, dilation {tuple(dilation)}, padding {tuple(pres)}/{tuple(posts)}, "
                        f"{mode.name}): output dimension {ax} would be {o}")
    return Geometry(out, pres, posts, overhangs)


def window_counts(o: int, s: int, f: int, pre: int, lo: int, hi: int):
    """Cells of [lo, hi) (input coordinates) inside each of the o windows of one dimension.

    Window j covers input coordinates [j * s - pre, j * s - pre + f). With
    [lo, hi) = [0, I) this is the AVERAGE divisor that excludes padding; with
    [-B, I + A) (A without the overhang) the divisor that counts padding
    (TensorRT: "the overlap between the pooling window and the padded input").

    Returns:
        list of o ints.
    """
    return [max(0, min(j * s - pre + f, hi) - max(j * s - pre, lo)) for j in range(o)]

