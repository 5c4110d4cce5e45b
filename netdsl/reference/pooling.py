"""Reference kernel for POOLING (TensorRT IPoolingLayer).

Semantics as ``netdsl.layers.pooling``: MAX pads with -inf (padding never
wins); AVERAGE sums zero-padded windows (one spatial axis at a time) and
divides by the window's overlap with the input (``average_count_excludes_padding``) or with the padded input
(the declared padding, never the ROUND_UP overhang). The divisor is
separable, so it is the outer product of per-dimension counts.

Precision: float32 (global AVERAGE accumulates in float64); the executor
rounds the output to its dtype. (Global pooling lowered to IReduceLayer,
past TensorRT's window limit, blends MAX_AVERAGE_BLEND with two constants of
the input's dtype; the reference uses the float32 blend factor there.)
"""
from __future__ import annotations

import functools

import numpy as np

from ..graph.enums import LayerType
from ..layers.padding import window_counts
from . import buffers
from .layout import flatten_batch, pad_spatial
from .registry import kernel
from .threads import PIECES, parallel, split


def _fold(x, axis, window, stride, size, op, out=None):
    """Fold ``op`` over the ``window`` offsets of axis ``axis`` (stride ``stride``, ``size`` outputs)."""
    def part(offset):
        return x[(slice(None),) * axis + (slice(offset, offset + (size - 1) * stride + 1, stride),)]
    if window == 1:
        if out is None:
            return part(0)
        np.copyto(out, part(0))
        return out
    acc = op(part(0), part(1), out=out)
    for offset in range(2, window):
        op(acc, part(offset), out=acc)
    return acc


def _reduce(xp, window, stride, out_spatial, op, out=None):
    """Fold ``op`` over every window of padded NC* input xp, one spatial axis at a time (outermost
    first): max and sum are separable, and each pass reads contiguous rows."""
    n = len(window)
    acc = xp
    for d in range(n):
        acc = _fold(acc, 2 + d, window[d], stride[d], out_spatial[d], op, out if d == n - 1 else None)
    if acc is not xp:
        return acc
    if out is None:
        return xp.copy()
    np.copyto(out, xp)
    return out


def max_pool(x, window, out):
    """Max over the non-overlapping windows of float32 NC* ``x`` (stride = window, no padding) into float32
    ``out``, shape (N, C, *(S // window)): cells past the last whole window are dropped, as a pooling layer with
    EXPLICIT_ROUND_DOWN does. Used by the convolution kernel for a fused MAX pooling
    (:mod:`netdsl.reference.fusion`); the same maxima as :func:`pooling`, so the same bits."""
    _reduce(x, tuple(window), tuple(window), out.shape[2:], np.maximum, out=out)


def _divisor(layer, spatial, out_spatial):
    """AVERAGE divisor of every output cell, shape out_spatial."""
    per_dim = []
    for i, o, s, f, b, a, extra in zip(spatial, out_spatial, layer.stride_nd, layer.window_size_nd,
                                       layer.pre_padding, layer.post_padding, layer.overhang):
        lo, hi = (0, i) if layer.average_count_excludes_padding else (-b, i + a - extra)
        per_dim.append(np.array(window_counts(o, s, f, b, lo, hi), np.float32))
    return functools.reduce(np.multiply.outer, per_dim)


def _global(x, n, kind, blend):
    axes = tuple(range(2, 2 + n))
    if kind == "MAX":
        return x.max(axis=axes, keepdims=True)
    average = x.mean(axis=axes, keepdims=True, dtype=np.float64).astype(np.float32)
    if kind == "AVERAGE":
        return average
    return (1 - blend) * x.max(axis=axes, keepdims=True) + blend * average


_PARALLEL_CELLS = 1 << 18   # inputs with fewer cells pool in one piece


@kernel(LayerType.POOLING)
def pooling(layer, x):
    """x (N..., C, *S) -> (N..., C, *O) float32; leading dims before C are batch dims."""
    n = len(layer.window_size_nd)
    x, lead = flatten_batch(x, n)
    kind = layer.pooling_type.name
    if layer.global_pooling:
        result = _global(x, n, kind, layer.blend_factor)
        return result.reshape(lead + result.shape[1:])
    out_spatial = layer.outputs[0].shape[-n:]
    pre, post = layer.pre_padding, layer.post_padding
    window, stride = layer.window_size_nd, layer.stride_nd
    divisor = _divisor(layer, x.shape[2:], out_spatial) if kind != "MAX" else None
    result = buffers.empty(x.shape[:2] + tuple(out_spatial), np.float32)
    planes = result.reshape((-1,) + tuple(out_spatial))
    source = x.reshape((-1, 1) + x.shape[2:])

    def pool(block):  # a block of (image, channel) planes
        p0, p1 = block
        part = source[p0:p1]
        target = planes[p0:p1].reshape((p1 - p0, 1) + tuple(out_spatial))
        if kind == "MAX":
            _reduce(pad_spatial(part, pre, post, -np.inf), window, stride, out_spatial, np.maximum, out=target)
            return
        average = _reduce(pad_spatial(part, pre, post, 0), window, stride, out_spatial, np.add) / divisor
        if kind == "AVERAGE":
            target[...] = average
            return
        maximum = _reduce(pad_spatial(part, pre, post, -np.inf), window, stride, out_spatial, np.maximum)
        target[...] = (1 - layer.blend_factor) * maximum + layer.blend_factor * average

    # small maps in one piece: a piece costs more than pooling a few thousand cells
    parallel(pool, split(planes.shape[0], PIECES if x.size >= _PARALLEL_CELLS else 1))
    return result.reshape(lead + result.shape[1:])
