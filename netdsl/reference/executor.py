"""The NumPy reference executor: runs any Network on CPU with TensorRT's layer semantics.

Layers run in insertion order (a Network is topologically ordered by
construction); an activation and a max pooling that only finish a convolution
run inside the convolution's kernel (:mod:`netdsl.reference.fusion` says how
exactly that matches running them apart).
BLAS is held to one thread per call for the whole run, the kernels spreading
their own work over the cores (:mod:`netdsl.reference.threads`). Float16 and
bfloat16 tensors are computed in float32 (some kernels use float64) and rounded to their DataType after every layer, as
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
from ..graph.profiles import bind_input_shapes, check_binding, find_profile
from ..graph.shapes import Dim, ShapeError, UnboundDimensionError, contains_dim, dim, evaluate_shape, evaluate_value
from . import buffers
from .fusion import plan as plan_fusions
from .registry import lookup
from .threads import blas_held


def round_bf16(x: np.ndarray) -> np.ndarray:
    """Round float32 values to bfloat16 precision (round to nearest even), kept as float32."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    bits = x.view(np.uint32)
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) & np.uint32(0xFFFF0000)
    return np.where(np.isnan(x), np.float32(np.nan), rounded.view(np.float32))  # NaN stays NaN


def to_dtype(x: np.ndarray, dtype: DataType) -> np.ndarray:
    """Convert a kernel result to the NumPy form of ``dtype``.

    FP8, INT4 and FP4 become ``ml_dtypes`` arrays (``float8_e4m3fn``,
    ``int4``, ``float4_e2m1fn``); the quantize kernels have already rounded
    and saturated the values, so the conversion is exact.
    """
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


_LOW_PRECISION = tuple(np.dtype(d.to_numpy()) for d in (DataType.FP8, DataType.INT4, DataType.FP4))


def _compute_form(x: np.ndarray) -> np.ndarray:
    """Kernels read float16 and the ml_dtypes FP8 / INT4 / FP4 arrays as float32 (exact for all four)."""
    return x.astype(np.float32) if x.dtype == np.float16 or x.dtype in _LOW_PRECISION else x


class _BoundTensor:
    """A tensor seen at one binding of the runtime dimensions: its shape as ints."""

    __slots__ = ("name", "dtype", "shape", "layer", "shape_value")

    def __init__(self, tensor, shape):
        self.name, self.dtype, self.layer, self.shape_value = tensor.name, tensor.dtype, tensor.layer, None
        self.shape = shape

    @property
    def ndim(self) -> int:
        return len(self.shape)


class BoundLayer:
    """A layer seen at one binding of its runtime dimensions: attributes and tensor shapes as ints.

    Kernels read ``layer.pre_padding`` or ``layer.outputs[0].shape``; for a
    layer whose attributes or tensors hold runtime dimensions, the executor
    hands them this view instead, so every kernel computes with ints.
    """

    def __init__(self, layer, binding):
        object.__setattr__(self, "_layer", layer)
        object.__setattr__(self, "_binding", binding)

    def _tensors(self, tensors):
        return [t if t.is_static else _BoundTensor(t, evaluate_shape(t.shape, self._binding)) for t in tensors]

    @property
    def inputs(self):
        return tuple(self._tensors(self._layer.inputs))

    @property
    def outputs(self):
        return self._tensors(self._layer.outputs)

    @property
    def output(self):
        return self.outputs[0]

    def __getattr__(self, key):
        return evaluate_value(getattr(self._layer, key), self._binding)


def _needs_binding(layer) -> bool:
    return (contains_dim(layer.attrs) or any(not t.is_static for t in layer.inputs)
            or any(not t.is_static for t in layer.outputs))


def _layout_hint(found, expected) -> str:
    """``" (NHWC? transpose to NCHW: x.transpose(0, 3, 1, 2))"`` when a 4-D feed is the channels-last form of
    the expected NCHW shape; else ``""``."""
    if len(found) == len(expected) == 4 and tuple(found) == (expected[0], expected[2], expected[3], expected[1]):
        return " (NHWC? the input is NCHW: pass x.transpose(0, 3, 1, 2))"
    return ""


