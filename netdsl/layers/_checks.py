"""Validation helpers shared by the layer constructors.

Every helper raises NetworkDefinitionError whose message starts with the
layer's scoped name, then the tensor, then expected vs found.
"""
from __future__ import annotations

import numpy as np

from ..graph.dtypes import DataType
from ..graph.errors import NetworkDefinitionError
from ..graph.network import DerivedWeights, Weights
from ..graph.shapes import Dim

FLOAT_TYPES = (DataType.FLOAT, DataType.HALF, DataType.BF16)


def fail(layer: str, message: str):
    raise NetworkDefinitionError(f"{layer}: {message}")


def dims(value, n: int, what: str, layer: str, runtime: bool = False) -> tuple:
    """Normalise an int or a sequence to an n-tuple of ints (and runtime Dims when ``runtime``).

    Raises:
        NetworkDefinitionError: a wrong number of values, or a runtime Dim
            where the parameter must be known at definition time.
    """
    if isinstance(value, (int, np.integer, Dim)):
        value = (value,) * n
    out = []
    for v in value:
        if isinstance(v, Dim):
            if not runtime:
                fail(layer, f"{what} must be known when the network is defined, found the runtime dimension {v}")
            out.append(v)
        else:
            out.append(int(v))
    if len(out) != n:
        fail(layer, f"{what} must have {n} values, found {len(out)}: {tuple(out)}")
    return tuple(out)


def check_rank(layer: str, tensor, ranks, what: str = "input") -> None:
    ranks = (ranks,) if isinstance(ranks, int) else tuple(ranks)
    if tensor.ndim not in ranks:
        want = " or ".join(map(str, ranks))
        fail(layer, f"{what} {tensor.name!r} must have rank {want}, found shape {tensor.shape}")


def check_dtype(layer: str, tensor, allowed, what: str = "input") -> None:
    if tensor.dtype not in allowed:
        names = ", ".join(d.name for d in allowed)
        fail(layer, f"{what} {tensor.name!r} must be {names}, found {tensor.dtype.name}")


def check_axis(layer: str, axis: int, rank: int, what: str = "axis") -> int:
    """Return axis in [0, rank); negative axes count from the end."""
    if not -rank <= axis < rank:
        fail(layer, f"{what} {axis} is out of range for rank {rank}")
    return axis % rank


def weights_arg(net, layer: str, role: str, arg, shape, dtype=DataType.FLOAT, optional=False):
    """Resolve a weights argument of an add_* call.

    ``None`` (or ``True``) declares unbound weights ``<layer>.<role>`` to be
    bound from a store; an array declares them with that value; a Weights or
    DerivedWeights object is used as is (its shape must match). ``False``
    means no weights, allowed only when ``optional``.
    """
    shape = tuple(int(d) for d in shape)
    if arg is False or (optional and arg is None):
        if not optional:
            fail(layer, f"{role} weights are required")
        return None
    if arg is None or arg is True:
        return net.declare_weights(layer, role, shape, dtype)
    if isinstance(arg, (Weights, DerivedWeights)):
        if arg.shape != shape:
            fail(layer, f"{role} weights {arg.name!r} must have shape {shape}, found {arg.shape}")
        return arg
    value = np.asarray(arg)
    if value.dtype == np.float64:
        value = value.astype(np.float32)
    if value.shape != shape:
        fail(layer, f"{role} weights must have shape {shape}, found {value.shape}")
    return net.declare_weights(layer, role, shape, DataType.from_numpy(value.dtype), value=value)
