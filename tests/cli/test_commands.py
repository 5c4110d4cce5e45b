"""The ``netdsl`` command line: the main job through the installed console script, and
every bad input giving one line on stderr, a non-zero exit and no output file."""
import json
import shutil

import h5py
import numpy as np
import pytest
from cli_run import DATA, REPO, WEIGHTS, assert_one_line_error, run


def test_detect_console_script_json_and_drawing(tmp_path):
    image = REPO / "samples" / "dog.jpg"
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, image, "--json", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert {d["class_name"] for d in found} >= {"dog", "car", "truck", "bicycle"}
    for d in found:
        assert set(d) == {"image", "class_id", "class_name", "confidence", "box"}
        x1, y1, x2, y2 = d["box"]
        assert 0 <= d["confidence"] <= 1 and x1 < x2 and y1 < y2
    from PIL import Image
    with Image.open(tmp_path / "dog.jpg") as drawn, Image.open(image) as original:
        assert drawn.size == original.size
        assert np.abs(np.asarray(drawn, np.int16) - np.asarray(original, np.int16)).max() > 100  # boxes drawn


def test_truncated_weights(yolov3_tiny_darknet_weights, tmp_path):
    cut = tmp_path / "cut.weights"
    cut.write_bytes(yolov3_tiny_darknet_weights.read_bytes()[:-4000])
    out = tmp_path / "out.h5"
    result = run("convert", "darknet", "--cfg", DATA / "darknet" / "cfg" / "yolov3-tiny.cfg",
                 "--weights", cut, "-o", out)
    # (35,434,956 B - 20 B header) / 4 = 8,858,734 floats needed; 1,000 fewer present
    assert_one_line_error(result, "cut.weights", "8,858,734", "8,857,734")
    assert list(tmp_path.iterdir()) == [cut]


def test_weights_not_matching_cfg(yolov3_tiny_darknet_weights, tmp_path):
    out = tmp_path / "out.h5"
    result = run("convert", "darknet", "--cfg", DATA / "darknet" / "cfg" / "yolov4-tiny.cfg",
                 "--weights", yolov3_tiny_darknet_weights, "-o", out)
    assert_one_line_error(result, "yolov3-tiny.weights", "yolov4-tiny.cfg")
    assert not any(tmp_path.iterdir())


def test_convert_then_export_round_trip(yolov3_tiny_darknet_weights, tmp_path):
    cfg = DATA / "darknet" / "cfg" / "yolov3-tiny.cfg"
    result = run("convert", "darknet", "--cfg", cfg, "--weights", yolov3_tiny_darknet_weights, "-o",
                 tmp_path / "w.h5")
    assert result.returncode == 0, result.stderr
    assert "59 tensors of 13 convolutional layers" in result.stdout
    result = run("export", "darknet", "--cfg", cfg, tmp_path / "w.h5", "-o", tmp_path / "back.weights")
    assert result.returncode == 0, result.stderr
    assert "35,434,956 bytes" in result.stdout
    assert (tmp_path / "back.weights").read_bytes() == yolov3_tiny_darknet_weights.read_bytes()


@pytest.mark.parametrize("command", ["convert", "export"])
@pytest.mark.parametrize("old, new, fragment", [
    ("[convolutional]\n", "[convolutional]\nwobble=3\n",
     "line 26 [convolutional] (layer 0): unknown key 'wobble' for [convolutional]"),
    ("activation=leaky\n", "activation=leakyy\n",
     "line 31 [convolutional] (layer 0): activation=leakyy is not supported"),
], ids=["unknown-key", "bad-activation"])
def test_convert_and_export_refuse_a_cfg_inspect_refuses(command, old, new, fragment, yolov3_tiny_darknet_weights,
                                                         tmp_path):
    """The cfg is checked as the builder checks it: inspect's one-line error, status 1, no output file."""
    cfg = tmp_path / "bad.cfg"
    cfg.write_text((DATA / "darknet" / "cfg" / "yolov3-tiny.cfg").read_text().replace(old, new, 1))
    inspected = run("inspect", cfg)
    assert_one_line_error(inspected, f"{cfg} {fragment}", status=1)
    if command == "convert":
        result = run("convert", "darknet", "--cfg", cfg, "--weights", yolov3_tiny_darknet_weights,
                     "-o", tmp_path / "out.h5")
    else:
        result = run("export", "darknet", "--cfg", cfg, WEIGHTS, "-o", tmp_path / "out.weights")
    assert_one_line_error(result, status=1)
    assert result.stderr == inspected.stderr and result.stdout == ""
    assert list(tmp_path.iterdir()) == [cfg]


