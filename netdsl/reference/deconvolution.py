"""Reference kernel for DECONVOLUTION (TensorRT IDeconvolutionLayer): the transpose of a grouped convolution.

Each input cell scatters ``x * kernel`` into a full output of size
``(I - 1) * S + D * (F - 1) + 1`` per spatial dim (one matrix product per
group, then one strided add per kernel offset: col2im); the layer's resolved
pre/post padding is then cropped from each end. Semantics as
``netdsl.layers.deconvolution``.

Precision: kernel and bias rounded to the input's dtype as the engine holds
them (``layer_weights`` of the convolution kernel, i.e.
:func:`netdsl.reference.executor.layer_weight`); float32 accumulation; the
executor rounds the output to its dtype.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from ..graph.enums import LayerType
from .convolution import layer_weights
from .layout import flatten_batch
from .registry import kernel
from .threads import matmul


def deconvolve(x, w, b, stride, dilation, pre, post, groups):
    """x (N, C, *S) float32, w (C, K/groups, *R) -> (N, K, *O) float32 with O cropped by pre/post."""
    n_batch, channels, *spatial = x.shape
    cg, kg, *ksize = w.shape[0] // groups, *w.shape[1:]
    k_out = kg * groups
    full = tuple((i - 1) * s + d * (r - 1) + 1 for i, s, d, r in zip(spatial, stride, dilation, ksize))
    wg = w.astype(np.float32, copy=False).reshape(groups, cg, kg * math.prod(ksize))
    xg = x.reshape(n_batch, groups, cg, math.prod(spatial))
    cols = matmul(wg.transpose(0, 2, 1)[None], xg)  # (N, G, Kg * prod(R), prod(S))
    cols = cols.reshape(n_batch, k_out, *ksize, *spatial)
    out = np.zeros((n_batch, k_out) + full, np.float32)
    for offset in itertools.product(*(range(r) for r in ksize)):
        index = tuple(slice(o * d, o * d + (i - 1) * s + 1, s)
                      for o, d, i, s in zip(offset, dilation, spatial, stride))
        out[(slice(None), slice(None)) + index] += cols[(slice(None), slice(None)) + offset]
    out = out[(slice(None), slice(None)) + tuple(slice(p, f - q) for p, q, f in zip(pre, post, full))]
    if b is not None:
        out = out + b.astype(np.float32, copy=False).reshape((1, k_out) + (1,) * len(spatial))
    return out


@kernel(LayerType.DECONVOLUTION)
def deconvolution(layer, x):
    """x (N..., C, *S) -> (N..., K, *O) float32; leading dims before C are batch dims."""
    w, b = layer_weights(layer)
    x, lead = flatten_batch(x, len(layer.kernel_size_nd))
    out = deconvolve(x, w, b, layer.stride_nd, layer.dilation_nd, layer.pre_padding, layer.post_padding,
                     layer.num_groups)
    return out.reshape(lead + out.shape[1:])
