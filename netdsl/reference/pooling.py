"""Reference kernel for POOLING (TensorRT IPoolingLayer).

Semantics as ``netdsl.layers.pooling``: MAX pads with -inf (padding never
wins); AVERAGE sums zero-padded windows and divides by the window's overlap
with the input (``average_count_excludes_padding``) or with the padded input
(the declared padding, never the ROUND_UP overhang). The divisor is
separable, so it is the outer product of per-dimension counts.

Precision: float32 (global AVERAGE accumulates in float64); the executor
rounds the output to its dtype. (Global pooling lowered to IReduceLayer,
past TensorRT's window limit, blends MAX_AVERAGE_BLEND with two constants of
the input's dtype; the reference uses the float32 blend factor there.)
"""
from __future__ import annotations

import functools
import itertools

import numpy as np

from ..graph.enums import LayerType
from ..layers.padding import window_counts
from .convolution import flatten_batch
from .registry import kernel


def _reduce(xp, window, stride, out_spatial, op):
    """Fold ``op`` over every window offset of padded NC* input xp."""
    parts = (xp[(slice(None), slice(None)) + tuple(slice(o, o + (n - 1) * s + 1, s)
                                                   for o, n, s in zip(offset, out_spatial, stride))]
             for offset in itertools.product(*(range(k) for k in window)))
    acc = next(parts)
    second = next(parts, None)
    if second is None:
        return acc.copy()
    acc = op(acc, second)  # a new array: the rest accumulates in place
    for part in parts:
        op(acc, part, out=acc)
    return acc


def _pad(x, pads, value):
    return np.pad(x, pads, constant_values=value) if any(b or a for b, a in pads) else x


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
    pads = [(0, 0), (0, 0)] + list(zip(layer.pre_padding, layer.post_padding))
    window, stride = layer.window_size_nd, layer.stride_nd
    result = None
    if kind in ("MAX", "MAX_AVERAGE_BLEND"):
        xp = _pad(x, pads, -np.inf)
        result = _reduce(xp, window, stride, out_spatial, np.maximum)
    if kind in ("AVERAGE", "MAX_AVERAGE_BLEND"):
        average = _reduce(_pad(x, pads, 0), window, stride, out_spatial, np.add) / _divisor(layer, x.shape[2:],
                                                                                             out_spatial)
        result = average if result is None else (1 - layer.blend_factor) * result + layer.blend_factor * average
    return result.reshape(lead + result.shape[1:])
