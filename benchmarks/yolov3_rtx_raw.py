"""YOLOv3 built with the TensorRT-RTX Python API alone: the baseline of ``benchmarks/build_overhead.py``.

    python benchmarks/yolov3_rtx_raw.py CFG WEIGHTS.h5 OUT.engine [--target sm86] [--size 416] [--batch 1]

No netdsl import: the darknet cfg is parsed here (the five section types
YOLOv3 uses), weights are read from the netdsl HDF5 store with plain h5py,
and every layer is added with ``tensorrt_rtx_bindings`` calls. The network is
the one netdsl's lowering produces for ``netdsl.models.yolov3`` with a fixed
input (``build_network(batch=1, height=416, width=416)``): the same 290
layers of the same types, names and parameters, batch norm folded into each
convolution in float64 as netdsl folds it (so the weights are bit-identical),
and the yolo heads decoded in the graph with the same layers (LINSPACE fills
for the grid, shape/slice/cast for the cell size, sigmoid/exp/products,
boxes and scores concatenated). Builder settings as ``netdsl build``'s
defaults: 1 GiB workspace, one compute-capability target, TensorRT's
default optimization level.

Prints one JSON line: layers, engine bytes, seconds spent in each phase.
"""
from __future__ import annotations

import argparse
import json
import time

T0 = time.perf_counter()

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import tensorrt_rtx_bindings as trt  # noqa: E402

EPS = 1e-5  # darknet's batch-norm epsilon


def parse_cfg(path):
    """[(section type, {key: value})] of a darknet cfg; comments and blank lines dropped."""
    sections = []
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("["):
                sections.append((line.strip("[]").strip(), {}))
            else:
                key, value = line.split("=", 1)
                sections[-1][1][key.strip()] = value.strip()
    return sections


class Logger(trt.ILogger):
    def __init__(self):
        trt.ILogger.__init__(self)
        self.errors = []

    def log(self, severity, msg):
        if severity in (trt.ILogger.Severity.ERROR, trt.ILogger.Severity.INTERNAL_ERROR) and "cudaError 35" not in msg:
            self.errors.append(msg)


