"""TensorRT-RTX fixtures for the quantization tests (as tests/tensorrt/conftest.py): AOT builds, no GPU."""
import pytest

from netdsl.graph.errors import BackendUnavailableError


@pytest.fixture(scope="session")
def rtx():
    from netdsl.tensorrt import load_tensorrt
    try:
        return load_tensorrt("rtx")
    except BackendUnavailableError as exc:
        pytest.fail(f"TensorRT-RTX is required for these tests (pip install -e '.[rtx,test]'): {exc}")


@pytest.fixture
def build_engine_rtx(rtx):
    """``build_engine`` with a real TensorRT-RTX (keyword arguments passed on), checked non-empty."""
    from netdsl.tensorrt import build_engine

    def _build(net, **kw):
        kw.setdefault("targets", ("sm86",))
        kw.setdefault("workspace_bytes", 1 << 28)
        engine = build_engine(net, tensorrt=rtx, **kw)
        assert isinstance(engine, bytes) and len(engine) > 1000
        return engine
    return _build
