"""The cfg-built zoo against OpenCV DNN's darknet importer (the oracle), and the hand-written YOLOv3-tiny.

* yolov3-tiny built from its cfg = ``models/yolov3_tiny.py`` bit for bit (same weight names), and = OpenCV;
* Yolo-Fastest 1.1 / 1.1-xl with their real COCO weights on darknet's sample images;
* yolov3, yolov4, yolov4-tiny, yolov2-tiny with seeded random weights written in darknet's format.

netdsl builds with OpenCV's batch-norm epsilon 1e-6 here (darknet's own, the default, is 1e-5). Raw heads
within 1e-4 (max |diff| / max |OpenCV|); every decoded row (boxes, kept scores) as OpenCV's; detections
after the same NMS: same classes, IoU >= 0.99, confidence within 1e-3.
"""
import json
from pathlib import Path

import numpy as np
import pytest

from darknet_oracle import (assert_rows_match, opencv_forward, opencv_net, opencv_rows_as_ours, relative_error,
                            write_random_darknet_weights)
from netdsl.cli import main
from netdsl.detection import detect_from_outputs, load_image, preprocess
from netdsl.detection.nms import iou
from netdsl.frameworks.darknet import convert_darknet
from netdsl.frameworks.darknet.builder import build_from_cfg, detection_spec
from netdsl.models import MODELS, load_model
from netdsl.reference import execute
from netdsl.weights import load_weights

REPO = Path(__file__).resolve().parents[2]
CFG = REPO / "models" / "cfg"
FASTEST = REPO / "tests" / "data" / "darknet" / "yolo-fastest"
IMAGES = REPO / "tests" / "data" / "darknet" / "images"


def compare(net, cv, spec, image, size, conf=0.25, rows_thresh=0.2, detections=True):
    """Run both on one image at ``size``; assert heads, rows and (``detections``) detections; return ours."""
    picture = load_image(IMAGES / image)
    blob = preprocess(picture, size)
    ours = execute(net, {"images": blob}, outputs=list(spec["raw_heads"]) + ["boxes", "scores"])
    heads, rows = opencv_forward(cv, blob, spec["raw_heads"])
    start, theirs_rows = 0, []
    for name, head, layer_rows in zip(spec["raw_heads"], heads, rows):
        assert ours[name].shape == head.shape, name
        assert relative_error(ours[name], head) < 1e-4, (name, relative_error(ours[name], head))
        classes = len(spec["class_names"])
        anchors = head.shape[1] // (5 + classes)
        layer_rows = opencv_rows_as_ours(layer_rows, anchors, *head.shape[2:])
        count = layer_rows.shape[0]
        assert_rows_match(ours["boxes"][0, start:start + count], ours["scores"][0, start:start + count], layer_rows,
                          size, thresh=rows_thresh)
        theirs_rows.append(layer_rows)
        start += count
    assert start == ours["boxes"].shape[1]
    if not detections:
        return None
    rows = np.concatenate(theirs_rows)
    h, w = picture.shape[:2]
    scale = (w / size[1], h / size[0])
    mine = detect_from_outputs(ours["boxes"][0], ours["scores"][0], spec["class_names"], conf, 0.45, scale,
                               image_size=(w, h))
    centre, half = rows[:, 0:2] * (size[1], size[0]), rows[:, 2:4] * (size[1], size[0]) / 2
    theirs = detect_from_outputs(np.concatenate([centre - half, centre + half], axis=1), rows[:, 5:],
                                 spec["class_names"], conf, 0.45, scale, image_size=(w, h))
    assert sorted(d.class_id for d in mine) == sorted(d.class_id for d in theirs), image
    for t in theirs:
        best = max((d for d in mine if d.class_id == t.class_id),
                   key=lambda d: iou(np.array(t.box), np.array([d.box]))[0])
        assert iou(np.array(t.box), np.array([best.box]))[0] >= 0.99, (image, t, best)
        assert abs(best.confidence - t.confidence) <= 1e-3, (image, t, best)
    return mine


