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

Runtime dimensions: data and indices dims may be runtime dims. What needs
their values is a requirement checked per optimization profile and against
the executor's feeds: DEFAULT's elementwise dim broadcasts (equal or 1),
ELEMENT's indices dims are at most the data dims (but on ``axis``), ND's
batch dims are equal. ND's index-tuple length (the last indices dim) sets
the output rank, so it must be known when the network is defined.

Shape tensors: gathering from a 1-D shape tensor whose value is known
(``Tensor.shape_value``, e.g. from ``add_shape``) with indices of known value
(a small INT32/INT64 constant) gives an output whose ``shape_value`` is the
picked values (DEFAULT mode, axis 0, no elementwise dims, indices in range).
"""
from __future__ import annotations

from ..graph.dtypes import DataType
from ..graph.enums import GatherMode, LayerType
from ..graph.network import network_method
from ..graph.shapes import format_shape, is_static, require, require_equal
from ._checks import FLOAT_TYPES, as_enum, check_axis, check_dtype, fail
from .select import broadcast_dims

INDEX_TYPES = (DataType.INT32, DataType.INT64)
GATHER_TYPES = FLOAT_TYPES + (DataType.INT8, DataType.INT32, DataType.INT64, DataType.BOOL)


def _default_shape(net, name, data, indices, axis, batch):
    if batch == 0:
        return data.shape[:axis] + indices.shape + data.shape[axis + 1:]
    if axis == 0:
        fail(name, "axis 0 is the elementwise dimension when num_elementwise_dims=1; gather on axis >= 1")
    if indices.ndim < 1:
        fail(name, f"indices {indices.name!r} must have rank >= 1 when num_elementwise_dims=1, found a scalar")
    d, i = data.shape[0], indices.shape[0]
    if is_static(d) and is_static(i):
        if d != i and 1 not in (d, i):
            fail(name, f"elementwise dimension 0 does not broadcast: data {data.name!r} {data.shape} vs "
                       f"indices {indices.name!r} {indices.shape}")
        lead = max(d, i) if min(d, i) else 0
    else:
        lead = broadcast_dims(net, name, (d, i), f"elementwise dimension 0 of data {data.name!r} and indices "
                                                 f"{indices.name!r}")
        if lead is None:  # pragma: no cover - two static sizes are decided above
            fail(name, f"elementwise dimension 0 does not broadcast: data {data.name!r} vs indices {indices.name!r}")
    return (lead,) + data.shape[1:axis] + indices.shape[1:] + data.shape[axis + 1:]


def _element_shape(net, name, data, indices, axis):
    if indices.ndim != data.ndim:
        fail(name, f"GatherMode.ELEMENT needs indices of the data's rank {data.ndim}, found indices "
                   f"{indices.name!r} {format_shape(indices.shape)} for data {data.name!r} {format_shape(data.shape)}")
    for d, (i, n) in enumerate(zip(indices.shape, data.shape)):
        if d == axis:
            continue
        if is_static(i) and is_static(n):
            if i > n:
                fail(name, f"indices {indices.name!r} {indices.shape} exceed data {data.name!r} {data.shape} in "
                           f"dimension {d} (only the gather axis {axis} may be larger)")
        elif not (i == n):
            require(net, name, lambda i_, n_: i_ <= n_, (i, n),
                    f"dimension {d} of indices {indices.name!r} at most that of data {data.name!r}: {i} <= {n}",
                    error=lambda v, d=d: f"indices {indices.name!r} exceed data {data.name!r} in dimension {d}: "
                                         f"{v[0]} > {v[1]}")
    return indices.shape


def nd_index_depth(net, name, data, indices, batch, what="indices"):
    """Check the ND-mode indices against data; return k = indices.shape[-1] (an int: it sets the output rank).

    Raises:
        NetworkDefinitionError: too small a rank, a runtime or out-of-range
            k, or static batch dims that differ (runtime batch dims are
            required equal).
    """
    if indices.ndim < batch + 1:
        fail(name, f"{what} {indices.name!r} {format_shape(indices.shape)} needs rank >= {batch + 1} "
                   f"({batch} batch dims + the index-tuple dim)")
    k = indices.shape[-1]
    if not is_static(k):
        fail(name, f"the last dim of {what} {indices.name!r} {format_shape(indices.shape)} (the index-tuple "
                   f"length) must be known when the network is defined, found the runtime dimension {k}")
    if not 1 <= k <= data.ndim - batch:
        fail(name, f"{what} {indices.name!r} {format_shape(indices.shape)}: index tuples of length {k} must have "
                   f"1..{data.ndim - batch} entries for data {data.name!r} {format_shape(data.shape)}")
    for j, (a, b) in enumerate(zip(indices.shape[:batch], data.shape[:batch])):
        if is_static(a) and is_static(b):
            if a != b:
                fail(name, f"the {batch} leading (batch) dims of {what} {indices.name!r} {indices.shape} must "
                           f"equal those of data {data.name!r} {data.shape}")
        else:
            require_equal(net, name, a, b, f"batch dim {j} of {what} {indices.name!r} and data {data.name!r}")
    return k


def _shape_value(data, indices, mode, axis, batch):
    """The picked values when gathering from a 1-D shape tensor of known value with known indices, else None."""
    if mode.name != "DEFAULT" or batch or axis != 0 or data.ndim != 1 or indices.ndim > 1:
        return None
    if data.shape_value is None or indices.shape_value is None:
        return None
    values, picked = data.shape_value, []
    for i in indices.shape_value:
        if not is_static(i) or not -len(values) <= i < len(values):
            return None
        picked.append(values[i])
    return tuple(picked)


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
        Layer with one output of the input's dtype; shape per mode (module
        doc). Its ``shape_value`` is known for a gather of known values from
        a 1-D shape tensor (module doc).
    Raises:
        NetworkDefinitionError: an unknown mode, dtype, rank, axis (a bool
            or out of range), num_elementwise_dims or dimension mismatch, or
            a runtime ND index-tuple length. A runtime requirement (module
            doc) violated later raises ShapeError at an optimization profile
            or ExecutionError at the executor's feeds.
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
        k = nd_index_depth(self, name, input, indices, batch)
        shape = indices.shape[:-1] + input.shape[batch + k:]
    else:
        axis = check_axis(name, axis, input.ndim)
        if mode.name == "DEFAULT":
            shape = _default_shape(self, name, input, indices, axis, batch)
        else:
            shape = _element_shape(self, name, input, indices, axis)
    attrs = dict(mode=mode, axis=axis, num_elementwise_dims=batch)
    value = _shape_value(input, indices, mode, axis, batch)
    return self.append_layer(LayerType.GATHER, name, [input, indices], [(shape, input.dtype)], attrs,
                             shape_values=[value])
