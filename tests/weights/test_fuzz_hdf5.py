"""Property-based fuzzing of the HDF5 weight-store reader (small budgets; long runs: tools/fuzz_readers.py hdf5).

Invariant (tools/fuzzing/targets.py ``run_hdf5``): ``WeightStore.open`` and ``load_weights`` give a valid
result or a one-line NetdslError, never another exception; a file derived from a checksummed store fails
or reads back exactly its original arrays and attributes; bound weights are finite, variances >= 0.
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from fuzzing.targets import Seeds, make_hdf5_case, run_hdf5  # noqa: E402

FUZZ = settings(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> Seeds:
    return Seeds(tmp_path_factory.mktemp("fuzz-seeds"))


def _check(source: str, rng: random.Random, seeds: Seeds, workdir: Path):
    case = make_hdf5_case(rng, workdir, seeds, source)
    outcome = run_hdf5(case, seeds)
    assert not outcome.failed, f"{case.origin}: {outcome.kind}: {outcome.detail}"
    return outcome


@settings(FUZZ, max_examples=60)
@given(rng=st.randoms(use_true_random=False))
def test_mutated_small_checksummed_store(rng, seeds, tmp_path):
    _check("small", rng, seeds, tmp_path / "case")


@settings(FUZZ, max_examples=8)
@given(rng=st.randoms(use_true_random=False))
def test_mutated_shipped_yolov3_tiny(rng, seeds, tmp_path):
    _check("shipped", rng, seeds, tmp_path / "case")


@settings(FUZZ, max_examples=8)
@given(rng=st.randoms(use_true_random=False))
def test_mutated_old_format_store(rng, seeds, tmp_path):
    _check("old", rng, seeds, tmp_path / "case")


@settings(FUZZ, max_examples=40)
@given(rng=st.randoms(use_true_random=False))
def test_structured_stores_with_links_huge_shapes_odd_dtypes_and_attributes(rng, seeds, tmp_path):
    _check("structured", rng, seeds, tmp_path / "case")
