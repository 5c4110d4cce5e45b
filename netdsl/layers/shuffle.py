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

import math

from ..graph.dtypes import DataType
from ..graph.enums import LayerType
from ..graph.network import network_method
from ._checks import fail


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


def resolve_reshape_dims(layer: str, shape, reshape_dims, zero_is_placeholder: bool = True) -> tuple[int, ...]:
    """Resolve the 0 and -1 entries of ``reshape_dims`` against ``shape`` (TensorRT's rules).

    Args:
        layer: the layer's scoped name, for errors.
        shape: dims of the tensor being reshaped (after ``first_transpose``).
        reshape_dims: target dims; 0 copies ``shape[i]`` when
            ``zero_is_placeholder`` (else it is a zero-size dim); one -1 is
            inferred so that the element count is kept.
    Returns:
        the target dims, all >= 0.
    Raises:
        NetworkDefinitionError: two -1, a value below -1, a placeholder 0
            past the input's rank, an indeterminate -1, or an element count
            that differs from the input's.
    """
    asked = tuple(int(d) for d in reshape_dims)
    if asked.count(-1) > 1 or any(d < -1 for d in asked):
        fail(layer, f"reshape_dims {asked}: at most one -1 and no other negative value")
    dims = list(asked)
    if zero_is_placeholder:
        for i, d in enumerate(asked):
            if d == 0:
                if i >= len(shape):
                    fail(layer, f"reshape_dims {asked}: the 0 at index {i} copies an input dim, but the input "
                                f"has shape {shape} (pass zero_is_placeholder=False for a zero-size dim)")
                dims[i] = shape[i]
    total = math.prod(shape)
    if -1 in dims:
        known = math.prod(d for d in dims if d != -1)
        if known == 0:
            fail(layer, f"reshape_dims {asked}: the -1 is indeterminate since the other dims multiply to 0")
        if total % known:
            fail(layer, f"cannot reshape {shape} ({total} elements) to {asked}: {total} is not a multiple of "
                        f"{known}")
        dims[dims.index(-1)] = total // known
    if math.prod(dims) != total:
        fail(layer, f"cannot reshape {shape} ({total} elements) to {asked} ({math.prod(dims)} elements)")
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
            it is a zero-size dim; one -1 is inferred.
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
    name = self.begin_layer(LayerType.SHUFFLE, name, [input])
    check_not_uint8(name, input)
    shape, first = _permutation(name, input.shape, range(input.ndim) if first_transpose is None else first_transpose,
                                "first_transpose")
    resolved = None
    if reshape_dims is not None:
        resolved = resolve_reshape_dims(name, shape, reshape_dims, zero_is_placeholder)
        shape = resolved
    shape, second = _permutation(name, shape, range(len(shape)) if second_transpose is None else second_transpose,
                                 "second_transpose")
    attrs = dict(first_transpose=first, second_transpose=second, zero_is_placeholder=bool(zero_is_placeholder),
                 reshape_dims=None if reshape_dims is None else tuple(int(d) for d in reshape_dims),
                 resolved_dims=resolved)
    return self.append_layer(LayerType.SHUFFLE, name, [input], [(shape, input.dtype)], attrs)
