"""Seeds and one-case runners for fuzzing netdsl's framework importers (tests and tools/fuzz_importers.py).

Each format has seed files — real ones from tests/data where they exist,
small generated ones otherwise — and ``run_case(fmt, data, folder)`` writes
the (mutated) bytes to a file and imports it against a fixed set of target
weights. The invariant: a dict of arrays or a ``NetdslError``; any other
exception propagates to the caller.
"""
from __future__ import annotations

import io
import json
import struct
from pathlib import Path

import h5py
import numpy as np

from netdsl.graph.errors import NetdslError

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
FORMATS = ("torch", "safetensors", "keras", "onnx", "wts")
KERAS_TIMEOUT = 10.0  # seconds per Keras case (the reader runs in a child process with this limit)


def small_state_dict():
    """A small torch-like state dict (conv, batch norm, linear, PReLU, LSTM) as float32 arrays, seeded."""
    rng = np.random.default_rng(0)

    def r(*shape):
        return rng.standard_normal(shape).astype(np.float32)
    return {"conv.weight": r(4, 3, 3, 3), "conv.bias": r(4), "bn.weight": r(4), "bn.bias": r(4),
            "bn.running_mean": r(4), "bn.running_var": np.abs(r(4)) + 0.5, "act.weight": r(4),
            "fc.weight": r(5, 4), "fc.bias": r(5), "rnn.weight_ih_l0": r(8, 5), "rnn.weight_hh_l0": r(8, 2),
            "rnn.bias_ih_l0": r(8), "rnn.bias_hh_l0": r(8)}


def torch_targets():
    sd = small_state_dict()
    return {"conv.kernel": sd["conv.weight"].shape, "conv.bias": (4,), "bn.scale": (4,), "bn.bias": (4,),
            "bn.mean": (4,), "bn.variance": (4,), "act.slopes": (1, 4, 1, 1), "fc.kernel": (5, 4), "fc.bias": (5,),
            "rnn.l0.weight_ih": (8, 5), "rnn.l0.weight_hh": (8, 2), "rnn.l0.bias_ih": (8,), "rnn.l0.bias_hh": (8,)}


def write_keras_weights(path, layers: dict, config: dict | None = None) -> None:
    """Write a Keras-2-style weights file: ``layers`` = {layer: {short name: array}} (h5py, Keras' layout)."""
    with h5py.File(path, "w") as f:
        group = f
        if config is not None:
            f.attrs["model_config"] = json.dumps(config).encode()
            group = f.create_group("model_weights")
        group.attrs["layer_names"] = np.array([n.encode() for n in layers])
        group.attrs["keras_version"] = b"2.1.5"
        for lname, weights in layers.items():
            g = group.create_group(lname)
            names = [f"{lname}/{w}:0".encode() for w in weights]
            g.attrs["weight_names"] = np.array(names) if names else np.zeros(0)
            for w, a in weights.items():
                g.create_dataset(f"{lname}/{w}:0", data=a)


def keras_seed_layers():
    rng = np.random.default_rng(1)

    def r(*shape):
        return rng.standard_normal(shape).astype(np.float32)
    return {"conv": {"kernel": r(3, 3, 2, 4), "bias": r(4)}, "dw": {"depthwise_kernel": r(3, 3, 4, 1)},
            "bn": {"gamma": r(4), "beta": r(4), "moving_mean": r(4), "moving_variance": np.abs(r(4)) + 0.5},
            "dense": {"kernel": r(4, 3), "bias": r(3)}, "emb": {"embeddings": r(6, 4)}}


def keras_targets():
    return {"conv.kernel": (4, 2, 3, 3), "conv.bias": (4,), "dw.kernel": (4, 1, 3, 3), "bn.scale": (4,),
            "bn.bias": (4,), "bn.mean": (4,), "bn.variance": (4,), "dense.kernel": (3, 4), "dense.bias": (3,),
            "emb.embeddings": (6, 4)}


