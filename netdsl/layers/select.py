"""select: ``Network.add_select`` (TensorRT ISelectLayer).

Semantics: TensorRT API reference, ISelectLayer and the Select operator
page: ``out = condition ? then_input : else_input`` elementwise, like
``numpy.where``. condition is BOOL; then_input and else_input share a
dtype; all three have the same rank and each dim is equal or 1 (broadcast).
"""
from __future__ import annotations

from ..graph.dtypes import DataType
from ..graph.enums import LayerType
from ..graph.network import network_method
from ._checks import FLOAT_TYPES, check_dtype, fail

SELECT_TYPES = FLOAT_TYPES + (DataType.INT32, DataType.INT64, DataType.BOOL)


def broadcast_all(name, tensors):
    """TensorRT multidirectional broadcast of equal-rank tensors (each dim equal or 1)."""
    described = ", ".join(f"{t.name!r} {t.shape}" for t in tensors)
    if len({t.ndim for t in tensors}) != 1:
        fail(name, f"inputs must have equal rank, found {described} (add a shuffle or unsqueeze to match ranks)")
    out = []
    for i, sizes in enumerate(zip(*(t.shape for t in tensors))):
        big = {s for s in sizes if s != 1}
        if len(big) > 1:
            fail(name, f"dimension {i} does not broadcast: {described}")
        out.append(big.pop() if big else 1)
    return tuple(out)


@network_method
def add_select(self, condition, then_input, else_input, *, name=None):
    """Pick ``then_input`` where ``condition`` is true, else ``else_input``.

    Args:
        condition: BOOL tensor.
        then_input, else_input: tensors of one dtype: FLOAT, HALF, BF16,
            INT32, INT64 or BOOL.
        All three have equal rank; each dim is equal or 1.
    Returns:
        Layer with one output of the broadcast shape and the data dtype.
    Raises:
        NetworkDefinitionError: dtype, rank or broadcast mismatch.
    """
    name = self.begin_layer(LayerType.SELECT, name, [condition, then_input, else_input])
    check_dtype(name, condition, (DataType.BOOL,), "condition")
    check_dtype(name, then_input, SELECT_TYPES, "then_input")
    if else_input.dtype != then_input.dtype:
        fail(name, f"then_input {then_input.name!r} is {then_input.dtype.name} but else_input "
                   f"{else_input.name!r} is {else_input.dtype.name}; add a cast")
    shape = broadcast_all(name, [condition, then_input, else_input])
    return self.append_layer(LayerType.SELECT, name, [condition, then_input, else_input],
                             [(shape, then_input.dtype)])
