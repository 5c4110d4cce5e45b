"""YOLOv3-tiny end to end against OpenCV DNN's darknet importer (the oracle).

Both get the same input blob (netdsl's plain-resize preprocessing); OpenCV's
decoded ``yolo`` rows go through the same NMS as ours.
"""
import json
from pathlib import Path

import numpy as np
import pytest

import cv2  # noqa: E402  (oracle; part of the test extra)

from netdsl.models.yolov3_tiny import CLASS_NAMES, build_network  # noqa: E402
from netdsl.cli import main  # noqa: E402
from netdsl.detection import detect_from_outputs, load_image, preprocess  # noqa: E402
from netdsl.detection.nms import iou  # noqa: E402
from netdsl.reference import execute  # noqa: E402
from netdsl.weights import load_weights  # noqa: E402

IMAGES = ["dog.jpg", "person.jpg", "horses.jpg"]
WEIGHTS = Path(__file__).resolve().parents[2] / "weights" / "yolov3-tiny.h5"


@pytest.fixture(scope="module")
def opencv_net(data, yolov3_tiny_darknet_weights):
    net = cv2.dnn.readNetFromDarknet(str(data / "darknet" / "cfg" / "yolov3-tiny.cfg"),
                                     str(yolov3_tiny_darknet_weights))
    net.enableWinograd(False)
    return net


@pytest.fixture(scope="module")
def netdsl_net():
    net = build_network()
    load_weights(net, WEIGHTS)
    return net


@pytest.fixture(scope="module")
def unfolded_net():
    net = build_network(fold_batch_norm=False)
    load_weights(net, WEIGHTS)
    assert net.layer("conv0.bn").type.name == "SCALE"
    return net


def opencv_forward(net, blob):
    net.setInput(blob)
    names = ["conv_15", "conv_22"] + list(net.getUnconnectedOutLayersNames())
    heads = net.forward(names)
    return heads[0], heads[1], np.concatenate(heads[2:])


def opencv_detections(rows, image_shape):
    """OpenCV rows (cx, cy, w, h as input fractions, objectness, class scores) -> Detections."""
    cxcy, wh = rows[:, 0:2] * 416, rows[:, 2:4] * 416
    boxes = np.concatenate([cxcy - wh / 2, cxcy + wh / 2], axis=1)
    h, w = image_shape[:2]
    # boxes clipped to the image after NMS, as darknet draws them and netdsl detect reports them
    return detect_from_outputs(boxes, rows[:, 5:], CLASS_NAMES, 0.25, 0.45, (w / 416, h / 416), image_size=(w, h))


@pytest.mark.parametrize("image", IMAGES)
@pytest.mark.parametrize("folded", [True, False], ids=["bn-folded", "bn-as-scale"])
def test_raw_heads_match_opencv(image, folded, data, opencv_net, netdsl_net, unfolded_net):
    blob = preprocess(load_image(data / "darknet" / "images" / image), (416, 416))
    net = netdsl_net if folded else unfolded_net
    ours = execute(net, {"images": blob}, outputs=["conv15.conv", "conv22.conv"])
    head1, head2, _ = opencv_forward(opencv_net, blob)
    for name, theirs in (("conv15.conv", head1), ("conv22.conv", head2)):
        assert ours[name].shape == theirs.shape
        rel = np.abs(ours[name] - theirs).max() / np.abs(theirs).max()
        assert rel < 1e-4, (name, rel)


def test_cli_detections_match_opencv(data, opencv_net, capsys):
    paths = [str(data / "darknet" / "images" / name) for name in IMAGES]
    assert main(["detect", "yolov3-tiny", "--weights", str(WEIGHTS), *paths, "--backend", "reference",
                 "--json"]) == 0
    ours = json.loads(capsys.readouterr().out)
    assert {d["image"] for d in ours} == set(paths)
    for path in paths:
        image = load_image(path)
        _, _, rows = opencv_forward(opencv_net, preprocess(image, (416, 416)))
        theirs = opencv_detections(rows, image.shape)
        mine = [d for d in ours if d["image"] == path]
        assert theirs, f"OpenCV found nothing in {path}"
        assert sorted(d["class_id"] for d in mine) == sorted(d.class_id for d in theirs), path
        for t in theirs:
            same_class = [d for d in mine if d["class_id"] == t.class_id]
            best = max(same_class, key=lambda d: iou(np.array(t.box), np.array([d["box"]]))[0])
            assert iou(np.array(t.box), np.array([best["box"]]))[0] >= 0.99, (path, t)
            assert abs(best["confidence"] - t.confidence) <= 1e-3, (path, t, best)
            assert best["class_name"] == t.class_name


