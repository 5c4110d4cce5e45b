"""Fixtures for the TensorRT backend tests: a real TensorRT-RTX, AOT builds for sm86 (no GPU needed)."""
import numpy as np
import pytest

from netdsl.graph.errors import BackendUnavailableError


@pytest.fixture(scope="session")
def rtx():
    """The TensorRT-RTX module. Missing, the tests fail: the builds are the proof of the lowering."""
    from netdsl.tensorrt import load_tensorrt
    try:
        return load_tensorrt("rtx")
    except BackendUnavailableError as exc:
        pytest.fail(f"TensorRT-RTX is required for these tests (pip install -e '.[rtx,test]'): {exc}")


@pytest.fixture
def build(rtx):
    """``build(net) -> bytes``: a real TensorRT-RTX engine for sm86, checked non-empty."""
    from netdsl.tensorrt import build_engine

    def _build(net, **kw):
        kw.setdefault("targets", ("sm86",))
        kw.setdefault("workspace_bytes", 1 << 28)
        engine = build_engine(net, tensorrt=rtx, **kw)
        assert isinstance(engine, bytes) and len(engine) > 1000
        return engine
    return _build


@pytest.fixture
def rng():
    return np.random.default_rng(0)

