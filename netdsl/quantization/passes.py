"""The precision pass: a Network -> a new Network with casts and Q/DQ layers placed for one precision.

Graph to graph: the input network is left untouched; the new one is rebuilt layer by layer (same
layer names, attributes and weights — the same Weights arrays, declared under the same names, so
a weight store binds either network) through the public ``add_*`` constructors, which re-infer
shapes and dtypes. Layers whose dtype the pass changes or around which it inserts layers are
replayed with their own ``add_*`` (convolution, pooling, activation, elementwise, unary,
concatenation, matrix multiply, softmax, constant, cast, identity); every other layer is appended
as it is (``Network.begin_layer`` / ``append_layer``), its float outputs following its inputs'
float type.

Placement (TensorRT developer guide, "Explicit Quantization": Q/DQ placement recommendations, and
"Strong typing"; TensorRT-RTX networks are strongly typed, so precision is exactly the dtypes,
casts and Q/DQ layers of the graph):

* ``int8`` / ``fp8``: every convolution and matrix multiply gets a quantize/dequantize pair on its
  activation input (per-tensor scale ``amax / 127`` (INT8) or ``amax / 448`` (FP8) from the
  calibration) and on its weights (per-channel symmetric: axis 0 of a KCRS kernel, the output
  axis of a matrix-multiply constant; scale = max |w| per channel / 127 or / 448); a residual add
  (an elementwise SUM of two activations of equal shape whose result still reaches a
  convolution/matmul) gets Q/DQ on both inputs (NVIDIA's placement for TensorRT to fuse the add into
  the convolution; TensorRT-RTX 1.7.1 runs it in a generated kernel apart from the convolutions:
  docs/precision.md). Layers
  after the last weighted layer (a detector's decode, the outputs) stay in float. Activations
  stay FLOAT between the Q/DQ pairs.
* ``int8-weight-only`` / ``int4-weight-only``: only the constant operands of matrix multiplies
  are quantized (INT8 per output channel; INT4 in blocks of 128, 64 or 32 along the contracted
  axis); activations stay float.
* ``fp16`` / ``bf16`` ("autocast"): the network input is cast once to HALF (BF16) and the body
  computes in it; softmax, normalization, reduce, cumulative, top-k and LRN layers, the layers
  after the last weighted layer (detection decode) and the layers producing network outputs run
  in FLOAT, with casts inserted where the type changes.
* ``fp32``: an identical copy.

Errors are one-line :class:`PrecisionError` (a NetdslError).
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..graph.dtypes import DataType
from ..graph.enums import LayerType, MatrixOperation
from ..graph.errors import NetdslError
from ..graph.network import DerivedWeights, Network, Weights
from .calibration import WEIGHTED, Calibration, CalibrationError, is_constant, is_residual_add, tail_layers

PRECISIONS = ("fp32", "fp16", "bf16", "int8", "int8-weight-only", "int4-weight-only", "fp8")
QMAX = {DataType.INT8: 127.0, DataType.FP8: 448.0, DataType.INT4: 7.0}
FLOAT_OF = {"fp32": DataType.FLOAT, "fp16": DataType.HALF, "bf16": DataType.BF16}
SENSITIVE = (LayerType.SOFTMAX, LayerType.NORMALIZATION, LayerType.REDUCE, LayerType.CUMULATIVE,
             LayerType.TOPK, LayerType.LRN)
INT4_BLOCKS = (128, 64, 32)


class PrecisionError(NetdslError, ValueError):
    """A precision request that cannot be honoured (one line naming the layer, tensor, file or target)."""


@dataclass
class Policy:
    """What the pass does per layer.

    Attributes:
        precision: one of :data:`PRECISIONS`.
        exclude: glob patterns (``fnmatch``) of layer names kept unquantized in FLOAT; each must
            match at least one layer.
        force: glob pattern -> precision for the layers it matches (``"fp32"``, ``"fp16"``,
            ``"bf16"``, ``"int8"``, ``"fp8"``), overriding ``precision``; each must match a layer.
    """

    precision: str
    exclude: tuple = ()
    force: Mapping[str, str] = field(default_factory=dict)


def _check_target(precision: str, target: str | None, forced=()) -> None:
    from ..tensorrt.compat import unsupported_datatype
    if target is None:
        return
    needs = {"fp8": DataType.FP8, "bf16": DataType.BF16}
    for p in (precision, *forced):
        dtype = needs.get(p)
        if dtype is None:
            continue
        try:
            problem = unsupported_datatype(dtype, target)
        except NetdslError as exc:
            raise PrecisionError(str(exc)) from None
        if problem:
            raise PrecisionError(f"precision {p}: {problem}")


def _matches(pattern: str, names) -> list[str]:
    return [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def _constant_value(tensor) -> np.ndarray:
    """The value of a tensor computed from constants only, by the reference kernels."""
    from ..reference.executor import to_dtype
    from ..reference.registry import lookup
    layer = tensor.layer
    args = [np.asarray(_constant_value(t)) for t in layer.inputs]
    args = [a.astype(np.float32) if a.dtype == np.float16 else a for a in args]
    result = lookup(layer)(layer, *args)
    result = result if isinstance(result, (list, tuple)) else [result]
    return to_dtype(np.asarray(result[layer.outputs.index(tensor)]), tensor.dtype)


class _Rebuild:
    """State of one rebuild: the new network, tensor and weight maps, memoized casts."""

    def __init__(self, src: Network):
        self.src = src
        self.net = Network(src.name)
        self.tmap: dict = {}
        self.wmap: dict = {}
        self.casts: dict = {}
        for t in src.inputs:
            self.tmap[t] = self.net.add_input(t.name, t.dtype, t.shape)
        for w in src.weights().values():  # declared in the source's order, whatever order layers use them in
            self.weights(w)

    # -- weights ----------------------------------------------------------------------------------
    def weights(self, w):
        if w is None or id(w) in self.wmap:
            return None if w is None else self.wmap[id(w)]
        if isinstance(w, DerivedWeights):
            new = DerivedWeights(w.name, w.shape, [self.weights(s) for s in w.sources], w.fn, w.dtype)
        else:
            prefix, _, role = w.name.rpartition(".")
            if prefix:
                new = self.net.declare_weights(prefix, role, w.shape, w.dtype, value=w.value)
            else:
                new = Weights(w.name, w.shape, w.dtype, w.value)
                self.net._weights[w.name] = new
        self.wmap[id(w)] = new
        return new

    # -- tensors ----------------------------------------------------------------------------------
    def cast(self, tensor, dtype: DataType):
        """The new network's ``tensor`` in ``dtype`` (one cast per tensor and dtype, named ``<tensor>.to_<dtype>``)."""
        new = self.tmap[tensor]
        if new.dtype is dtype or not new.dtype.is_float or not dtype.is_float:
            return new
        key = (tensor, dtype)
        if key not in self.casts:
            self.casts[key] = self.net.add_cast(new, dtype, name=f"{tensor.name}.to_{dtype.name.lower()}").output
        return self.casts[key]

    def qdq(self, x, scale, qtype: DataType, name: str, axis=None):
        """Quantize ``x`` to ``qtype`` and dequantize back to its dtype: layers ``<name>_quantize`` /
        ``<name>_dequantize``."""
        q = self.net.add_quantize(x, scale, qtype, axis=axis, name=f"{name}_quantize").output
        return self.net.add_dequantize(q, scale, x.dtype, axis=axis, name=f"{name}_dequantize").output

    # -- replay -----------------------------------------------------------------------------------
    def replay(self, layer, inputs, kernel=None):
        """Add ``layer`` to the new network on ``inputs`` (new tensors); returns the new Layer."""
        a, net, n = layer.attrs, self.net, layer.name
        t = layer.type
        w = {k: self.weights(v) for k, v in layer.weights.items()}
        if t is LayerType.CONVOLUTION:
            new = net.add_convolution_nd(
                inputs[0], a["num_output_maps"], a["kernel_size_nd"],
                kernel=kernel if kernel is not None else (inputs[1] if len(inputs) > 1 else w["kernel"]),
                bias=w.get("bias", False), stride_nd=a["stride_nd"], pre_padding=a["pre_padding"],
                post_padding=tuple(p - o for p, o in zip(a["post_padding"], a["overhang"])),
                dilation_nd=a["dilation_nd"], num_groups=a["num_groups"], padding_mode=a["padding_mode"], name=n)
        elif t is LayerType.POOLING and not a.get("global_pooling"):
            new = net.add_pooling_nd(inputs[0], a["pooling_type"], a["window_size_nd"], stride_nd=a["stride_nd"],
                                     pre_padding=a["pre_padding"],
                                     post_padding=tuple(p - o for p, o in zip(a["post_padding"], a["overhang"])),
                                     padding_mode=a["padding_mode"],
                                     average_count_excludes_padding=a["average_count_excludes_padding"],
                                     blend_factor=a["blend_factor"], name=n)
        elif t is LayerType.ACTIVATION:
            new = net.add_activation(inputs[0], a["activation_type"], a["alpha"], a["beta"], name=n)
        elif t is LayerType.ELEMENTWISE:
            new = net.add_elementwise(inputs[0], inputs[1], a["op"], name=n)
        elif t is LayerType.UNARY:
            new = net.add_unary(inputs[0], a["op"], name=n)
        elif t is LayerType.CONCATENATION:
            new = net.add_concatenation(list(inputs), axis=a["axis"], name=n)
        elif t is LayerType.MATRIX_MULTIPLY:
            new = net.add_matrix_multiply(inputs[0], a["op0"], inputs[1], a["op1"], name=n)
        elif t is LayerType.SOFTMAX:
            new = net.add_softmax(inputs[0], axes=a["axes"], name=n)
        elif t is LayerType.CONSTANT:
            new = net.add_constant(a["shape"], w["weights"], name=n)
        elif t is LayerType.CAST:
            new = net.add_cast(inputs[0], a["to_type"], name=n)
        elif t is LayerType.IDENTITY:
            new = net.add_identity(inputs[0], name=n)
        else:
            new = self.append_as_is(layer, inputs, w)
        for key, value in a.items():  # metadata other constructors recorded (e.g. a folded batch norm's name)
            new.attrs.setdefault(key, value)
        return new

    def append_as_is(self, layer, inputs, weights):
        """Append ``layer`` with its attributes; float outputs of a layer whose output type followed its
        float input's type follow the new input's type."""
        name = self.net.begin_layer(layer.type, layer.name, inputs)
        src_float = next((t.dtype for t in layer.inputs if t is not None and t.dtype.is_float), None)
        new_float = next((t.dtype for t in inputs if t is not None and t.dtype.is_float), None)
        outputs = []
        for t in layer.outputs:
            dtype = new_float if (src_float is not None and t.dtype is src_float and new_float is not None) else t.dtype
            outputs.append((t.shape, dtype))
        return self.net.append_layer(layer.type, name, list(inputs), outputs, dict(layer.attrs), weights,
                                     shape_values=[t.shape_value for t in layer.outputs])

    def finish(self):
        for t in self.src.outputs:
            new = self.tmap[t]
            if new.dtype is not t.dtype:
                raise PrecisionError(f"output {t.name!r} would change from {t.dtype.name} to {new.dtype.name}")
            self.net.mark_output(new, name=t.name)
        self.net.shape_constraints = list(self.src.shape_constraints)
        return self.net


