"""Fixtures for the zoo tests: shipped weights, the astronaut face crop, and TensorRT-RTX builds (sm86, no GPU)."""
import pytest


from zoo_support import FACE


@pytest.fixture(scope="session")
def astronaut():
    """scikit-image's astronaut (Eileen Collins, NASA, public domain) as a Pillow RGB image; bundled with
    scikit-image, no download."""
    from PIL import Image
    from skimage import data
    return Image.fromarray(data.astronaut())


@pytest.fixture(scope="session")
def face(astronaut):
    """The astronaut's face crop (95 x 95 RGB, Pillow)."""
    x, y, w, h = FACE
    return astronaut.crop((x, y, x + w, y + h))


@pytest.fixture(scope="session")
def rtx_build():
    """``rtx_build(net, profiles=None) -> bytes``: a real TensorRT-RTX engine for sm86, checked non-empty."""
    from netdsl.graph.errors import BackendUnavailableError
    from netdsl.tensorrt import build_engine, load_tensorrt
    try:
        trt = load_tensorrt("rtx")
    except BackendUnavailableError as exc:
        pytest.fail(f"TensorRT-RTX is required for these tests (pip install -e '.[rtx,test]'): {exc}")

    def _build(net, **kw):
        kw.setdefault("targets", ("sm86",))
        kw.setdefault("workspace_bytes", 1 << 28)
        engine = build_engine(net, tensorrt=trt, **kw)
        assert isinstance(engine, bytes) and len(engine) > 1000
        return engine
    return _build