def build(cfg, weights, out, target="sm86", size=416, batch=1):
    times = {}
    logger = Logger()
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT-RTX networks are strongly typed
    network.name = "yolov3"
    keep = []  # arrays behind trt.Weights: TensorRT holds them by reference until the build ends

    def weights_of(array):
        array = np.ascontiguousarray(array, dtype=np.float32)
        keep.append(array)
        return trt.Weights(array)

    def named(layer, name):
        layer.name = name
        layer.metadata = name.split("::")[0]
        if "::" not in name:
            layer.get_output(0).name = name  # as netdsl names its tensors (helpers keep "<layer>_output")
        return layer

    def constant(name, array):
        array = np.asarray(array, np.float32)
        return named(network.add_constant(array.shape, weights_of(array)), name).get_output(0)

    def binary(a, b, op, name):
        return named(network.add_elementwise(a, b, getattr(trt.ElementWiseOperation, op)), name).get_output(0)

    def sigmoid(x, name):
        return named(network.add_activation(x, trt.ActivationType.SIGMOID), name).get_output(0)

    def shuffle(x, dims, name, transpose=None):
        s = network.add_shuffle(x)
        s.reshape_dims = dims
        if transpose is not None:
            s.second_transpose = transpose
        return named(s, name).get_output(0)

    images = network.add_input("images", trt.float32, (batch, 3, size, size))
    sections = parse_cfg(cfg)
    t = time.perf_counter()
    f = h5py.File(weights, "r")
    outputs, heads, x = [], [], images
    for i, (kind, opts) in enumerate(sections[1:]):
        if kind == "convolutional":
            scope = f"conv{i}"
            k, n = int(opts["size"]), int(opts["filters"])
            stride, pad = int(opts.get("stride", 1)), k // 2 if int(opts.get("pad", 0)) else 0
            kernel = f[f"{scope}/conv/kernel"][()]
            if int(opts.get("batch_normalize", 0)):
                g, b, m, v = (f[f"{scope}/bn/{r}"][()] for r in ("scale", "bias", "mean", "variance"))
                s = g.astype(np.float64) / np.sqrt(v.astype(np.float64) + EPS)
                kernel = kernel.astype(np.float64) * s.reshape(-1, 1, 1, 1)
                bias = (0.0 - m) * s + b
            else:
                bias = f[f"{scope}/conv/bias"][()]
            conv = network.add_convolution_nd(x, n, (k, k), weights_of(kernel), weights_of(bias))
            del kernel, bias
            conv.stride_nd = (stride, stride)
            conv.padding_mode = trt.PaddingMode.EXPLICIT_ROUND_DOWN
            conv.pre_padding = conv.post_padding = (pad, pad)
            x = named(conv, f"{scope}.conv").get_output(0)
            activation = opts.get("activation", "logistic")
            if activation == "leaky":
                leaky = network.add_activation(x, trt.ActivationType.LEAKY_RELU)
                leaky.alpha = 0.1
                x = named(leaky, f"{scope}.leaky").get_output(0)
            elif activation != "linear":
                raise SystemExit(f"unsupported activation {activation}")
        elif kind == "shortcut":
            other = outputs[i + int(opts["from"]) if int(opts["from"]) < 0 else int(opts["from"])]
            x = binary(x, other, "SUM", f"shortcut{i}")
        elif kind == "route":
            refs = [int(r) for r in opts["layers"].split(",")]
            parts = [outputs[i + r if r < 0 else r] for r in refs]
            if len(parts) == 1:
                x = parts[0]
            else:
                cat = network.add_concatenation(parts)
                cat.axis = 1
                x = named(cat, f"route{i}").get_output(0)
        elif kind == "upsample":
            r = named(network.add_resize(x), f"upsample{i}")
            stride = float(opts.get("stride", 2))
            r.scales = [1.0, 1.0, stride, stride]
            r.resize_mode = trt.InterpolationMode.NEAREST
            r.coordinate_transformation = trt.ResizeCoordinateTransformation.ASYMMETRIC
            r.nearest_rounding = trt.ResizeRoundMode.FLOOR
            r.selector_for_single_pixel = trt.ResizeSelector.FORMULA
            x = r.get_output(0)
        elif kind == "yolo":
            heads.append(yolo_head(network, x, images, opts, f"yolo{i}", constant, binary, sigmoid, shuffle, named))
        else:
            raise SystemExit(f"unsupported section [{kind}]")
        outputs.append(x)
    f.close()
    for which, name in ((0, "boxes"), (1, "scores")):
        cat = network.add_concatenation([h[which] for h in heads])
        cat.axis = 1
        out_tensor = named(cat, name).get_output(0)
        out_tensor.name = name
        network.mark_output(out_tensor)
    times["define_network"] = time.perf_counter() - t

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, 1 << 30)
    config.num_compute_capabilities = 1
    config.set_compute_capability(getattr(trt.ComputeCapability, target.upper()), 0)
    t = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    times["build_serialized_network"] = time.perf_counter() - t
    if serialized is None:
        raise SystemExit(f"build failed: {' | '.join(logger.errors)}")
    layers = network.num_layers
    t = time.perf_counter()
    with open(out, "wb") as g:
        g.write(serialized)
    times["write"] = time.perf_counter() - t
    return layers, serialized.nbytes, times


