"""Fixtures for the quantization tests: ``build_engine_rtx`` is the suite's ``rtx_build`` (tests/conftest.py)."""
import pytest


@pytest.fixture
def build_engine_rtx(rtx_build):
    return rtx_build
