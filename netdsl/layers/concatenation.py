"""concatenation: ``Network.add_concatenation`` (TensorRT IConcatenationLayer).

Semantics: TensorRT API reference, IConcatenationLayer: inputs of equal rank
and dtype, equal in every dim but ``axis``, joined along ``axis`` in input
order. ``axis`` is an axis index, as ``IConcatenationLayer.axis`` (not a
bitmask). netdsl requires it: TensorRT's default (the rank-3 dim for
rank >= 3, else 0) silently concatenates the wrong dim.
"""
from __future__ import annotations

from ..graph.enums import LayerType
from ..graph.network import network_method
from ..graph.shapes import format_shape, is_static, require_equal
from ._checks import check_axis, fail
from .shuffle import check_not_uint8


@network_method
def add_concatenation(self, inputs, *, axis: int, name=None):
    """Concatenate tensors along ``axis`` (1 = channels for NCHW).

    Args:
        inputs: one or more tensors of equal rank (>= 1) and equal DataType
            (any but UINT8), equal in every dim but ``axis``.
        axis: index of the joined dim (TensorRT's ``axis``, an index), in
            ``[-rank, rank)``; negative counts from the end and is stored
            normalised.
    Returns:
        Layer with one output; its ``axis`` dim is the sum of the inputs'.
    Raises:
        NetworkDefinitionError: no inputs, a UINT8 input, a rank, dtype or
            dim mismatch, or ``axis`` a bool or out of range.
    """
    inputs = list(inputs)
    name = self.begin_layer(LayerType.CONCATENATION, name, inputs)
    if not inputs:
        fail(name, "needs at least one input")
    first = inputs[0]
    check_not_uint8(name, first)
    axis = check_axis(name, axis, first.ndim)
    for t in inputs[1:]:
        if t.dtype != first.dtype:
            fail(name, f"input {t.name!r} is {t.dtype.name}, expected {first.dtype.name} like {first.name!r}")
        mismatch = t.ndim != first.ndim or any(is_static(a) and is_static(b) and a != b
                                               for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis)
        if mismatch:
            fail(name, f"input {t.name!r} has shape {format_shape(t.shape)}; expected {format_shape(first.shape)} "
                       f"except on axis {axis} (like {first.name!r})")
        for i, (a, b) in enumerate(zip(t.shape, first.shape)):
            if i != axis and not (is_static(a) and is_static(b)):
                require_equal(self, name, a, b, f"dimension {i} of {t.name!r} and {first.name!r} (all but axis "
                                                f"{axis} must be equal)")
    shape = list(first.shape)
    shape[axis] = sum((t.shape[axis] for t in inputs), 0)
    value = None
    if first.ndim == 1 and all(t.shape_value is not None for t in inputs):  # concatenated shape tensors
        value = tuple(v for t in inputs for v in t.shape_value)
    return self.append_layer(LayerType.CONCATENATION, name, inputs, [(tuple(shape), first.dtype)], dict(axis=axis),
                             shape_values=[value])
