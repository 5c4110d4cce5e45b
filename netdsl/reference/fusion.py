"""Layer fusion in the reference executor: the layers after a convolution computed inside its kernel.

A CONVOLUTION whose float32 output feeds only a RELU, LEAKY_RELU (0 <= alpha
<= 1) or CLIP ACTIVATION, and is not itself asked for, hands that activation
to its kernel as an *epilogue*: applied in place to each block of output
while the block is still in cache, instead of as a pass of its own over the
whole map. The epilogues compute exactly what the ACTIVATION kernel computes
(``netdsl.reference.activation``), element by element. TensorRT fuses the
same pairs (its build report shows them as one kernel).

A MAX POOLING (window equal to stride, no padding, float32) that alone
reads the convolution's output, or the fused activation's, is fused too:
the kernel takes each block's maxima over whole windows while the block is
in cache and writes only the pooled map, so the full-size map never reaches
memory (YOLOv3-tiny's first layers: convolution, leaky ReLU, 2x2/2 max
pooling). The maxima are taken before the bias and the activation, which is
exact because both are monotone (bias addition, and the three epilogues
here); the activation then runs on a quarter of the cells. The direct
kernel does this for 2-D stride-1 layers, Winograd when a tile holds whole
windows; otherwise the kernel pools its finished output
(:func:`netdsl.reference.pooling.max_pool`, the POOLING kernel's maxima).

Results: a fused activation gives bit-identical outputs to an unfused run
(tests/reference/test_fusion.py compares with ``outputs="all"``, which
fuses nothing). A fused pooling does too in Winograd layers; in the direct
kernel the same products come from a matrix of another width, which BLAS
may round differently for small matrices (within 1e-6 of the output's
magnitude; bit-identical on every layer of YOLOv3-tiny here):
tests/reference/test_pool_fusion.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..graph.dtypes import DataType
from ..graph.enums import ActivationType, LayerType, PoolingType
from . import buffers

# layer types whose reference kernel takes ``epilogue=`` and ``pool=`` (netdsl.reference.convolution.convolution_nd)
PRODUCERS = frozenset({LayerType.CONVOLUTION})


@dataclass(frozen=True)
class Fused:
    """What a producer's kernel computes beyond its own layer: ``layers`` (the activation and/or the
    pooling, in order; the last one's output is what the kernel returns), ``epilogue`` (in-place
    function or None) and ``pool`` (window of a fused MAX pooling, or None)."""
    layers: tuple
    epilogue: Callable | None = None
    pool: tuple | None = None

    def kwargs(self) -> dict:
        """Keyword arguments for the producer's kernel."""
        return {"epilogue": self.epilogue, **({"pool": self.pool} if self.pool is not None else {})}


def _relu(block):
    np.maximum(block, np.float32(0), out=block)


def epilogue(layer):
    """In-place float32 function equal to ACTIVATION ``layer``'s kernel, or None if it has none.

    Every epilogue must be monotone non-decreasing: a fused max pooling takes its maxima before it."""
    kind = layer.activation_type
    alpha, beta = np.float32(layer.alpha), np.float32(layer.beta)
    if kind is ActivationType.RELU:
        return _relu
    if kind is ActivationType.LEAKY_RELU and 0 <= alpha <= 1:
        def leaky(block):
            np.maximum(block, np.multiply(block, alpha, out=buffers.scratch("leaky", block.shape)), out=block)
        return leaky
    if kind is ActivationType.CLIP:
        def clip(block):
            np.minimum(block, beta, out=block)
            np.maximum(block, alpha, out=block)
        return clip
    return None


def _fusable_pool(layer) -> tuple | None:
    """The window of a MAX POOLING whose windows tile the input (stride = window, no padding), else None."""
    if (layer.type is not LayerType.POOLING or layer.pooling_type is not PoolingType.MAX or layer.global_pooling
            or tuple(layer.window_size_nd) != tuple(layer.stride_nd)
            or not all(isinstance(v, int) and v == 0 for v in (*layer.pre_padding, *layer.post_padding))):
        return None
    return tuple(layer.window_size_nd)


def plan(network, wanted) -> dict:
    """{producer layer: :class:`Fused`} for every chain the executor may fuse, given the tensors the
    caller wants back (``wanted``; a wanted intermediate is never fused away)."""
    consumers: dict = {}
    for layer in network.layers:
        for t in layer.inputs:
            consumers.setdefault(t, []).append(layer)

    def sole_reader(layer):  # the one layer reading layer's float32 output, if no one else needs it
        if len(layer.outputs) != 1:
            return None
        t = layer.outputs[0]
        users = consumers.get(t, [])
        if t in wanted or t.dtype is not DataType.FLOAT or len(users) != 1 or len(users[0].inputs) != 1:
            return None
        return users[0] if users[0].outputs[0].dtype is DataType.FLOAT else None

    chains = {}
    for layer in network.layers:
        if layer.type not in PRODUCERS:
            continue
        fused, fn, pool = [], None, None
        nxt = sole_reader(layer)
        if nxt is not None and nxt.type is LayerType.ACTIVATION:
            fn = epilogue(nxt)
            if fn is not None:
                fused.append(nxt)
                nxt = sole_reader(nxt)
        if nxt is not None and len(layer.kernel_size_nd) == len(getattr(nxt, "window_size_nd", ())):
            pool = _fusable_pool(nxt)
            if pool is not None:
                fused.append(nxt)
        if fused:
            chains[layer] = Fused(tuple(fused), fn, pool)
    return chains
