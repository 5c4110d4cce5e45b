"""shape: ``Network.add_shape`` (TensorRT IShapeLayer): a tensor's dimensions as a 1-D shape tensor.

Semantics: TensorRT API reference, IShapeLayer: output 0 is a 1-D tensor of
the input's rank holding its dimensions, INT64 (TensorRT >= 10.0; INT32 in
8.6). Its value is known at definition time as far as the dimensions are
(``Tensor.shape_value``: ints and runtime Dims), so layers that take shape
tensors derive their output shapes from it.
"""
from __future__ import annotations

from ..graph.dtypes import DataType
from ..graph.enums import LayerType
from ..graph.network import network_method


@network_method
def add_shape(self, input, *, name=None):
    """Add the shape of ``input`` as a 1-D INT64 shape tensor.

    Args:
        input: a tensor of any rank and dtype.
        name: layer name (scoped); default ``shape``, ``shape1`` ...
    Returns:
        Layer with one output of shape (rank,), INT64, whose ``shape_value``
        is ``input.shape``.
    Raises:
        NetworkDefinitionError: ``input`` belongs to another network.
    """
    name = self.begin_layer(LayerType.SHAPE, name, [input])
    return self.append_layer(LayerType.SHAPE, name, [input], [((input.ndim,), DataType.INT64)], {},
                             shape_values=[input.shape])
