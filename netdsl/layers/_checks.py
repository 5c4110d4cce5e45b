"""Validation helpers shared by the layer constructors.

Every helper raises NetworkDefinitionError whose message starts with the
layer's scoped name, then the tensor or parameter, then expected vs found.

Conventions every ``add_*`` follows through these helpers:

* Enum parameters (:func:`as_enum`): the netdsl member (``ActivationType.RELU``),
  its name in any case (``"relu"``), or the TensorRT enum value of the same
  enum (``trt.ActivationType.RELU``, matched by name).
* ``axes`` parameters named after TensorRT's bitmask ``axes``
  (IReduceLayer, ITopKLayer, INormalizationLayer, ISoftMaxLayer:
  :func:`axes_arg`): an ``int`` is always TensorRT's bitmask, bit i = axis i
  (``1 << 1`` is axis 1); a tuple or list always holds axis indices
  (negative count from the end). A bool, a negative int, a bit at or past
  the input's rank and anything else are refused.
* Single ``axis`` parameters (concatenation, gather, scatter, cumulative,
  one-hot, scale's ``channel_axis``: :func:`check_axis`) are axis indices,
  as TensorRT's ``axis`` attributes; negative count from the end; a bool
  is refused.
* ``axes`` of squeeze / unsqueeze are TensorRT's axes *tensor* of indices
  (:func:`axis_indices`): a tuple or list only, never a bare int.
"""
from __future__ import annotations

import enum

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


def as_enum(layer: str, enum_cls, value, what: str):
    """The member of ``enum_cls`` that ``value`` names.

    Args:
        layer: the layer's scoped name (for the message).
        enum_cls: a netdsl enum (``netdsl.graph.enums``), e.g. ActivationType.
        value: a member of ``enum_cls``; its name in any case (``"leaky_relu"``);
            or a TensorRT enum value of the enum of the same name
            (``trt.ActivationType.LEAKY_RELU``), matched by its ``name``.
        what: the parameter's name, e.g. ``"type"`` or ``"padding_mode"``.
    Returns:
        the ``enum_cls`` member.
    Raises:
        NetworkDefinitionError: anything else (a member of another enum, an
            unknown name, a number), naming the layer, the parameter and the
            allowed names.
    """
    if isinstance(value, enum_cls):
        return value
    key = None
    if isinstance(value, str):
        key = value.strip().upper()
    elif not isinstance(value, enum.Enum) and type(value).__name__ == enum_cls.__name__:
        key = getattr(value, "name", None)  # a TensorRT (pybind11) enum value of the same enum
    if isinstance(key, str) and key in enum_cls.__members__:
        return enum_cls[key]
    fail(layer, f"{what} must be a {enum_cls.__name__} member or one of its names "
                f"({', '.join(enum_cls.__members__)}), found {value!r}")


def as_datatype_arg(layer: str, value, what: str) -> DataType:
    """The DataType that ``value`` names: :func:`as_enum` for DataType, plus NumPy names and dtypes.

    Accepts a DataType member, its name in any case (``"half"``), its NumPy
    name (``"float16"``), a NumPy dtype or scalar type (``np.float16``), or
    TensorRT's ``trt.DataType.HALF`` (by name).

    Raises:
        NetworkDefinitionError: anything else, naming the layer, the
            parameter and the allowed names.
    """
    if isinstance(value, DataType):
        return value
    why = ""
    if isinstance(value, str):
        key = value.strip()
        if key.upper() in DataType.__members__:
            return DataType[key.upper()]
        for member in DataType:
            if member.value == key.lower():
                return member
    elif type(value).__name__ == "DataType" and getattr(value, "name", None) in DataType.__members__:
        return DataType[value.name]  # a TensorRT DataType
    elif not isinstance(value, (enum.Enum, bool, int, float)):
        try:
            return DataType.from_numpy(value)
        except TypeError as exc:
            why = f" ({exc})" if "has no TensorRT DataType" in str(exc) else ""
    fail(layer, f"{what} must be a DataType member or one of its names ({', '.join(DataType.__members__)}) "
                f"or a NumPy dtype, found {value!r}{why}")


