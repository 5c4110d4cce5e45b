"""Reference kernels for QUANTIZE, DEQUANTIZE and DYNAMIC_QUANTIZE (rules in ``netdsl.layers.quantize``).

Semantics: TensorRT "Quantization Schemes" — INT8 / INT4 ``roundWithTiesToEven(clip(x / s))``
(``np.rint`` rounds half to even), FP8 / FP4 ``castTo*(clip(x / s))``: the kernels return the
clipped float32 quotient and the executor's conversion to the ``ml_dtypes`` type rounds it to the
nearest representable value, ties to even. Dequantize ``x_q * s``. The scale is held in the
layer's float type (the input's for quantize, ``to_type`` for dequantize) as the engine holds it
(:func:`netdsl.reference.executor.layer_weight`); the quotient and product are float32.
"""
from __future__ import annotations

import numpy as np

from ..graph.dtypes import DataType
from ..graph.enums import LayerType
from ..layers.quantize import INTEGER_QUANTIZED, RANGES
from .executor import engine_weights, layer_weight
from .registry import kernel


def broadcast_scale(scale: np.ndarray, shape, granularity: str, axis, block_shape) -> np.ndarray:
    """The scale expanded to ``shape``: scalar as is, per-channel along ``axis``, blocks repeated."""
    scale = np.asarray(scale, dtype=np.float32)
    if granularity == "tensor":
        return scale.reshape(-1)[0].reshape(())
    if granularity == "channel":
        view = [1] * len(shape)
        view[axis] = scale.shape[0]
        return scale.reshape(view)
    out = scale
    for i, b in enumerate(block_shape):
        reps = shape[i] if b == -1 else b
        if reps != 1:
            out = np.repeat(out, reps, axis=i)
    return out


def _scale(layer, inputs, dtype):
    if len(inputs) > 1:
        return np.asarray(inputs[1], dtype=np.float32)
    return layer_weight(layer, "scale", dtype)


def quantize_values(x: np.ndarray, scale: np.ndarray, to_type: DataType) -> np.ndarray:
    """float32 ``clip(x / scale)`` for ``to_type``, rounded half to even for INT8 / INT4.

    The FP8 / FP4 rounding is the conversion to the ``ml_dtypes`` type that follows.
    """
    lo, hi = RANGES[to_type]
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.asarray(x, dtype=np.float32) / np.asarray(scale, dtype=np.float32)
    q = np.clip(q, np.float32(lo), np.float32(hi))
    if to_type in INTEGER_QUANTIZED:
        q = np.rint(q)
    return q.astype(np.float32, copy=False)


@kernel(LayerType.QUANTIZE)
def quantize(layer, x, *scale_input):
    scale = _scale(layer, (x,) + scale_input, layer.inputs[0].dtype)
    s = broadcast_scale(scale, x.shape, layer.granularity, layer.axis, layer.block_shape)
    q = quantize_values(x, s, layer.to_type)
    return q.astype(layer.to_type.to_numpy())


@kernel(LayerType.DEQUANTIZE)
def dequantize(layer, x, *scale_input):
    scale = _scale(layer, (x,) + scale_input, layer.to_type)
    s = broadcast_scale(scale, x.shape, layer.granularity, layer.axis, layer.block_shape)
    return np.asarray(x, dtype=np.float32) * s


def nvfp4_quantize(x: np.ndarray, axis: int, block_size: int, double_quant_scale: float):
    """NVFP4 block quantization of float32 ``x``: (data as float32 on the FP4 grid, FP8 block scales
    as float32), per the formula of ``add_dynamic_quantize``."""
    x = np.asarray(x, dtype=np.float32)
    moved = np.moveaxis(x, axis, -1)
    blocks = moved.reshape(moved.shape[:-1] + (moved.shape[-1] // block_size, block_size))
    amax = np.max(np.abs(blocks), axis=-1)
    d = np.float32(double_quant_scale)
    scale_q = np.clip((amax / np.float32(6.0)) / d, -448.0, 448.0).astype(DataType.FP8.to_numpy()) \
        .astype(np.float32)
    full = scale_q[..., None] * d
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.where(full > 0, blocks / np.where(full > 0, full, 1), 0).astype(np.float32)
    q = np.clip(q, -6.0, 6.0).astype(DataType.FP4.to_numpy()).astype(np.float32)
    data = np.moveaxis(q.reshape(moved.shape), -1, axis)
    scales = np.moveaxis(scale_q, -1, axis)
    return data, scales


@kernel(LayerType.DYNAMIC_QUANTIZE)
def dynamic_quantize(layer, x, *dq_input):
    dtype = layer.inputs[0].dtype
    if dq_input:
        d = float(np.asarray(dq_input[0]).reshape(-1)[0])
    else:
        d = float(engine_weights(layer.weights["double_quant_scale"], dtype).reshape(-1)[0])
    return list(nvfp4_quantize(x, layer.axis, layer.block_size, d))
