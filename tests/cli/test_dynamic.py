"""The command line with runtime dimensions: --param, trtexec-style shape options, detect --size."""
import json

import numpy as np
import pytest
from cli_run import REPO, WEIGHTS, assert_one_line_error, run

IMAGE = REPO / "samples" / "dog.jpg"
STATIC = ("--param", "batch=1", "--param", "height=416", "--param", "width=416")


def test_build_one_engine_for_a_range_of_shapes(tmp_path):
    out = tmp_path / "yolo.engine"
    result = run("build", "yolov3-tiny", "--weights", WEIGHTS, "--target", "sm86", "-o", out,
                 "--min-shapes", "images:1x3x320x320", "--opt-shapes", "images:1x3x416x416",
                 "--max-shapes", "images:8x3x608x608")
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 1_000_000 and f"({out.stat().st_size:,} bytes)" in result.stdout


def test_build_fixed_shapes_and_static_params(tmp_path):
    for args in (("--shapes", "images:2x3x320x480"), STATIC):
        out = tmp_path / "x.engine"
        result = run("build", "yolov3-tiny", "--weights", WEIGHTS, "--target", "sm86", "-o", out, *args)
        assert result.returncode == 0, result.stderr
        out.unlink()


@pytest.mark.parametrize("args, fragments", [
    (("--min-shapes", "imgs:1x3x320x320", "--opt-shapes", "images:1x3x416x416", "--max-shapes",
      "images:8x3x608x608"), ("--min-shapes: unknown input(s) ['imgs']", "inputs are ['images']")),
    (("--min-shapes", "images:1x3x320", "--opt-shapes", "images:1x3x416x416", "--max-shapes",
      "images:8x3x608x608"), ("--min-shapes: input 'images' has rank 4, found 3 dims 1x3x320",)),
    (("--min-shapes", "images:1x3x416x416", "--opt-shapes", "images:1x3x320x320", "--max-shapes",
      "images:8x3x608x608"), ("profile 0: input 'images' axis 2: needs min <= opt <= max, found 416, 320, 608",)),
    (("--shapes", "images:1x3x400x416"), ("images: needs the input height to be a multiple of 32",
                                           "profile 0 min height = 400")),
    (("--shapes", "images:1x3xfoo"), ("--shapes 'images:1x3xfoo': expected INPUT:DxDx...",)),
    (("--shapes", "images:1x3x416x416", "--min-shapes", "images:1x3x416x416"), ("either --shapes or",)),
    (("--param", "bogus=1"), ("takes no parameter 'bogus'", "known: batch, height, width, fold_batch_norm")),
    (("--param", "height=tall"), ("--param height=tall: expected int or None",)),
    (("--param", "fold_batch_norm=maybe"), ("--param fold_batch_norm=maybe: expected bool",)),
    (("--param", "height"), ("--param 'height': expected KEY=VALUE",)),
])
def test_bad_shape_and_param_options_are_one_line(tmp_path, args, fragments):
    out = tmp_path / "x.engine"
    result = run("build", "yolov3-tiny", "--weights", WEIGHTS, "--target", "sm86", "-o", out, *args)
    assert_one_line_error(result, *fragments)
    assert not out.exists()


def test_static_network_needs_no_profile_and_refuses_other_sizes():
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, IMAGE, "--json", *STATIC, "--size", "320")
    assert_one_line_error(result, "--size 320x320: this network's input is fixed at 416x416")


def test_detect_size_runs_at_that_size():
    """At 608 the detections differ from 416 (known from the OpenCV oracle test) but the classes stay."""
    found = {}
    for size in ("416", "608", "416x608"):
        result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, IMAGE, "--json", "--size", size)
        assert result.returncode == 0, result.stderr
        found[size] = json.loads(result.stdout)
    assert {d["class_name"] for d in found["416"]} == {"dog", "car", "truck", "bicycle"}
    assert {d["class_name"] for d in found["608"]} >= {"dog", "truck", "bicycle"}
    assert found["416"] != found["608"] != found["416x608"]


@pytest.mark.parametrize("size, fragment", [("600", "multiples of 32"), ("0", "expected SIZE or HEIGHTxWIDTH"),
                                            ("4x4x4", "expected SIZE or HEIGHTxWIDTH")])
def test_detect_bad_size(size, fragment):
    assert_one_line_error(run("detect", "yolov3-tiny", "--weights", WEIGHTS, IMAGE, "--size", size), fragment)


def test_executor_feed_outside_the_profile():
    from netdsl.graph.errors import ExecutionError
    from netdsl.models.yolov3_tiny import PROFILES, build_network
    from netdsl.reference import execute
    from netdsl.weights import load_weights
    net = build_network()
    load_weights(net, WEIGHTS)
    feed = {"images": np.zeros((1, 3, 640, 416), np.float32)}
    with pytest.raises(ExecutionError, match=r"outside every optimization profile: profile 0 allows height in "
                                             r"\[320, 608\], found 640"):
        execute(net, feed, profiles=PROFILES)


def test_two_profiles_in_one_yolov3_tiny_engine(rtx):
    from netdsl.models.yolov3_tiny import build_network
    from netdsl.tensorrt import build_engine
    from netdsl.weights import load_weights
    net = build_network()
    load_weights(net, WEIGHTS)
    engine = build_engine(net, tensorrt=rtx, targets=("sm86",), profiles=[
        {"images": ((1, 3, 320, 320), (1, 3, 416, 416), (4, 3, 608, 608))},
        {"images": ((1, 3, 640, 640), (1, 3, 800, 800), (1, 3, 1024, 1024))}])
    assert len(engine) > 1_000_000


def test_param_typo_in_a_user_model_names_its_file_and_the_close_match(tmp_path):
    model = tmp_path / "my_net.py"
    model.write_text("from netdsl import ActivationType, DataType, Network\n\n\n"
                     "def build_network(batch: int = 1):\n"
                     "    net = Network('mine')\n"
                     "    x = net.add_input('x', DataType.FLOAT, (batch, 2, 4, 4))\n"
                     "    net.mark_output(net.add_activation(x, ActivationType.RELU).output)\n"
                     "    return net\n")
    result = run("inspect", model, "--param", "batchsize=1")
    assert_one_line_error(result, f"--param batchsize: build_network() of {model} takes no parameter 'batchsize' "
                                  "(did you mean 'batch'?); known: batch")
    assert "netdsl_user_models" not in result.stderr
    assert run("inspect", model, "--param", "batch=2").returncode == 0