def _layer_modes(network, policy: Policy) -> dict:
    """layer -> its precision string, after exclude and force patterns (each must match a layer)."""
    names = [layer.name for layer in network.layers]
    modes = {layer: policy.precision for layer in network.layers}
    for pattern, precision in policy.force.items():
        if precision not in ("fp32", "fp16", "bf16", "int8", "fp8"):
            raise PrecisionError(f"force {pattern!r}: precision must be fp32, fp16, bf16, int8 or fp8, "
                                 f"found {precision!r}")
        hits = _matches(pattern, names)
        if not hits:
            raise PrecisionError(f"force pattern {pattern!r} matches no layer of network {network.name!r}")
        for layer in network.layers:
            if layer.name in hits:
                modes[layer] = precision
    for pattern in policy.exclude:
        hits = _matches(pattern, names)
        if not hits:
            raise PrecisionError(f"exclude pattern {pattern!r} matches no layer of network {network.name!r}")
        for layer in network.layers:
            if layer.name in hits:
                modes[layer] = "fp32"
    return modes


def _weight_scale(layer_name, value, axis, qtype, calibration, weight_name):
    """Per-channel scales of ``value`` along ``axis`` (or the calibration's override for ``weight_name``)."""
    value = np.asarray(value, dtype=np.float32)
    channels = value.shape[axis]
    if calibration is not None and weight_name in calibration.weight_amax:
        amax = np.asarray(calibration.weight_amax[weight_name], dtype=np.float64)
        if amax.shape != (channels,):
            raise PrecisionError(f"{layer_name}: calibration gives {amax.size} per-channel amax values for weights "
                                 f"{weight_name!r}, expected {channels} (axis {axis} of {value.shape})")
    else:
        amax = np.abs(np.moveaxis(value, axis, 0).reshape(channels, -1)).max(axis=1).astype(np.float64)
    scale = amax / QMAX[qtype]
    return np.where(scale > 0, scale, 1.0).astype(np.float32)


