"""Property-based fuzzing of the darknet readers (small budgets; long runs: tools/fuzz_readers.py cfg|darknet).

Invariants (tools/fuzzing/targets.py): ``parse_cfg`` + ``conv_parameter_shapes`` and ``convert_darknet``
give a valid result or a one-line NetdslError, never another exception; every convolution they describe has
positive shapes; a failed conversion leaves no file behind; a successful one writes a checksummed store of
finite values with variances >= 0.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from fuzzing.mutations import mutate_bytes, mutate_cfg_text  # noqa: E402
from fuzzing.targets import CFG_DIR, Case, Seeds, make_darknet_case, random_cfg, run_cfg, run_darknet  # noqa: E402

FUZZ = settings(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
CFGS = sorted(CFG_DIR.glob("*.cfg"))


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> Seeds:
    return Seeds(tmp_path_factory.mktemp("fuzz-seeds"))


def _run_cfg(path: Path, data: bytes):
    path.write_bytes(data)
    outcome = run_cfg(Case("cfg", path.parent, {"input": path}, "test"))
    assert not outcome.failed, f"{outcome.kind}: {outcome.detail}"


@settings(FUZZ, max_examples=150)
@given(seed=st.sampled_from(CFGS), rng=st.randoms(use_true_random=False))
def test_cfg_byte_mutations(seed, rng, tmp_path):
    _run_cfg(tmp_path / "m.cfg", mutate_bytes(seed.read_bytes(), rng))


@settings(FUZZ, max_examples=150)
@given(seed=st.sampled_from(CFGS), rng=st.randoms(use_true_random=False))
def test_cfg_line_mutations_with_odd_numbers(seed, rng, tmp_path):
    _run_cfg(tmp_path / "m.cfg", mutate_cfg_text(seed.read_text(), rng).encode("utf-8"))


@settings(FUZZ, max_examples=150)
@given(rng=st.randoms(use_true_random=False))
def test_structured_cfgs(rng, tmp_path):
    _run_cfg(tmp_path / "s.cfg", random_cfg(rng).encode("utf-8"))


@settings(FUZZ, max_examples=60)
@given(rng=st.randoms(use_true_random=False))
def test_weights_conversion_of_mutated_files(rng, seeds, tmp_path):
    case = make_darknet_case(rng, tmp_path / "case", seeds)
    outcome = run_darknet(case)
    assert not outcome.failed, f"{case.origin}: {outcome.kind}: {outcome.detail}"