def test_dog_known_answer(data, netdsl_net):
    """The data README's OpenCV result on dog.jpg: dog 0.83, car 0.73, truck 0.58, bicycle ~0.38."""
    image = load_image(data / "darknet" / "images" / "dog.jpg")
    out = execute(netdsl_net, {"images": preprocess(image, (416, 416))})
    h, w = image.shape[:2]
    found = detect_from_outputs(out["boxes"][0], out["scores"][0], CLASS_NAMES, 0.25, 0.45, (w / 416, h / 416))
    best = {}
    for d in found:
        best.setdefault(d.class_name, d.confidence)
    assert set(best) == {"dog", "car", "truck", "bicycle"}
    for name, conf in {"dog": 0.83, "car": 0.73, "truck": 0.58, "bicycle": 0.38}.items():
        assert abs(best[name] - conf) < 0.02, (name, best[name])


# -- one definition, every batch and size ------------------------------------------------------------------

SIZES = [(320, 320), (416, 416), (608, 608), (416, 608)]


@pytest.fixture(scope="module")
def static_416():
    net = build_network(batch=1, height=416, width=416)
    load_weights(net, WEIGHTS)
    return net


def test_static_form_gives_identical_outputs(data, netdsl_net, static_416):
    assert netdsl_net.tensor("boxes").shape[0] != 1 and static_416.tensor("boxes").shape == (1, 2535, 4)
    blob = preprocess(load_image(data / "darknet" / "images" / "dog.jpg"), (416, 416))
    dynamic, static = execute(netdsl_net, {"images": blob}), execute(static_416, {"images": blob})
    for key in ("boxes", "scores"):
        np.testing.assert_array_equal(dynamic[key], static[key])


@pytest.mark.parametrize("size", SIZES, ids=[f"{h}x{w}" for h, w in SIZES])
@pytest.mark.parametrize("image", IMAGES)
def test_runtime_size_matches_opencv(image, size, data, opencv_net, netdsl_net):
    """Raw heads within 1e-4 of OpenCV at the same blob size, and the same detections (classes, IoU >= 0.99)."""
    height, width = size
    picture = load_image(data / "darknet" / "images" / image)
    blob = preprocess(picture, size)
    ours = execute(netdsl_net, {"images": blob}, outputs=["conv15.conv", "conv22.conv", "boxes", "scores"])
    head1, head2, rows = opencv_forward(opencv_net, blob)
    assert ours["conv15.conv"].shape == (1, 255, height // 32, width // 32)
    for name, theirs in (("conv15.conv", head1), ("conv22.conv", head2)):
        assert ours[name].shape == theirs.shape
        rel = np.abs(ours[name] - theirs).max() / np.abs(theirs).max()
        assert rel < 1e-4, (name, rel)
    h, w = picture.shape[:2]
    mine = detect_from_outputs(ours["boxes"][0], ours["scores"][0], CLASS_NAMES, 0.25, 0.45, (w / width, h / height))
    cxcy, wh = rows[:, 0:2] * (width, height), rows[:, 2:4] * (width, height)
    boxes = np.concatenate([cxcy - wh / 2, cxcy + wh / 2], axis=1)
    theirs = detect_from_outputs(boxes, rows[:, 5:], CLASS_NAMES, 0.25, 0.45, (w / width, h / height))
    assert theirs and sorted(d.class_id for d in mine) == sorted(d.class_id for d in theirs)
    for t in theirs:
        best = max((d for d in mine if d.class_id == t.class_id), key=lambda d: iou(np.array(t.box), np.array([d.box]))[0])
        assert iou(np.array(t.box), np.array([best.box]))[0] >= 0.99 and abs(best.confidence - t.confidence) <= 1e-3


def test_batch_of_three_equals_three_single_runs(data, netdsl_net):
    """To float32 rounding: the deep Winograd layers multiply a batch's tiles in one product, which BLAS may
    round differently from a product per image (measured: at most 1.8e-4 pixels on a box corner, as exp(tw)
    scales a rounding-level difference by anchors of hundreds of pixels)."""
    blobs = [preprocess(load_image(data / "darknet" / "images" / name), (416, 608)) for name in IMAGES]
    batch = execute(netdsl_net, {"images": np.concatenate(blobs)})
    for i, blob in enumerate(blobs):
        single = execute(netdsl_net, {"images": blob})
        np.testing.assert_allclose(batch["boxes"][i], single["boxes"][0], rtol=1e-5, atol=1e-3)  # pixels
        np.testing.assert_allclose(batch["scores"][i], single["scores"][0], rtol=1e-5, atol=1e-5)


def test_input_size_not_a_multiple_of_32_is_refused(data, netdsl_net):
    from netdsl.graph.errors import ExecutionError
    blob = preprocess(load_image(data / "darknet" / "images" / "dog.jpg"), (400, 416))
    with pytest.raises(ExecutionError, match="images: needs the input height to be a multiple of 32.*height = 400"):
        execute(netdsl_net, {"images": blob})
