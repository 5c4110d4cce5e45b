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
from numpy.lib.stride_tricks import as_strided, sliding_window_view

from ..graph.dtypes import DataType
from ..graph.enums import LayerType
from . import buffers
from .layout import flatten_batch, pad_spatial
from .pooling import max_pool
from .executor import layer_weight
from .registry import kernel
from .threads import PIECES, balanced, parallel, split
from .winograd import choose_tile, convolve_winograd


def windows(x, kernel_size, stride, dilation, pre, post, out_spatial, pad_value=0.0):
    """Strided window view of padded NC* input: shape (N, C, *out_spatial, *kernel_size)."""
    n = len(kernel_size)
    x = pad_spatial(x, pre, post, pad_value)
    dk = tuple(d * (k - 1) + 1 for k, d in zip(kernel_size, dilation))
    view = sliding_window_view(x, dk, axis=tuple(range(2, 2 + n)))
    index = (slice(None), slice(None))
    index += tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(out_spatial, stride))
    index += tuple(slice(None, None, d) for d in dilation)
    return view[index]


def polyphase(x, step, pre, post):
    """Zero-padded NC* input split into its phases of stride ``step``, for a strided convolution's im2col.

    Returns ``phases`` of shape (N, C, *step, *Q) with
    ``phases[n, c, *p, *q] = padded[n, c, *(q * step + p)]`` (Q covers the
    whole padded input); :func:`phase_taps` says where each kernel tap reads.
    """
    spatial = x.shape[2:]
    q = [-(-(i + b + a) // s) for i, b, a, s in zip(spatial, pre, post, step)]
    phases = buffers.empty(x.shape[:2] + tuple(step) + tuple(q), np.float32)
    # phase p holds padded cells p, p + s, ...: input cells (first, first + s, ...) land at q0, q0 + 1, ...
    copies = []
    for phase in itertools.product(*(range(s) for s in step)):
        index, source, zeros = [], [], []
        for p, s, b, i, qd in zip(phase, step, pre, spatial, q):
            first = (p - b) % s                  # first input cell with padded position = p (mod s)
            q0 = (first + b - p) // s            # its slot in the phase
            count = max(0, -(-(i - first) // s)) if first < i else 0
            index.append(slice(q0, q0 + count))
            source.append(slice(first, first + (count - 1) * s + 1 if count else first, s))
            zeros.append((q0, q0 + count, qd))
        copies.append((phase, tuple(index), tuple(source), zeros))

    def split_channels(block):  # zero each phase's border, then one strided copy of the input into it
        c0, c1 = block
        for phase, index, source, zeros in copies:
            target = phases[(slice(None), slice(c0, c1)) + phase]
            for d, (lo, hi, qd) in enumerate(zeros):
                lead = (slice(None), slice(None)) + index[:d]
                if lo > 0:
                    target[lead + (slice(0, lo),)] = 0
                if hi < qd:
                    target[lead + (slice(hi, qd),)] = 0
            if all(sl.stop > sl.start for sl in index):
                target[(slice(None), slice(None)) + index] = x[(slice(None), slice(c0, c1)) + source]

    parallel(split_channels, split(x.shape[1], min(x.shape[1], PIECES * 2)))
    return phases


def phase_taps(kernel_size, dilation, step):
    """Per kernel tap in KCRS order, (phase index tuple, offset in Q) in :func:`polyphase`'s ``phases``
    of stride ``step``: output cell o of a convolution of that stride reads tap (r...) at
    ``phases[..., *phase, *(offset + o)]`` (unit stride along the last axis)."""
    taps = []
    for tap in itertools.product(*(range(k) for k in kernel_size)):
        reach = [t * d for t, d in zip(tap, dilation)]
        taps.append((tuple(r % s for r, s in zip(reach, step)), tuple(r // s for r, s in zip(reach, step))))
    return taps


def convolve(x, w, b, stride, dilation, pre, post, groups, out_spatial, epilogue=None, pool=None):
    """x (N, C, *S) float32, w (K, C/groups, *R) -> (N, K, *out_spatial) float32.

    im2col in cache-sized chunks of output rows (from :func:`polyphase` for a
    strided layer, so every copy has unit stride), one matrix product per
    chunk (float32 accumulation), bias added to the chunk while it is in
    cache, then ``epilogue(block)`` in place on it (any elementwise
    function). Chunks run on :func:`netdsl.reference.threads.parallel`; an
    image with fewer than ``PIECES`` chunks has each chunk's output channels
    cut into blocks instead.

    ``pool`` = (p, q), for a 2-D stride-1 convolution only, makes the result
    the maximum over non-overlapping p x q windows, (N, K, OH // p, OW // q):
    the chunk's im2col columns are ordered (column offset in the window,
    row, window), so its product is pooled by maxima of contiguous rows in
    the thread's scratch area, before the bias and the epilogue. Both are
    monotone (bias addition; the fused activations), so this is exactly the
    maximum of the activated outputs, with 1/(p q) of their work, and the
    full-size map is never written.

    Raises nothing of its own (shapes are the layer's, checked when it was
    added).
    """
    n_batch = x.shape[0]
    k_out, cg = w.shape[:2]
    ksize = w.shape[2:]
    n = len(ksize)
    kg = k_out // groups
    patch = cg * math.prod(ksize)
    grid = tuple(out_spatial) if pool is None else tuple(o // f for o, f in zip(out_spatial, pool))
    out = buffers.empty((n_batch, k_out, math.prod(grid)), np.float32)
    pointwise = all(k == 1 for k in ksize) and all(s == 1 for s in stride) and not any(pre) and not any(post)
    strided = not pointwise and any(s > 1 for s in stride)
    if pool is not None:  # the input's column phases of the window width: every im2col copy has unit stride
        pointwise = strided = False
        p, q = pool
        # (N, C, q, Hp + 1, Wq): an extra zero row, read only by dropped columns
        columns_phased = polyphase(x, (1, q), pre, (post[0] + 1, post[1]))[:, :, 0]
        wq = columns_phased.shape[-1]
        flat = columns_phased.reshape(columns_phased.shape[:3] + (-1,))
        sn, sc, _, sw = flat.strides
        reads = {}  # (column tap s, column offset jq) -> (N, C, R, rows * Wq): the runs the taps read
        for s in range(ksize[1]):
            for jq in range(q):
                reach = jq + s * dilation[1]  # padded column of output column j q + jq is j q + reach
                reads[s, jq] = as_strided(flat[:, :, reach % q, reach // q:],
                                          flat.shape[:2] + (ksize[0], grid[0] * p * wq),
                                          (sn, sc, sw * wq * dilation[0], sw))
    elif strided:
        phases = polyphase(x, stride, pre, post)
        taps = phase_taps(ksize, dilation, stride)
    elif not pointwise:
        view = windows(x, ksize, stride, dilation, pre, post, out_spatial)
        order = (0, 1) + tuple(range(2 + n, 2 + 2 * n)) + tuple(range(2, 2 + n))
        view = view.transpose(order)  # (N, C, *R, *O)
    w2 = w.reshape(groups, kg, -1).astype(np.float32, copy=False)
    bias = None if b is None else b.reshape(k_out, 1)
    if pool is None:
        rows = _rows_per_chunk(patch, out_spatial)
    else:  # chunks of whole windows, of about the size of unpooled ones
        rows = max(1, _rows_per_chunk(patch, (grid[0] * p, grid[1] * q)) // p)
    plane = math.prod(grid[1:])
    chunks = [(i, g, r0, r1) for i in range(n_batch) for g in range(groups)
              for r0, r1 in (balanced(grid[0], rows) if rows < grid[0] else [(0, grid[0])])]

    def columns(i, g, r0, r1):
        """The chunk's im2col matrix (in this thread's scratch area, except for a pointwise layer)."""
        if pointwise:
            return x[i, g * cg:(g + 1) * cg].reshape(cg, -1)[:, r0 * plane:r1 * plane]
        if pool is not None:
            return pooled_columns(i, g, r0, r1)
        cols = buffers.scratch("im2col", (cg, math.prod(ksize), r1 - r0) + tuple(out_spatial[1:]))
        if strided:  # one contiguous-row copy per kernel tap
            for t, (phase, offset) in enumerate(taps):
                index = (i, slice(g * cg, (g + 1) * cg)) + phase + (slice(offset[0] + r0, offset[0] + r1),)
                index += tuple(slice(o, o + size) for o, size in zip(offset[1:], out_spatial[1:]))
                cols[:, t] = phases[index]
        else:
            np.copyto(cols.reshape((cg,) + tuple(ksize) + cols.shape[2:]),
                      view[i, g * cg:(g + 1) * cg, ..., r0:r1, *(slice(None),) * (n - 1)])
        return cols.reshape(patch, -1)

    def pooled_columns(i, g, r0, r1):
        """(C R S, q * p(r1-r0) * Wq): column (jq, y, j) is output cell (y, j q + jq) of the chunk for
        j < OW // q; the columns past that, to the phase width Wq, are computed and dropped, so each tap
        copies whole runs of consecutive phase rows."""
        run = p * (r1 - r0) * wq
        cols = buffers.scratch("im2col", (cg,) + tuple(ksize) + (q, run))
        for (s, jq), taps_read in reads.items():
            cols[:, :, s, jq] = taps_read[i, g * cg:(g + 1) * cg, :, p * r0 * wq:p * r0 * wq + run]
        return cols.reshape(patch, -1)

    def product(i, g, r0, r1, cols, k0=0, k1=kg):
        channels = slice(g * kg + k0, g * kg + k1)
        target = out[i, channels, r0 * plane:r1 * plane]
        if pool is None:
            np.matmul(w2[g, k0:k1], cols, out=target)
        else:  # products of the whole windows, then their maxima: column offsets, then row offsets
            full = buffers.scratch("convolution-chunk", (k1 - k0, q, r1 - r0, p, wq))
            np.matmul(w2[g, k0:k1], cols, out=full.reshape(k1 - k0, -1))
            for jq in range(1, q):
                np.maximum(full[:, 0], full[:, jq], out=full[:, 0])
            pooled = target.reshape(k1 - k0, r1 - r0, grid[1])
            np.maximum(full[:, 0, :, 0, :grid[1]], full[:, 0, :, 1 % p, :grid[1]], out=pooled)
            for ip in range(2, p):
                np.maximum(pooled, full[:, 0, :, ip, :grid[1]], out=pooled)
        if bias is not None:
            target += bias[channels]
        if epilogue is not None:
            epilogue(target)

    # The pieces depend on one image's shape only (never on the batch size or the thread count), so an
    # image gives the same bits alone, in any batch and with any number of threads (in this kernel; see
    # netdsl.reference.winograd for the products that take a batch's images at once).
    if len(chunks) // n_batch >= PIECES or kg < 2 * _MIN_CHANNEL_BLOCK:
        parallel(lambda chunk: product(*chunk, columns(*chunk)), chunks)
    else:
        blocks = split(kg, min(PIECES, kg // _MIN_CHANNEL_BLOCK))
        for chunk in chunks:
            mats = columns(*chunk)  # this thread's scratch, read by all threads until parallel returns
            parallel(lambda block: product(*chunk, mats, *block), blocks)
    return out.reshape((n_batch, k_out) + grid)


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


def convolution_nd(layer, x, *kernel_input, epilogue=None, pool=None):
    """x (N..., C, *S) -> (N..., K, *O) float32; leading dims before C are batch dims. The kernel is
    the layer's weights or, when the layer has a second input, that tensor (KCRS). ``epilogue(block)``,
    if given, runs in place on every block of the output as the kernel finishes it; ``pool`` (a
    window), if given, max-pools the result over non-overlapping windows, giving (N..., K, *(O // pool))
    (the executor fuses an activation and a max pooling so: :mod:`netdsl.reference.fusion`).
    Winograd (:func:`winograd_tile`) or :func:`convolve`; semantics: TensorRT IConvolutionLayer, as
    ``netdsl.layers.convolution``."""
    w, b = layer_weights(layer)
    if kernel_input:
        w = np.asarray(kernel_input[0], dtype=np.float32)
    n = len(layer.kernel_size_nd)
    x, lead = flatten_batch(x, n)
    out_spatial = layer.outputs[0].shape[-n:]
    tile = None if kernel_input else winograd_tile(layer, x.shape, out_spatial, w)
    if tile is not None:
        # Winograd blocks are whole tiles: they pool alone when a tile holds whole windows
        inside = pool if pool is None or (tile % pool[0] == 0 and tile % pool[1] == 0) else None
        out = convolve_winograd(x, w, b, layer.pre_padding, out_spatial, tile, epilogue, inside)
    else:
        # fused pooling in the direct kernel: 2-D stride-1 layers (window offsets are then plain columns)
        inside = pool if pool is None or (n == 2 and tuple(layer.stride_nd) == (1, 1)) else None
        out = convolve(x, w, b, layer.stride_nd, layer.dilation_nd, layer.pre_padding, layer.post_padding,
                       layer.num_groups, out_spatial, epilogue, inside)
    if pool is not None and inside is None:  # the kernel could not pool (see above): pool its output
        pooled = buffers.empty(out.shape[:2] + tuple(o // p for o, p in zip(out.shape[2:], pool)), np.float32)
        max_pool(out, pool, pooled)
        out = pooled
    return out.reshape(lead + out.shape[1:])


kernel(LayerType.CONVOLUTION)(convolution_nd)
