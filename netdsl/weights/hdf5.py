"""The netdsl HDF5 weight store: one dataset per parameter, readable with plain h5py.

Layout (format "netdsl-weights", format_version 1; see docs/weights_format.md):

* One dataset per parameter. Its HDF5 path is the weight's scoped name with
  '.' replaced by '/': ``conv0.conv.kernel`` -> ``/conv0/conv/kernel``.
  Names are non-empty, '.'-separated parts, none empty and none containing
  '/'. A name cannot also be the scope of another name (``a.b`` and
  ``a.b.c`` cannot both exist: ``/a/b`` would be a dataset and a group).
* Each dataset holds the array in its own dtype (float32 for learned
  weights) and shape, uncompressed. Optional dataset attribute ``layout``
  (str) names the axis order, e.g. ``"KCRS"`` for convolution kernels as
  TensorRT's IConvolutionLayer expects them: K output maps, C input channels
  / groups, R kernel rows, S kernel columns.
* Root attributes: ``format = "netdsl-weights"``, ``format_version = 1``,
  ``source`` (free text: where the values came from, e.g.
  ``"darknet yolov3-tiny.weights (md5 ...)"``), optional ``network`` (free
  text: which network the values belong to), and any extra attributes a
  writer adds (the darknet converter adds ``darknet_version`` ...).
* Groups and datasets are created with HDF5 creation-order tracking, so a
  store reads back in the order it was written.

Files are written atomically: to a temporary file in the destination's
directory, then renamed over the destination with ``os.replace``; on any
failure the temporary file is removed and no partial output is left.
"""
from __future__ import annotations

import os
from typing import Any, Iterator, Mapping

import h5py
import numpy as np

from ..files import OutputPathError, atomic_output, check_output_path
from ..graph.errors import WeightsFileError

FORMAT = "netdsl-weights"
FORMAT_VERSION = 1
_RESERVED_ATTRS = ("format", "format_version", "source", "network")


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


def save_weights(path, arrays: Mapping[str, Any], *, source: str, network: str | None = None,
                 layouts: Mapping[str, str] | None = None, attrs: Mapping[str, Any] | None = None) -> None:
    """Write ``arrays`` to a netdsl HDF5 weight store at ``path``, atomically.

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
        if key in _RESERVED_ATTRS:
            raise WeightsFileError(f"{path}: extra attribute {key!r} is reserved; pass it as a keyword")
    checked = _check_arrays(arrays, layouts)
    try:
        check_output_path(path)
    except OutputPathError as exc:
        raise WeightsFileError(f"cannot write weights: {exc}") from None
    try:
        with atomic_output(path) as tmp, h5py.File(tmp, "x", track_order=True) as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["source"] = source
            if network is not None:
                f.attrs["network"] = str(network)
            for key, value in extra.items():
                f.attrs[key] = value
            for name, array in checked.items():
                *scopes, leaf = name.split(".")
                group = f
                for scope in scopes:
                    group = group[scope] if scope in group else group.create_group(scope, track_order=True)
                dataset = group.create_dataset(leaf, data=array)
                if name in layouts:
                    dataset.attrs["layout"] = layouts[name]
    except (OSError, ValueError, TypeError) as exc:
        if isinstance(exc, WeightsFileError):
            raise
        raise WeightsFileError(f"cannot write weights to {path}: {exc}") from exc


def _plain(value):
    """An HDF5 attribute value as a plain Python value (str, int, float, list)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()] if value.dtype.kind in "OS" else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


class WeightStore(Mapping[str, np.ndarray]):
    """A netdsl HDF5 weight store read into memory: scoped name -> np.ndarray.

    Use :meth:`open` (or :func:`load_weights_file`). Iterates in the order
    the arrays were written.

    Attributes:
        path: the file it was read from (str).
        attrs: root attributes as a dict of plain Python values
            (``format``, ``format_version``, ``source``, maybe ``network`` ...).
        layouts: name -> ``layout`` dataset attribute, for datasets that have one.
    """

    def __init__(self, path: str, arrays: dict[str, np.ndarray], attrs: dict[str, Any],
                 layouts: dict[str, str]):
        self.path = path
        self.attrs = attrs
        self.layouts = layouts
        self._arrays = arrays

    @classmethod
    def open(cls, path) -> "WeightStore":
        """Read every dataset of the store at ``path`` into memory.

        Raises:
            WeightsFileError: the file is missing, is not an HDF5 file, or its
                root ``format`` / ``format_version`` attributes are not
                ``"netdsl-weights"`` / ``1``. The one-line message names the
                file and what was expected vs found.
        """
        path = os.fspath(path)
        if not os.path.exists(path):
            raise WeightsFileError(f"weights file {path} does not exist")
        if not os.path.isfile(path) or not h5py.is_hdf5(path):
            raise WeightsFileError(f"weights file {path} is not an HDF5 file "
                                   f"(expected a netdsl-weights HDF5 store)")
        try:
            with h5py.File(path, "r") as f:
                attrs = {k: _plain(v) for k, v in f.attrs.items()}
                _check_format(path, attrs)
                arrays: dict[str, np.ndarray] = {}
                layouts: dict[str, str] = {}
                _read_group(f, [], arrays, layouts)
        except OSError as exc:
            raise WeightsFileError(f"weights file {path} cannot be read: {exc}") from exc
        return cls(path, arrays, attrs, layouts)

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __repr__(self):
        return f"WeightStore({self.path!r}, {len(self)} arrays, source={self.attrs.get('source')!r})"


def _check_format(path: str, attrs: dict) -> None:
    found = attrs.get("format", None)
    if found != FORMAT:
        shown = "no 'format' attribute" if "format" not in attrs else f"format={found!r}"
        raise WeightsFileError(f"weights file {path} is not a netdsl weight store: "
                               f"expected root attribute format={FORMAT!r}, found {shown}")
    version = attrs.get("format_version", None)
    if not isinstance(version, int) or isinstance(version, bool) or version != FORMAT_VERSION:
        shown = "no 'format_version' attribute" if "format_version" not in attrs else f"format_version={version!r}"
        raise WeightsFileError(f"weights file {path} has an unsupported format version: "
                               f"expected format_version={FORMAT_VERSION}, found {shown}")


def _read_group(group: h5py.Group, scope: list[str], arrays: dict, layouts: dict) -> None:
    """Read datasets depth-first in the group's iteration (creation) order."""
    for key in group:
        item = group[key]
        parts = scope + [key]
        if isinstance(item, h5py.Group):
            _read_group(item, parts, arrays, layouts)
        elif isinstance(item, h5py.Dataset):
            name = ".".join(parts)
            arrays[name] = np.asarray(item[()])
            if "layout" in item.attrs:
                layouts[name] = _plain(item.attrs["layout"])


def load_weights_file(path) -> WeightStore:
    """Same as :meth:`WeightStore.open`."""
    return WeightStore.open(path)


def load_weights(network, path) -> WeightStore:
    """Open the store at ``path`` and bind it to ``network``'s unbound weights.

    Calls ``network.bind_weights(store, source=str(path))``, which is strict.

    Returns:
        the WeightStore (its arrays are now bound to the network's Weights).
    Raises:
        WeightsFileError: as :meth:`WeightStore.open`.
        WeightsError: one message naming ``path`` and listing every missing,
            unexpected, wrong-shape and wrong-dtype weight.
    """
    store = WeightStore.open(path)
    network.bind_weights(store, source=str(path))
    return store