def onnx_seed_model():
    """A Conv -> BatchNormalization -> Flatten -> Gemm ONNX model with float initializers (bytes)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(2)

    def init(name, *shape):
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)
    inits = [init("W", 4, 3, 3, 3), init("B", 4), init("s", 4), init("b", 4), init("m", 4),
             numpy_helper.from_array(np.abs(rng.standard_normal(4)).astype(np.float32) + 0.5, "v"),
             init("G", 5, 16), init("C", 5)]
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv"),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"], name="bn", epsilon=1e-5),
             helper.make_node("Flatten", ["n"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "G", "C"], ["y"], name="fc", transB=1)]
    graph = helper.make_graph(nodes, "seed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, (1, 3, 4, 4))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, (1, 5))], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def onnx_targets():
    return {"conv.kernel": (4, 3, 3, 3), "conv.bias": (4,), "bn.scale": (4,), "bn.bias": (4,), "bn.mean": (4,),
            "bn.variance": (4,), "fc.kernel": (5, 16), "fc.bias": (5,)}


def wts_text(arrays) -> bytes:
    """tensorrtx gen_wts.py's writer, verbatim in behaviour (struct.pack('>f', v).hex())."""
    out = io.StringIO()
    out.write(f"{len(arrays)}\n")
    for k, v in arrays.items():
        vr = np.asarray(v).reshape(-1)
        out.write(f"{k} {len(vr)} ")
        for vv in vr:
            out.write(" ")
            out.write(struct.pack(">f", float(vv)).hex())
        out.write("\n")
    return out.getvalue().encode()


def seeds(fmt: str, folder: Path) -> list[bytes]:
    """Seed files (bytes) for ``fmt``: real files where the format has one in tests/data, plus generated ones."""
    if fmt == "torch":
        import torch
        buf = io.BytesIO()
        torch.save({k: torch.from_numpy(v) for k, v in small_state_dict().items()}, buf)
        return [(DATA / "torch" / "mtcnn" / "pnet.pt").read_bytes(), buf.getvalue()]
    if fmt == "safetensors":
        from safetensors.numpy import save
        return [save(small_state_dict())]
    if fmt == "keras":
        path = folder / "seed_keras.h5"
        write_keras_weights(path, keras_seed_layers())
        return [path.read_bytes()]
    if fmt == "onnx":
        return [onnx_seed_model()]
    if fmt == "wts":
        return [wts_text(small_state_dict())]
    raise ValueError(fmt)


def run_case(fmt: str, data: bytes, folder: Path, seed_index: int = 0):
    """Import ``data`` as a ``fmt`` file; returns the arrays or the NetdslError raised (others propagate)."""
    from netdsl.frameworks.keras_import import import_keras
    from netdsl.frameworks.onnx_import import import_onnx
    from netdsl.frameworks.torch_import import import_torch
    from netdsl.frameworks.wts import import_wts
    suffix = {"torch": ".pt", "safetensors": ".safetensors", "keras": ".h5", "onnx": ".onnx", "wts": ".wts"}[fmt]
    path = folder / f"case{suffix}"
    path.write_bytes(data)
    try:
        if fmt in ("torch", "safetensors"):
            if fmt == "torch" and seed_index == 0:
                return import_torch(path, PNET_TARGETS)
            return import_torch(path, torch_targets())
        if fmt == "keras":
            return import_keras(path, keras_targets(), timeout=KERAS_TIMEOUT)
        if fmt == "onnx":
            return import_onnx(path, onnx_targets())
        return import_wts(path, torch_targets())
    except NetdslError as exc:
        return exc


PNET_TARGETS = {"conv1.kernel": (10, 3, 3, 3), "conv1.bias": (10,), "prelu1.slopes": (1, 10, 1, 1),
                "conv2.kernel": (16, 10, 3, 3), "conv2.bias": (16,), "prelu2.slopes": (1, 16, 1, 1),
                "conv3.kernel": (32, 16, 3, 3), "conv3.bias": (32,), "prelu3.slopes": (1, 32, 1, 1),
                "conv4_1.kernel": (2, 32, 1, 1), "conv4_1.bias": (2,), "conv4_2.kernel": (4, 32, 1, 1),
                "conv4_2.bias": (4,)}


def mutate(data: bytes, rng: np.random.Generator, count: int | None = None) -> bytes:
    """Flip, overwrite, insert or delete a few bytes / ranges of ``data`` (a seeded random generator)."""
    b = bytearray(data)
    for _ in range(count or int(rng.integers(1, 9))):
        if not b:
            b.append(int(rng.integers(256)))
            continue
        op = int(rng.integers(6))
        i = int(rng.integers(len(b)))
        if op == 0:
            b[i] ^= 1 << int(rng.integers(8))
        elif op == 1:
            b[i] = int(rng.choice([0, 1, 0x7F, 0x80, 0xFF, int(rng.integers(256))]))
        elif op == 2:
            b[i:i + 4] = int(rng.choice([0, 0x7FFFFFFF, 0xFFFFFFFF, 2 ** 31, int(rng.integers(2 ** 32))])
                             ).to_bytes(4, "little")
        elif op == 3:
            b[i:i] = bytes(rng.integers(0, 256, int(rng.integers(1, 16)), dtype=np.uint8))
        elif op == 4:
            del b[i:i + int(rng.integers(1, 64))]
        else:
            del b[i:]
    return bytes(b)
