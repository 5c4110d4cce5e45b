"""Output size and effective padding of convolution/pooling windows, per PaddingMode.

Source: TensorRT API reference, ``PaddingMode`` (formulas per mode), and
``IPoolingLayer``/``IConvolutionLayer``. With I input size, B pre padding,
A post padding, S stride and DK = 1 + D*(K-1) the dilated window:

- EXPLICIT_ROUND_DOWN: O = floor((I + B + A - DK) / S) + 1
- EXPLICIT_ROUND_UP:   O = ceil((I + B + A - DK) / S) + 1
- SAME_UPPER / SAME_LOWER: O = ceil(I / S); P = max(0, (O - 1) * S + DK - I) split
  evenly, the odd element after (UPPER) or before (LOWER); explicit padding ignored.
- CAFFE_ROUND_DOWN / CAFFE_ROUND_UP: O = floor/ceil((I + 2B - DK) / S) + 1 using the
  pre padding on both sides; for pooling with ROUND_UP, the last window is
  dropped if it would start in the post padding (Caffe's rule).
"""
from __future__ import annotations

import math

from ..graph.enums import PaddingMode


def window_output(i, k, s, d, pre, post, mode, pooling=False):
    """Return (output_size, pre, post) for one spatial dimension.

    The returned pre/post are the paddings actually applied; for
    EXPLICIT_ROUND_UP and CAFFE_ROUND_UP the post padding grows to cover the
    last window (the extra cells are padding: ignored by max pooling).
    """
    dk = 1 + d * (k - 1)
    name = mode.name
    if name in ("SAME_UPPER", "SAME_LOWER"):
        o = -(-i // s)
        p = max(0, (o - 1) * s + dk - i)
        small, big = p // 2, p - p // 2
        pre, post = (small, big) if name == "SAME_UPPER" else (big, small)
        return o, pre, post
    if name.startswith("CAFFE"):
        post = pre
    span = i + pre + post - dk
    if name.endswith("ROUND_UP"):
        o = -(-span // s) + 1
        if pooling and name == "CAFFE_ROUND_UP" and (o - 1) * s >= i + pre:
            o -= 1
    else:
        o = math.floor(span / s) + 1
    post = max(post, (o - 1) * s + dk - i - pre)
    return o, pre, post


def resolve(layer, spatial, kernel, stride, dilation, pre, post, mode, pooling=False):
    """Apply window_output to every spatial dimension; raise if an output is < 1."""
    from ._checks import fail
    outs, pres, posts = [], [], []
    for ax, (i, k, s, d, b, a) in enumerate(zip(spatial, kernel, stride, dilation, pre, post)):
        if min(k, s, d) < 1 or min(b, a) < 0:
            fail(layer, f"kernel/stride/dilation must be >= 1 and padding >= 0, found kernel {kernel}, "
                        f"stride {stride}, dilation {dilation}, padding {pre}/{post}")
        o, b2, a2 = window_output(i, k, s, d, b, a, mode, pooling)
        if o < 1:
            fail(layer, f"spatial input {tuple(spatial)} is too small for kernel {tuple(kernel)} "
                        f"(stride {tuple(stride)}, dilation {tuple(dilation)}, padding {tuple(pre)}/{tuple(post)}): "
                        f"output dimension {ax} would be {o}")
        outs.append(o), pres.append(b2), posts.append(a2)
    return tuple(outs), tuple(pres), tuple(posts)


DEFAULT = PaddingMode.EXPLICIT_ROUND_DOWN
