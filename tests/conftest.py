"""Shared test fixtures: the read-only data folder beside the checkout."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` (darknet cfgs and weights, images, Keras and torch files)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"test data folder {SHARED_DATA} is missing (it sits beside the checkout)")
    return SHARED_DATA
