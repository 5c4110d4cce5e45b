"""Writing a netdsl HDF5 weight store (layout: docs/weights_format.md), checksummed and atomic.

Integrity comes from HDF5's own machinery (HDF5 File Format Specification,
"Checksums"; h5py docs, "Filter pipeline" and ``libver``):

* the file is written with ``libver=("v110", "v110")``: superblock version 3
  and version-2 object headers, both with Jenkins lookup3 checksums that
  HDF5 verifies whenever it reads them, and files readable by HDF5 1.10 and
  later;
* every dataset with at least one element and one dimension is chunked and
  filtered with Fletcher-32 (h5py ``fletcher32=True``): HDF5 verifies each
  chunk's checksum when it reads the chunk;
* scalar and empty datasets cannot be chunked; they are written with the
  compact layout, which keeps the data inside the (checksummed) object header;
* string attributes are fixed-length UTF-8, stored inside the object header,
  not in the global heap (which has no checksum).
"""
from __future__ import annotations

import os
from typing import Any, Mapping

import h5py
import numpy as np

from ..files import OutputPathError, atomic_output, check_output_path
from ..graph.errors import WeightsFileError

FORMAT = "netdsl-weights"
FORMAT_VERSION = 1
LIBVER = ("v110", "v110")
RESERVED_ATTRS = ("format", "format_version", "source", "network")
_SINGLE_CHUNK_BYTES = 64 << 20  # up to this size a dataset is one chunk; above it h5py picks the chunks


def check_weight_name(name: str) -> list[str]:
    """Split a scoped weight name into its parts, or raise WeightsFileError.

    A valid name is non-empty, has no '/' and no empty '.'-separated part
    (so no leading, trailing or doubled '.').
    """
    if not isinstance(name, str) or not name:
        raise WeightsFileError(f"weight name must be a non-empty string, got {name!r}")
    if "/" in name:
        raise WeightsFileError(f"weight name {name!r} contains '/'; scope parts are separated by '.'")
    parts = name.split(".")
    if any(not p for p in parts):
        raise WeightsFileError(f"weight name {name!r} has an empty scope part (leading, trailing or doubled '.')")
    return parts


def _check_arrays(arrays: Mapping[str, Any], layouts: Mapping[str, str]) -> dict[str, np.ndarray]:
    """Validate names, scope clashes, dtypes and layouts before anything is written."""
    checked: dict[str, np.ndarray] = {}
    for name, value in arrays.items():
        check_weight_name(name)
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise WeightsFileError(f"weight {name!r}: dtype {array.dtype} cannot be stored; "
                                   f"expected a bool, integer or floating-point array")
        checked[name] = array
    for name in checked:
        parts = name.split(".")
        for i in range(1, len(parts)):
            scope = ".".join(parts[:i])
            if scope in checked:
                raise WeightsFileError(f"weight {scope!r} is also the scope of {name!r}; "
                                       f"HDF5 path /{scope.replace('.', '/')} cannot be a dataset and a group")
    for name, layout in layouts.items():
        if name not in checked:
            raise WeightsFileError(f"layout given for {name!r}, which is not among the arrays to save")
        if not isinstance(layout, str) or not layout:
            raise WeightsFileError(f"layout of {name!r} must be a non-empty str, got {layout!r}")
    return checked


def _set_attr(attrs: h5py.AttributeManager, key: str, value) -> None:
    """Store a str as a fixed-length UTF-8 string (kept in the checksummed object header); others as h5py does."""
    if isinstance(value, str):
        data = value.encode("utf-8")
        attrs.create(key, np.array(data, dtype=h5py.string_dtype("utf-8", max(1, len(data)))))
    else:
        attrs[key] = value


def _write_dataset(group: h5py.Group, leaf: str, array: np.ndarray) -> h5py.Dataset:
    """Chunked + Fletcher-32 for arrays with elements; compact (data in the object header) for scalars and empties."""
    if array.ndim and array.size:
        chunks = array.shape if array.nbytes <= _SINGLE_CHUNK_BYTES else True
        return group.create_dataset(leaf, data=array, chunks=chunks, fletcher32=True)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)  # h5py's create_dataset has no layout argument
    space = h5py.h5s.create(h5py.h5s.SCALAR) if array.ndim == 0 else h5py.h5s.create_simple(array.shape)
    dsid = h5py.h5d.create(group.id, leaf.encode("utf-8"), h5py.h5t.py_create(array.dtype, logical=True), space,
                           dcpl=dcpl)
    if array.size:
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(array))
    return h5py.Dataset(dsid)


def save_weights(path, arrays: Mapping[str, Any], *, source: str, network: str | None = None,
                 layouts: Mapping[str, str] | None = None, attrs: Mapping[str, Any] | None = None) -> None:
    """Write ``arrays`` to a netdsl HDF5 weight store at ``path``, atomically and checksummed.

    Args:
        path: destination file (str or PathLike); replaced if it exists.
        arrays: scoped weight name -> array, any shape; stored in the array's
            own dtype (bool, integer or floating point). Written in mapping order.
        source: free text naming where the values came from (root ``source``).
        network: optional network name (root ``network``).
        layouts: optional name -> axis-order string (dataset attr ``layout``),
            e.g. ``{"conv0.conv.kernel": "KCRS"}``.
        attrs: optional extra root attributes (str, int, float values); may
            not override ``format``, ``format_version``, ``source``, ``network``.
    Raises:
        WeightsFileError: a bad name ('/' or an empty scope part), a name that
            is also another name's scope, an unstorable dtype, a layout for an
            unknown name, a reserved extra attribute, the destination's
            directory missing, or an HDF5/OS error while writing. In every
            case nothing is left at ``path`` (a previous file there is kept).
    """
    path = os.fspath(path)
    layouts = dict(layouts or {})
    extra = dict(attrs or {})
    if not isinstance(source, str):
        raise WeightsFileError(f"{path}: source must be a str, got {type(source).__name__}")
    for key in extra:
        if key in RESERVED_ATTRS:
            raise WeightsFileError(f"{path}: extra attribute {key!r} is reserved; pass it as a keyword")
    checked = _check_arrays(arrays, layouts)
    try:
        check_output_path(path)
    except OutputPathError as exc:
        raise WeightsFileError(f"cannot write weights: {exc}") from None
    try:
        with atomic_output(path) as tmp, h5py.File(tmp, "x", track_order=True, libver=LIBVER) as f:
            _set_attr(f.attrs, "format", FORMAT)
            f.attrs["format_version"] = FORMAT_VERSION
            _set_attr(f.attrs, "source", source)
            if network is not None:
                _set_attr(f.attrs, "network", str(network))
            for key, value in extra.items():
                _set_attr(f.attrs, key, value)
            for name, array in checked.items():
                *scopes, leaf = name.split(".")
                group = f
                for scope in scopes:
                    group = group[scope] if scope in group else group.create_group(scope, track_order=True)
                dataset = _write_dataset(group, leaf, array)
                if name in layouts:
                    _set_attr(dataset.attrs, "layout", layouts[name])
    except (OSError, ValueError, TypeError) as exc:
        if isinstance(exc, WeightsFileError):
            raise
        raise WeightsFileError(f"cannot write weights to {path}: {exc}") from exc