def _activation_scale(layer, tensor, qtype, calibration):
    if tensor.name not in calibration.amax:
        raise PrecisionError(f"{layer.name}: the calibration has no amax for its input tensor {tensor.name!r} "
                             f"(recalibrate this network)")
    amax = float(calibration.amax[tensor.name])
    return np.float32(amax / QMAX[qtype] if amax > 0 else 1.0)


def apply_policy(network: Network, policy: Policy, *, calibration: Calibration | None = None,
                 target: str | None = None) -> Network:
    """Apply ``policy`` to ``network``; returns the new Network (see the module docstring).

    Raises:
        PrecisionError: as :func:`apply_precision`.
    """
    if policy.precision not in PRECISIONS:
        raise PrecisionError(f"unknown precision {policy.precision!r}; expected one of {', '.join(PRECISIONS)}")
    _check_target(policy.precision, target, tuple(policy.force.values()))
    modes = _layer_modes(network, policy)
    needs_calibration = any(m in ("int8", "fp8") for m in modes.values())
    if needs_calibration:
        if calibration is None:
            raise PrecisionError(f"precision {policy.precision}: INT8/FP8 activations need a calibration "
                                 f"(netdsl calibrate, or --calibration FILE)")
        try:
            calibration.check_network(network)
        except CalibrationError as exc:
            raise PrecisionError(str(exc)) from None
    weight_only = policy.precision in ("int8-weight-only", "int4-weight-only")
    if weight_only and not any(layer.type is LayerType.MATRIX_MULTIPLY and any(is_constant(t) for t in layer.inputs)
                               for layer in network.layers):
        raise PrecisionError(f"precision {policy.precision} quantizes the constant operands of matrix multiplies; "
                             f"network {network.name!r} has none (use int8 for convolutions)")
    tail = tail_layers(network)
    output_layers = {t.layer for t in network.outputs if t.layer is not None}
    autocast = any(m in ("fp16", "bf16") for m in modes.values())
    rb = _Rebuild(network)
    for layer in network.layers:
        mode = modes[layer]
        float_type = _float_type(layer, mode, autocast, tail, output_layers)
        qtype = {"int8": DataType.INT8, "fp8": DataType.FP8}.get(mode)
        inputs = [None if t is None else rb.cast(t, float_type) if t.dtype.is_float and float_type is not None
                  else rb.tmap[t] for t in layer.inputs]
        kernel = None
        if qtype is not None and layer not in tail and layer.type is LayerType.CONVOLUTION and "kernel" in layer.weights:
            inputs[0] = rb.qdq(inputs[0], _activation_scale(layer, layer.inputs[0], qtype, calibration), qtype,
                               f"{layer.name}.input")
            kernel_w = rb.weights(layer.weights["kernel"])
            k = rb.net.add_constant(kernel_w.shape, kernel_w, name=f"{layer.name}.kernel").output
            if k.dtype is not inputs[0].dtype:
                k = rb.net.add_cast(k, inputs[0].dtype, name=f"{layer.name}.kernel_cast").output
            scale = _weight_scale(layer.name, layer.weights["kernel"].value, 0, qtype, calibration,
                                  layer.weights["kernel"].name)
            kernel = rb.qdq(k, scale, qtype, f"{layer.name}.kernel", axis=0)
        elif layer.type is LayerType.MATRIX_MULTIPLY and (qtype is not None or (weight_only and mode == policy.precision)):
            inputs = _quantize_matmul(rb, layer, inputs, qtype, policy.precision, calibration)
        elif qtype is not None and layer not in tail and is_residual_add(layer):
            inputs = [rb.qdq(x, _activation_scale(layer, t, qtype, calibration), qtype, f"{layer.name}.input{i}")
                      for i, (x, t) in enumerate(zip(inputs, layer.inputs))]
        new = rb.replay(layer, inputs, kernel=kernel)
        for t, nt in zip(layer.outputs, new.outputs):
            rb.tmap[t] = nt
    return rb.finish()


