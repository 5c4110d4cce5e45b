"""netdsl: TensorRT networks written as Python code.

Define a Network layer by layer with TensorRT's names
(``net.add_convolution_nd``, ``net.add_pooling_nd`` ...), bind weights from
HDF5, run it on CPU with the NumPy reference executor, or lower it to
TensorRT / TensorRT-RTX and build an engine.
"""
from . import layers as _layers  # noqa: F401  (attaches Network.add_*)
from .graph import *  # noqa: F401,F403
from .graph.dtypes import DataType  # noqa: F401
from .graph.enums import (ActivationType, ElementWiseOperation, InterpolationMode, LayerType,  # noqa: F401
                          PaddingMode, PoolingType, ResizeCoordinateTransformation, ResizeRoundMode,
                          ResizeSelector, SampleMode, ScaleMode, UnaryOperation)
from .graph.network import DerivedWeights, Layer, Network, Tensor, Weights  # noqa: F401

__version__ = "0.1.0"