# -- YOLOv3-tiny: the cfg builder = the hand-written model ---------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_pair():
    from netdsl.models.yolov3_tiny import build_network
    hand, built = build_network(), build_from_cfg(REPO / "tests" / "data" / "darknet" / "cfg" / "yolov3-tiny.cfg")
    assert sorted(hand.weights()) == sorted(built.weights())
    for net in (hand, built):
        load_weights(net, REPO / "weights" / "yolov3-tiny.h5")
    return hand, built


@pytest.mark.parametrize("image", ["dog.jpg", "person.jpg"])
def test_yolov3_tiny_cfg_equals_hand_written(image, tiny_pair):
    hand, built = tiny_pair
    blob = preprocess(load_image(IMAGES / image), (416, 416))
    names = ["conv15.conv", "conv22.conv", "boxes", "scores"]
    a, b = execute(hand, {"images": blob}, outputs=names), execute(built, {"images": blob}, outputs=names)
    for name in names:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_yolov3_tiny_cfg_matches_opencv(data, yolov3_tiny_darknet_weights):
    cfg = data / "darknet" / "cfg" / "yolov3-tiny.cfg"
    net = build_from_cfg(cfg, eps=1e-6)
    load_weights(net, REPO / "weights" / "yolov3-tiny.h5")
    spec = detection_spec(cfg, load_model("yolov3-tiny").CLASS_NAMES)
    found = compare(net, opencv_net(cfg, yolov3_tiny_darknet_weights), spec, "dog.jpg", (416, 416))
    assert {d.class_name for d in found} == {"dog", "car", "truck", "bicycle"}


# -- Yolo-Fastest: real COCO weights -------------------------------------------------------------------------------

@pytest.fixture(scope="module", params=["yolo-fastest-1.1", "yolo-fastest-1.1-xl"])
def fastest(request):
    name = request.param
    module = load_model(name)
    net = module.build_network(eps=1e-6)
    load_weights(net, REPO / "weights" / f"{name}.h5")
    return name, net, module.DETECTION, opencv_net(FASTEST / f"{name}.cfg", FASTEST / f"{name}.weights")


@pytest.mark.parametrize("image", ["dog.jpg", "person.jpg", "horses.jpg"])
def test_yolo_fastest_matches_opencv(image, fastest):
    name, net, spec, cv = fastest
    found = compare(net, cv, spec, image, (320, 320))
    assert found, (name, image)


def test_yolo_fastest_xl_dog_known_answer(data):
    """Yolo-Fastest 1.1-xl on dog.jpg at 320 x 320 through the CLI (default eps 1e-5): dog, bicycle, car."""
    module = load_model("yolo-fastest-1.1-xl")
    net = module.build_network()
    load_weights(net, REPO / "weights" / "yolo-fastest-1.1-xl.h5")
    image = load_image(IMAGES / "dog.jpg")
    out = execute(net, {"images": preprocess(image, (320, 320))})
    h, w = image.shape[:2]
    found = detect_from_outputs(out["boxes"][0], out["scores"][0], module.DETECTION["class_names"], 0.5, 0.45,
                                (w / 320, h / 320))
    best = {}
    for d in found:
        best.setdefault(d.class_name, d.confidence)
    assert set(best) == {"dog", "bicycle", "car"}
    for cls, conf in {"dog": 0.96, "bicycle": 0.89, "car": 0.84}.items():
        assert abs(best[cls] - conf) < 0.01, (cls, best[cls])


