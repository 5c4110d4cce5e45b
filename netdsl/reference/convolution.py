"""Reference kernel for CONVOLUTION (TensorRT IConvolutionLayer): grouped N-d
cross-correlation.

Semantics as ``netdsl.layers.convolution``; the layer stores the padding
already resolved for its PaddingMode, so the kernel only zero-pads and slides.

Algorithms: :func:`convolve` is the general kernel, im2col (in cache-sized
chunks) and one matrix product per (image, group). A float32 2-D 3x3
stride-1 undilated ungrouped layer with its kernel in weights may instead use
Winograd F(2x2, 3x3) or F(4x4, 3x3) (:mod:`netdsl.reference.winograd`),
chosen from the shapes alone by :func:`netdsl.reference.winograd.choose_tile`;
both agree with :func:`convolve` within 1e-5 relative
(tests/reference/test_winograd.py).

Precision: kernel and bias are rounded to the input's dtype as the engine
holds them (:func:`netdsl.reference.executor.layer_weight`); products
accumulate in float32; the executor rounds the output to its dtype.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..graph.dtypes import DataType
from ..graph.enums import LayerType
from . import buffers
from .executor import layer_weight
from .registry import kernel
from .threads import PIECES, parallel, split
from .winograd import choose_tile, convolve_winograd


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


def polyphase(x, kernel_size, stride, dilation, pre, post, out_spatial):
    """Zero-padded NC* input split into its stride phases, for a strided convolution's im2col.

    Returns ``(phases, taps)``: ``phases`` has shape (N, C, *stride, *Q) with
    ``phases[n, c, *p, *q] = padded[n, c, *(q * stride + p)]``; ``taps`` lists,
    per kernel tap in KCRS order, its phase index tuple and its offset in Q,
    so that output cell o of tap (r...) reads ``phases[..., *phase, *(offset + o)]``
    (every read has unit stride along the last axis).
    """
    n = len(kernel_size)
    spatial = x.shape[2:]
    need = [max(i + b + a, (o - 1) * s + d * (k - 1) + 1)
            for i, b, a, o, s, d, k in zip(spatial, pre, post, out_spatial, stride, dilation, kernel_size)]
    q = [-(-L // s) for L, s in zip(need, stride)]
    phases = buffers.empty(x.shape[:2] + tuple(stride) + tuple(q), np.float32)
    order = (0, 1) + tuple(3 + 2 * d for d in range(n)) + tuple(2 + 2 * d for d in range(n))

    def split_channels(block):  # zero-pad a block of channels, then one transposing copy into its phases
        c0, c1 = block
        padded = np.zeros((x.shape[0], c1 - c0) + tuple(qi * s for qi, s in zip(q, stride)), np.float32)
        padded[(slice(None), slice(None)) + tuple(slice(b, b + i) for b, i in zip(pre, spatial))] = x[:, c0:c1]
        shape = (x.shape[0], c1 - c0) + tuple(v for qi, s in zip(q, stride) for v in (qi, s))
        phases[:, c0:c1] = padded.reshape(shape).transpose(order)

    parallel(split_channels, split(x.shape[1], min(x.shape[1], PIECES * 2)))
    taps = []
    for tap in itertools.product(*(range(k) for k in kernel_size)):
        reach = [t * d for t, d in zip(tap, dilation)]
        taps.append((tuple(r % s for r, s in zip(reach, stride)), tuple(r // s for r, s in zip(reach, stride))))
    return phases, taps


def convolve(x, w, b, stride, dilation, pre, post, groups, out_spatial, epilogue=None):
    """x (N, C, *S) float32, w (K, C/groups, *R) -> (N, K, *out_spatial) float32.

    im2col in cache-sized chunks of output rows (from :func:`polyphase` for a
    strided layer, so every copy has unit stride), one matrix product per
    chunk (float32 accumulation), bias added to the chunk while it is in
    cache, then ``epilogue(block)`` in place on it (any elementwise
    function). Chunks run on :func:`netdsl.reference.threads.parallel`; an
    image with fewer than ``PIECES`` chunks has each chunk's output channels
    cut into blocks instead. Raises nothing of its own (shapes are the
    layer's, checked when it was added).
    """
    n_batch, channels = x.shape[:2]
    k_out, cg = w.shape[:2]
    ksize = w.shape[2:]
    n = len(ksize)
    kg = k_out // groups
    out = buffers.empty((n_batch, k_out, math.prod(out_spatial)), np.float32)
    pointwise = all(k == 1 for k in ksize) and all(s == 1 for s in stride) and not any(pre) and not any(post)
    strided = not pointwise and any(s > 1 for s in stride)
    if strided:
        phases, taps = polyphase(x, ksize, stride, dilation, pre, post, out_spatial)
    elif not pointwise:
        view = windows(x, ksize, stride, dilation, pre, post, out_spatial)
        order = (0, 1) + tuple(range(2 + n, 2 + 2 * n)) + tuple(range(2, 2 + n))
        view = view.transpose(order)  # (N, C, *R, *O)
    w2 = w.reshape(groups, kg, -1).astype(np.float32, copy=False)
    bias = None if b is None else b.reshape(k_out, 1)
    rows = _rows_per_chunk(cg * math.prod(ksize), out_spatial)
    plane = math.prod(out_spatial[1:])
    chunks = [(i, g, r0, min(out_spatial[0], r0 + rows)) for i in range(n_batch) for g in range(groups)
              for r0 in range(0, out_spatial[0], rows)]

    def columns(i, g, r0, r1):
        if pointwise:
            return x[i, g * cg:(g + 1) * cg].reshape(cg, -1)[:, r0 * plane:r1 * plane]
        if strided:  # one contiguous-row copy per kernel tap
            cols = np.empty((cg, len(taps), r1 - r0) + tuple(out_spatial[1:]), np.float32)
            for t, (phase, offset) in enumerate(taps):
                index = (i, slice(g * cg, (g + 1) * cg)) + phase + (slice(offset[0] + r0, offset[0] + r1),)
                index += tuple(slice(o, o + size) for o, size in zip(offset[1:], out_spatial[1:]))
                cols[:, t] = phases[index]
            return cols.reshape(cg * len(taps), -1)
        return view[i, g * cg:(g + 1) * cg, ..., r0:r1, *(slice(None),) * (n - 1)].reshape(
            cg * math.prod(ksize), -1)

    def product(i, g, r0, r1, cols, k0=0, k1=kg):
        target = out[i, g * kg + k0:g * kg + k1, r0 * plane:r1 * plane]
        np.matmul(w2[g, k0:k1], cols, out=target)
        if bias is not None:
            target += bias[g * kg + k0:g * kg + k1]
        if epilogue is not None:
            epilogue(target)

    # The pieces depend on one image's shape only (never on the batch size or the thread count), so an
    # image gives the same bits alone, in any batch and with any number of threads.
    if len(chunks) // n_batch >= PIECES or kg < 2 * _MIN_CHANNEL_BLOCK:
        parallel(lambda chunk: product(*chunk, columns(*chunk)), chunks)
    else:
        blocks = split(kg, min(PIECES, kg // _MIN_CHANNEL_BLOCK))
        for chunk in chunks:
            cols = np.ascontiguousarray(columns(*chunk))
            parallel(lambda block: product(*chunk, cols, *block), blocks)
    return out.reshape((n_batch, k_out) + tuple(out_spatial))


_MIN_CHANNEL_BLOCK = 8    # a piece of output channels has at least this many
_CHUNK_BYTES = 1 << 20    # an im2col chunk of about 1 MiB stays in cache for the matrix product
_CHUNK_ABOVE = 8 << 20    # below 8 MiB of im2col the whole matrix in one product is as fast
_MIN_COLUMNS = 4096       # narrower products lose more to BLAS overhead than chunking saves (measured)
_PIECE_COLUMNS = 256      # a thread's chunk of a wide map keeps at least this many columns


def _rows_per_chunk(patch, out_spatial):
    """Output rows (first spatial dim) per im2col chunk for a (patch, prod(out_spatial)) matrix: chunks
    of about 1 MiB for cache, and at least ``PIECES`` chunks (one per thread) when the map is wide
    enough that each keeps ``_PIECE_COLUMNS`` columns (else threads share output channels instead)."""
    plane, rows_total = math.prod(out_spatial[1:]), out_spatial[0]
    if patch * plane * rows_total * 4 <= _CHUNK_ABOVE or plane * rows_total < 2 * _MIN_COLUMNS:
        rows = rows_total
    else:
        rows = max(1, _CHUNK_BYTES // (patch * plane * 4), -(-_MIN_COLUMNS // plane))
    if plane * rows_total >= PIECES * _PIECE_COLUMNS:
        rows = min(rows, -(-rows_total // PIECES))
    return rows


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


def winograd_tile(layer, x_shape, out_spatial, w) -> int | None:
    """The Winograd tile size this layer runs with at input shape ``x_shape`` (N, C, H, W), or None
    for :func:`convolve`."""
    if (len(x_shape) != 4 or w.shape[2:] != (3, 3) or tuple(layer.stride_nd) != (1, 1)
            or tuple(layer.dilation_nd) != (1, 1) or layer.num_groups != 1
            or layer.inputs[0].dtype is not DataType.FLOAT
            or min(layer.pre_padding) < 0 or min(layer.post_padding) < 0):
        return None
    # chosen per image, never per batch: an image computes with the same algorithm in any batch, so a
    # batch of N gives what N single runs give
    return choose_tile(1, x_shape[1], w.shape[0], out_spatial)


def convolution_nd(layer, x, *kernel_input, epilogue=None):
    """x (N..., C, *S) -> (N..., K, *O) float32; leading dims before C are batch dims. The kernel is
    the layer's weights or, when the layer has a second input, that tensor (KCRS). ``epilogue(block)``,
    if given, runs in place on every block of the output as the kernel finishes it (the executor fuses
    an activation so: :mod:`netdsl.reference.fusion`). Winograd (:func:`winograd_tile`) or
    :func:`convolve`; semantics: TensorRT IConvolutionLayer, as ``netdsl.layers.convolution``."""
    w, b = layer_weights(layer)
    if kernel_input:
        w = np.asarray(kernel_input[0], dtype=np.float32)
    n = len(layer.kernel_size_nd)
    x, lead = flatten_batch(x, n)
    out_spatial = layer.outputs[0].shape[-n:]
    tile = None if kernel_input else winograd_tile(layer, x.shape, out_spatial, w)
    if tile is not None:
        return convolve_winograd(x, w, b, layer.pre_padding, out_spatial, tile, epilogue).reshape(
            lead + (w.shape[0],) + tuple(out_spatial))
    out = convolve(x, w, b, layer.stride_nd, layer.dilation_nd, layer.pre_padding, layer.post_padding,
                   layer.num_groups, out_spatial, epilogue)
    return out.reshape(lead + out.shape[1:])


kernel(LayerType.CONVOLUTION)(convolution_nd)
