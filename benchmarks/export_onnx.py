"""Export a netdsl Network with bound weights to ONNX (onnx.helper), verified against the reference executor.

The export is at the network's static input shapes: layers whose outputs do
not depend on the input's values (CONSTANT, FILL, SHAPE, and everything
computed only from them: the YOLO grid, anchors and cell sizes) are
evaluated once with ``netdsl.reference.execute(..., outputs=[...])`` and
become ONNX initializers. The layers that do depend on the image map to one
ONNX node each (SHUFFLE to up to three: Transpose, Reshape, Transpose):

    CONVOLUTION -> Conv           POOLING -> MaxPool / AveragePool / Global*
    ACTIVATION  -> Relu, LeakyRelu, Sigmoid, Tanh, Elu, Selu, HardSigmoid, Softsign, Clip
    ELEMENTWISE -> Add, Mul, Sub, Div (float), Max, Min, Pow
    UNARY       -> Exp, Log, Sqrt, Reciprocal, Abs, Neg, Floor, Ceil, Sin, Cos, Erf, Sign, Not
    SHUFFLE     -> Transpose / Reshape / Transpose     SLICE -> Slice (in-bounds reads)
    CONCATENATION -> Concat       RESIZE -> Resize (NEAREST, LINEAR)
    CAST -> Cast                  IDENTITY -> Identity

Anything else, or an attribute combination whose ONNX meaning differs from
TensorRT's (an output size ONNX would compute differently, a slice reading
out of bounds, CUBIC resize ...), raises :class:`ExportError` naming the layer.

Verification: onnxruntime (CPU) and the reference executor run the same
input; the script prints, per output, the max absolute difference and the
max difference relative to the output's largest magnitude, and refuses to
write the file when a relative difference exceeds 1e-4.

    python benchmarks/export_onnx.py --model yolov3-tiny --batch 1 -o yolov3-tiny-b1.onnx
    python benchmarks/export_onnx.py --model yolov3 --batch 4 -o yolov3-b4.onnx   # seeded random weights
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TOLERANCE = 1e-4  # max |onnxruntime - reference| / max |reference|, per output
OPSET = 17


class ExportError(Exception):
    """The network (or one layer's attributes) has no faithful ONNX export here."""


def _onnx():
    import onnx
    from onnx import helper, numpy_helper
    return onnx, helper, numpy_helper


def _is_identity(perm) -> bool:
    return tuple(perm) == tuple(range(len(perm)))


class _Exporter:
    def __init__(self, network, opset: int):
        self.net = network
        self.opset = opset
        self.nodes = []
        self.initializers = {}
        self.const_values = {}
        self._uid = 0

    # -- helpers ---------------------------------------------------------------
    def fail(self, layer, why: str):
        raise ExportError(f"{layer.type.name} layer {layer.name!r}: {why}")

    def unique(self, base: str) -> str:
        self._uid += 1
        return f"{base}/{self._uid}"

    def initializer(self, name: str, array) -> str:
        _, _, numpy_helper = _onnx()
        if name not in self.initializers:
            self.initializers[name] = numpy_helper.from_array(np.ascontiguousarray(array), name)
        return name

    def node(self, op: str, inputs, outputs, name: str, **attrs):
        _, helper, _ = _onnx()
        self.nodes.append(helper.make_node(op, list(inputs), list(outputs), name=name, **attrs))

    def src(self, tensor) -> str:
        """ONNX name of an input tensor: a graph value, or an initializer holding a constant's value."""
        if tensor in self.const_values:
            return self.initializer(tensor.name, self.const_values[tensor])
        return tensor.name

    def static_arg(self, layer, tensor, what: str) -> np.ndarray:
        if tensor not in self.const_values:
            self.fail(layer, f"{what} comes from tensor {tensor.name!r}, which depends on the input values")
        return self.const_values[tensor]

    # -- layers ------------------------------------------------------------------
    def convolution(self, layer):
        x, out = layer.inputs[0], layer.outputs[0]
        n = len(layer.kernel_size_nd)
        if x.ndim != n + 2:
            self.fail(layer, f"input rank {x.ndim} with leading batch dims (ONNX Conv takes N, C, *spatial)")
        if len(layer.inputs) > 1:
            kernel = self.static_arg(layer, layer.inputs[1], "the kernel")
        else:
            kernel = layer.weights["kernel"].value
        bias = layer.weights["bias"].value if "bias" in layer.weights else None
        pre, post = tuple(layer.pre_padding), tuple(layer.post_padding)
        for i, (s, k, d, st, p0, p1) in enumerate(zip(x.shape[2:], layer.kernel_size_nd, layer.dilation_nd,
                                                      layer.stride_nd, pre, post)):
            onnx_out = (s + p0 + p1 - d * (k - 1) - 1) // st + 1
            if onnx_out != out.shape[2 + i]:
                self.fail(layer, f"spatial dim {i}: ONNX Conv would give {onnx_out}, the layer gives "
                                 f"{out.shape[2 + i]} (padding mode {layer.padding_mode.name})")
        inputs = [self.src(x), self.initializer(f"{layer.name}.kernel", np.asarray(kernel, np.float32))]
        if bias is not None:
            inputs.append(self.initializer(f"{layer.name}.bias", np.asarray(bias, np.float32)))
        self.node("Conv", inputs, [out.name], layer.name, kernel_shape=list(layer.kernel_size_nd),
                  strides=list(layer.stride_nd), dilations=list(layer.dilation_nd), pads=list(pre + post),
                  group=int(layer.num_groups))

    def activation(self, layer):
        kind = layer.activation_type.name
        a, b = float(np.float32(layer.alpha)), float(np.float32(layer.beta))
        x, y, name = self.src(layer.inputs[0]), layer.outputs[0].name, layer.name
        if not layer.inputs[0].dtype.is_float:
            self.fail(layer, f"{kind} of a {layer.inputs[0].dtype.name} tensor")
        simple = {"RELU": "Relu", "SIGMOID": "Sigmoid", "TANH": "Tanh", "SOFTSIGN": "Softsign"}
        if kind in simple:
            self.node(simple[kind], [x], [y], name)
        elif kind == "LEAKY_RELU":
            self.node("LeakyRelu", [x], [y], name, alpha=a)
        elif kind == "ELU":
            self.node("Elu", [x], [y], name, alpha=a)
        elif kind == "SELU":  # TensorRT: beta * x (x > 0), beta * alpha * (e^x - 1)
            self.node("Selu", [x], [y], name, alpha=a, gamma=b)
        elif kind == "HARD_SIGMOID":
            self.node("HardSigmoid", [x], [y], name, alpha=a, beta=b)
        elif kind == "CLIP":
            lo = self.initializer(f"{name}.min", np.array(a, np.float32))
            hi = self.initializer(f"{name}.max", np.array(b, np.float32))
            self.node("Clip", [x, lo, hi], [y], name)
        else:
            self.fail(layer, f"activation {kind} is not exported")

    def pooling(self, layer):
        x, out = layer.inputs[0], layer.outputs[0]
        n = len(layer.window_size_nd)
        kind = layer.pooling_type.name
        if x.ndim != n + 2:
            self.fail(layer, f"input rank {x.ndim} with leading batch dims")
        if kind not in ("MAX", "AVERAGE"):
            self.fail(layer, f"{kind} pooling is not exported")
        if layer.global_pooling:
            self.node("GlobalMaxPool" if kind == "MAX" else "GlobalAveragePool", [self.src(x)], [out.name],
                      layer.name)
            return
        pre, post = tuple(layer.pre_padding), tuple(layer.post_padding)
        for i, (s, k, st, p0, p1) in enumerate(zip(x.shape[2:], layer.window_size_nd, layer.stride_nd, pre, post)):
            onnx_out = (s + p0 + p1 - k) // st + 1
            if onnx_out != out.shape[2 + i]:
                self.fail(layer, f"spatial dim {i}: ONNX pooling (floor) would give {onnx_out}, the layer "
                                 f"gives {out.shape[2 + i]} (padding mode {layer.padding_mode.name})")
        if kind == "AVERAGE" and not layer.average_count_excludes_padding and any(getattr(layer, "overhang", ())):
            self.fail(layer, f"AVERAGE with overhang {layer.overhang} (TensorRT does not count the overhang; "
                             f"ONNX count_include_pad would)")
        attrs = dict(kernel_shape=list(layer.window_size_nd), strides=list(layer.stride_nd), pads=list(pre + post))
        if kind == "MAX":  # ONNX MaxPool ignores padded cells; the reference pads with -inf: the same
            self.node("MaxPool", [self.src(x)], [out.name], layer.name, **attrs)
        else:
            self.node("AveragePool", [self.src(x)], [out.name], layer.name,
                      count_include_pad=0 if layer.average_count_excludes_padding else 1, **attrs)

    _BINARY = {"SUM": "Add", "PROD": "Mul", "SUB": "Sub", "MAX": "Max", "MIN": "Min", "POW": "Pow", "DIV": "Div"}

    def elementwise(self, layer):
        op = layer.op.name
        a, b = layer.inputs
        if op not in self._BINARY:
            self.fail(layer, f"elementwise {op} is not exported")
        if op in ("DIV", "POW") and not a.dtype.is_float:
            self.fail(layer, f"integer {op} (TensorRT truncates toward zero)")
        if a.ndim != b.ndim:
            self.fail(layer, f"inputs of rank {a.ndim} and {b.ndim}")
        self.node(self._BINARY[op], [self.src(a), self.src(b)], [layer.outputs[0].name], layer.name)

    _UNARY = {"EXP": "Exp", "LOG": "Log", "SQRT": "Sqrt", "RECIP": "Reciprocal", "ABS": "Abs", "NEG": "Neg",
              "FLOOR": "Floor", "CEIL": "Ceil", "SIN": "Sin", "COS": "Cos", "ERF": "Erf", "SIGN": "Sign",
              "NOT": "Not"}

    def unary(self, layer):
        op = layer.op.name
        if op not in self._UNARY:
            self.fail(layer, f"unary {op} is not exported")
        self.node(self._UNARY[op], [self.src(layer.inputs[0])], [layer.outputs[0].name], layer.name)

    def shuffle(self, layer):
        x, out = layer.inputs[0], layer.outputs[0]
        if len(layer.inputs) > 1:
            self.static_arg(layer, layer.inputs[1], "the reshape dims")  # only checks: the output shape says it
        first, second = tuple(layer.first_transpose), tuple(layer.second_transpose)
        current, shape = self.src(x), tuple(x.shape[i] for i in first)
        steps = []
        if not _is_identity(first):
            steps.append(("Transpose", dict(perm=list(first))))
        target = [0] * len(second)  # out = transpose(r, second): r.shape[second[i]] = out.shape[i]
        for i, p in enumerate(second):
            target[p] = out.shape[i]
        if tuple(target) != shape:
            steps.append(("Reshape", dict(shape=target)))
        if not _is_identity(second):
            steps.append(("Transpose", dict(perm=list(second))))
        if not steps:
            steps.append(("Identity", {}))
        for i, (op, attrs) in enumerate(steps):
            dst = out.name if i == len(steps) - 1 else self.unique(f"{layer.name}/{op.lower()}")
            if op == "Reshape":
                if any(d == 0 for d in attrs["shape"]):
                    self.fail(layer, "a reshape to a zero-size dim")
                dims = self.initializer(f"{layer.name}.reshape_dims", np.array(attrs["shape"], np.int64))
                self.node("Reshape", [current, dims], [dst], f"{layer.name}/reshape")
            else:
                self.node(op, [current], [dst], f"{layer.name}/{op.lower()}{i}", **attrs)
            current = dst

    def slice(self, layer):
        x, out = layer.inputs[0], layer.outputs[0]
        params = {"start": layer.start, "shape": layer.shape, "stride": layer.stride}
        for name, tensor in zip(layer.tensor_args, layer.inputs[1:]):
            params[name] = tuple(int(v) for v in self.static_arg(layer, tensor, f"slice {name}"))
        starts, ends, axes, steps = [], [], [], []
        for axis, (b, n, s, d) in enumerate(zip(params["start"], params["shape"], params["stride"], x.shape)):
            if n == 0 or s == 0:
                self.fail(layer, f"dim {axis}: size {n}, stride {s} (no ONNX Slice equivalent)")
            last = b + (n - 1) * s
            if not (0 <= b < d and 0 <= last < d):
                self.fail(layer, f"dim {axis}: reads outside [0, {d}) ({layer.mode.name} mode is not exported)")
            if (b, n, s) == (0, d, 1):
                continue
            end = last + (1 if s > 0 else -1)
            starts.append(b)
            ends.append(end if end >= 0 else -(2 ** 63))  # -1 would mean "from the end"
            axes.append(axis)
            steps.append(s)
        if not axes:
            self.node("Identity", [self.src(x)], [out.name], layer.name)
            return
        ins = [self.src(x)] + [self.initializer(f"{layer.name}.{k}", np.array(v, np.int64))
                               for k, v in (("starts", starts), ("ends", ends), ("axes", axes), ("steps", steps))]
        self.node("Slice", ins, [out.name], layer.name)

    def concatenation(self, layer):
        self.node("Concat", [self.src(t) for t in layer.inputs], [layer.outputs[0].name], layer.name,
                  axis=int(layer.axis))

    _ROUNDING = {"FLOOR": "floor", "CEIL": "ceil", "HALF_UP": "round_prefer_ceil", "HALF_DOWN": "round_prefer_floor"}
    _TRANSFORM = {"ASYMMETRIC": "asymmetric", "HALF_PIXEL": "half_pixel", "ALIGN_CORNERS": "align_corners"}

    def resize(self, layer):
        x, out = layer.inputs[0], layer.outputs[0]
        if len(layer.inputs) > 1:
            self.static_arg(layer, layer.inputs[1], "the output shape")
        mode = layer.resize_mode.name
        transform = layer.coordinate_transformation.name
        if mode not in ("NEAREST", "LINEAR"):
            self.fail(layer, f"{mode} resize is not exported")
        if transform not in self._TRANSFORM:
            self.fail(layer, f"coordinate transformation {transform} is not exported")
        if any(o == 1 and i != 1 for i, o in zip(x.shape, out.shape)):
            self.fail(layer, "an axis resized to length 1 (TensorRT's single-pixel selector)")
        attrs = dict(mode=mode.lower(), coordinate_transformation_mode=self._TRANSFORM[transform])
        if mode == "NEAREST":
            attrs["nearest_mode"] = self._ROUNDING[layer.nearest_rounding.name]
        sizes = self.initializer(f"{layer.name}.sizes", np.array(out.shape, np.int64))
        self.node("Resize", [self.src(x), "", "", sizes], [out.name], layer.name, **attrs)

    def cast(self, layer):
        _, helper, _ = _onnx()
        to = helper.np_dtype_to_tensor_dtype(np.dtype(layer.outputs[0].dtype.to_numpy()))
        self.node("Cast", [self.src(layer.inputs[0])], [layer.outputs[0].name], layer.name, to=to)

    def identity(self, layer):
        self.node("Identity", [self.src(layer.inputs[0])], [layer.outputs[0].name], layer.name)


def constant_tensors(network) -> set:
    """Tensors whose values do not depend on the network inputs' values at the network's static shapes."""
    constant = set()
    for layer in network.layers:
        if layer.type.name == "SHAPE" or all(t in constant for t in layer.inputs):
            constant.update(layer.outputs)
    return constant


def export_network(network, extra_outputs=(), opset: int = OPSET, feeds=None):
    """The ONNX ModelProto of a Network with static input shapes and bound weights.

    Args:
        network: a netdsl Network; every input shape static, every weight bound.
        extra_outputs: names of further tensors to expose as graph outputs
            (e.g. the raw YOLO heads), after the network's outputs.
        opset: ONNX opset of the default domain.
        feeds: inputs to evaluate the constant subgraphs with (default zeros;
            the constants do not depend on them).
    Raises:
        ExportError: runtime input dimensions, unbound weights, or a layer
            (type or attributes) with no faithful ONNX equivalent here.
    """
    onnx, helper, _ = _onnx()
    from netdsl.reference import execute
    if not network.is_static:
        raise ExportError(f"network {network.name!r} has runtime input dimensions "
                          f"{network.runtime_dims}: build it at a static shape (build_network(batch=1, height=416, "
                          f"width=416))")
    unbound = network.unbound_weights()
    if unbound:
        raise ExportError(f"network {network.name!r} has unbound weights: {', '.join(unbound[:5])} ...")
    outputs = [t for t in network.outputs] + [network.tensor(n) for n in extra_outputs]
    constant = constant_tensors(network)
    handlers = {"CONVOLUTION": "convolution", "ACTIVATION": "activation", "POOLING": "pooling",
                "ELEMENTWISE": "elementwise", "UNARY": "unary", "SHUFFLE": "shuffle", "SLICE": "slice",
                "CONCATENATION": "concatenation", "RESIZE": "resize", "CAST": "cast", "IDENTITY": "identity"}
    dynamic_layers = [layer for layer in network.layers if not all(t in constant for t in layer.outputs)]
    for layer in dynamic_layers:  # fail before evaluating anything
        if layer.type.name not in handlers:
            raise ExportError(f"{layer.type.name} layer {layer.name!r}: layer type not exported "
                              f"(exported: {', '.join(sorted(handlers))}, and any layer computed from shapes "
                              f"and constants only)")
        if len(layer.outputs) != 1:
            raise ExportError(f"{layer.type.name} layer {layer.name!r}: {len(layer.outputs)} outputs")
        for t in layer.inputs + tuple(layer.outputs):
            if t.dtype.name not in ("FLOAT", "INT32", "INT64", "BOOL"):
                raise ExportError(f"{layer.type.name} layer {layer.name!r}: tensor {t.name!r} is "
                                  f"{t.dtype.name} (only FLOAT, INT32, INT64, BOOL are exported)")
    needed = {t for layer in dynamic_layers for t in layer.inputs if t in constant}
    needed |= {t for t in outputs if t in constant}
    exporter = _Exporter(network, opset)
    if needed:
        if feeds is None:
            feeds = {t.name: np.zeros(t.shape, t.dtype.to_numpy()) for t in network.inputs}
        values = execute(network, feeds, outputs=[t.name for t in needed])
        exporter.const_values = {t: np.asarray(values[t.name]) for t in needed}
    for layer in dynamic_layers:
        getattr(exporter, handlers[layer.type.name])(layer)
    for t in outputs:
        if t in constant:  # a graph output must be produced by a node
            exporter.node("Identity", [exporter.src(t)], [t.name + "/out"], t.name + "/out")
    graph_outputs = [(t.name + "/out" if t in constant else t.name, t) for t in outputs]

    def info(name, t):
        return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(t.dtype.to_numpy())),
                                             list(t.shape))
    graph = helper.make_graph(exporter.nodes, network.name, [info(t.name, t) for t in network.inputs],
                              [info(n, t) for n, t in graph_outputs], list(exporter.initializers.values()))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="netdsl benchmarks/export_onnx.py")
    model.ir_version = min(model.ir_version, 8)  # opset 17's IR version: readable by older onnxruntimes too
    onnx.checker.check_model(model, full_check=True)
    return model


