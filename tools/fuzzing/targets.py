"""Fuzz targets for netdsl's readers: make one input from a ``random.Random``, run the reader, classify the outcome.

The invariant everywhere: a valid result or a ``NetdslError`` — never
another exception type — and:

* hdf5: a file derived from a checksummed store either fails or reads back
  exactly the original arrays and attributes (outcome "changed" otherwise);
  weights bound from any file are finite, and batch-norm variances >= 0;
* cfg: every convolution has positive channels and kernel dimensions;
* darknet: a failed conversion leaves nothing in the output directory
  ("leftover"); a successful one writes a checksummed store of finite values.

Outcomes that break the invariant are the ``FAILURES``. Used by
``tools/fuzz_readers.py`` (long runs) and by the property tests in
``tests/weights`` and ``tests/frameworks`` (small budgets).
"""
from __future__ import annotations

import os
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import h5gen
from .mutations import mutate_bytes, mutate_cfg_text

REPO = Path(__file__).resolve().parents[2]
CFG_DIR = REPO / "tests" / "data" / "darknet" / "cfg"
SHIPPED_H5 = REPO / "weights" / "yolov3-tiny.h5"
OLD_H5 = REPO / "tests" / "weights" / "data" / "old_format_v1.h5"
FAILURES = ("escaped", "changed", "bad-values", "leftover", "hang", "crash")


@dataclass
class Case:
    """One fuzz input: its files (in ``workdir``), how it was made, and what it must read back as."""

    reader: str
    workdir: Path
    files: dict[str, Path]
    origin: str
    expected: dict | None = None  # arrays + attrs a checksummed original holds
    notes: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    kind: str  # "ok", "refused", or one of FAILURES
    detail: str = ""
    steps: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.kind in FAILURES


def _classify(exc: BaseException) -> Outcome:
    from netdsl.graph.errors import NetdslError
    if isinstance(exc, NetdslError):
        message = str(exc)
        if "\n" in message:
            return Outcome("escaped", f"multi-line NetdslError: {message!r}")
        return Outcome("refused", message)
    return Outcome("escaped", f"{type(exc).__name__}: {exc}")


# ------------------------------------------------------------------------------------------- hdf5
class Seeds:
    """Seed files and their known contents, made once per work directory."""

    def __init__(self, root: Path):
        from netdsl.weights import WeightStore, save_weights
        root.mkdir(parents=True, exist_ok=True)
        self.small = root / "small.h5"
        if not self.small.exists():
            save_weights(self.small, h5gen.tiny_arrays(), source="fuzz seed", network="tiny",
                         layouts={"conv0.conv.kernel": "KCRS"}, attrs={"darknet_seen": 7})
        self.contents = {}
        for path in (self.small, SHIPPED_H5, OLD_H5):
            store = WeightStore.open(path)
            self.contents[str(path)] = {"arrays": {k: store[k].copy() for k in store}, "attrs": dict(store.attrs),
                                        "checksummed": store.checksummed}
        self.cfgs = sorted(CFG_DIR.glob("*.cfg"))

    def yolo_network(self):
        from netdsl.models import load_model
        return load_model("yolov3-tiny").build_network()


HDF5_SOURCES = ("structured", "small", "old", "shipped")


