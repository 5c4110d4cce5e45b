"""The NumPy reference executor: runs any Network on CPU with TensorRT's layer semantics.

Layers run in insertion order (a Network is topologically ordered by
construction). Float16 and bfloat16 tensors are computed in float32 (some
kernels use float64) and rounded to their DataType after every layer, as
TensorRT layers with fp32 accumulation do. Intermediates are freed once
their last consumer has run, unless requested as outputs.

Weights: every kernel reads a layer's weights through :func:`layer_weight`,
which rounds them to the layer's compute dtype exactly as the TensorRT
lowering converts them (``LoweringContext.weights`` / ``constant``: float16
for a HALF layer, bfloat16 for BF16), so a HALF or BF16 reference computes
with the values the engine holds.
"""
from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np

from ..graph.dtypes import DataType
from ..graph.errors import ExecutionError, WeightsError
from .registry import lookup


def round_bf16(x: np.ndarray) -> np.ndarray:
    """Round float32 values to bfloat16 precision (round to nearest even), kept as float32."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    bits = x.view(np.uint32)
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    return np.where(np.isnan(x), np.float32(np.nan), rounded.view(np.float32))  # NaN stays NaN


def to_dtype(x: np.ndarray, dtype: DataType) -> np.ndarray:
    """Convert a kernel result to the NumPy form of ``dtype``."""
    if dtype is DataType.BF16:
        return round_bf16(x)
    return np.asarray(x).astype(dtype.to_numpy(), copy=False)


def engine_weights(value, dtype: DataType) -> np.ndarray:
    """Weights as a TensorRT engine holds them for a layer computing in ``dtype``, returned as float32.

    Mirrors ``netdsl.tensorrt.lowering.context.LoweringContext.weights``:
    HALF rounds to float16 (NumPy's round to nearest even), BF16 to bfloat16
    (:func:`round_bf16`, round to nearest even), FLOAT keeps float32.

    Args:
        value: a Weights / DerivedWeights (its ``.value``) or an array.
        dtype: DataType of the layer's computation (its input's dtype).
    Returns:
        float32 array holding the rounded values.
    """
    array = np.asarray(getattr(value, "value", value))
    if dtype is DataType.HALF:
        return array.astype(np.float16).astype(np.float32)
    if dtype is DataType.BF16:
        return round_bf16(array)
    return array.astype(np.float32, copy=False)


def layer_weight(layer, role: str, dtype: DataType | None = None) -> np.ndarray | None:
    """``layer.weights[role]`` rounded by :func:`engine_weights` to ``dtype`` (default: the dtype of
    the layer's input 0, which is what every lowering converts weights to); None when the layer has no
    such weights."""
    if role not in layer.weights:
        return None
    return engine_weights(layer.weights[role], layer.inputs[0].dtype if dtype is None else dtype)


def _compute_form(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if x.dtype == np.float16 else x


def check_feeds(network, feeds: Mapping[str, np.ndarray]) -> dict:
    """Validate feeds against the network inputs (names, shapes, dtypes)."""
    names = {t.name for t in network.inputs}
    extra = sorted(set(feeds) - names)
    missing = [t.name for t in network.inputs if t.name not in feeds]
    if extra or missing:
        raise ExecutionError(f"network {network.name!r}: feeds do not match inputs: missing {missing}, "
                             f"unexpected {extra}")
    out = {}
    for t in network.inputs:
        value = np.asarray(feeds[t.name])
        if value.shape != t.shape:
            raise ExecutionError(f"input {t.name!r}: expected shape {t.shape}, found {value.shape}")
        if value.dtype != t.dtype.to_numpy():
            raise ExecutionError(f"input {t.name!r}: expected dtype {t.dtype.to_numpy().name}, "
                                 f"found {value.dtype.name}")
        out[t] = value
    return out


def execute(network, feeds: Mapping[str, np.ndarray], outputs: Iterable[str] | None = None) -> dict:
    """Run ``network`` on CPU.

    Args:
        network: a Network whose weights are all bound.
        feeds: input name -> array of the input's exact shape and dtype.
        outputs: names of any tensors to return (``"all"`` returns every
            tensor); default the network's marked outputs.
    Returns:
        dict tensor name -> np.ndarray (float16 for HALF, float32 holding
        bf16-rounded values for BF16).
    Raises:
        WeightsError: some weights are unbound.
        ExecutionError: bad feeds, unknown output name, or a layer without a kernel.
    """
    unbound = network.unbound_weights()
    if unbound:
        raise WeightsError(f"network {network.name!r} has unbound weights: {', '.join(unbound)}")
    values = check_feeds(network, feeds)
    if outputs == "all":
        wanted = set(network.inputs) | {t for layer in network.layers for t in layer.outputs}
    else:
        names = list(outputs) if outputs is not None else [t.name for t in network.outputs]
        wanted = set()
        for n in names:
            try:
                wanted.add(network.tensor(n))
            except KeyError as exc:
                raise ExecutionError(str(exc.args[0])) from None
    remaining = {}
    for layer in network.layers:
        for t in layer.inputs:
            remaining[t] = remaining.get(t, 0) + 1
    for layer in network.layers:
        args = [_compute_form(values[t]) for t in layer.inputs]
        result = lookup(layer)(layer, *args)
        if not isinstance(result, (list, tuple)):
            result = [result]
        for tensor, value in zip(layer.outputs, result):
            value = np.asarray(value)
            if value.shape != tensor.shape:
                raise ExecutionError(f"{layer.name}: kernel produced shape {value.shape} for {tensor.name!r}, "
                                     f"expected {tensor.shape}")
            values[tensor] = to_dtype(value, tensor.dtype)
        for t in layer.inputs:
            remaining[t] -= 1
            if remaining[t] == 0 and t not in wanted:
                values.pop(t, None)
    return {t.name: values[t] for t in wanted}
