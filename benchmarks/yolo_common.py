"""Shared pieces of the YOLO benchmarks: the models, their weights, the input blob, peak memory.

* ``MODELS``: YOLOv3-tiny (the shipped ``weights/yolov3-tiny.h5``, converted
  from the official darknet file) and YOLOv3 (no trained weights in the repo:
  seeded random weights, see :func:`random_darknet_weights`).
* :func:`weight_files`: the HDF5 store (netdsl) and darknet ``.weights`` file
  (OpenCV) of a model, made once into a cache directory.
* :func:`input_blob`: the same preprocessed NCHW blob for every framework
  (``samples/dog.jpg``; batch 4 adds eagle, giraffe and horses from
  ``tests/data/darknet/images``).
* :func:`peak_rss_mib`: the process' own peak resident set (VmHWM).
"""
from __future__ import annotations

import importlib
import os
import resource
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
IMAGES = [REPO / "samples" / "dog.jpg"] + [REPO / "tests" / "data" / "darknet" / "images" / f"{n}.jpg"
                                          for n in ("eagle", "giraffe", "horses")]
SIZE = 416
SEED = 20240611

MODELS = {
    "yolov3-tiny": dict(module="netdsl.models.yolov3_tiny", cfg=REPO / "tests" / "data" / "darknet" / "cfg" /
                        "yolov3-tiny.cfg", h5=REPO / "weights" / "yolov3-tiny.h5"),
    "yolov3": dict(module="netdsl.models.yolov3", cfg=REPO / "models" / "cfg" / "yolov3.cfg", h5=None),
}


def model_module(model: str):
    return importlib.import_module(MODELS[model]["module"])


def raw_heads(model: str) -> tuple[str, ...]:
    """netdsl tensor names of the raw YOLO head outputs (the last, linear convolutions), e.g. ``conv15.conv``."""
    return tuple(model_module(model).DETECTION["raw_heads"])


def opencv_head_names(model: str) -> list[str]:
    """OpenCV's darknet-import layer names of the same convolutions (``conv15.conv`` -> ``conv_15``)."""
    return ["conv_" + h.split(".")[0][len("conv"):] for h in raw_heads(model)]


def build_network(model: str, batch: int, h5: str | os.PathLike | None, static: bool = True):
    """The zoo network at 416 x 416 (static shapes, or runtime dimensions), weights bound from ``h5``."""
    from netdsl.weights import load_weights
    module = model_module(model)
    net = module.build_network(batch=batch, height=SIZE, width=SIZE) if static else module.build_network()
    if h5 is not None:
        load_weights(net, h5)
    return net


def input_blob(batch: int) -> np.ndarray:
    """(batch, 3, 416, 416) float32: dog.jpg, then eagle, giraffe, horses (repeated past 4)."""
    from netdsl.detection import load_image, preprocess
    blobs = [preprocess(load_image(IMAGES[i % len(IMAGES)]), (SIZE, SIZE)) for i in range(batch)]
    return np.ascontiguousarray(np.concatenate(blobs), dtype=np.float32)


def random_darknet_weights(cfg, out, seed: int = SEED) -> None:
    """Write seeded random darknet ``.weights`` for ``cfg``, scaled so activations stay of order 1.

    Kernels: He-normal (std sqrt(2 / fan_in), which keeps the second moment
    through leaky ReLU); the linear head convolutions 0.25 sqrt(1 / fan_in),
    so the raw head outputs have an rms below 1 and exp(tw) stays moderate.
    Batch norm: gamma U(0.85, 1.0), beta N(0, 0.01), mean N(0, 0.01),
    variance U(0.9, 1.1); the convolution closing a residual branch (the one
    before a ``[shortcut]``) gets gamma x 0.2, so the 23 residual additions do
    not make the activations explode. On dog.jpg every convolution's output
    rms lies in 0.1..2, the raw heads' about 0.2, boxes stay within ~600 px.
    """
    from netdsl.frameworks.darknet import conv_parameter_shapes, parse_cfg
    sections = parse_cfg(cfg)
    before_shortcut = {s.index for s, nxt in zip(sections, sections[1:])
                       if s.type == "convolutional" and nxt.type == "shortcut"}
    rng = np.random.default_rng(seed)
    parts = [np.array([0, 2, 0], "<i4").tobytes(), np.array([0], "<u8").tobytes()]
    for conv in conv_parameter_shapes(sections):
        k = conv.filters
        for role, shape in conv.params:
            if role == "weights":
                fan_in = int(np.prod(shape[1:]))
                std = np.sqrt(2.0 / fan_in) if conv.batch_normalize else 0.25 * np.sqrt(1.0 / fan_in)
                values = rng.standard_normal(shape, dtype=np.float32) * np.float32(std)
            elif role == "biases":
                values = rng.normal(0, 0.01, k)
            elif role == "scales":
                values = rng.uniform(0.85, 1.0, k) * (0.2 if conv.section.index in before_shortcut else 1.0)
            elif role == "rolling_mean":
                values = rng.normal(0, 0.01, k)
            elif role == "rolling_variance":
                values = rng.uniform(0.9, 1.1, k)
            else:
                raise ValueError(f"unexpected darknet parameter {role}")
            parts.append(np.ascontiguousarray(values, dtype="<f4").tobytes())
    Path(out).write_bytes(b"".join(parts))


def weight_files(model: str, cache: str | os.PathLike, seed: int = SEED) -> tuple[Path, Path]:
    """(HDF5 store for netdsl, darknet .weights for OpenCV) of ``model``, made once into ``cache``.

    YOLOv3-tiny: the shipped HDF5, exported back to darknet (netdsl export
    darknet). YOLOv3: random darknet weights (:func:`random_darknet_weights`),
    converted to HDF5 by netdsl's converter (netdsl convert darknet).
    """
    from netdsl.frameworks.darknet import convert_darknet, export_darknet
    spec, cache = MODELS[model], Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    darknet = cache / f"{model}.weights"
    if spec["h5"] is not None:
        h5 = Path(spec["h5"])
        if not darknet.exists():
            export_darknet(spec["cfg"], h5, darknet)
        return h5, darknet
    h5 = cache / f"{model}-random-{seed}.h5"
    if not h5.exists():
        random_darknet_weights(spec["cfg"], darknet, seed)
        convert_darknet(spec["cfg"], darknet, h5)
    return h5, darknet


def peak_rss_mib() -> float:
    """This process' peak resident set size in MiB since it started.

    Read from /proc/self/status VmHWM: ``getrusage().ru_maxrss`` of a process
    started by fork + exec also counts the parent's resident set at the fork
    (Linux carries the old mm's high-water mark over execve), which would
    charge the benchmark driver's memory to every worker. ru_maxrss where
    /proc is missing.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