def test_hdf5_missing_extra_and_wrong_shape_named_together(tmp_path):
    bad = tmp_path / "bad.h5"
    shutil.copy(WEIGHTS, bad)
    with h5py.File(bad, "r+") as f:
        del f["conv0/bn/mean"]
        f["conv99/conv/kernel"] = np.zeros((1, 1, 1, 1), np.float32)
        del f["conv2/conv/kernel"]
        f["conv2/conv/kernel"] = np.zeros((32, 16, 1, 1), np.float32)
    result = run("build", "yolov3-tiny", "--weights", bad, "--target", "sm86", "-o", tmp_path / "x.engine")
    assert_one_line_error(result, "bad.h5", "conv0.bn.mean", "conv99.conv.kernel", "conv2.conv.kernel",
                          "(32, 16, 3, 3)", "(32, 16, 1, 1)")
    assert not (tmp_path / "x.engine").exists()


def test_not_an_image(tmp_path):
    fake = tmp_path / "fake.jpg"
    fake.write_text("this is not a JPEG")
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, fake, "--json", "--out", tmp_path)
    assert_one_line_error(result, "fake.jpg", "not a readable image")
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == [fake]


def test_unknown_model(tmp_path):
    result = run("build", "yolov9-huge", "--weights", WEIGHTS, "--target", "sm86", "-o", tmp_path / "x.engine")
    assert_one_line_error(result, "yolov9-huge", "yolov3-tiny")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("command", ["convert", "build", "export"])
def test_output_in_missing_directory(command, yolov3_tiny_darknet_weights, tmp_path):
    out = tmp_path / "no" / "such" / "dir" / "out.file"
    cfg = DATA / "darknet" / "cfg" / "yolov3-tiny.cfg"
    if command == "convert":
        result = run("convert", "darknet", "--cfg", cfg, "--weights", yolov3_tiny_darknet_weights, "-o", out)
    elif command == "export":
        result = run("export", "darknet", "--cfg", cfg, WEIGHTS, "-o", out)
    else:
        result = run("build", "yolov3-tiny", "--weights", WEIGHTS, "--target", "sm86", "-o", out)
    assert_one_line_error(result, str(out.parent), "does not exist")
    assert not (tmp_path / "no").exists()


def test_detect_tensorrt_backend_without_gpu_is_one_clear_line(tmp_path):
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, REPO / "samples" / "dog.jpg", "--backend",
                 "tensorrt", "--json")
    assert_one_line_error(result)
    assert result.stdout == ""


MODEL_FILE = '''
import numpy as np
from netdsl import ActivationType, DataType, Network


def build_network():
    net = Network("user-model")
    x = net.add_input("x", DataType.FLOAT, (1, 2, 4, 4))
    with net.scope("block"):
        y = net.add_convolution_nd(x, 3, (1, 1), name="conv").output
        y = net.add_activation(y, ActivationType.RELU, name="relu").output
    net.mark_output(y)
    return net
'''


def test_build_and_inspect_a_model_file(tmp_path):
    from netdsl.weights import save_weights
    model = tmp_path / "user_model.py"
    model.write_text(MODEL_FILE)
    weights = tmp_path / "user.h5"
    save_weights(weights, {"block.conv.kernel": np.ones((3, 2, 1, 1), np.float32),
                           "block.conv.bias": np.zeros(3, np.float32)}, source="test")
    engine = tmp_path / "user.engine"
    result = run("build", model, "--weights", weights, "--target", "sm86", "-o", engine)
    assert result.returncode == 0, result.stderr
    size = engine.stat().st_size
    assert size > 0 and result.stdout.strip() == f"wrote {engine} ({size:,} bytes)"
    result = run("inspect", model, "--weights")
    assert result.returncode == 0, result.stderr
    assert "layer   block.conv CONVOLUTION -> block.conv [1, 3, 4, 4] FLOAT" in result.stdout
    assert "weights block.conv.kernel [3, 2, 1, 1] FLOAT" in result.stdout