def make_hdf5_case(rng: random.Random, workdir: Path, seeds: Seeds, source: str | None = None) -> Case:
    """A structured store, or a mutated seed: "small" (checksummed, tiny network), "old" (the unchecksummed
    old-format fixture) or "shipped" (the checksummed weights/yolov3-tiny.h5). ``source`` None: a random mix."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "input.h5"
    if source is None:
        source = rng.choices(HDF5_SOURCES, [0.3, 0.4, 0.15, 0.15])[0]
    if source == "structured":
        h5gen.build_store(str(path), rng, str(workdir))
        return Case("hdf5", workdir, {"input": path}, "structured")
    seed = {"small": seeds.small, "old": OLD_H5, "shipped": SHIPPED_H5}[source]
    path.write_bytes(mutate_bytes(seed.read_bytes(), rng, hot=1 << 16))
    return Case("hdf5", workdir, {"input": path}, f"mutated {seed.name}", seeds.contents[str(seed)])


def _same(store, expected: dict) -> bool:
    if list(store) != list(expected["arrays"]) or store.attrs != expected["attrs"]:
        return False
    return all(store[k].dtype == v.dtype and store[k].tobytes() == v.tobytes() for k, v in expected["arrays"].items())


def run_hdf5(case: Case, seeds: Seeds) -> Outcome:
    """``WeightStore.open`` then ``load_weights`` into the matching network."""
    from netdsl.weights import WeightStore, load_weights
    path = case.files["input"]
    steps = []
    try:
        store = WeightStore.open(path)
        steps.append("open:ok")
    except Exception as exc:  # noqa: BLE001 - classifying is the point
        outcome = _classify(exc)
        outcome.steps = ["open:" + outcome.kind]
        return outcome
    if case.expected is not None and not _same(store, case.expected):
        if case.expected["checksummed"]:
            return Outcome("changed", f"{case.origin} read back different values or attributes "
                                      f"(checksummed={store.checksummed})", steps)
        steps.append("unverified-changed")  # no checksums, nothing can notice: what "unverified" means
    network = seeds.yolo_network() if "yolov3-tiny" in case.origin else h5gen.tiny_network()
    try:
        load_weights(network, path)
    except Exception as exc:  # noqa: BLE001
        outcome = _classify(exc)
        outcome.steps = steps + ["bind:" + outcome.kind]
        return outcome
    for name, w in network.weights().items():
        if w.value is not None and w.value.dtype.kind == "f" and not np.isfinite(w.value).all():
            return Outcome("bad-values", f"{name} bound with non-finite values", steps)
        if name.endswith(".variance") and (w.value < 0).any():
            return Outcome("bad-values", f"{name} bound with a negative variance", steps)
    return Outcome("ok", "", steps + ["bind:ok"])


# -------------------------------------------------------------------------------------------- cfg
_SECTION_KEYS = {"convolutional": ["filters", "size", "groups", "batch_normalize", "stride", "pad"],
                 "route": ["layers", "groups", "group_id"], "shortcut": ["from", "activation"],
                 "reorg": ["stride", "reverse"], "maxpool": ["size", "stride", "maxpool_depth"],
                 "upsample": ["stride"], "yolo": ["mask", "classes"]}


def random_cfg(rng: random.Random) -> str:
    """A structured darknet cfg: [net] then random sections with plausible and odd option values."""
    lines = ["[net]", f"channels={rng.choice(['3', '1', '0', '1_6', '16'])}"]
    for _ in range(rng.randint(1, 8)):
        kind = rng.choice(list(_SECTION_KEYS))
        lines.append(f"[{kind}]")
        for key in rng.sample(_SECTION_KEYS[kind], rng.randint(0, len(_SECTION_KEYS[kind]))):
            if key in ("layers", "from"):
                value = ",".join(str(rng.randint(-4, 4)) for _ in range(rng.randint(0, 3)))
            else:
                value = str(rng.choice([0, 1, 2, 3, 4, -1, 16, 2 ** 31]))
            lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def make_cfg_case(rng: random.Random, workdir: Path, seeds: Seeds) -> Case:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "input.cfg"
    choice = rng.random()
    if choice < 0.25:
        path.write_text(random_cfg(rng))
        return Case("cfg", workdir, {"input": path}, "structured")
    seed = rng.choice(seeds.cfgs)
    if choice < 0.6:
        path.write_bytes(mutate_bytes(seed.read_bytes(), rng))
    else:
        path.write_text(mutate_cfg_text(seed.read_text(), rng))
    return Case("cfg", workdir, {"input": path}, f"mutated {seed.name}")


def run_cfg(case: Case) -> Outcome:
    """``parse_cfg`` + ``conv_parameter_shapes``; every shape they give must be positive."""
    from netdsl.frameworks.darknet import conv_parameter_shapes, parse_cfg
    try:
        convs = conv_parameter_shapes(parse_cfg(case.files["input"]))
    except Exception as exc:  # noqa: BLE001
        return _classify(exc)
    for conv in convs:
        if conv.in_channels < 1 or any(d < 1 for _, shape in conv.params for d in shape):
            return Outcome("bad-values", f"{conv.section.where()}: shapes {conv.params} from {conv.in_channels} "
                                         f"input channels")
    return Outcome("ok", f"{len(convs)} convolutions")


# ---------------------------------------------------------------------------------------- darknet
SMALL_CFG = """[net]
channels=2
[convolutional]
filters=3
size=1
[maxpool]
size=2
stride=2
[convolutional]
batch_normalize=1
filters=3
size=3
groups=3
[route]
layers=-1,-3
[convolutional]
batch_normalize=1
filters=2
size=1
"""


def make_darknet_case(rng: random.Random, workdir: Path, seeds: Seeds) -> Case:
    """A small cfg and a .weights of exactly its size (random floats, sometimes NaN/Inf or a negative
    variance), then byte mutations of the .weights and sometimes text mutations of the cfg."""
    from netdsl.frameworks.darknet import conv_parameter_shapes, parse_cfg
    workdir.mkdir(parents=True, exist_ok=True)
    cfg, weights, out = workdir / "input.cfg", workdir / "input.weights", workdir / "out"
    cfg.write_text(SMALL_CFG)
    count = sum(c.count for c in conv_parameter_shapes(parse_cfg(cfg)))
    floats = np.abs(np.random.default_rng(rng.randrange(2 ** 32)).standard_normal(count)).astype("<f4")
    if rng.random() < 0.3:
        floats[rng.randrange(count)] = rng.choice([np.nan, np.inf, -np.inf, -1.0])
    major, minor = rng.choice([(0, 2), (0, 1), (1, 0), (1000, 0)])
    seen = np.array([rng.randrange(2 ** 32)], "<u8" if major * 10 + minor >= 2 and major < 1000 else "<u4")
    data = np.array([major, minor, 0], "<i4").tobytes() + seen.tobytes() + floats.tobytes()
    origin = "generated"
    if rng.random() < 0.7:
        data = mutate_bytes(data, rng, hot=64)
        origin = "mutated .weights"
    if rng.random() < 0.25:
        cfg.write_text(mutate_cfg_text(SMALL_CFG, rng))
        origin += " + mutated cfg"
    weights.write_bytes(data)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir()
    return Case("darknet", workdir, {"cfg": cfg, "weights": weights, "out": out}, origin)


def run_darknet(case: Case) -> Outcome:
    """``convert_darknet``; nothing may be left behind by a failure; a success must be a sound store."""
    from netdsl.frameworks.darknet import convert_darknet
    from netdsl.weights import WeightStore
    out = case.files["out"]
    target = out / "out.h5"
    try:
        convert_darknet(case.files["cfg"], case.files["weights"], target)
    except Exception as exc:  # noqa: BLE001
        outcome = _classify(exc)
        left = sorted(os.listdir(out))
        if outcome.kind == "refused" and left:
            return Outcome("leftover", f"{left} left after: {outcome.detail}")
        return outcome
    store = WeightStore.open(target)
    if not store.checksummed:
        return Outcome("bad-values", "converted store is not checksummed")
    for name in store:
        if not np.isfinite(store[name]).all() or (name.endswith(".variance") and (store[name] < 0).any()):
            return Outcome("bad-values", f"{name} converted with non-finite or negative-variance values")
    return Outcome("ok", f"{len(store)} tensors")


READERS = {
    "hdf5": (make_hdf5_case, run_hdf5),
    "cfg": (make_cfg_case, lambda case, seeds: run_cfg(case)),
    "darknet": (make_darknet_case, lambda case, seeds: run_darknet(case)),
}


def run_one(reader: str, rng: random.Random, workdir: Path, seeds: Seeds) -> tuple[Case, Outcome]:
    """Make and run one input of ``reader``."""
    make, run = READERS[reader]
    case = make(rng, workdir, seeds)
    return case, run(case, seeds)
