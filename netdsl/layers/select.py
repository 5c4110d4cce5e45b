"""select: ``Network.add_select`` (TensorRT ISelectLayer).

Semantics: TensorRT API reference, ISelectLayer and the Select operator
page: ``out = condition ? then_input : else_input`` elementwise, like
``numpy.where``. condition is BOOL; then_input and else_input share a
dtype; all three have the same rank and each dim is equal or 1 (broadcast).

Runtime dimensions broadcast by the same rule (:func:`broadcast_dims`): a
static 1 gives way to the other dims, a runtime dim against a static size
``s != 1`` must be ``s`` or 1 at run time and the result is ``s``, and
different runtime dims must be equal or 1 at run time (requirements
recorded on the network, checked per optimization profile and against the
executor's feeds).

Also defines :func:`broadcast_dims`, shared by the layers that broadcast
(gather, matrix multiply, einsum).
"""
from __future__ import annotations

from ..graph.dtypes import DataType
from ..graph.enums import LayerType
from ..graph.network import network_method
from ..graph.shapes import Dim, broadcast_dim, format_shape, is_static, require
from ._checks import FLOAT_TYPES, check_dtype, fail

SELECT_TYPES = FLOAT_TYPES + (DataType.INT32, DataType.INT64, DataType.BOOL)


def broadcast_dims(net, layer: str, sizes, what: str):
    """The broadcast of several dimensions (ints and runtime Dims), each equal to the others or 1.

    Static sizes decide now: two different static sizes other than 1 do not
    broadcast (returns None; the caller raises its own message). A runtime
    dim against a static size ``s != 1`` is required to be ``s`` or 1 and the
    result is ``s``; runtime dims alone broadcast as
    :func:`netdsl.graph.shapes.broadcast_dim` (equal expressions stay, others
    need equality or a 1 at run time).
    """
    big = {s for s in sizes if is_static(s) and s != 1}
    if len(big) > 1:
        return None
    runtime = []
    for s in sizes:
        if isinstance(s, Dim) and s not in runtime:
            runtime.append(s)
    if big:
        target = big.pop()
        for r in runtime:
            require(net, layer, lambda x, t=target: x == t or x == 1, (r,),
                    f"{what}: {r} broadcasts to {target} (equal to it, or 1)",
                    error=lambda v, t=target: f"{what}: {v[0]} does not broadcast to {t}")
        return target
    if not runtime:
        return 1
    out = runtime[0]
    for r in runtime[1:]:
        out = broadcast_dim(net, layer, out, r, what)
    return out


def broadcast_all(net, name, tensors):
    """TensorRT multidirectional broadcast of equal-rank tensors (each dim equal or 1; see :func:`broadcast_dims`)."""
    described = ", ".join(f"{t.name!r} {format_shape(t.shape)}" for t in tensors)
    if len({t.ndim for t in tensors}) != 1:
        fail(name, f"inputs must have equal rank, found {described} (add a shuffle or unsqueeze to match ranks)")
    out = []
    for i, sizes in enumerate(zip(*(t.shape for t in tensors))):
        d = broadcast_dims(net, name, sizes, f"dimension {i} of {', '.join(repr(t.name) for t in tensors)}")
        if d is None:
            fail(name, f"dimension {i} does not broadcast: {described}")
        out.append(d)
    return tuple(out)


@network_method
def add_select(self, condition, then_input, else_input, *, name=None):
    """Pick ``then_input`` where ``condition`` is true, else ``else_input``.

    Args:
        condition: BOOL tensor.
        then_input, else_input: tensors of one dtype: FLOAT, HALF, BF16,
            INT32, INT64 or BOOL.
        All three have equal rank; each dim is equal or 1 (runtime dims:
        required at run time, see the module docstring).
    Returns:
        Layer with one output of the broadcast shape and the data dtype.
    Raises:
        NetworkDefinitionError: dtype, rank or broadcast mismatch (a runtime
            requirement violated later raises ShapeError at a profile or
            ExecutionError at the executor's feeds).
    """
    name = self.begin_layer(LayerType.SELECT, name, [condition, then_input, else_input])
    check_dtype(name, condition, (DataType.BOOL,), "condition")
    check_dtype(name, then_input, SELECT_TYPES, "then_input")
    if else_input.dtype != then_input.dtype:
        fail(name, f"then_input {then_input.name!r} is {then_input.dtype.name} but else_input "
                   f"{else_input.name!r} is {else_input.dtype.name}; add a cast")
    shape = broadcast_all(self, name, [condition, then_input, else_input])
    return self.append_layer(LayerType.SELECT, name, [condition, then_input, else_input],
                             [(shape, then_input.dtype)])
