"""Weights: the netdsl HDF5 weight store and the darknet converter.

* :func:`save_weights`, :class:`WeightStore`, :func:`load_weights_file`,
  :func:`load_weights` — HDF5 store (``netdsl.weights.hdf5``; layout in
  docs/weights_format.md).
* :func:`parse_cfg`, :func:`conv_parameter_shapes` — darknet .cfg files.
* :func:`convert_darknet` — darknet .cfg + .weights -> HDF5 store.
* :func:`rnn_from_torch`, :func:`rnn_from_onnx`, :func:`rnn_from_keras`,
  :func:`rnn_from_keras_cudnn` — recurrent weights in each framework's gate
  layout -> netdsl's (``netdsl.weights.rnn_import``; docs/recurrent.md).
"""
from .darknet import convert_darknet, read_darknet_header  # noqa: F401
from .darknet_cfg import ConvParams, Section, conv_parameter_shapes, parse_cfg  # noqa: F401
from .hdf5 import WeightStore, load_weights, load_weights_file, save_weights  # noqa: F401
from .rnn_import import from_keras as rnn_from_keras  # noqa: F401
from .rnn_import import from_keras_cudnn as rnn_from_keras_cudnn  # noqa: F401
from .rnn_import import from_onnx as rnn_from_onnx  # noqa: F401
from .rnn_import import from_torch as rnn_from_torch  # noqa: F401

__all__ = ["save_weights", "WeightStore", "load_weights_file", "load_weights", "parse_cfg", "Section",
           "ConvParams", "conv_parameter_shapes", "convert_darknet", "read_darknet_header",
           "rnn_from_torch", "rnn_from_onnx", "rnn_from_keras", "rnn_from_keras_cudnn"]