def test_weights_are_the_converted_official_files(tmp_path):
    """weights/yolo-fastest-*.h5 = netdsl convert darknet of the official files (same tensors, bit for bit)."""
    from netdsl.weights.hdf5 import WeightStore
    for name in ("yolo-fastest-1.1", "yolo-fastest-1.1-xl"):
        fresh = tmp_path / f"{name}.h5"
        convert_darknet(FASTEST / f"{name}.cfg", FASTEST / f"{name}.weights", fresh)
        shipped, again = WeightStore.open(REPO / "weights" / f"{name}.h5"), WeightStore.open(fresh)
        assert sorted(shipped) == sorted(again)
        for tensor in again:
            np.testing.assert_array_equal(shipped[tensor], again[tensor])
        assert (CFG / f"{name}.cfg").read_bytes() == (FASTEST / f"{name}.cfg").read_bytes()


# -- random weights: yolov3, yolov4, yolov4-tiny, yolov2-tiny -------------------------------------------------------

# model -> (images, size, head_scale): the heads' kernels are scaled so that many scores pass OpenCV's threshold.
RANDOM = {
    "yolov3": (["dog.jpg"], (224, 224), 1.0),
    "yolov4": (["dog.jpg"], (224, 224), 3.0),
    "yolov4-tiny": (["dog.jpg", "person.jpg"], (256, 256), 3.0),
    "yolov2-tiny": (["dog.jpg", "person.jpg"], (256, 256), 40.0),
}


@pytest.fixture(scope="module")
def random_store(tmp_path_factory):
    """name -> (cfg, random darknet .weights, converted .h5), written once per module."""
    folder = tmp_path_factory.mktemp("random-darknet")
    cache = {}

    def get(name):
        if name not in cache:
            cfg = CFG / f"{name}.cfg"
            weights, h5 = folder / f"{name}.weights", folder / f"{name}.h5"
            write_random_darknet_weights(cfg, weights, seed=7, head_scale=RANDOM[name][2])
            convert_darknet(cfg, weights, h5)
            cache[name] = cfg, weights, h5
        return cache[name]
    return get


@pytest.fixture(scope="module")
def random_models(random_store):
    cache = {}

    def get(name):
        if name not in cache:
            cfg, weights, h5 = random_store(name)
            module = load_model(name)
            net = module.build_network(eps=1e-6)
            load_weights(net, h5)
            cache[name] = net, module.DETECTION, opencv_net(cfg, weights)
        return cache[name]
    return get


@pytest.mark.parametrize("name, image", [(m, i) for m, v in RANDOM.items() for i in v[0]])
def test_random_weights_match_opencv(name, image, random_models):
    """Raw heads and every decoded row. Not NMS detections: random boxes overlap at every IoU, so NMS
    decisions flip on float rounding (and take minutes on thousands of confident random boxes); the
    rows hold every box and score that NMS would read."""
    net, spec, cv = random_models(name)
    _, size, _ = RANDOM[name]
    region = name == "yolov2-tiny"  # OpenCV zeroes NMS-suppressed [region] scores: no check where it zeroed one
    compare(net, cv, spec, image, size, rows_thresh=None if region else 0.2, detections=False)


# -- registry, CLI -------------------------------------------------------------------------------------------------

ZOO = ["yolov3", "yolov4", "yolov4-tiny", "yolov2-tiny", "yolo-fastest-1.1", "yolo-fastest-1.1-xl"]


@pytest.mark.parametrize("name", ZOO)
def test_zoo_modules(name):
    module = load_model(name)
    assert name in MODELS
    spec = module.DETECTION
    assert len(spec["class_names"]) == 80 and spec["class_names"][0] == "person" and spec["stride"] == 32
    (lo, opt, hi), = module.PROFILES[0].values()
    assert lo[2] % 32 == 0 and opt[2:] == spec["input_size"] and hi[0] == 8
    net = module.build_network(batch=1, height=opt[2], width=opt[3])
    assert net.tensor("scores").shape[-1] == 80 and net.tensor("boxes").shape[0] == 1


