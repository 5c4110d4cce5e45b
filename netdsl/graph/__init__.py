"""The graph: Network, Tensor, Layer, Weights, DataType and TensorRT's enums."""
from .dtypes import DataType  # noqa: F401
from .enums import *  # noqa: F401,F403
from .errors import *  # noqa: F401,F403
from .network import DerivedWeights, Layer, Network, Tensor, Weights  # noqa: F401
