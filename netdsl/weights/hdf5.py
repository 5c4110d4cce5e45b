"""The netdsl HDF5 weight store: one dataset per parameter, readable with plain h5py.

Layout (format "netdsl-weights", format_version 1; see docs/weights_format.md):

* One dataset per parameter. Its HDF5 path is the weight's scoped name with
  '.' replaced by '/': ``conv0.conv.kernel`` -> ``/conv0/conv/kernel``.
  Names are non-empty, '.'-separated parts, none empty and none containing
  '/'. A name cannot also be the scope of another name (``a.b`` and
  ``a.b.c`` cannot both exist: ``/a/b`` would be a dataset and a group).
* Each dataset holds the array in its own dtype (float32 for learned
  weights) and shape, chunked with the Fletcher-32 checksum filter (scalars
  and empty arrays: compact, inside the checksummed object header).
  Optional dataset attribute ``layout`` (str) names the axis order, e.g.
  ``"KCRS"`` for convolution kernels as TensorRT's IConvolutionLayer expects
  them: K output maps, C input channels / groups, R kernel rows, S kernel columns.
* Root attributes: ``format = "netdsl-weights"``, ``format_version = 1``,
  ``source`` (free text: where the values came from), optional ``network``,
  and any extra attributes a writer adds (the darknet converter adds
  ``darknet_version`` ...).
* Groups and datasets are created with HDF5 creation-order tracking, so a
  store reads back in the order it was written.

Writing (checksums, atomic replace): :mod:`netdsl.weights.h5write`. Reading
(what is refused and why): :mod:`netdsl.weights.h5read`. Files written
before checksums (superblock version 0) still load, marked unverified.
"""
from __future__ import annotations

import os
from typing import Iterator, Mapping

import numpy as np

from .h5read import DEFAULT_MAX_BYTES, DatasetInfo, StoreContents, read_store
from .h5write import check_weight_name, save_weights  # noqa: F401 (re-exported)


class WeightStore(Mapping[str, np.ndarray]):
    """A netdsl HDF5 weight store read into memory: scoped name -> np.ndarray.

    Use :meth:`open` (or :func:`load_weights_file`). Iterates in the order
    the arrays were written.

    Attributes:
        path: the file it was read from (str).
        attrs: root attributes as a dict of plain Python values
            (``format``, ``format_version``, ``source``, maybe ``network`` ...).
        layouts: name -> ``layout`` dataset attribute, for datasets that have one.
        datasets: name -> :class:`DatasetInfo` (shape, dtype, storage,
            filters, ``checksum``) for every dataset in the file, also those
            not read (see :func:`load_weights`).
        checksummed: True if HDF5 verified everything read: a superblock,
            object headers and every dataset with checksums (files netdsl
            writes); False for older or foreign files ("unverified": a
            flipped byte in their data goes unnoticed).
    """

    def __init__(self, contents: StoreContents):
        self.path = contents.path
        self.attrs = contents.attrs
        self.datasets: dict[str, DatasetInfo] = contents.datasets
        self.layouts = {n: d.layout for n, d in contents.datasets.items() if d.layout is not None and
                        n in contents.arrays}
        self.checksummed: bool = contents.checksummed
        self._arrays = contents.arrays

    @classmethod
    def open(cls, path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> "WeightStore":
        """Read every dataset of the store at ``path`` into memory.

        Args:
            path: the HDF5 file.
            max_bytes: limit on the total bytes read (default 4 GiB);
                uncompressed data is also limited by the file's size.
        Raises:
            WeightsFileError: the file is missing or not HDF5; its root
                ``format`` / ``format_version`` are not ``"netdsl-weights"`` /
                ``1``; a soft, external or repeated link; a dataset too big
                for the file or the limit, of an unsupported dtype, layout or
                filter; a failed HDF5 checksum; or any other HDF5 error. The
                one-line message names the file, the object and what was
                expected vs found (:mod:`netdsl.weights.h5read`).
        """
        return cls(read_store(path, max_bytes=max_bytes))

    def __getitem__(self, name: str) -> np.ndarray:
        return self._arrays[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __repr__(self):
        state = "checksummed" if self.checksummed else "unverified"
        return f"WeightStore({self.path!r}, {len(self)} arrays, {state}, source={self.attrs.get('source')!r})"


def load_weights_file(path) -> WeightStore:
    """Same as :meth:`WeightStore.open`."""
    return WeightStore.open(path)


def load_weights(network, path) -> WeightStore:
    """Bind the store at ``path`` to ``network``'s unbound weights, judging the file's headers before its data.

    Every dataset header is compared with the declarations first
    (``network.weight_spec_problems``); only declared weights whose header
    fits (shape, convertible dtype) are read, so no array is sized by an
    undeclared or mis-declared dataset. Then ``network.bind_weights`` checks
    the values (exact dtype conversion, finite, declared minimums), reports
    them with the header problems in one message, and binds all or nothing.

    Returns:
        the WeightStore of the arrays read (its ``datasets`` lists every
        dataset in the file).
    Raises:
        WeightsError: the network already has its weights bound; or one
            message naming ``path`` and listing every missing, unexpected,
            wrong-shape, wrong-dtype and bad-valued weight.
        WeightsFileError: as :meth:`WeightStore.open`.
    """
    source = str(os.fspath(path))
    network.check_weights_unbound(source)
    specs: dict[str, tuple] = {}

    def select(datasets: Mapping[str, DatasetInfo]) -> list[str]:
        # Read only declared weights whose header fits; bind_weights reports the rest from the headers.
        specs.update({n: (d.shape, d.dtype) for n, d in datasets.items()})
        _, _, mismatched = network.weight_spec_problems(specs)
        return [n for n in network.unbound_weights() if n in specs and n not in mismatched]

    store = WeightStore(read_store(path, select=select))
    network.bind_weights(store, source=source, specs=specs)
    return store


__all__ = ["WeightStore", "DatasetInfo", "load_weights", "load_weights_file", "save_weights", "check_weight_name"]
