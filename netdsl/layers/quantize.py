"""quantize: ``Network.add_quantize`` / ``add_dequantize`` (TensorRT IQuantizeLayer / IDequantizeLayer)
and ``add_dynamic_quantize`` (IDynamicQuantizeLayer, TensorRT >= 10.8).

Semantics: TensorRT developer guide, "Working with Quantized Types" ("Quantization Schemes",
"Explicit Quantization"), the API reference of IQuantizeLayer / IDequantizeLayer /
IDynamicQuantizeLayer and the operator pages "Quantize", "Dequantize", "DynamicQuantize".
Quantization is symmetric; with ``s`` the scale broadcast to the input's shape:

======  ==================================================  ==============================
type    quantize ``x_q``                                    range
======  ==================================================  ==============================
INT8    ``roundWithTiesToEven(clip(x / s, -128, 127))``     [-128, 127]
INT4    ``roundWithTiesToEven(clip(x / s, -8, 7))``         [-8, 7] (block scales only)
FP8     ``castToFp8(clip(x / s, -448, 448))`` (E4M3)        [-448, 448]
FP4     ``castToFp4(clip(x / s, -6, 6))`` (E2M1)            [-6, 6]
======  ==================================================  ==============================

``castTo*`` rounds to the nearest representable value, ties to even (the ``ml_dtypes`` casts do
exactly that). Dequantize is ``x_q * s``. The division is computed in float32.

Scale granularity, from the scale's shape (TensorRT API reference, IQuantizeLayer):

* per-tensor: a scalar (shape ``()``);
* per-channel: a 1-D scale of ``input.shape[axis]`` values, ``axis`` given (weights of a
  convolution: axis 0 of the KCRS kernel, one scale per output channel);
* block: a scale of the input's rank, each dimension ``input.shape[i] / block_shape[i]``
  (``block_shape`` derived from the shapes, or given and checked); the block dims must be static.
  INT4 takes block scales only (TensorRT "INT4 quantization requires per-block scales").

The scale is a build-time constant: an array / float (declared as the layer's weights
``<name>.scale``, float32, converted to the input's dtype as TensorRT holds it) or a Tensor (a
constant, or a dynamic-quantize scale output fed to a dequantize, the NVFP4 pattern). Every scale
must be strictly positive. A zero point may be given where TensorRT allows one: it must have the
scale's shape and be all zeros ("only symmetric quantization is supported"), and is then the same
as none (netdsl does not pass it on).
"""
from __future__ import annotations

import math

import numpy as np

from ..graph.dtypes import DataType
from ..graph.enums import LayerType
from ..graph.network import DerivedWeights, Tensor, Weights, network_method
from ..graph.shapes import is_static
from ._checks import FLOAT_TYPES, as_datatype_arg, check_axis, check_dtype, fail

QUANTIZED_TYPES = (DataType.INT8, DataType.FP8, DataType.INT4, DataType.FP4)
# Saturation bounds of each quantized type ("Quantization Schemes").
RANGES = {DataType.INT8: (-128.0, 127.0), DataType.INT4: (-8.0, 7.0), DataType.FP8: (-448.0, 448.0),
          DataType.FP4: (-6.0, 6.0)}
INTEGER_QUANTIZED = (DataType.INT8, DataType.INT4)


def _scale_arg(net, name, scale, scale_dtype):
    """(scale Tensor or None, Weights or None, scale shape) from a Tensor, Weights or array-like."""
    if isinstance(scale, Tensor):
        net._check_own(scale, f"{name} scale")
        if scale.dtype is not scale_dtype:
            fail(name, f"scale tensor {scale.name!r} must be {scale_dtype.name} (the float type of the "
                       f"quantization), found {scale.dtype.name}")
        if not scale.is_static:
            fail(name, f"scale tensor {scale.name!r} must have a static shape, found {scale.shape}")
        return scale, None, tuple(scale.shape)
    if isinstance(scale, (Weights, DerivedWeights)):
        value = scale.value
        weights = scale
    else:
        value = np.asarray(scale, dtype=np.float64)
        if not np.issubdtype(value.dtype, np.floating):
            fail(name, f"scale must be a float array or a Tensor, found {value.dtype.name}")
        value = value.astype(np.float32)
        weights = None
    if value is not None:
        v = np.asarray(value, dtype=np.float64)
        if not np.all(np.isfinite(v)) or not np.all(v > 0):
            bad = v[~(np.isfinite(v) & (v > 0))].ravel()[0]
            fail(name, f"every scale must be finite and > 0 (TensorRT requires strictly positive scales), "
                       f"found {bad!r}")
    if weights is None:
        weights = net.declare_weights(name, "scale", value.shape, DataType.FLOAT, value=value)
    return None, weights, tuple(weights.shape)


