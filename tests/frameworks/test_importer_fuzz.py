"""Born hardened: every importer gives a valid result or a NetdslError — never another exception — on
mutated real and generated files and on structured random inputs (hypothesis, small budgets; longer runs:
tools/fuzz_importers.py)."""
import json
import struct

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netdsl.graph.errors import NetdslError
from netdsl.frameworks.keras_import import import_keras
from netdsl.frameworks.wts import import_wts

from importer_fuzz import FORMATS, keras_targets, mutate, run_case, seeds, torch_targets

FAST = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def seed_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seeds")
    return {fmt: seeds(fmt, folder) for fmt in FORMATS}


@pytest.mark.parametrize("fmt", FORMATS)
def test_seeds_import(fmt, seed_files, tmp_path):
    for i, data in enumerate(seed_files[fmt]):
        assert isinstance(run_case(fmt, data, tmp_path, i), dict)


@pytest.mark.parametrize("fmt", FORMATS)
@FAST
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_byte_mutations(fmt, seed_files, tmp_path, seed):
    rng = np.random.default_rng(seed)
    i = int(rng.integers(len(seed_files[fmt])))
    result = run_case(fmt, mutate(seed_files[fmt][i], rng), tmp_path, i)
    assert isinstance(result, (dict, NetdslError))


hexword = st.one_of(st.integers(0, 2 ** 32 - 1).map(lambda v: f"{v:08x}"), st.text("0123456789abcdefgxyz", max_size=10))
line = st.tuples(st.text("abc.0_ \t", max_size=8), st.one_of(st.integers(-2, 10).map(str), st.text("0123x-", max_size=3)),
                 st.lists(hexword, max_size=6)).map(lambda t: " ".join([t[0], t[1]] + t[2]))


@FAST
@given(count=st.one_of(st.integers(-1, 6).map(str), st.text("0123456789 x", max_size=4)),
       lines=st.lists(line, max_size=6))
def test_structured_wts(tmp_path, count, lines):
    path = tmp_path / "s.wts"
    path.write_text("\n".join([count] + lines) + "\n")
    try:
        import_wts(path, torch_targets())
    except NetdslError:
        pass


json_value = st.recursive(st.none() | st.booleans() | st.floats(allow_nan=False) | st.text(max_size=5),
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                      max_size=3), max_leaves=12)


@FAST
@given(config=json_value, names=st.lists(st.sampled_from(["conv", "bn", "dense", "emb", "nope", ""]), max_size=6),
       shapes=st.lists(st.lists(st.integers(0, 4), max_size=4), min_size=1, max_size=3))
def test_structured_keras(tmp_path, config, names, shapes):
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Model", "config": {"layers": [
            {"class_name": "Conv2D", "config": config}]}} if isinstance(config, dict) else config).encode()
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = np.array([n.encode() for n in names]) if names else np.zeros(0)
        for n in set(names) - {""}:
            g = group.create_group(n)
            g.attrs["weight_names"] = np.array([f"{n}/w{i}:0".encode() for i in range(len(shapes))])
            for i, shape in enumerate(shapes):
                g.create_dataset(f"{n}/w{i}:0", data=np.zeros(shape, np.float32))
    try:
        import_keras(path, keras_targets())
    except NetdslError:
        pass


@FAST
@given(header=st.binary(max_size=64), length=st.integers(0, 2 ** 64 - 1))
def test_structured_safetensors(tmp_path, header, length):
    path = tmp_path / "s.safetensors"
    path.write_bytes(struct.pack("<Q", length) + header)
    assert isinstance(run_case("safetensors", path.read_bytes(), tmp_path), (dict, NetdslError))