def test_cli_detect_cfg_with_names(tmp_path, capsys):
    """A .cfg as MODEL with an .h5 from convert: the same detections as the zoo name; --names renames classes."""
    cfg, weights = str(FASTEST / "yolo-fastest-1.1.cfg"), str(REPO / "weights" / "yolo-fastest-1.1.h5")
    dog = str(IMAGES / "dog.jpg")
    assert main(["detect", "yolo-fastest-1.1", "--weights", weights, dog, "--json"]) == 0
    zoo = json.loads(capsys.readouterr().out)
    names = tmp_path / "upper.names"
    names.write_text("\n".join(n.upper() for n in load_model("yolo-fastest-1.1").DETECTION["class_names"]) + "\n")
    assert main(["detect", cfg, "--weights", weights, dog, "--json", "--names", str(names)]) == 0
    renamed = json.loads(capsys.readouterr().out)
    assert [d["class_name"].lower() for d in renamed] == [d["class_name"] for d in zoo] and zoo
    assert [d["box"] for d in renamed] == [d["box"] for d in zoo]


def test_cli_detect_names_count_mismatch(tmp_path, capsys):
    names = tmp_path / "three.names"
    names.write_text("a\nb\nc\n")
    code = main(["detect", str(FASTEST / "yolo-fastest-1.1.cfg"), "--weights",
                 str(REPO / "weights" / "yolo-fastest-1.1.h5"), str(IMAGES / "dog.jpg"), "--names", str(names)])
    err = capsys.readouterr().err
    assert code != 0 and "classes=80" in err and "3 names" in err and err.count("\n") == 1


def test_cli_inspect_cfg(capsys):
    assert main(["inspect", str(CFG / "yolov4-tiny.cfg"), "--param", "batch=1", "--param", "height=416",
                 "--param", "width=416"]) == 0
    out = capsys.readouterr().out
    assert "conv29.conv" in out and "route2.split0" not in out and "[1, 2535, 80]" in out


def test_cli_bad_cfg_is_one_line(tmp_path, capsys):
    cfg = tmp_path / "bad.cfg"
    cfg.write_text("[net]\nwidth=64\nheight=64\nchannels=3\n[convolutional]\nfilters=8\nsize=3\nwobble=1\n")
    code = main(["inspect", str(cfg)])
    err = capsys.readouterr().err
    assert code != 0 and f"{cfg} line 8 [convolutional] (layer 0): unknown key 'wobble'" in err
    assert err.count("\n") == 1


# -- TensorRT-RTX engines (ahead of time for sm86, no GPU needed) --------------------------------------------------

@pytest.mark.parametrize("name", ZOO)
def test_zoo_model_builds_rtx_engine(name, rtx, random_store):
    """Every zoo model with its weights (shipped, else random in darknet format) -> a real RTX engine for a
    small runtime-size profile (batch 1-2, 128-256 pixels): TensorRT agrees with netdsl on every shape."""
    from netdsl.tensorrt import build_engine
    module = load_model(name)
    weights = REPO / "weights" / f"{name}.h5" if name.startswith("yolo-fastest") else random_store(name)[2]
    net = module.build_network()
    load_weights(net, weights)
    engine = build_engine(net, tensorrt=rtx, targets=("sm86",), workspace_bytes=1 << 28,
                          profiles=[{"images": ((1, 3, 128, 128), (1, 3, 160, 160), (2, 3, 256, 256))}])
    floats = sum(int(np.prod(w.shape)) for w in net.weights().values())
    assert isinstance(engine, bytes) and len(engine) > 2 * floats  # the weights are in the plan (fp32: 4 bytes each)


def test_cli_builds_engine_from_cfg(rtx, tmp_path):
    out = tmp_path / "fastest.engine"
    assert main(["build", str(FASTEST / "yolo-fastest-1.1.cfg"), "--weights",
                 str(REPO / "weights" / "yolo-fastest-1.1.h5"), "--target", "sm86", "-o", str(out),
                 "--min-shapes", "images:1x3x128x128", "--opt-shapes", "images:1x3x320x320",
                 "--max-shapes", "images:1x3x320x320"]) == 0
    assert out.stat().st_size > 4 * 346_062
