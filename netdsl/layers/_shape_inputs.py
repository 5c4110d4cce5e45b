"""Shape-tensor arguments: a layer parameter given as a 1-D INT32/INT64 tensor computed in the network.

TensorRT lets a shuffle's reshape dimensions, a slice's start/size/stride
and a resize's output shape come from a layer input (a *shape tensor*,
e.g. built with ``add_shape`` and elementwise arithmetic) instead of a
constant. netdsl derives the output shape from the tensor's value where
it is known at definition time (``Tensor.shape_value``: ints and runtime
Dims); otherwise each entry becomes a fresh runtime dimension named
``<layer>.<parameter>[i]``, which the reference executor learns when the
layer runs. Source: TensorRT developer guide, "Execution Tensors vs. Shape
Tensors".
"""
from __future__ import annotations

from ..graph.dtypes import DataType
from ..graph.network import Tensor
from ..graph.shapes import dim, is_static
from ._checks import fail

SHAPE_TENSOR_TYPES = (DataType.INT32, DataType.INT64)


def is_shape_tensor_arg(value) -> bool:
    """Whether a parameter value is a netdsl Tensor (a shape tensor) rather than ints/Dims."""
    return isinstance(value, Tensor)


def shape_tensor_dims(layer: str, tensor: Tensor, what: str, length: int | None = None) -> tuple:
    """The dims a shape-tensor argument stands for: its known value, else fresh runtime dimensions.

    Args:
        layer: the layer's scoped name.
        tensor: a 1-D INT32/INT64 tensor of static length.
        what: the parameter's name (``reshape_dims``, ``start`` ...).
        length: the length it must have, if fixed (e.g. the input's rank).
    Returns:
        a tuple of ints and Dims.
    Raises:
        NetworkDefinitionError: not a 1-D INT32/INT64 tensor, a runtime
            length, or the wrong length.
    """
    if tensor.ndim != 1 or tensor.dtype not in SHAPE_TENSOR_TYPES:
        fail(layer, f"{what} tensor {tensor.name!r} must be a 1-D INT32 or INT64 shape tensor, found "
                    f"{tensor.dtype.name} of shape {tensor.shape}")
    n = tensor.shape[0]
    if not is_static(n):
        fail(layer, f"{what} tensor {tensor.name!r} must have a length known at definition time, found {n}")
    if length is not None and n != length:
        fail(layer, f"{what} tensor {tensor.name!r} must have {length} values (one per input dim), found {n}")
    if tensor.shape_value is not None:
        return tuple(tensor.shape_value)
    return tuple(dim(f"{layer}.{what}[{i}]") for i in range(n))