def _granularity(name, input, scale_shape, axis, block_shape, to_type):
    """(kind, axis, block_shape) with kind 'tensor', 'channel' or 'block'."""
    rank = input.ndim
    if len(scale_shape) == 0:
        if axis is not None or block_shape is not None:
            fail(name, "a scalar (per-tensor) scale takes neither axis nor block_shape")
        kind, axis, blocks = "tensor", None, None
    elif len(scale_shape) == 1 and (rank != 1 or axis is not None):
        if axis is None:
            fail(name, f"a 1-D (per-channel) scale of {scale_shape[0]} values needs axis=, the input dimension "
                       f"it runs along (0 for the output channels of a KCRS kernel); for one scale pass a scalar")
        axis = check_axis(name, axis, rank)
        size = input.shape[axis]
        if not is_static(size):
            fail(name, f"per-channel axis {axis} of input {input.name!r} {input.shape} must be static")
        if scale_shape[0] != size:
            fail(name, f"per-channel scale has {scale_shape[0]} values, expected {size} (input {input.name!r} "
                       f"{input.shape} axis {axis})")
        if block_shape is not None:
            fail(name, "a per-channel scale takes no block_shape")
        kind, blocks = "channel", None
    elif len(scale_shape) == rank:
        derived = []
        for i, (d, s) in enumerate(zip(input.shape, scale_shape)):
            if not is_static(d):
                if s != 1:
                    fail(name, f"block scale dimension {i} must be 1 for the runtime dimension {d} of input "
                               f"{input.name!r}")
                derived.append(-1)
                continue
            if s < 1 or d % s:
                fail(name, f"block scale shape {scale_shape} does not divide input {input.name!r} {input.shape} "
                           f"(dimension {i}: {d} / {s})")
            derived.append(d // s)
        if block_shape is not None:
            given = tuple(int(b) for b in block_shape)
            want = tuple(b if b != -1 else input.shape[i] for i, b in enumerate(derived))
            full = tuple(b if b != -1 else input.shape[i] for i, b in enumerate(given)) if len(given) == rank \
                else None
            if full != want:
                fail(name, f"block_shape {given} does not match the scale {scale_shape} of input "
                           f"{input.name!r} {input.shape} (which gives {tuple(derived)})")
        blocked = [i for i, b in enumerate(derived) if b not in (1, -1) and scale_shape[i] != 1]
        if axis is not None:
            axis = check_axis(name, axis, rank)
        else:
            axis = blocked[0] if blocked else rank - 1
        kind, blocks = "block", tuple(derived)
    else:
        fail(name, f"scale of shape {scale_shape} fits neither per-tensor (scalar), per-channel (1-D) nor block "
                   f"(rank {rank}) quantization of input {input.name!r} {input.shape}")
    if to_type is DataType.INT4 and kind != "block":
        fail(name, "INT4 quantization takes block scales only (a scale of the input's rank; TensorRT "
                   "'INT4 quantization requires per-block scales')")
    return kind, axis, blocks


def _zero_point_arg(name, zero_point, scale_shape):
    if zero_point is None:
        return False
    z = np.asarray(zero_point)
    if z.shape != tuple(scale_shape):
        fail(name, f"zero_point must have the scale's shape {tuple(scale_shape)}, found {z.shape}")
    if np.any(z.astype(np.float64) != 0):
        fail(name, "zero_point must be all zeros: TensorRT supports only symmetric quantization")
    return True


def _qdq(net, type_, input, scale, to_type, axis, block_shape, zero_point, name, quantize):
    name = net.begin_layer(type_, name, [input] + ([scale] if isinstance(scale, Tensor) else []))
    to_type = as_datatype_arg(name, to_type, "output_type")
    if quantize:
        check_dtype(name, input, FLOAT_TYPES)
        if to_type not in QUANTIZED_TYPES:
            fail(name, f"output_type must be one of INT8, FP8, INT4, FP4, found {to_type.name}")
        scale_dtype = input.dtype
    else:
        check_dtype(name, input, QUANTIZED_TYPES)
        if to_type not in FLOAT_TYPES:
            fail(name, f"output_type must be one of FLOAT, HALF, BF16, found {to_type.name}")
        scale_dtype = to_type
    if input.ndim == 0:
        fail(name, f"input {input.name!r} must not be a scalar")
    scale_tensor, weights, scale_shape = _scale_arg(net, name, scale, scale_dtype)
    kind, axis, blocks = _granularity(name, input, scale_shape, axis, block_shape,
                                      to_type if quantize else input.dtype)
    has_zero = _zero_point_arg(name, zero_point, scale_shape)
    attrs = dict(to_type=to_type, axis=axis, granularity=kind, block_shape=blocks, zero_point=has_zero)
    inputs = [input] + ([scale_tensor] if scale_tensor is not None else [])
    return net.append_layer(type_, name, inputs, [(input.shape, to_type)], attrs,
                            {"scale": weights} if weights is not None else {})


@network_method
def add_quantize(self, input, scale, output_type=DataType.INT8, *, axis: int | None = None, block_shape=None,
                 zero_point=None, name=None):
    """Add ``x_q = saturate(round(input / scale))`` to ``output_type`` (module docstring table).

    Args:
        input: FLOAT, HALF or BF16 tensor of any shape (rank >= 1).
        scale: strictly positive scale(s): a float or 0-D array (per-tensor), a 1-D array of
            ``input.shape[axis]`` values (per-channel), an array of the input's rank (block),
            Weights, or a Tensor of the input's dtype (a build-time constant in TensorRT).
            Arrays are stored float32 as weights ``<name>.scale`` and held in the input's dtype.
        output_type: INT8 (default), FP8, INT4 or FP4 (DataType or its name); TensorRT's parameter name
            (the layer holds it as ``to_type``, as IQuantizeLayer does).
        axis: an axis index: the per-channel axis (negative counts from the end); for block scales
            the blocked axis (default: the first dimension with a block > 1).
        block_shape: optional block extent per input dimension (-1: the whole dimension), checked
            against the scale's shape.
        zero_point: optional all-zero array of the scale's shape (symmetric quantization only).
        name: layer name (scoped).
    Returns:
        Layer with one output of the input's shape and dtype ``output_type``; attributes ``to_type``,
        ``axis``, ``granularity`` (``"tensor"``, ``"channel"``, ``"block"``), ``block_shape``.
    Raises:
        NetworkDefinitionError: a non-float input, a non-quantized output_type, a scale that is not
            positive, of the wrong length (per-channel) or shape, a missing axis, INT4 without block
            scales, a non-zero zero point — naming the layer, expected vs found.
    """
    return _qdq(self, LayerType.QUANTIZE, input, scale, output_type, axis, block_shape, zero_point, name, True)


@network_method
def add_dequantize(self, input, scale, output_type=DataType.FLOAT, *, axis: int | None = None, block_shape=None,
                   zero_point=None, name=None):
    """Add ``x = input * scale`` from a quantized tensor to ``output_type``.

    Args:
        input: INT8, FP8, INT4 or FP4 tensor (rank >= 1).
        scale: as :meth:`add_quantize`; a Tensor scale must be of ``output_type`` (for NVFP4: the
            dequantized block scales of a dynamic quantize layer).
        output_type: FLOAT (default), HALF or BF16 (held as the layer's ``to_type``).
        axis: an axis index, as :meth:`add_quantize`.
        block_shape, zero_point, name: as :meth:`add_quantize`.
    Returns:
        Layer with one output of the input's shape and dtype ``output_type``.
    Raises:
        NetworkDefinitionError: as :meth:`add_quantize` (the input must be a quantized type).
    """
    return _qdq(self, LayerType.DEQUANTIZE, input, scale, output_type, axis, block_shape, zero_point, name, False)


@network_method
def add_dynamic_quantize(self, input, axis: int, block_size: int, output_type: DataType, scale_type: DataType,
                         *, double_quant_scale=1.0, name=None):
    """Add NVFP4 dynamic block quantization: block scales computed at run time (TensorRT >= 10.8).

    Semantics (TensorRT IDynamicQuantizeLayer and "Quantization Schemes", NVFP4): the blocked
    axis is cut into blocks of ``block_size`` elements; for each block, with ``d`` the double
    quantization scale::

        amax      = max(|x|) over the block
        scale_q   = castToFp8(clip((amax / 6) / d, -448, 448))       # FP8 E4M3 block scale
        x_q       = castToFp4(clip(x / (scale_q * d), -6, 6))         # 0 where scale_q is 0

    and ``dequantize(dequantize(scale_q, d), block)(x_q)`` recovers ``x_q * scale_q * d``.
    Only NVFP4 (``to_type`` FP4, ``scale_type`` FP8, block 16) is expressed: MXFP8 needs the E8M0
    datatype, which netdsl does not have.

    Args:
        input: FLOAT, HALF or BF16 tensor of rank 2 or 3.
        axis: the blocked axis index, the last or the second to last (negative counts from the end);
            its size must be static and divisible by ``block_size``.
        block_size: 16.
        output_type: FP4 (DataType or its name; held as the layer's ``to_type``). scale_type: FP8.
        double_quant_scale: ``d``, a positive float (stored as weights ``<name>.double_quant_scale``,
            0-D, in the input's dtype) or a scalar Tensor of the input's dtype.
        name: layer name (scoped).
    Returns:
        Layer with outputs ``data`` (the input's shape, FP4) and ``scale`` (the input's shape with
        the blocked axis divided by ``block_size``, FP8).
    Raises:
        NetworkDefinitionError: another rank, dtype, axis, block size or type pair, a non-positive
            double quantization scale.
    """
    inputs = [input] + ([double_quant_scale] if isinstance(double_quant_scale, Tensor) else [])
    name = self.begin_layer(LayerType.DYNAMIC_QUANTIZE, name, inputs)
    check_dtype(name, input, FLOAT_TYPES)
    to_type = as_datatype_arg(name, output_type, "output_type")
    scale_type = as_datatype_arg(name, scale_type, "scale_type")
    if (to_type, scale_type) != (DataType.FP4, DataType.FP8):
        fail(name, f"to_type/scale_type must be FP4/FP8 (NVFP4), found {to_type.name}/{scale_type.name} "
                   f"(MXFP8 needs DataType E8M0, which netdsl does not have)")
    if input.ndim not in (2, 3):
        fail(name, f"input {input.name!r} must have rank 2 or 3, found shape {input.shape}")
    axis = check_axis(name, axis, input.ndim)
    if axis < input.ndim - 2:
        fail(name, f"axis {axis} must be the last or the second to last dimension of input {input.name!r} "
                   f"{input.shape}")
    if isinstance(block_size, bool) or int(block_size) != block_size or int(block_size) != 16:
        fail(name, f"block_size must be 16 for NVFP4, found {block_size!r}")
    block_size = int(block_size)
    size = input.shape[axis]
    if not is_static(size) or size % block_size:
        fail(name, f"blocked axis {axis} of input {input.name!r} {input.shape} must be static and divisible "
                   f"by block_size {block_size}")
    weights = {}
    if isinstance(double_quant_scale, Tensor):
        if double_quant_scale.dtype is not input.dtype or double_quant_scale.shape not in ((), (1,)):
            fail(name, f"double_quant_scale tensor {double_quant_scale.name!r} must be a scalar of "
                       f"{input.dtype.name}, found {double_quant_scale.shape} {double_quant_scale.dtype.name}")
    else:
        d = float(double_quant_scale)
        if not math.isfinite(d) or d <= 0:
            fail(name, f"double_quant_scale must be finite and > 0, found {double_quant_scale!r}")
        weights["double_quant_scale"] = self.declare_weights(name, "double_quant_scale", (), DataType.FLOAT,
                                                             value=np.float32(d))
    scale_shape = tuple(s // block_size if i == axis else s for i, s in enumerate(input.shape))
    attrs = dict(axis=axis, block_size=block_size, to_type=to_type, scale_type=scale_type)
    return self.append_layer(LayerType.DYNAMIC_QUANTIZE, name, inputs,
                             [(input.shape, to_type), (scale_shape, scale_type)], attrs, weights)
