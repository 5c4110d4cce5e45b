"""shuffle: ``Network.add_shuffle`` (TensorRT IShuffleLayer).

Semantics: TensorRT API reference, IShuffleLayer: transpose by
``first_transpose``, reshape to ``reshape_dims`` (0 copies the input dim at
that index when ``zero_is_placeholder``, one -1 is inferred), then transpose
by ``second_transpose``. ``output.dims[i] = in.dims[perm[i]]``.
"""
from __future__ import annotations

import math

from ..graph.enums import LayerType
from ..graph.network import network_method
from ._checks import fail


def _permute(name, shape, perm, what):
    perm = tuple(int(p) for p in perm)
    if sorted(perm) != list(range(len(shape))):
        fail(name, f"{what} {perm} is not a permutation of {len(shape)} dims (input shape {shape})")
    return tuple(shape[p] for p in perm), perm


def reshape(name, shape, reshape_dims, zero_is_placeholder=True):
    """Resolve 0 and -1 in reshape_dims against ``shape`` (TensorRT rules)."""
    dims = [int(d) for d in reshape_dims]
    if zero_is_placeholder:
        for i, d in enumerate(dims):
            if d == 0:
                if i >= len(shape):
                    fail(name, f"reshape_dims {tuple(reshape_dims)}: 0 at index {i} has no input dim to copy "
                               f"(input shape {shape})")
                dims[i] = shape[i]
    if dims.count(-1) > 1 or any(d < -1 for d in dims):
        fail(name, f"reshape_dims {tuple(reshape_dims)}: at most one -1 and no other negative value")
    total = math.prod(shape)
    if -1 in dims:
        known = math.prod(d for d in dims if d != -1)
        if known == 0 or total % known:
            fail(name, f"cannot reshape {shape} ({total} elements) to {tuple(reshape_dims)}")
        dims[dims.index(-1)] = total // known
    if math.prod(dims) != total:
        fail(name, f"cannot reshape {shape} ({total} elements) to {tuple(reshape_dims)} "
                   f"({math.prod(dims)} elements)")
    return tuple(dims)


@network_method
def add_shuffle(self, input, *, first_transpose=None, reshape_dims=None, second_transpose=None,
                zero_is_placeholder: bool = True, name=None):
    """Add transpose -> reshape -> transpose.

    Args:
        input: any tensor.
        first_transpose: permutation applied first (None: identity).
        reshape_dims: new dims; 0 copies (if zero_is_placeholder), -1 infers.
        second_transpose: permutation applied after the reshape.
    Returns:
        Layer with one output, the input's dtype.
    Raises:
        NetworkDefinitionError: invalid permutation or element-count mismatch.
    """
    name = self.begin_layer(LayerType.SHUFFLE, name, [input])
    shape = input.shape
    attrs = dict(first_transpose=tuple(range(len(shape))), reshape_dims=None,
                 second_transpose=None, zero_is_placeholder=bool(zero_is_placeholder))
    if first_transpose is not None:
        shape, attrs["first_transpose"] = _permute(name, shape, first_transpose, "first_transpose")
    if reshape_dims is not None:
        attrs["reshape_dims"] = tuple(int(d) for d in reshape_dims)
        shape = reshape(name, shape, reshape_dims, zero_is_placeholder)
    attrs["second_transpose"] = tuple(range(len(shape)))
    if second_transpose is not None:
        shape, attrs["second_transpose"] = _permute(name, shape, second_transpose, "second_transpose")
    attrs["resolved_dims"] = None if reshape_dims is None else reshape(
        name, tuple(input.shape[p] for p in attrs["first_transpose"]), reshape_dims, zero_is_placeholder)
    return self.append_layer(LayerType.SHUFFLE, name, [input], [(shape, input.dtype)], attrs)
