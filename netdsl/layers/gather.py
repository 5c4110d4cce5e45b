"""gather: ``Network.add_gather`` (TensorRT IGatherLayer).

Semantics: TensorRT API reference, IGatherLayer and GatherMode. With data of
rank r, indices of rank q and ``b = num_elementwise_dims``:

- DEFAULT (ONNX Gather): ``b`` is 0 or 1. Output dims: data dims with the
  ``axis`` dim replaced by the indices dims; with ``b = 1`` the leading dim
  of data and indices is handled elementwise (broadcast when one is 1), so
  ``out[n, ...] = gather(data[n], indices[n], axis - 1)``.
- ELEMENT (ONNX GatherElements, torch.gather): q = r, ``b = 0``;
  ``out[J] = data[J with J[axis] replaced by indices[J]]``; output dims are
  the indices dims, each at most the data dim except on ``axis``.
- ND (ONNX GatherND with ``batch_dims = b``): the last indices dim k holds
  index tuples into ``data[n_0..n_{b-1}]``; output dims are
  ``indices.dims[:-1] + data.dims[b + k:]``. ``axis`` is unused (pass 0).

Indices are INT32 or INT64. A negative index counts from the end of its
dimension (TensorRT: "using a negative index ... has undefined behavior"
only for dynamic dims, which netdsl does not have); an index still out of
range reads zero ("Zero will be stored for OOB access").
"""
from __future__ import annotations

from ..graph.dtypes import DataType
from ..graph.enums import GatherMode, LayerType
from ..graph.network import network_method
from ._checks import FLOAT_TYPES, as_enum, check_axis, check_dtype, fail

INDEX_TYPES = (DataType.INT32, DataType.INT64)
GATHER_TYPES = FLOAT_TYPES + (DataType.INT8, DataType.INT32, DataType.INT64, DataType.BOOL)


def _default_shape(name, data, indices, axis, batch):
    if batch == 0:
        return data.shape[:axis] + indices.shape + data.shape[axis + 1:]
    if axis == 0:
        fail(name, "axis 0 is the elementwise dimension when num_elementwise_dims=1; gather on axis >= 1")
    if indices.ndim < 1:
        fail(name, f"indices {indices.name!r} must have rank >= 1 when num_elementwise_dims=1, found a scalar")
    d, i = data.shape[0], indices.shape[0]
    if d != i and 1 not in (d, i):
        fail(name, f"elementwise dimension 0 does not broadcast: data {data.name!r} {data.shape} vs "
                   f"indices {indices.name!r} {indices.shape}")
    lead = max(d, i) if min(d, i) else 0
    return (lead,) + data.shape[1:axis] + indices.shape[1:] + data.shape[axis + 1:]


def _element_shape(name, data, indices, axis):
    if indices.ndim != data.ndim:
        fail(name, f"GatherMode.ELEMENT needs indices of the data's rank {data.ndim}, found indices "
                   f"{indices.name!r} {indices.shape} for data {data.name!r} {data.shape}")
    for d, (i, n) in enumerate(zip(indices.shape, data.shape)):
        if d != axis and i > n:
            fail(name, f"indices {indices.name!r} {indices.shape} exceed data {data.name!r} {data.shape} in "
                       f"dimension {d} (only the gather axis {axis} may be larger)")
    return indices.shape


def nd_index_depth(name, data, indices, batch, what="indices"):
    """Check the ND-mode indices against data; return k = indices.shape[-1]."""
    if indices.ndim < batch + 1:
        fail(name, f"{what} {indices.name!r} {indices.shape} needs rank >= {batch + 1} "
                   f"({batch} batch dims + the index-tuple dim)")
    k = indices.shape[-1]
    if not 1 <= k <= data.ndim - batch:
        fail(name, f"{what} {indices.name!r} {indices.shape}: index tuples of length {k} must have "
                   f"1..{data.ndim - batch} entries for data {data.name!r} {data.shape}")
    if indices.shape[:batch] != data.shape[:batch]:
        fail(name, f"the {batch} leading (batch) dims of {what} {indices.name!r} {indices.shape} must equal "
                   f"those of data {data.name!r} {data.shape}")
    return k


@network_method
def add_gather(self, input, indices, axis: int, *, mode: GatherMode = GatherMode.DEFAULT,
               num_elementwise_dims: int = 0, name=None):
    """Gather elements or slices of ``input`` at ``indices``.

    Args:
        input: data tensor of rank r >= 1; FLOAT, HALF, BF16, INT8, INT32, INT64 or BOOL.
        indices: INT32 or INT64 tensor (rank rules per mode, see the module doc).
        axis: index of the dimension of ``input`` to gather on (DEFAULT,
            ELEMENT), as IGatherLayer.axis; negative counts from the end.
            Must be 0 for ND, which ignores it.
        mode: GatherMode.DEFAULT, ELEMENT or ND (or its name).
        num_elementwise_dims: leading dims of indices handled elementwise:
            0 or 1 for DEFAULT, 0 for ELEMENT, 0..r-1 for ND (ONNX batch_dims).
    Returns:
        Layer with one output of the input's dtype; shape per mode (module doc).
    Raises:
        NetworkDefinitionError: an unknown mode, dtype, rank, axis (a bool
            or out of range), num_elementwise_dims or dimension mismatch.
    """
    name = self.begin_layer(LayerType.GATHER, name, [input, indices])
    mode = as_enum(name, GatherMode, mode, "mode")
    batch = int(num_elementwise_dims)
    check_dtype(name, input, GATHER_TYPES)
    check_dtype(name, indices, INDEX_TYPES, "indices")
    if input.ndim < 1:
        fail(name, f"input {input.name!r} must have rank >= 1, found a scalar")
    limits = {"DEFAULT": (0, 1), "ELEMENT": (0, 0), "ND": (0, input.ndim - 1)}[mode.name]
    if not limits[0] <= batch <= limits[1]:
        fail(name, f"num_elementwise_dims must be in [{limits[0]}, {limits[1]}] for GatherMode.{mode.name} "
                   f"and input {input.name!r} {input.shape}, found {batch}")
    if mode.name == "ND":
        if isinstance(axis, bool) or axis != 0:
            fail(name, f"GatherMode.ND does not use axis; pass 0, found {axis!r}")
        k = nd_index_depth(name, input, indices, batch)
        shape = indices.shape[:-1] + input.shape[batch + k:]
    else:
        axis = check_axis(name, axis, input.ndim)
        if mode.name == "DEFAULT":
            shape = _default_shape(name, input, indices, axis, batch)
        else:
            shape = _element_shape(name, input, indices, axis)
    attrs = dict(mode=mode, axis=axis, num_elementwise_dims=batch)
    return self.append_layer(LayerType.GATHER, name, [input, indices], [(shape, input.dtype)], attrs)
