"""Regenerate the TensorRT build-log fixtures of this folder (README.md says what each holds).

Run from the repository root, with TensorRT-RTX installed (no GPU needed):

    python tests/data/tensorrt/make_fixtures.py

Each log is what TensorRT-RTX sent to netdsl's ILogger during one build with
``ProfilingVerbosity.DETAILED``, written as ``[SEVERITY] message`` lines
(messages spanning several lines continue unprefixed), then trimmed to the
kernel listing and the lines around it (see ``trim``).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]


def build_qdq_network(tm, logger):
    """A raw TensorRT network (netdsl has no Q/DQ layers yet): input (1, 16, 32, 32) -> Q/DQ INT8 (scale 0.05)
    -> 3x3 convolution c0.conv, 16 maps, weights Q/DQ INT8 per output channel (scale 0.01) -> ReLU c0.relu
    -> Q/DQ INT8 -> output. Every layer's metadata is its netdsl-style name, as netdsl's lowering sets it.

    Returns (builder, network, keepalive arrays).
    """
    trt = tm.trt
    builder = trt.Builder(logger)
    net = tm.create_network(builder)
    keep = []
    rng = np.random.default_rng(0)

    def weights(a):
        a = np.ascontiguousarray(a, np.float32)
        keep.append(a)
        return trt.Weights(a)

    def named(layer, name, metadata=None):
        layer.name = name
        tm.set_layer_metadata(layer, metadata or name.split("::")[0])
        return layer

    def const(a, name):
        return named(net.add_constant(np.shape(a), weights(a)), name).get_output(0)

    def qdq(x, scale, name, axis=None):
        s = const(np.array(scale, np.float32), f"{name}::scale")
        q = named(net.add_quantize(x, s, trt.DataType.INT8), f"{name}.q")
        d = named(net.add_dequantize(q.get_output(0), s, trt.DataType.FLOAT), f"{name}.dq")
        if axis is not None:
            q.axis = d.axis = axis
        return d.get_output(0)

    x = net.add_input("x", trt.DataType.FLOAT, (1, 16, 32, 32))
    xq = qdq(x, 0.05, "c0.in")
    wq = qdq(const(rng.standard_normal((16, 16, 3, 3)) * 0.1, "c0.w"), np.full(16, 0.01, np.float32), "c0.wq", 0)
    conv = named(net.add_convolution_nd(xq, 16, (3, 3), trt.Weights(), weights(rng.standard_normal(16))), "c0.conv")
    conv.set_input(1, wq)
    conv.padding_nd = (1, 1)
    relu = named(net.add_activation(conv.get_output(0), trt.ActivationType.RELU), "c0.relu")
    net.mark_output(qdq(relu.get_output(0), 0.05, "out"))
    return builder, net, keep


def log_lines(messages) -> list[str]:
    return [f"[{severity}] {message}\n" for severity, message in messages]


def trim(lines: list[str], before: int = 12) -> str:
    """The first 8 messages, the ``before`` messages before ``Layers:``, and everything from it to the end."""
    at = next(i for i, line in enumerate(lines) if line.startswith("[VERBOSE] Layers:"))
    head = lines[:8] + ["[...]\n"] + lines[max(8, at - before):]
    return "".join(head)


def main() -> None:
    sys.path.insert(0, str(REPO))
    from netdsl.models import load_model
    from netdsl.tensorrt import build_engine, load_tensorrt
    from netdsl.tensorrt.compat import has_local_gpu
    from netdsl.tensorrt.logger import NO_GPU_PROBE, make_logger
    from netdsl.weights import load_weights
    tm = load_tensorrt("rtx")

    net = load_model("yolov3-tiny").build_network(batch=1, height=416, width=416)
    load_weights(net, REPO / "weights" / "yolov3-tiny.h5")
    messages = []
    build_engine(net, targets=("sm86",), tensorrt=tm, report=True, verbose=lambda s, m: messages.append((s, m)))
    (HERE / "yolov3_tiny_fp32_sm86.log").write_text(trim(log_lines(messages)))

    for target in ("sm86", "sm75"):
        logger = make_logger(tm.trt, NO_GPU_PROBE if not has_local_gpu() else ())
        builder, network, keep = build_qdq_network(tm, logger)
        config = builder.create_builder_config()
        tm.set_profiling_verbosity(config, "DETAILED")
        tm.set_targets(config, [target])
        assert builder.build_serialized_network(network, config) is not None, logger.errors()
        (HERE / f"qdq_conv_int8_{target}.log").write_text(trim(log_lines(logger.messages), before=4))


if __name__ == "__main__":
    main()
