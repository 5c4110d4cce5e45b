"""Shared test fixtures: the test data shipped in ``tests/data`` and, for the few tests that compare
against originals too big to ship, ``../shared/data`` beside the checkout."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def data() -> Path:
    """``tests/data``: darknet cfgs, images and Yolo-Fastest weights, Keras files, MTCNN state dicts, MNIST."""
    return DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``, for tests comparing against originals the repository does not ship.

    A fresh clone has no such folder: those tests skip, saying why. CI runs them in a checkout that has
    it, with ``NETDSL_REQUIRE_SHARED_DATA=1``, so there they fail instead of skipping.
    """
    if not SHARED_DATA.is_dir():
        if os.environ.get("NETDSL_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(f"{SHARED_DATA} is missing, and NETDSL_REQUIRE_SHARED_DATA=1 requires it")
        pytest.skip(f"{SHARED_DATA} is not beside this checkout (it holds the 35 MB official "
                    f"yolov3-tiny.weights, which the repository derives instead of shipping)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def yolov3_tiny_darknet_weights(tmp_path_factory) -> Path:
    """The official darknet ``yolov3-tiny.weights``, regenerated from the shipped ``weights/yolov3-tiny.h5``
    by ``netdsl export darknet`` (byte-identical to the original: tests/frameworks/test_darknet_export.py)."""
    from netdsl.frameworks.darknet import export_darknet
    out = tmp_path_factory.mktemp("darknet") / "yolov3-tiny.weights"
    export_darknet(DATA / "darknet" / "cfg" / "yolov3-tiny.cfg", REPO / "weights" / "yolov3-tiny.h5", out)
    return out


@pytest.fixture(scope="session")
def rtx():
    """The TensorRT-RTX module. Missing, the tests fail: real builds are the proof of the lowering."""
    from netdsl.graph.errors import BackendUnavailableError
    from netdsl.tensorrt import load_tensorrt
    try:
        return load_tensorrt("rtx")
    except BackendUnavailableError as exc:
        pytest.fail(f"TensorRT-RTX is required for these tests (pip install -e '.[rtx,test]'): {exc}")


@pytest.fixture(scope="session")
def rtx_build(rtx):
    """``rtx_build(net, **build_engine_kwargs) -> bytes``: a real TensorRT-RTX engine (default target sm86,
    ahead of time, no GPU needed), checked non-empty."""
    from netdsl.tensorrt import build_engine

    def _build(net, **kw):
        kw.setdefault("targets", ("sm86",))
        kw.setdefault("workspace_bytes", 1 << 28)
        engine = build_engine(net, tensorrt=rtx, **kw)
        if kw.get("report"):
            return engine
        assert isinstance(engine, bytes) and len(engine) > 1000
        return engine
    return _build


def pytest_collection_modifyitems(config, items):
    """Mark every test that uses ``shared_data`` (``-m shared_data`` selects them, as .ci/run does)."""
    for item in items:
        if "shared_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared_data)
