"""shuffle: ``Network.add_shuffle`` (TensorRT IShuffleLayer).

Semantics: TensorRT API reference, IShuffleLayer, and the TensorRT operator
reference, "Shuffle": transpose by ``first_transpose``
(``out.dims[i] = in.dims[perm[i]]``), reshape to ``reshape_dims``, then
transpose by ``second_transpose``. In ``reshape_dims`` a 0 copies the dim
at the same index of the (first-transposed) tensor when
``zero_is_placeholder`` and is a real zero-size dim otherwise; one -1 is
inferred from the element count, which TensorRT refuses when another dim is
0 (the -1 is then indeterminate).

Also defines :func:`check_not_uint8`, shared by the data-movement layers.
"""
from __future__ import annotations

from ..graph.dtypes import DataType
from ..graph.enums import LayerType
from ..graph.network import network_method
from ..graph.shapes import (Dim, exact_div, format_shape, is_static, normalize_dim, prod, require,
                            require_equal)
from ._checks import fail
from ._shape_inputs import is_shape_tensor_arg, shape_tensor_dims


def check_not_uint8(layer: str, tensor) -> None:
    """Refuse a UINT8 input: TensorRT lets only cast and identity layers consume UINT8 tensors.

    Raises:
        NetworkDefinitionError: ``tensor`` is UINT8.
    """
    if tensor.dtype is DataType.UINT8:
        fail(layer, f"input {tensor.name!r} is UINT8, which TensorRT lets only cast and identity layers "
                    f"consume; add_cast it to another DataType first")


def _permutation(layer: str, shape, perm, what: str):
    """Apply ``perm`` to ``shape``; return (new shape, perm as a tuple)."""
    perm = tuple(int(p) for p in perm)
    if sorted(perm) != list(range(len(shape))):
        fail(layer, f"{what} {perm} is not a permutation of the {len(shape)} dims of shape {shape}")
    return tuple(shape[p] for p in perm), perm


def resolve_reshape_dims(net, layer: str, shape, reshape_dims, zero_is_placeholder: bool = True) -> tuple:
    """Resolve the 0 and -1 entries of ``reshape_dims`` against ``shape`` (TensorRT's rules).

    Args:
        net: the Network (records requirements on runtime dimensions).
        layer: the layer's scoped name, for errors.
        shape: dims of the tensor being reshaped (after ``first_transpose``);
            ints and runtime Dims.
        reshape_dims: target dims (ints, or runtime Dims computed from other
            shapes); 0 copies ``shape[i]`` when ``zero_is_placeholder`` (else
            it is a zero-size dim); one -1 is inferred so that the element
            count is kept.
    Returns:
        the target dims (ints >= 0 and Dims).
    Raises:
        NetworkDefinitionError: two -1, a value below -1, a placeholder 0
            past the input's rank, an indeterminate -1, or an element count
            that differs from the input's (decided now for static counts;
            otherwise recorded as a requirement checked per profile).
    """
    asked = tuple(d if isinstance(d, Dim) else int(d) for d in reshape_dims)
    static = [d for d in asked if not isinstance(d, Dim)]
    if static.count(-1) > 1 or any(d < -1 for d in static):
        fail(layer, f"reshape_dims {format_shape(asked)}: at most one -1 and no other negative value")
    dims = list(asked)
    if zero_is_placeholder:
        for i, d in enumerate(asked):
            if is_static(d) and d == 0:
                if i >= len(shape):
                    fail(layer, f"reshape_dims {format_shape(asked)}: the 0 at index {i} copies an input dim, but "
                                f"the input has shape {format_shape(shape)} (pass zero_is_placeholder=False for a "
                                f"zero-size dim)")
                dims[i] = shape[i]
    total = prod(shape)
    minus = [i for i, d in enumerate(dims) if is_static(d) and d == -1]
    if minus:
        known = prod(d for i, d in enumerate(dims) if i != minus[0])
        if is_static(known) and known == 0:
            fail(layer, f"reshape_dims {format_shape(asked)}: the -1 is indeterminate since the other dims "
                        f"multiply to 0")
        inferred = exact_div(total, known)
        if inferred is None:
            if is_static(total) and is_static(known):
                fail(layer, f"cannot reshape {format_shape(shape)} ({total} elements) to {format_shape(asked)}: "
                            f"{total} is not a multiple of {known}")
            require(net, layer, lambda t, k: k != 0 and t % k == 0, (total, known),
                    f"the element count {total} to be a multiple of {known} (reshape to {format_shape(asked)})")
            inferred = total // known
        dims[minus[0]] = inferred
    require_equal(net, layer, prod(dims), total, f"the element count of reshape_dims {format_shape(asked)} equal "
                                                 f"to the input's {format_shape(shape)}",
                  error=lambda v: f"cannot reshape {format_shape(shape)} ({v[1]} elements) to {format_shape(asked)} "
                                  f"({v[0]} elements)")
    return tuple(dims)