def index_arg(layer: str, value, what: str) -> int:
    """An axis index as a Python int (not yet range-checked); refuses bools, floats and other non-integers."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        fail(layer, f"{what} must be an int axis index, found {type(value).__name__} {value!r}")
    return int(value)


def check_axis(layer: str, axis, rank: int, what: str = "axis") -> int:
    """One axis index (TensorRT's ``axis`` attributes): return it in [0, rank); negative counts from the end.

    Raises:
        NetworkDefinitionError: a bool or non-integer, or an axis outside [-rank, rank).
    """
    axis = index_arg(layer, axis, what)
    if not -rank <= axis < rank:
        fail(layer, f"{what} {axis} is out of range for rank {rank}")
    return axis % rank


def _describe(tensor) -> str:
    return f"input {tensor.name!r} {tensor.shape}" if hasattr(tensor, "shape") else f"rank {tensor}"


def axis_indices(layer: str, axes, rank: int, what: str = "axes") -> tuple[int, ...]:
    """A tuple or list of axis indices: sorted, distinct, in [0, rank) (negatives count from the end).

    For parameters that TensorRT takes as indices (squeeze / unsqueeze
    ``axes``). A bare int is refused: elsewhere an int ``axes`` is a bitmask.

    Raises:
        NetworkDefinitionError: not a tuple/list/range, no axis, a non-int,
            repeated or out-of-range index.
    """
    if not isinstance(axes, (tuple, list, range)):
        fail(layer, f"{what} must be a tuple or list of axis indices (TensorRT's axes tensor), such as (1,), "
                    f"found {type(axes).__name__} {axes!r}")
    return _indices(layer, tuple(axes), rank, what)


def _indices(layer, axes, rank, what):
    if not axes:
        fail(layer, f"{what} must name at least one axis, found {axes!r}")
    resolved = [check_axis(layer, a, rank, f"{what} index") for a in axes]
    if len(set(resolved)) != len(resolved):
        fail(layer, f"{what} {tuple(int(a) for a in axes)} repeats an axis (rank {rank})")
    return tuple(sorted(resolved))


def axes_arg(layer: str, axes, input, what: str = "axes", *, count: int | None = None) -> tuple[int, ...]:
    """A TensorRT ``axes`` parameter: an int bitmask, or a tuple/list of axis indices.

    Semantics: TensorRT API reference, ``INetworkDefinition.add_reduce`` /
    ``add_topk`` / ``add_normalization`` and ``ISoftMaxLayer.axes``: "the bit
    in position i of bitmask axes corresponds to explicit dimension i". An
    empty mask is refused because TensorRT refuses it for all four (as
    TensorRT-RTX 1.7 reports: reduce "no dimensions to be reduced", top-k
    "must have a bit set", softmax "isSingleDimension(axes)", normalization
    "no dimensions specified by axes").

    Args:
        layer: scoped layer name.
        axes: an ``int`` (or NumPy integer): always the bitmask, bit i = axis i,
            e.g. ``1 << 1`` or ``0b110``; a ``tuple``/``list``/``range``:
            always axis indices, negative counting from the end, e.g. ``(1,)``
            or ``(-2, -1)``.
        input: the tensor the axes refer to (its rank bounds them).
        what: the parameter's name for messages.
        count: the exact number of axes required (1 for softmax and top-k).
    Returns:
        the selected axes as a sorted tuple of distinct indices in [0, rank).
    Raises:
        NetworkDefinitionError: a bool, a negative int, a bitmask with a bit at
            or past the rank or with no bit set, an empty, repeated or
            out-of-range index sequence, another type (float, str, set,
            array), or a number of axes other than ``count``.
    """
    rank = input.ndim if hasattr(input, "ndim") else int(input)
    if isinstance(axes, (bool, np.bool_)):
        fail(layer, f"{what} must be an int bitmask (bit i = axis i) or a tuple/list of axis indices, "
                    f"found bool {axes!r}")
    if isinstance(axes, (int, np.integer)):
        mask = int(axes)
        if mask < 0:
            fail(layer, f"{what} bitmask must be >= 0 (bit i = axis i), found {mask}; for axis indices "
                        f"counted from the end pass a tuple, e.g. ({mask},)")
        if mask == 0:
            fail(layer, f"{what} bitmask 0 names no axis; set bit i for axis i, e.g. 1 << 1 for axis 1")
        if mask >> rank:
            past = [i for i in range(rank, mask.bit_length()) if mask >> i & 1]
            fail(layer, f"{what} bitmask {mask} ({mask:#b}) sets bit(s) {past}, past the last axis of "
                        f"{_describe(input)} (rank {rank}); bit i is axis i: for axis indices pass a tuple, "
                        f"e.g. ({mask},)")
        resolved = tuple(i for i in range(rank) if mask >> i & 1)
    elif isinstance(axes, (tuple, list, range)):
        resolved = _indices(layer, tuple(axes), rank, what)
    else:
        fail(layer, f"{what} must be an int bitmask (bit i = axis i) or a tuple/list of axis indices, "
                    f"found {type(axes).__name__} {axes!r}")
    if count is not None and len(resolved) != count:
        fail(layer, f"{what} must name exactly {count} axis, found {len(resolved)} {resolved} "
                    f"(from {axes!r}) for {_describe(input)}")
    return resolved


def axes_mask(axes) -> int:
    """TensorRT's bitmask for axis indices: bit i set for axis i."""
    return sum(1 << int(a) for a in axes)


def weights_arg(net, layer: str, role: str, arg, shape, dtype=DataType.FLOAT, optional=False, hint=None):
    """Resolve a weights argument of an add_* call.

    ``None`` (or ``True``) declares unbound weights ``<layer>.<role>`` to be
    bound from a store; an array declares them with that value; a Weights or
    DerivedWeights object is used as is (its shape must match). ``False``
    means no weights, allowed only when ``optional``.

    ``hint``: optional ``hint(found_shape) -> str`` explaining a shape
    mismatch (e.g. a channels-last input); it is appended to the error raised
    here and, for declared weights, to the WeightsError of a later binding
    (:func:`with_shape_hint`).
    """
    shape = tuple(int(d) for d in shape)
    if arg is False or (optional and arg is None):
        if not optional:
            fail(layer, f"{role} weights are required")
        return None
    if arg is None or arg is True:
        weights = net.declare_weights(layer, role, shape, dtype)
        return with_shape_hint(weights, hint) if hint is not None else weights
    if isinstance(arg, (Weights, DerivedWeights)):
        if arg.shape != shape:
            fail(layer, f"{role} weights {arg.name!r} must have shape {shape}, found {arg.shape}"
                 + _hint_text(hint, arg.shape))
        return arg
    if type(arg).__name__ in ("Tensor", "ITensor"):
        fail(layer, f"{role} weights: expected an array (or None, to bind from a weight file), found the tensor "
                    f"{getattr(arg, 'name', '?')!r}: this argument takes values known when the network is built")
    if not isinstance(arg, (np.ndarray, np.generic, list, tuple, int, float)) and not hasattr(arg, "__array__"):
        fail(layer, f"{role} weights: expected a NumPy array (or None, to bind from a weight file), found "
                    f"{type(arg).__module__}.{type(arg).__name__}")
    value = np.asarray(arg)
    if value.dtype == np.float64:
        value = value.astype(np.float32)
    if value.shape != shape:
        fail(layer, f"{role} weights must have shape {shape}, found {value.shape}" + _hint_text(hint, value.shape))
    return net.declare_weights(layer, role, shape, DataType.from_numpy(value.dtype), value=value)


def _hint_text(hint, found) -> str:
    text = hint(tuple(found)) if hint is not None else ""
    return f"; {text}" if text else ""


def with_shape_hint(weights: Weights, hint) -> Weights:
    """Make ``weights`` append ``hint(found_shape)`` to its shape-mismatch message when bound.

    ``Network.bind_weights`` and ``Weights.bind`` report a mismatch through
    ``Weights.check``; the declared Weights becomes an instance of a subclass
    (no new slots, so the object and its identity are unchanged) whose
    ``check`` adds the hint. Returns the same object.
    """
    weights.__class__ = _hinted_class(type(weights), hint)
    return weights


def _hinted_class(base, hint):
    def check(self, value, *args, **kwargs):
        problem = base.check(self, value, *args, **kwargs)
        found = np.shape(value)
        if problem and found != self.shape:
            problem += _hint_text(hint, found)
        return problem

    return type(base.__name__, (base,), {"__slots__": (), "check": check, "__module__": base.__module__,
                                         "__doc__": base.__doc__})
