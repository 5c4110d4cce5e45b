"""constant, identity, cast: ``Network.add_constant`` / ``add_identity`` / ``add_cast``.

Semantics: TensorRT API reference, IConstantLayer (a tensor from Weights),
IIdentityLayer (copy), ICastLayer (convert to ``to_type``; float -> int
truncates toward zero, as C casts; to BOOL is ``!= 0``).
"""
from __future__ import annotations

import numpy as np

from ..graph.dtypes import as_datatype
from ..graph.enums import LayerType
from ..graph.network import network_method
from ._checks import weights_arg


@network_method
def add_constant(self, shape, weights=None, *, dtype=None, name=None):
    """Add a constant tensor.

    Args:
        shape: output dims.
        weights: an array of that shape (its dtype becomes the tensor's), or
            None to declare ``<name>.weights`` (``dtype``, default FLOAT) for a store.
    Returns:
        Layer with one output of ``shape``.
    """
    name = self.begin_layer(LayerType.CONSTANT, name, [])
    shape = tuple(int(d) for d in shape)
    if weights is not None and not hasattr(weights, "shape"):
        weights = np.asarray(weights)
    if dtype is None:
        dtype = "float32" if weights is None or not hasattr(weights, "dtype") else weights.dtype
        if isinstance(weights, np.ndarray) and weights.dtype == np.float64:
            dtype = "float32"
    dtype = as_datatype(dtype)
    if isinstance(weights, np.ndarray):
        weights = weights.astype(dtype.to_numpy(), copy=False)
    w = weights_arg(self, name, "weights", weights, shape, dtype)
    return self.append_layer(LayerType.CONSTANT, name, [], [(shape, w.dtype)], dict(shape=shape), {"weights": w})


@network_method
def add_identity(self, input, *, name=None):
    """Add a copy of ``input`` (same shape and dtype)."""
    name = self.begin_layer(LayerType.IDENTITY, name, [input])
    return self.append_layer(LayerType.IDENTITY, name, [input], [(input.shape, input.dtype)])


@network_method
def add_cast(self, input, to_type, *, name=None):
    """Add a conversion of ``input`` to DataType ``to_type`` (same shape)."""
    name = self.begin_layer(LayerType.CAST, name, [input])
    to_type = as_datatype(to_type)
    return self.append_layer(LayerType.CAST, name, [input], [(input.shape, to_type)], dict(to_type=to_type))
