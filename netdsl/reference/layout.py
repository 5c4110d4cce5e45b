"""Array layout helpers shared by the window kernels (convolution, deconvolution, pooling):
batch dimensions folded into one, spatial padding."""
from __future__ import annotations

import numpy as np

from . import buffers


def flatten_batch(x, n_spatial):
    """(N..., C, *S) -> (prod(N...), C, *S) float32, and the leading dims to restore."""
    lead = x.shape[:-n_spatial - 1]
    return x.reshape((-1,) + x.shape[-n_spatial - 1:]).astype(np.float32, copy=False), lead


def pad_spatial(x, pre, post, value=0.0):
    """NC* array ``x`` (any dtype) with its spatial dims padded by ``pre`` / ``post`` (>= 0) cells of
    ``value``, same dtype; ``x`` itself when there is no padding. The same array as ``np.pad`` with
    ``constant_values=value``, made by one copy into a pooled array (:func:`buffers.empty`) and the border
    slabs filled. Raises nothing of its own (paddings are the layer's, checked when it was added)."""
    if not any(pre) and not any(post):
        return x
    spatial = x.shape[2:]
    shape = x.shape[:2] + tuple(s + b + a for s, b, a in zip(spatial, pre, post))
    out = buffers.empty(shape, x.dtype)
    for d, (b, a) in enumerate(zip(pre, post)):
        index = [slice(None)] * len(shape)
        for border in ((slice(0, b),) if b else ()) + ((slice(shape[2 + d] - a, None),) if a else ()):
            index[2 + d] = border
            out[tuple(index)] = value
    out[(slice(None), slice(None)) + tuple(slice(b, b + s) for b, s in zip(pre, spatial))] = x
    return out
