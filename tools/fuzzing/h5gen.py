"""Structured generator: valid HDF5 files that stress a weight-store reader, built with h5py from a ``random.Random``.

Each file is a netdsl store (usually: the right root attributes, sometimes
not) holding a random mix of: ordinary datasets named as :func:`tiny_arrays`
(so binding can succeed), odd dtypes (complex, strings, compound, enum,
big-endian, float16, bool), huge declared shapes with no data, chunked /
compressed / compact / external-file datasets, unavailable filters, soft,
external and repeated hard links (cycles, aliases), odd attributes, and
files written with the oldest HDF5 format (no checksums).
"""
from __future__ import annotations

import os
import random

import h5py
import numpy as np


def tiny_arrays() -> dict[str, np.ndarray]:
    """The weights :func:`tiny_network` declares, with known values (also the content of the small seed store)."""
    return {
        "conv0.conv.kernel": (np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2) - 12) / 8,
        "conv0.bn.scale": np.float32([1.0, 2.0]),
        "conv0.bn.bias": np.float32([0.5, -0.5]),
        "conv0.bn.mean": np.float32([0.0, 0.25]),
        "conv0.bn.variance": np.float32([1.0, 4.0]),
        "head.temperature.weights": np.float32(0.5),
    }


def tiny_network():
    """A Network declaring exactly :func:`tiny_arrays`' names, shapes and dtypes (conv + batch norm + a scalar)."""
    from netdsl import DataType, Network
    net = Network("tiny")
    x = net.add_input("images", DataType.FLOAT, (1, 3, 4, 4))
    with net.scope("conv0"):
        x = net.add_conv_batch_norm(x, 2, (2, 2), conv_name="conv", bn_name="bn").output
    with net.scope("head"):
        t = net.add_constant((), name="temperature").output
    net.mark_output(x)
    net.mark_output(t)
    return net


def _value(rng: random.Random, shape, dtype) -> np.ndarray:
    values = np.asarray(rng.choice([0.0, 1.0, -1.0, 0.5, np.nan, np.inf, -np.inf, 1e30, -4.0]))
    base = np.random.default_rng(rng.randrange(2 ** 32)).standard_normal(shape)
    if rng.random() < 0.3 and base.size:
        base.flat[rng.randrange(base.size)] = values
    with np.errstate(invalid="ignore", over="ignore"):
        return base.astype(dtype)


def _odd_dataset(f: h5py.File, rng: random.Random, name: str, aux_dir: str) -> None:
    kind = rng.choice(["huge", "huge_chunked", "dtype", "gzip", "lzf", "scaleoffset", "compact", "external",
                       "empty", "scalar", "bigendian", "float16", "bool", "enum", "chunk_bigger", "nodata",
                       "null"])
    if kind == "huge":
        f.create_dataset(name, shape=(2 ** rng.choice([31, 33, 40, 50]),), dtype=np.float32)
    elif kind == "huge_chunked":
        f.create_dataset(name, shape=(2 ** rng.choice([24, 31, 40]),), dtype=np.float32, chunks=(1024,),
                         fletcher32=rng.random() < 0.5)
    elif kind == "dtype":
        dtype = rng.choice([np.complex64, h5py.string_dtype(), "S8", [("a", "<f4"), ("b", "<i4")], np.float128
                            if hasattr(np, "float128") else np.float64, h5py.vlen_dtype(np.float32)])
        if isinstance(dtype, list):
            dtype = np.dtype(dtype)
        f.create_dataset(name, shape=(3,), dtype=dtype)
    elif kind in ("gzip", "lzf", "scaleoffset"):
        options = {"gzip": dict(compression="gzip"), "lzf": dict(compression="lzf"),
                   "scaleoffset": dict(scaleoffset=rng.randint(0, 4))}[kind]
        shape = rng.choice([(4,), (2, 3, 2, 2), (4096, 64)])
        f.create_dataset(name, data=np.zeros(shape, np.float32), **options)
    elif kind == "compact":
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_layout(h5py.h5d.COMPACT)
        space = h5py.h5s.create_simple((2,))
        dsid = h5py.h5d.create(f.id, name.encode(), h5py.h5t.py_create(np.dtype("<f4")), space, dcpl=dcpl)
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.float32([1, 2]))
    elif kind == "external":
        raw = os.path.join(aux_dir, f"raw{rng.randrange(10 ** 6)}.bin")
        if rng.random() < 0.5:
            with open(raw, "wb") as g:
                g.write(np.float32([1, 2, 3, 4]).tobytes())
        f.create_dataset(name, shape=(4,), dtype=np.float32, external=[(raw, 0, 16)])
    elif kind == "empty":
        f.create_dataset(name, shape=(0, rng.randint(0, 3)), dtype=np.float32)
    elif kind == "scalar":
        f.create_dataset(name, data=_value(rng, (), np.float32))
    elif kind == "bigendian":
        f.create_dataset(name, data=_value(rng, (2,), ">f4"))
    elif kind == "float16":
        f.create_dataset(name, data=_value(rng, (2,), np.float16))
    elif kind == "bool":
        f.create_dataset(name, data=np.array([True, False]))
    elif kind == "enum":
        f.create_dataset(name, data=np.int8([0, 1]), dtype=h5py.enum_dtype({"A": 0, "B": 1}, basetype="i1"))
    elif kind == "chunk_bigger":
        f.create_dataset(name, shape=(2,), maxshape=(None,), chunks=(2 ** 20,), dtype=np.float32)
    elif kind == "nodata":
        f.create_dataset(name, shape=(2, 3, 2, 2), dtype=np.float32)  # never written: fill value
    else:
        f.create_dataset(name, data=h5py.Empty("f4"))