def verify(model_bytes: bytes, network, feeds, names) -> dict:
    """Run onnxruntime (CPU) and the reference executor on ``feeds``; per output name:
    ``{"max_abs": ..., "max_rel": max_abs / max|reference|, "shape": ...}``."""
    import onnxruntime as ort
    from netdsl.reference import execute
    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    graph_names = [o.name for o in sess.get_outputs()]
    got = dict(zip(graph_names, sess.run(None, feeds)))
    ref = execute(network, feeds, outputs=list(names))
    report = {}
    for name in names:
        onnx_name = name if name in got else name + "/out"
        a, b = np.asarray(got[onnx_name], np.float64), np.asarray(ref[name], np.float64)
        if a.shape != b.shape:
            report[name] = {"max_abs": float("inf"), "max_rel": float("inf"), "shape": [a.shape, b.shape]}
            continue
        diff = float(np.max(np.abs(a - b))) if a.size else 0.0
        scale = float(np.max(np.abs(b))) if b.size else 0.0
        report[name] = {"max_abs": diff, "max_rel": diff / scale if scale else diff, "shape": list(b.shape),
                        "max_abs_reference": scale}
    return report


def export_yolo(model: str, batch: int, out, h5=None, cache=None, log=print) -> dict:
    """Export a zoo YOLO at 416 x 416 and ``batch`` (graph outputs: boxes, scores, then the raw heads),
    verify it on the benchmark blob, and write it to ``out`` only if it agrees within TOLERANCE."""
    import yolo_common as yc
    if h5 is None:
        h5, _ = yc.weight_files(model, cache or tempfile.mkdtemp(prefix="netdsl-yolo-"))
    start = time.perf_counter()
    net = yc.build_network(model, batch, h5)
    heads = yc.raw_heads(model)
    proto = export_network(net, extra_outputs=heads)
    data = proto.SerializeToString()
    log(f"{model} batch {batch}: {len(proto.graph.node)} ONNX nodes, {len(proto.graph.initializer)} initializers, "
        f"{len(data) / 2 ** 20:.1f} MiB ({time.perf_counter() - start:.1f} s)")
    feeds = {net.inputs[0].name: yc.input_blob(batch)}
    names = [t.name for t in net.outputs] + list(heads)
    report = verify(data, net, feeds, names)
    worst = max(r["max_rel"] for r in report.values())
    for name, r in report.items():
        log(f"  {name:<14} shape {tuple(r['shape'])}: max |onnxruntime - reference| {r['max_abs']:.3g}, "
            f"relative to max |reference| ({r.get('max_abs_reference', 0):.3g}) {r['max_rel']:.3g}")
    if not worst <= TOLERANCE:
        raise ExportError(f"{model} batch {batch}: onnxruntime disagrees with the reference executor "
                          f"(max relative difference {worst:.3g} > {TOLERANCE:g}); {out} not written")
    Path(out).write_bytes(data)
    log(f"  verified (worst relative difference {worst:.3g} <= {TOLERANCE:g}); wrote {out}")
    return {"model": model, "batch": batch, "path": str(out), "verification": report, "worst_rel": worst}


def main(argv=None):
    import yolo_common as yc
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=sorted(yc.MODELS), default="yolov3-tiny")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--weights", help="HDF5 store (default: the shipped yolov3-tiny.h5; seeded random "
                                          "weights for yolov3)")
    parser.add_argument("--cache", help="directory for generated weights (default: a new temp dir)")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--json", help="write the verification report here")
    args = parser.parse_args(argv)
    try:
        result = export_yolo(args.model, args.batch, args.output, args.weights, args.cache)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        import json
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