def _float_type(layer, mode, autocast, tail, output_layers):
    """The float type a layer computes in, or None to leave its inputs' types as they are.

    Only a network with fp16 / bf16 layers changes float types: those layers compute in HALF /
    BF16 unless sensitive, in the tail or producing an output; every other float layer then
    computes in FLOAT. Without autocast the types are left alone (int8 / fp8 keep the network's
    float types around the Q/DQ pairs).
    """
    if not autocast or layer.type in (LayerType.CONSTANT, LayerType.CAST, LayerType.SHAPE, LayerType.FILL):
        return None
    if not any(t is not None and t.dtype.is_float for t in layer.inputs):
        return None
    if mode in ("fp16", "bf16") and not (layer in tail or layer in output_layers or layer.type in SENSITIVE):
        return FLOAT_OF[mode]
    return DataType.FLOAT


def _quantize_matmul(rb, layer, inputs, qtype, precision, calibration):
    """Q/DQ on a matrix multiply's operands: activations per-tensor, constants per output channel
    (or INT4 blocks along the contracted axis for int4-weight-only)."""
    out = list(inputs)
    weight_only = precision in ("int8-weight-only", "int4-weight-only") and qtype is None
    for i, (t, x) in enumerate(zip(layer.inputs, inputs)):
        op = layer.op0 if i == 0 else layer.op1
        if is_constant(t):
            value = _constant_value(t).astype(np.float32)
            if op is MatrixOperation.VECTOR or value.ndim < 2:
                continue
            # output channel axis: input1 NONE (.., K, N) -> last, TRANSPOSE (.., N, K) -> second to last;
            # input0 NONE (.., M, K) -> second to last, TRANSPOSE (.., K, M) -> last.
            out_axis = value.ndim - 1 if (i == 1) == (op is MatrixOperation.NONE) else value.ndim - 2
            k_axis = value.ndim - 2 if out_axis == value.ndim - 1 else value.ndim - 1
            if precision == "int4-weight-only" and weight_only:
                block = next((b for b in INT4_BLOCKS if value.shape[k_axis] % b == 0), None)
                if block is None:
                    continue  # the contracted size takes no INT4 block: left in float
                blocks = np.moveaxis(value, k_axis, -1)
                blocks = blocks.reshape(blocks.shape[:-1] + (blocks.shape[-1] // block, block))
                amax = np.abs(blocks).max(axis=-1)
                scale = np.moveaxis(np.where(amax > 0, amax / 7.0, 1.0).astype(np.float32), -1, k_axis)
                scale = np.ascontiguousarray(scale)
                q = rb.net.add_quantize(x, scale, DataType.INT4, axis=k_axis, name=f"{layer.name}.input{i}_quantize")
                out[i] = rb.net.add_dequantize(q.output, scale, x.dtype, axis=k_axis,
                                               name=f"{layer.name}.input{i}_dequantize").output
                continue
            wq = qtype or DataType.INT8
            if value.ndim != 2:
                continue  # batched constants: per-channel scales are 1-D along one axis; left in float
            weight_name = t.layer.weights["weights"].name if t.layer.type is LayerType.CONSTANT else t.name
            scale = _weight_scale(layer.name, value, out_axis, wq, calibration, weight_name)
            out[i] = rb.qdq(x, scale, wq, f"{layer.name}.input{i}", axis=out_axis)
        elif qtype is not None:
            out[i] = rb.qdq(x, _activation_scale(layer, t, qtype, calibration), qtype, f"{layer.name}.input{i}")
    return out


def apply_precision(network: Network, precision: str, *, calibration=None, exclude=(),
                    target: str | None = None) -> Network:
    """The network rebuilt for ``precision`` (module docstring), the input left unchanged.

    Args:
        network: the fp32 Network (weights bound for int8/fp8/weight-only; fp16/bf16/fp32 also work
            unbound: the new network declares the same weight names).
        precision: ``fp32``, ``fp16``, ``bf16``, ``int8``, ``int8-weight-only``, ``int4-weight-only``
            or ``fp8``.
        calibration: a :class:`Calibration` or the path of its JSON file; required for int8 / fp8.
        exclude: glob patterns of layer names to keep in FLOAT, unquantized (``"conv13.*"``).
        target: the GPU architecture the engine is for (``"sm86"``), to refuse what it cannot run.
    Returns:
        a new Network with the same inputs, outputs (names and dtypes) and weight names.
    Raises:
        PrecisionError (one line): an unknown precision; int8/fp8 without calibration; a calibration
            for another model or other weights (name / SHA-256 mismatch) or lacking a tensor; fp8 for a
            target below sm89, bf16 for sm75; per-channel weight amax of the wrong length in the
            calibration; an exclude pattern that matches no layer; weight-only on a network without
            constant matmul operands.
    """
    if isinstance(calibration, (str, bytes)) or hasattr(calibration, "__fspath__"):
        from .calibration import load_calibration
        try:
            calibration = load_calibration(calibration)
        except CalibrationError as exc:
            raise PrecisionError(str(exc)) from None
    if isinstance(exclude, str):
        exclude = (exclude,)
    return apply_policy(network, Policy(precision, tuple(exclude)), calibration=calibration, target=target)
