"""The netdsl HDF5 weight store (layout in docs/weights_format.md).

* :func:`save_weights` — write arrays under scoped names, atomically.
* :class:`WeightStore`, :func:`load_weights_file` — read a store (defensively:
  ``h5read.py``; what is refused and why: docs/readers.md).
* :func:`load_weights` — read a store and bind it to a Network (strict).

Converters from other frameworks live in :mod:`netdsl.frameworks`.
"""
from .hdf5 import DatasetInfo, WeightStore, load_weights, load_weights_file, save_weights  # noqa: F401

__all__ = ["save_weights", "WeightStore", "DatasetInfo", "load_weights_file", "load_weights"]
