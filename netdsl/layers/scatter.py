"""scatter: ``Network.add_scatter`` (TensorRT IScatterLayer).

Semantics: TensorRT API reference, IScatterLayer and ScatterMode. The output
is a copy of ``data`` with elements overwritten from ``updates``:

- ELEMENT (ONNX ScatterElements, torch.Tensor.scatter): data, indices and
  updates have rank r; ``out[J with J[axis] replaced by indices[J]] =
  updates[J]``. indices and updates have equal dims, each at most the data dim.
- ND (ONNX ScatterND): the last indices dim k holds index tuples into data;
  ``out[indices[i_0..i_{q-2}]] = updates[i_0..i_{q-2}]`` where updates dims
  are ``indices.dims[:-1] + data.dims[k:]``. ``axis`` is unused (pass 0).

Indices are INT32 or INT64. "Writes to the same output element cause
undefined behavior" (TensorRT), so indices should not repeat. The TensorRT
docs do not mention negative indices; netdsl's reference counts them from
the end of the dimension, as ONNX does.

Runtime dimensions: any dim may be a runtime dim; ELEMENT's "indices equal
to updates, at most data" and ND's "updates dims = indices.dims[:-1] +
data.dims[k:]" become requirements (checked per optimization profile and
against the executor's feeds) where the dims are not known. ND's
index-tuple length k must be known when the network is defined.
"""
from __future__ import annotations

from ..graph.enums import LayerType, ScatterMode
from ..graph.network import network_method
from ..graph.shapes import format_shape, is_static, require, require_equal
from ._checks import as_enum, check_axis, check_dtype, fail
from .gather import GATHER_TYPES, INDEX_TYPES, nd_index_depth


def _same_dims(net, name, found, want, message, what):
    """``found`` equals ``want`` dim by dim: static dims decide now (``message`` on a mismatch), runtime dims
    become requirements."""
    if len(found) != len(want):
        fail(name, message)
    for d, (a, b) in enumerate(zip(found, want)):
        if is_static(a) and is_static(b):
            if a != b:
                fail(name, message)
        else:
            require_equal(net, name, a, b, f"dimension {d} of {what}")


def _element_check(net, name, data, indices, updates):
    if not data.ndim == indices.ndim == updates.ndim:
        fail(name, f"ScatterMode.ELEMENT needs data, indices and updates of equal rank, found "
                   f"{data.name!r} {format_shape(data.shape)}, {indices.name!r} {format_shape(indices.shape)}, "
                   f"{updates.name!r} {format_shape(updates.shape)}")
    _same_dims(net, name, updates.shape, indices.shape,
               f"updates {updates.name!r} {format_shape(updates.shape)} must have the shape of indices "
               f"{indices.name!r} {format_shape(indices.shape)}", f"updates {updates.name!r} and indices {indices.name!r}")
    wide = []
    for d, (i, n) in enumerate(zip(indices.shape, data.shape)):
        if is_static(i) and is_static(n):
            if i > n:
                wide.append(d)
        elif not (i == n):
            require(net, name, lambda i_, n_: i_ <= n_, (i, n),
                    f"dimension {d} of indices {indices.name!r} at most that of data {data.name!r}: {i} <= {n}",
                    error=lambda v, d=d: f"indices {indices.name!r} exceed data {data.name!r} in dimension {d}: "
                                         f"{v[0]} > {v[1]}")
    if wide:
        fail(name, f"indices {indices.name!r} {indices.shape} exceed data {data.name!r} {data.shape} "
                   f"in dimension(s) {wide}")


@network_method
def add_scatter(self, data, indices, updates, mode: ScatterMode, *, axis: int = 0, name=None):
    """Copy ``data`` and overwrite the elements (or slices) that ``indices`` name with ``updates``.

    Args:
        data: tensor of rank r >= 1; FLOAT, HALF, BF16, INT8, INT32, INT64 or BOOL.
        indices: INT32 or INT64 tensor (rank r for ELEMENT, >= 1 for ND).
        updates: tensor of data's dtype (shape rules in the module doc).
        mode: ScatterMode.ELEMENT or ScatterMode.ND (or its name).
        axis: index of ELEMENT mode's scatter dimension, as IScatterLayer.axis
            (negative counts from the end); must be 0 for ND, which ignores it.
    Returns:
        Layer with one output of data's shape and dtype.
    Raises:
        NetworkDefinitionError: an unknown mode, dtype, rank, axis (a bool or
            out of range) or dimension mismatch, or a runtime ND index-tuple
            length. A runtime requirement violated later raises ShapeError at
            an optimization profile or ExecutionError at the executor's feeds.
    """
    name = self.begin_layer(LayerType.SCATTER, name, [data, indices, updates])
    mode = as_enum(name, ScatterMode, mode, "mode")
    check_dtype(name, data, GATHER_TYPES, "data")
    check_dtype(name, indices, INDEX_TYPES, "indices")
    if updates.dtype != data.dtype:
        fail(name, f"updates {updates.name!r} is {updates.dtype.name}, expected {data.dtype.name} like data "
                   f"{data.name!r}")
    if data.ndim < 1:
        fail(name, f"data {data.name!r} must have rank >= 1, found a scalar")
    if mode.name == "ELEMENT":
        axis = check_axis(name, axis, data.ndim)
        _element_check(self, name, data, indices, updates)
    else:
        if isinstance(axis, bool) or axis != 0:
            fail(name, f"ScatterMode.ND does not use axis; pass 0, found {axis!r}")
        k = nd_index_depth(self, name, data, indices, 0)
        want = indices.shape[:-1] + data.shape[k:]
        _same_dims(self, name, updates.shape, want,
                   f"updates {updates.name!r} must have shape {format_shape(want)} (indices.dims[:-1] + "
                   f"data.dims[{k}:]), found {format_shape(updates.shape)}", f"updates {updates.name!r}")
    return self.append_layer(LayerType.SCATTER, name, [data, indices, updates], [(data.shape, data.dtype)],
                             dict(mode=mode, axis=axis))
