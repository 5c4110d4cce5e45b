"""Reference kernel for CONVOLUTION (TensorRT IConvolutionLayer): grouped N-d
cross-correlation by im2col + one matrix product per (batch, group).

Semantics as ``netdsl.layers.convolution``; the layer stores the padding
already resolved for its PaddingMode, so the kernel only zero-pads and slides.

Precision: kernel and bias are rounded to the input's dtype as the engine
holds them (:func:`netdsl.reference.executor.layer_weight`); products
accumulate in float32; the executor rounds the output to its dtype.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..graph.enums import LayerType
from .executor import layer_weight
from .registry import kernel


def windows(x, kernel_size, stride, dilation, pre, post, out_spatial, pad_value=0.0):
    """Strided window view of padded NC* input: shape (N, C, *out_spatial, *kernel_size)."""
    n = len(kernel_size)
    if any(pre) or any(post):
        x = np.pad(x, [(0, 0), (0, 0)] + list(zip(pre, post)), constant_values=pad_value)
    dk = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))
    view = sliding_window_view(x, dk, axis=tuple(range(2, 2 + n)))
    index = (slice(None), slice(None))
    index += tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out_spatial, stride))
    index += tuple(slice(None, None, d) for d in dilation)
    return view[index]


def convolve(x, w, b, stride, dilation, pre, post, groups, out_spatial):
    """x (N, C, *S) float32, w (K, C/groups, *R) -> (N, K, *out_spatial) float32."""
    n_batch, channels = x.shape[:2]
    k_out, cg = w.shape[:2]
    ksize = w.shape[2:]
    n = len(ksize)
    kg = k_out // groups
    out = np.empty((n_batch, k_out, math.prod(out_spatial)), np.float32)
    pointwise = all(k == 1 for k in ksize) and all(s == 1 for s in stride) and not any(pre) and not any(post)
    if not pointwise:
        view = windows(x, ksize, stride, dilation, pre, post, out_spatial)
        order = (0, 1) + tuple(range(2 + n, 2 + 2 * n)) + tuple(range(2, 2 + n))
        view = view.transpose(order)  # (N, C, *R, *O)
    w2 = w.reshape(groups, kg, -1).astype(np.float32, copy=False)
    rows = _rows_per_chunk(cg * math.prod(ksize), out_spatial) if not pointwise else out_spatial[0]
    plane = math.prod(out_spatial[1:])
    for i in range(n_batch):
        for g in range(groups):
            if pointwise:
                cols = x[i, g * cg:(g + 1) * cg].reshape(cg, -1)
                np.matmul(w2[g], cols, out=out[i, g * kg:(g + 1) * kg])
                continue
            for r0 in range(0, out_spatial[0], rows):  # im2col in cache-sized chunks of output rows
                r1 = min(out_spatial[0], r0 + rows)
                cols = view[i, g * cg:(g + 1) * cg, ..., r0:r1, *(slice(None),) * (n - 1)]
                np.matmul(w2[g], cols.reshape(cg * math.prod(ksize), -1),
                          out=out[i, g * kg:(g + 1) * kg, r0 * plane:r1 * plane])
    out = out.reshape((n_batch, k_out) + tuple(out_spatial))
    if b is not None:
        out += b.reshape((1, k_out) + (1,) * n)
    return out


_CHUNK_BYTES = 1 << 20    # an im2col chunk of about 1 MiB stays in cache for the matrix product
_CHUNK_ABOVE = 8 << 20    # below 8 MiB of im2col the whole matrix in one product is as fast
_MIN_COLUMNS = 4096       # narrower products lose more to BLAS overhead than chunking saves (measured)


def _rows_per_chunk(patch, out_spatial):
    """Output rows (first spatial dim) per im2col chunk for a (patch, prod(out_spatial)) matrix."""
    plane = math.prod(out_spatial[1:])
    if patch * plane * out_spatial[0] * 4 <= _CHUNK_ABOVE or plane * out_spatial[0] < 2 * _MIN_COLUMNS:
        return out_spatial[0]
    return max(1, _CHUNK_BYTES // (patch * plane * 4), -(-_MIN_COLUMNS // plane))


def flatten_batch(x, n_spatial):
    """(N..., C, *S) -> (prod(N...), C, *S) float32, and the leading dims to restore."""
    lead = x.shape[:-n_spatial - 1]
    return x.reshape((-1,) + x.shape[-n_spatial - 1:]).astype(np.float32, copy=False), lead


def layer_weights(layer):
    """(kernel, bias or None) as float32, rounded to the input's dtype as TensorRT stores them.

    The TensorRT lowering converts weights to the input's dtype (a HALF
    input gets float16 weights), so a HALF or BF16 layer computes with
    rounded weights; FLOAT weights pass through untouched.
    """
    return layer_weight(layer, "kernel"), layer_weight(layer, "bias")


@kernel(LayerType.CONVOLUTION)
def convolution(layer, x, *kernel_input):
    """x (N..., C, *S) -> (N..., K, *O) float32; leading dims before C are batch dims. The kernel is
    the layer's weights or, when the layer has a second input, that tensor (KCRS)."""
    w, b = layer_weights(layer)
    if kernel_input:
        w = np.asarray(kernel_input[0], dtype=np.float32)
    n = len(layer.kernel_size_nd)
    x, lead = flatten_batch(x, n)
    out_spatial = layer.outputs[0].shape[-n:]
    out = convolve(x, w, b, layer.stride_nd, layer.dilation_nd, layer.pre_padding, layer.post_padding,
                   layer.num_groups, out_spatial)
    return out.reshape(lead + out.shape[1:])
