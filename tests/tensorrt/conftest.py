"""Fixtures for the TensorRT backend tests: a real TensorRT-RTX, AOT builds for sm86 (no GPU needed)."""
import numpy as np
import pytest


@pytest.fixture
def build(rtx_build):
    """``build(net, **kw) -> bytes``: the suite's ``rtx_build`` (tests/conftest.py)."""
    return rtx_build


@pytest.fixture
def rng():
    return np.random.default_rng(0)

