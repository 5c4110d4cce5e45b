"""softmax: ``Network.add_softmax`` (TensorRT ISoftMaxLayer).

Semantics: TensorRT API reference, ISoftMaxLayer:
``y = exp(x - max(x)) / sum(exp(x - max(x)))`` along one axis; the output
has the input's shape and dtype. TensorRT selects the axis with the bitmask
``ISoftMaxLayer.axes`` (exactly one bit set, bit i = axis i) and, when it is
not set, uses "the number of axes minus three" (C for NCHW, but the first
axis for rank < 3) -- a silent trap for (N, classes) logits. netdsl
therefore requires ``axes``. As everywhere in netdsl
(:func:`netdsl.layers._checks.axes_arg`), an ``int`` is TensorRT's bitmask
(``axes=1 << 1`` is axis 1; ``axes=1`` is axis 0) and a one-element
tuple/list is the axis index (``axes=(1,)``, ``axes=(-1,)``).
"""
from __future__ import annotations

from ..graph.enums import LayerType
from ..graph.network import network_method
from ._checks import FLOAT_TYPES, axes_arg, axes_mask, check_dtype, fail


@network_method
def add_softmax(self, input, *, axes, name=None):
    """Add a softmax along one axis.

    Args:
        input: FLOAT/HALF/BF16 tensor of rank >= 1.
        axes: required: TensorRT's bitmask as an ``int``, bit i = axis i,
            with exactly one bit set (``1 << axis``); or a one-element
            tuple/list holding the axis index (negative counts from the end),
            e.g. ``(-1,)`` for the classes of (N, classes) logits.
    Returns:
        Layer with one output of the input's shape and dtype; ``layer.axes``
        is the bitmask (as lowered), ``layer.axis`` the axis index.
    Raises:
        NetworkDefinitionError: non-float dtype, rank 0, or axes that are not
            exactly one axis of the input (a bool, negative, empty or too-wide
            bitmask, or an index sequence of another length or out of range).
    """
    name = self.begin_layer(LayerType.SOFTMAX, name, [input])
    check_dtype(name, input, FLOAT_TYPES)
    if input.ndim == 0:
        fail(name, f"input {input.name!r} must have rank >= 1, found a scalar")
    (axis,) = axes_arg(name, axes, input, count=1)
    attrs = dict(axes=axes_mask((axis,)), axis=axis, axis_indices=(axis,))
    return self.append_layer(LayerType.SOFTMAX, name, [input], [(input.shape, input.dtype)], attrs)
