"""softmax: ``Network.add_softmax`` (TensorRT ISoftMaxLayer).

Semantics: TensorRT API reference, ISoftMaxLayer:
``y = exp(x - max(x)) / sum(exp(x - max(x)))`` along one axis; the output
has the input's shape and dtype. TensorRT selects the axis with a bitmask
(``ISoftMaxLayer.axes``, exactly one bit set) and, when none is set, uses
"the number of axes minus three" (C for NCHW, but the first axis for rank
< 3) -- a silent trap for (N, classes) logits. netdsl therefore requires
the axis and lowers it to ``1 << axis``.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from ..graph.network import network_method
from ._checks import FLOAT_TYPES, check_axis, check_dtype, fail


@network_method
def add_softmax(self, input, *, axes, name=None):
    """Add a softmax along one axis.

    Args:
        input: FLOAT/HALF/BF16 tensor of rank >= 1.
        axes: the axis (an int, negative counts from the end, or a one-element
            sequence). Required: TensorRT's default axis depends on the rank.
    Returns:
        Layer with one output of the input's shape and dtype; the
        normalised axis is ``layer.axis`` (lowered to the bitmask ``1 << axis``).
    Raises:
        NetworkDefinitionError: non-float dtype, rank 0, more than one axis,
            or an axis out of range.
    """
    name = self.begin_layer(LayerType.SOFTMAX, name, [input])
    check_dtype(name, input, FLOAT_TYPES)
    if input.ndim == 0:
        fail(name, f"input {input.name!r} must have rank >= 1, found a scalar")
    if not isinstance(axes, (int, np.integer)):
        axes = tuple(axes)
        if len(axes) != 1:
            fail(name, f"softmax takes exactly one axis (ISoftMaxLayer.axes has one bit set), found {axes}")
        axes = axes[0]
    axis = check_axis(name, int(axes), input.ndim)
    return self.append_layer(LayerType.SOFTMAX, name, [input], [(input.shape, input.dtype)], dict(axis=axis))
