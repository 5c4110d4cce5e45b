"""constant, identity, cast: ``Network.add_constant`` / ``add_identity`` / ``add_cast``.

Semantics: TensorRT API reference and operator pages, IConstantLayer (a
tensor whose values are Weights), IIdentityLayer (a copy, same dtype in a
strongly typed network) and ICastLayer ("all conversions between supported
data types are allowed": BOOL, UINT8, INT8, INT32, INT64, HALF, BF16, FLOAT):

* float -> integer truncates toward zero (the operator page's example casts
  1.2, 5.6, 8.9 to 1, 5, 8); values outside the target range, and NaN, are
  undefined (TensorRT DataType docs for UINT8: "undefined behavior for
  floating point values outside the range [0.0f, 256.0) after truncation").
* anything -> BOOL is ``x != 0``; BOOL -> number is 0 or 1.
* float -> narrower float rounds to nearest even (overflow to +-inf); integer
  -> float rounds to the nearest representable value.
* integer -> narrower integer keeps the low bits (two's complement; not
  specified by TensorRT).

Shape tensors (``Tensor.shape_value``): a 0-D or 1-D INT32/INT64 constant of
at most 8 values (TensorRT's ``Dims::MAX_DIMS``, the longest shape) whose
values are given has them as its ``shape_value``; an identity keeps its
input's; a cast between INT32 and INT64 keeps it too (values of shapes fit
both). Shapes are static here: a constant's dims are ints.
"""
from __future__ import annotations

import numpy as np

from ..graph.dtypes import DataType
from ..graph.enums import LayerType
from ..graph.network import DerivedWeights, Weights, network_method
from ..graph.shapes import Dim
from ._checks import as_datatype_arg, fail, weights_arg

SHAPE_VALUE_TYPES = (DataType.INT32, DataType.INT64)
MAX_SHAPE_VALUES = 8  # TensorRT's Dims::MAX_DIMS: a shape tensor holds at most this many values


def _constant_value(w, shape):
    """The values of a small 0-D / 1-D INT32 or INT64 constant as a tuple of ints (a shape-tensor value), else None."""
    if w.dtype not in SHAPE_VALUE_TYPES or len(shape) > 1 or int(np.prod(shape)) > MAX_SHAPE_VALUES:
        return None
    value = getattr(w, "value", None)
    if value is None:
        return None
    return tuple(int(v) for v in np.asarray(value).reshape(-1))


_QUANTIZED_ONLY = (DataType.FP8, DataType.INT4, DataType.FP4)


@network_method
def add_constant(self, shape, weights=None, *, dtype: DataType | None = None, name=None):
    """Add a constant tensor.

    Args:
        shape: output dims (``()`` for a scalar).
        weights: an array (or nested list / number) of that shape; an array
            of float64 becomes FLOAT, otherwise its NumPy dtype gives the
            tensor's dtype unless ``dtype`` is given (the values are then
            converted, e.g. to BF16); Weights/DerivedWeights of that shape;
            or None to declare ``<name>.weights`` (``dtype``, default FLOAT)
            for a weight store.
        dtype: the tensor's DataType (FLOAT, HALF, BF16, INT8, INT32, INT64,
            BOOL, UINT8), its name in any case or NumPy name, or a NumPy dtype.
    Returns:
        Layer with one output of ``shape`` and that dtype (``layer.shape``,
        ``layer.weights["weights"]``); a small 0-D/1-D INT32/INT64 constant
        with values has them as the output's ``shape_value`` (module doc).
    Raises:
        NetworkDefinitionError: values of another shape, a negative or
            runtime dimension, or an unknown dtype.
    """
    name = self.begin_layer(LayerType.CONSTANT, name, [])
    if any(isinstance(d, Dim) for d in shape):
        fail(name, f"a constant's shape must be known when the network is defined, found {tuple(shape)}")
    shape = tuple(int(d) for d in shape)
    if any(d < 0 for d in shape):
        fail(name, f"dimensions must be >= 0, found {shape}")
    if isinstance(weights, (Weights, DerivedWeights)):
        w = weights_arg(self, name, "weights", weights, shape)
    else:
        if weights is not None:
            weights = np.asarray(weights)
            if dtype is None:
                dtype = "float32" if weights.dtype == np.float64 else weights.dtype
        dtype = as_datatype_arg(name, "float32" if dtype is None else dtype, "dtype")
        if weights is None:
            w = self.declare_weights(name, "weights", shape, dtype)
        else:
            if weights.shape != shape:
                fail(name, f"weights must have shape {shape}, found {weights.shape}")
            w = self.declare_weights(name, "weights", shape, dtype, value=weights.astype(dtype.to_numpy()))
    return self.append_layer(LayerType.CONSTANT, name, [], [(shape, w.dtype)], dict(shape=shape), {"weights": w},
                             shape_values=[_constant_value(w, shape)])


@network_method
def add_identity(self, input, *, name=None):
    """Add a copy of ``input`` (TensorRT IIdentityLayer).

    Returns:
        Layer with one output of the input's shape and dtype (any dtype) and
        the input's ``shape_value``.
    Raises:
        NetworkDefinitionError: ``input`` is not a tensor of this network.
    """
    name = self.begin_layer(LayerType.IDENTITY, name, [input])
    return self.append_layer(LayerType.IDENTITY, name, [input], [(input.shape, input.dtype)],
                             shape_values=[input.shape_value])


@network_method
def add_cast(self, input, to_type: DataType, *, name=None):
    """Add a conversion of ``input`` to ``to_type`` (same shape).

    Args:
        input: tensor of any dtype.
        to_type: DataType, its name in any case (``"half"``), its NumPy name
            (``"float16"``) or a NumPy dtype.
    Returns:
        Layer with one output of the input's shape and dtype ``to_type``
        (``layer.to_type``); conversion rules in the module docstring. A cast
        of a shape tensor between INT32 and INT64 keeps its ``shape_value``.
    Raises:
        NetworkDefinitionError: an unknown ``to_type`` (naming the allowed DataType names), or FP8,
            INT4, FP4 as input or ``to_type`` (quantized types: use add_quantize / add_dequantize).
    """
    name = self.begin_layer(LayerType.CAST, name, [input])
    to_type = as_datatype_arg(name, to_type, "to_type")
    for what, dtype in (("input", input.dtype), ("to_type", to_type)):
        if dtype in _QUANTIZED_ONLY:
            fail(name, f"{what} {dtype.name} is a quantized type: ICastLayer converts between BOOL, UINT8, INT8, "
                       f"INT32, INT64, HALF, BF16, FLOAT; use add_quantize / add_dequantize")
    value = input.shape_value if input.dtype in SHAPE_VALUE_TYPES and to_type in SHAPE_VALUE_TYPES else None
    return self.append_layer(LayerType.CAST, name, [input], [(input.shape, to_type)], dict(to_type=to_type),
                             shape_values=[value])
