"""Fixtures for the image reader and drawing tests: the corpus builders and a YOLOv3-tiny detector."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # image_corpus, shared with tools/fuzz_images.py

REPO = Path(__file__).resolve().parents[2]
WEIGHTS = REPO / "weights" / "yolov3-tiny.h5"


@pytest.fixture(scope="session")
def detector():
    """detect(image (H, W, 3) uint8) -> Detections, as ``netdsl detect`` computes them (reference backend)."""
    from netdsl.detection import detect_from_outputs, preprocess
    from netdsl.models.yolov3_tiny import CLASS_NAMES, build_network
    from netdsl.reference import execute
    from netdsl.weights import load_weights
    net = build_network()
    load_weights(net, WEIGHTS)

    def detect(image: np.ndarray):
        out = execute(net, {"images": preprocess(image, (416, 416))})
        h, w = image.shape[:2]
        return detect_from_outputs(out["boxes"][0], out["scores"][0], CLASS_NAMES, 0.25, 0.45,
                                   (w / 416, h / 416), image_size=(w, h))
    return detect


def assert_same_detections(found, expected, tolerance: float = 2.0):
    """Same classes (as a multiset) and, per expected box, a same-class box within ``tolerance`` pixels."""
    assert sorted(d.class_name for d in found) == sorted(d.class_name for d in expected), (found, expected)
    for e in expected:
        gaps = [max(abs(a - b) for a, b in zip(d.box, e.box)) for d in found if d.class_id == e.class_id]
        assert min(gaps) <= tolerance, (e, min(gaps))
