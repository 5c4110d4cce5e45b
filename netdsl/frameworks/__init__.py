"""Importers and exporters, one place per source framework.

Each reads a framework's own files (or objects) and writes or returns
arrays under netdsl's scoped weight names for the HDF5 store
(:mod:`netdsl.weights`); none reaches into a Network's internals.

* :mod:`netdsl.frameworks.darknet` — ``.cfg`` parser, Network builder from
  a cfg, ``.weights`` <-> HDF5 (docs/porting_darknet.md).
* :mod:`netdsl.frameworks.torch_import` — PyTorch state dicts and
  ``.safetensors`` (docs/porting_pytorch.md).
* :mod:`netdsl.frameworks.keras_import` — Keras HDF5 files, with h5py only
  (docs/porting_keras.md).
* :mod:`netdsl.frameworks.onnx_import` — ONNX initializers (docs/porting_onnx.md).
* :mod:`netdsl.frameworks.wts` — tensorrtx ``.wts`` text files, both ways.
* :mod:`netdsl.frameworks.recurrent` — recurrent weights in PyTorch, ONNX,
  Keras and cuDNN gate layouts -> netdsl's (docs/recurrent.md).
"""