@network_method
def add_shuffle(self, input, *, first_transpose=None, reshape_dims=None, second_transpose=None,
                zero_is_placeholder: bool = True, name=None):
    """Add transpose -> reshape -> transpose (TensorRT IShuffleLayer).

    Args:
        input: a tensor of any rank and any DataType but UINT8.
        first_transpose: permutation applied first, ``out.dims[i] =
            in.dims[perm[i]]`` (None: identity).
        reshape_dims: new dims (None: no reshape); 0 copies the dim at that
            index of the transposed tensor when ``zero_is_placeholder``, else
            it is a zero-size dim; one -1 is inferred. Ints, runtime Dims
            (``x.shape[0] * 3``), or a 1-D INT32/INT64 shape tensor computed
            in the network (TensorRT's second input; see
            ``netdsl.layers._shape_inputs``).
        second_transpose: permutation of the reshaped dims (None: identity).
        zero_is_placeholder: meaning of 0 in ``reshape_dims`` (TensorRT's
            default True).
    Returns:
        Layer with one output of the input's dtype. Attributes:
        ``first_transpose``, ``second_transpose`` (full tuples),
        ``reshape_dims`` (as given, or None), ``resolved_dims`` (no 0
        placeholder or -1 left, or None) and ``zero_is_placeholder``.
    Raises:
        NetworkDefinitionError: a UINT8 input, an invalid permutation, or
            bad reshape dims (see :func:`resolve_reshape_dims`).
    """
    dims_tensor = reshape_dims if is_shape_tensor_arg(reshape_dims) else None
    name = self.begin_layer(LayerType.SHUFFLE, name, [input] + ([dims_tensor] if dims_tensor is not None else []))
    check_not_uint8(name, input)
    shape, first = _permutation(name, input.shape, range(input.ndim) if first_transpose is None else first_transpose,
                                "first_transpose")
    if dims_tensor is not None:
        reshape_dims = shape_tensor_dims(name, dims_tensor, "reshape_dims")
    resolved = None
    if reshape_dims is not None:
        if dims_tensor is not None and dims_tensor.shape_value is None:
            resolved = reshape_dims  # values known only at run time: fresh runtime dims, resolved by the kernel
        else:
            resolved = resolve_reshape_dims(self, name, shape, reshape_dims, zero_is_placeholder)
        shape = resolved
    shape, second = _permutation(name, shape, range(len(shape)) if second_transpose is None else second_transpose,
                                 "second_transpose")
    attrs = dict(first_transpose=first, second_transpose=second, zero_is_placeholder=bool(zero_is_placeholder),
                 reshape_dims=None if reshape_dims is None else tuple(normalize_dim(d) for d in reshape_dims),
                 resolved_dims=resolved, dims_from_input=dims_tensor is not None)
    inputs = [input] + ([dims_tensor] if dims_tensor is not None else [])
    return self.append_layer(LayerType.SHUFFLE, name, inputs, [(shape, input.dtype)], attrs)