def check_feeds(network, feeds: Mapping[str, np.ndarray], profiles=None) -> tuple[dict, dict]:
    """Validate feeds against the network inputs (names, shapes, dtypes) and bind its runtime dimensions.

    Returns:
        (tensor -> array, runtime dimension name -> value).
    Raises:
        ExecutionError: missing or unexpected feeds, a wrong dtype, a shape
            that does not fit an input (rank, a static dimension, a named
            dimension with two values), a layer requirement the shapes
            violate, or shapes outside every given profile.
    """
    names = {t.name for t in network.inputs}
    extra = sorted(set(feeds) - names)
    missing = [t.name for t in network.inputs if t.name not in feeds]
    if extra or missing:
        problems = [f"no feed for {', '.join(map(repr, missing))}"] if missing else []
        problems += [f"no input named {', '.join(map(repr, extra))}"] if extra else []
        raise ExecutionError(f"network {network.name!r}: feeds do not match its inputs "
                             f"{[t.name for t in network.inputs]}: {'; '.join(problems)}")
    out = {}
    for t in network.inputs:
        value = np.asarray(feeds[t.name])
        if t.is_static and value.shape != t.shape:
            raise ExecutionError(f"input {t.name!r}: expected shape {t.shape}, found {value.shape}"
                                 f"{_layout_hint(value.shape, t.shape)}")
        if value.dtype != t.dtype.to_numpy():
            hint = ""
            if not isinstance(feeds[t.name], np.ndarray):
                hint = (f" (a {type(feeds[t.name]).__name__} becomes a {value.dtype.name} array: pass "
                        f"np.asarray(value, dtype={t.dtype.to_numpy().name!r}))")
            raise ExecutionError(f"input {t.name!r}: expected dtype {t.dtype.to_numpy().name}, "
                                 f"found {value.dtype.name}{hint}")
        out[t] = value
    binding: dict[str, int] = {}
    if not network.is_static:
        try:
            binding = bind_input_shapes(network, {t.name: v.shape for t, v in out.items()}, "the feed")
            if profiles:
                find_profile(network, binding, profiles)
            check_binding(network, binding, "the feed")
        except ShapeError as exc:
            raise ExecutionError(str(exc)) from None
    return out, binding


def execute(network, feeds: Mapping[str, np.ndarray], outputs: Iterable[str] | None = None,
            profiles=None) -> dict:
    """Run ``network`` on CPU.

    Args:
        network: a Network whose weights are all bound.
        feeds: input name -> array of the input's shape (any values of its
            runtime dimensions) and dtype.
        outputs: names of any tensors to return (``"all"`` returns every
            tensor); default the network's marked outputs.
        profiles: optional optimization profiles (``netdsl.graph.profiles``):
            the feeds' shapes must then lie within one of them.
    Returns:
        dict tensor name -> np.ndarray (float16 for HALF, float32 holding
        bf16-rounded values for BF16).
    Raises:
        WeightsError: some weights are unbound.
        ExecutionError: bad feeds (including shapes outside the profiles or
            violating a layer's requirement), unknown output name, or a layer
            without a kernel.
    """
    unbound = network.unbound_weights()
    if unbound:
        raise WeightsError(f"network {network.name!r} has unbound weights: {', '.join(unbound)}")
    values, binding = check_feeds(network, feeds, profiles)
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
    with blas_held(), buffers.pass_scope():
        _run(network, values, binding, wanted)
    return {t.name: values[t] for t in wanted}


def _run(network, values, binding, wanted) -> None:
    """Run every layer, filling ``values`` (tensor -> array); frees what no later layer reads."""
    remaining = {}
    for layer in network.layers:
        for t in layer.inputs:
            remaining[t] = remaining.get(t, 0) + 1
    fused = plan_fusions(network, wanted)
    skipped = set()
    for layer in network.layers:
        if layer in skipped:
            continue
        args = [_compute_form(values[t]) for t in layer.inputs]
        view = BoundLayer(layer, binding) if binding and _needs_binding(layer) else layer
        produces = layer
        if layer in fused:  # the activation and/or pooling after it run inside its kernel
            chain = fused[layer]
            skipped.update(chain.layers)
            produces = chain.layers[-1]
            result = lookup(layer)(view, *args, **chain.kwargs())
        else:
            result = lookup(layer)(view, *args)
        if not isinstance(result, (list, tuple)):
            result = [result]
        for tensor, value in zip(produces.outputs, result):
            value = np.asarray(value)
            expected = tensor.shape if tensor.is_static else _learn_shape(tensor, value.shape, binding)
            if value.shape != expected:
                raise ExecutionError(f"{layer.name}: kernel produced shape {value.shape} for {tensor.name!r}, "
                                     f"expected {expected}")
            values[tensor] = to_dtype(value, tensor.dtype)
        for t in layer.inputs:
            remaining[t] -= 1
            if remaining[t] == 0 and t not in wanted:
                values.pop(t, None)


def _learn_shape(tensor, found, binding) -> tuple[int, ...]:
    """The tensor's shape at ``binding``; a data-dependent dimension (a single unbound name) learns its value."""
    shape = []
    for d, f in zip(tensor.shape, found + (None,) * max(0, len(tensor.shape) - len(found))):
        if isinstance(d, Dim):
            try:
                shape.append(d.evaluate(binding))
            except UnboundDimensionError:
                unknown = d.names() - set(binding)
                name = next(iter(unknown))
                if len(unknown) == 1 and f is not None and d == dim(name):
                    binding[name] = f
                shape.append(f if f is not None else -1)
        else:
            shape.append(d)
    return tuple(shape)