def yolo_head(network, head, images, opts, scope, constant, binary, sigmoid, shuffle, named):
    """boxes (N, A*cells, 4) and scores (N, A*cells, classes) of one [yolo] head, as netdsl's blocks.yolo_decode."""
    mask = [int(m) for m in opts["mask"].split(",")]
    values = [float(v) for v in opts["anchors"].split(",")]
    anchors = [(values[2 * m], values[2 * m + 1]) for m in mask]
    n, channels, gh, gw = head.shape
    a = len(anchors)
    k = channels // a
    cells = gh * gw
    rows = shuffle(head, (n, a, k, cells), f"{scope}.to_rows", (0, 1, 3, 2))

    def part(begin, size, name):
        return named(network.add_slice(rows, (0, 0, 0, begin), (n, a, cells, size), (1, 1, 1, 1)),
                     f"{scope}.{name}").get_output(0)

    def grid_axis(beta, name):
        fill = named(network.add_fill((gh, gw), trt.FillOperation.LINSPACE, trt.float32), f"{scope}.{name}")
        fill.set_input(1, constant(f"{scope}.{name}::alpha", np.array(0.0, np.float32)))
        fill.set_input(2, constant(f"{scope}.{name}::beta", np.array(beta, np.float32)))
        return shuffle(fill.get_output(0), (1, 1, cells, 1), f"{scope}.{name}_rows")

    cat = network.add_concatenation([grid_axis((0.0, 1.0), "grid_x"), grid_axis((1.0, 0.0), "grid_y")])
    cat.axis = 3
    grid = named(cat, f"{scope}.grid").get_output(0)

    def width_height(tensor, name):
        shape = named(network.add_shape(tensor), f"{scope}.{name}_shape").get_output(0)
        wh = named(network.add_slice(shape, (3,), (2,), (-1,)), f"{scope}.{name}_wh").get_output(0)
        return named(network.add_cast(wh, trt.float32), f"{scope}.{name}_wh_float").get_output(0)

    cell = binary(width_height(images, "input"), width_height(head, "grid"), "DIV", f"{scope}.cell_size_wh")
    cell = shuffle(cell, (1, 1, 1, 2), f"{scope}.cell_size")
    xy = sigmoid(part(0, 2, "txy"), f"{scope}.sigmoid_xy")
    cxy = binary(binary(xy, grid, "SUM", f"{scope}.add_grid"), cell, "PROD", f"{scope}.to_pixels")
    anchor_wh = constant(f"{scope}.anchors", np.asarray(anchors, np.float32).reshape(1, a, 1, 2))
    wh = named(network.add_unary(part(2, 2, "twh"), trt.UnaryOperation.EXP), f"{scope}.exp_wh").get_output(0)
    wh = binary(wh, anchor_wh, "PROD", f"{scope}.anchor_wh")
    half = binary(wh, constant(f"{scope}.half", np.full((1, 1, 1, 1), 0.5, np.float32)), "PROD", f"{scope}.half_wh")
    x1y1 = binary(cxy, half, "SUB", f"{scope}.x1y1")
    x2y2 = binary(cxy, half, "SUM", f"{scope}.x2y2")
    corners = network.add_concatenation([x1y1, x2y2])
    corners.axis = 3
    boxes = shuffle(named(corners, f"{scope}.corners").get_output(0), (n, a * cells, 4), f"{scope}.boxes")
    obj = sigmoid(part(4, 1, "tobj"), f"{scope}.sigmoid_obj")
    cls = sigmoid(part(5, k - 5, "tcls"), f"{scope}.sigmoid_cls")
    scores = binary(obj, cls, "PROD", f"{scope}.class_scores")
    return boxes, shuffle(scores, (n, a * cells, k - 5), f"{scope}.scores")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cfg")
    p.add_argument("weights")
    p.add_argument("out")
    p.add_argument("--target", default="sm86")
    p.add_argument("--size", type=int, default=416)
    p.add_argument("--batch", type=int, default=1)
    args = p.parse_args()
    layers, nbytes, times = build(args.cfg, args.weights, args.out, args.target, args.size, args.batch)
    times["total_in_process"] = time.perf_counter() - T0
    print(json.dumps({"layers": layers, "engine_bytes": nbytes, "seconds": times}))


if __name__ == "__main__":
    main()
