"""Importers and exporters, one place per source framework.

Each reads a framework's own files (or objects) and writes or returns
arrays under netdsl's scoped weight names for the HDF5 store
(:mod:`netdsl.weights`); none reaches into a Network's internals.

* :mod:`netdsl.frameworks.darknet` — ``.cfg`` parser, ``.weights`` <-> HDF5.
* :mod:`netdsl.frameworks.recurrent` — recurrent weights in PyTorch, ONNX,
  Keras and cuDNN gate layouts -> netdsl's (docs/recurrent.md).
"""