def _link(f: h5py.File, rng: random.Random, name: str, aux_dir: str) -> None:
    kind = rng.choice(["soft_dangling", "soft_root", "soft_parent", "external_missing", "external_present",
                       "hard_cycle", "hard_alias", "hard_root"])
    parent = name.rsplit("/", 1)[0] if "/" in name else ""
    if kind == "soft_dangling":
        f[name] = h5py.SoftLink("/nowhere/at/all")
    elif kind == "soft_root":
        f[name] = h5py.SoftLink("/")
    elif kind == "soft_parent":
        f[name] = h5py.SoftLink("/" + parent)
    elif kind == "external_missing":
        f[name] = h5py.ExternalLink(os.path.join(aux_dir, "missing.h5"), "/x")
    elif kind == "external_present":
        other = os.path.join(aux_dir, "other.h5")
        with h5py.File(other, "w") as g:
            g["w"] = np.float32([1, 2])
        f[name] = h5py.ExternalLink(other, "/")
    elif kind == "hard_cycle" and parent:
        f[name] = f[parent]
    elif kind == "hard_alias" and "conv0" in f and "bn" in f["conv0"]:
        f[name] = f["conv0/bn"]
    else:
        f[name] = f["/"]


def _attributes(f: h5py.File, rng: random.Random) -> None:
    fmt = rng.choice(["netdsl-weights"] * 6 + ["keras", b"netdsl-weights", 3, None])
    if fmt is not None:
        f.attrs["format"] = fmt
    version = rng.choice([1] * 6 + [2, 0, -1, "1", 1.0, True, np.int8(1), None])
    if version is not None:
        f.attrs["format_version"] = version
    f.attrs["source"] = rng.choice(["fuzz", "x" * 70000, b"\xff\xfe", ""])
    if rng.random() < 0.3:
        f.attrs.create("weird", data=rng.choice([np.zeros(200000, np.uint8), np.complex64(1j),
                                                 np.array([1.0, np.nan]), np.zeros((2, 2), "S3")]))
    if rng.random() < 0.2:
        f.attrs["big_array"] = np.arange(rng.choice([10, 100000]), dtype=np.float64)


def _attempt(fn, *args) -> None:
    """Run one generator step; HDF5 refusing to *write* something (e.g. a 70 kB attribute in the oldest format)
    just leaves it out of the file."""
    try:
        fn(*args)
    except (OSError, ValueError, TypeError, KeyError, RuntimeError):
        pass


def build_store(path: str, rng: random.Random, aux_dir: str) -> None:
    """Write a random (valid HDF5) store at ``path``; auxiliary files (external links, raw data) go to ``aux_dir``."""
    libver = rng.choice([("v110", "v110")] * 3 + [("earliest", "v110")])
    with h5py.File(path, "w", libver=libver, track_order=rng.random() < 0.8) as f:
        _attempt(_attributes, f, rng)
        for name, value in tiny_arrays().items():
            if rng.random() < 0.85:
                if rng.random() < 0.15:
                    value = _value(rng, value.shape if rng.random() < 0.7 else (3,), rng.choice(
                        [np.float32, np.float64, np.float16, np.int32, np.int8]))
                options = dict(chunks=True, fletcher32=True) if value.ndim and rng.random() < 0.5 else {}
                _attempt(lambda: f.create_dataset(name.replace(".", "/"), data=value, **options))
        for i in range(rng.randint(0, 3)):
            where = rng.choice(["", "conv0/", "conv0/bn/", "extra/deep/"])
            if where and where.rstrip("/") not in f:
                f.create_group(where.rstrip("/"))
            name = f"{where}odd{i}" if rng.random() < 0.9 else f"{where}has.dot{i}"
            _attempt(_odd_dataset if rng.random() < 0.6 else _link, f, rng, name, aux_dir)
        if rng.random() < 0.1:
            _attempt(f.__setitem__, "named_type", np.dtype("<f4"))
