"""Layer fusion in the reference executor: an activation applied in place by the layer before it.

A CONVOLUTION whose float32 output feeds only a RELU, LEAKY_RELU (0 <= alpha
<= 1) or CLIP ACTIVATION, and is not itself asked for, hands that activation
to its kernel as an *epilogue*: applied in place to each block of output
while the block is still in cache, instead of as a pass of its own over the
whole map. The epilogues compute exactly what the ACTIVATION kernel computes
(``netdsl.reference.activation``), element by element, so a fused run gives
bit-identical outputs to an unfused one (tests/reference/test_fusion.py
compares with ``outputs="all"``, which fuses nothing). TensorRT fuses the
same pairs (its build report shows them as one kernel).
"""
from __future__ import annotations

import numpy as np

from ..graph.dtypes import DataType
from ..graph.enums import ActivationType, LayerType

# layer types whose reference kernel takes ``epilogue=`` (see netdsl.reference.convolution.convolution_nd)
PRODUCERS = frozenset({LayerType.CONVOLUTION})


def _relu(block):
    np.maximum(block, np.float32(0), out=block)


def epilogue(layer):
    """In-place float32 function equal to ACTIVATION ``layer``'s kernel, or None if it has none."""
    kind = layer.activation_type
    alpha, beta = np.float32(layer.alpha), np.float32(layer.beta)
    if kind is ActivationType.RELU:
        return _relu
    if kind is ActivationType.LEAKY_RELU and 0 <= alpha <= 1:
        def leaky(block):
            np.maximum(block, np.multiply(block, alpha), out=block)
        return leaky
    if kind is ActivationType.CLIP:
        def clip(block):
            np.minimum(block, beta, out=block)
            np.maximum(block, alpha, out=block)
        return clip
    return None


def plan(network, wanted) -> dict:
    """{producer layer: (activation layer, epilogue)} for every pair the executor may fuse, given the
    tensors the caller wants back (``wanted``; a wanted intermediate is never fused away)."""
    consumers: dict = {}
    for layer in network.layers:
        for t in layer.inputs:
            consumers.setdefault(t, []).append(layer)
    pairs = {}
    for layer in network.layers:
        if layer.type not in PRODUCERS or len(layer.outputs) != 1:
            continue
        t = layer.outputs[0]
        users = consumers.get(t, [])
        if t in wanted or t.dtype is not DataType.FLOAT or len(users) != 1:
            continue
        act = users[0]
        if act.type is not LayerType.ACTIVATION or len(act.inputs) != 1 or act.outputs[0].dtype is not DataType.FLOAT:
            continue
        fn = epilogue(act)
        if fn is not None:
            pairs[layer] = (act, fn)
    return pairs
