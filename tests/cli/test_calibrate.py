"""``netdsl calibrate`` / ``netdsl quantize`` inputs through the installed console script: a .npy for a
one-input network (was a TypeError traceback), a dtype other than the input's refused in one line (a
uint8 0-255 set was silently cast), and the warning when the calibrated amax clips much of a tensor."""
import json

import numpy as np
import pytest
from cli_run import DATA, WEIGHTS, assert_one_line_error, run

MODEL = '''
from netdsl import DataType, Network


def build_network():
    net = Network("one-conv")
    x = net.add_input("x", DataType.FLOAT, ("n", 1, 64, 64))
    net.mark_output(net.add_convolution_nd(x, 2, (1, 1), name="conv").output)
    return net
'''


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The model (its input ``x`` is the calibrated tensor), its weights, and a spiky calibration set
    (the stem-ReLU-like set of tests/quantization/test_calibration.py: entropy clips 3.8 % of it)."""
    from netdsl.weights import save_weights
    root = tmp_path_factory.mktemp("calibrate")
    (root / "one_conv.py").write_text(MODEL)
    save_weights(root / "w.h5", {"conv.kernel": np.ones((2, 1, 1, 1), np.float32),
                                 "conv.bias": np.zeros(2, np.float32)}, source="test: ones")
    rng = np.random.default_rng(0)
    levels = np.array([0.135, 0.151, 0.176, 0.387, 0.406, 0.415, 0.422, 0.422, 0.516])
    samples = []
    for _ in range(4):
        kind = rng.random(4096)
        x = np.where(kind < 0.47, 0.0, rng.choice(levels, 4096))
        x[kind > 0.85] = rng.exponential(0.8, int((kind > 0.85).sum()))
        samples.append(x.astype(np.float32).reshape(1, 64, 64))
    np.save(root / "x.npy", np.stack(samples))
    np.savez(root / "x.npz", x=np.stack(samples))
    return root


def calibrate(files, inputs, out, *extra):
    return run("calibrate", files / "one_conv.py", "--weights", files / "w.h5", "--inputs", inputs, "-o", out, *extra)


def test_a_npy_calibrates_the_only_input_and_entropy_clipping_warns(files, tmp_path):
    result = calibrate(files, files / "x.npy", tmp_path / "a.json")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"wrote {tmp_path / 'a.json'} (1 tensors, entropy, 4 samples)\n"
    assert result.stderr == ("netdsl: warning: calibration: tensor 'x': entropy amax 1.038 clips 3.8 % of its "
                             "calibration values (observed max |x| 5.544); above 1 % clipped often costs accuracy: "
                             "check it with netdsl quantize, or calibrate with --method percentile or mse\n")
    assert calibrate(files, files / "x.npz", tmp_path / "b.json").returncode == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    result = calibrate(files, files / "x.npy", tmp_path / "c.json", "--method", "percentile")
    assert result.returncode == 0 and result.stderr == ""
    assert json.loads((tmp_path / "c.json").read_text())["tensors"]["x"] > 5  # percentile keeps the tail
    result = run("quantize", files / "one_conv.py", "--weights", files / "w.h5", "--calibration", tmp_path / "c.json",
                 "--inputs", files / "x.npy")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("int8 vs fp32:\n") and "on 4 sample(s)" in result.stdout


def test_a_dtype_other_than_the_inputs_is_one_line(files, tmp_path):
    np.savez(tmp_path / "u8.npz", x=np.full((2, 1, 64, 64), 255, np.uint8))
    result = calibrate(files, tmp_path / "u8.npz", tmp_path / "a.json")
    assert_one_line_error(result, f"{tmp_path / 'u8.npz'}: input 'x': expected dtype float32, found uint8 (nothing "
                                  f"is converted: save the values the network sees at run time, e.g. "
                                  f"x.astype(np.float32) / 255 for 0-255 pixels the application scales to [0, 1])")
    assert not (tmp_path / "a.json").exists()
    np.save(tmp_path / "u8.npy", np.full((2, 1, 64, 64), 255, np.uint8))
    result = run("quantize", files / "one_conv.py", "--weights", files / "w.h5", "--precision", "fp16",
                 "--inputs", tmp_path / "u8.npy")
    assert_one_line_error(result, f"{tmp_path / 'u8.npy'}: input 'x': expected dtype float32, found uint8")


def test_a_wrong_detection_dict_is_one_line_in_calibrate_too(tmp_path):
    """calibrate --images reads DETECTION['input']: a missing name was a KeyError traceback."""
    model = tmp_path / "mine.py"
    model.write_text("from netdsl.models import yolov3_tiny as base\nfrom netdsl.models.yolov3_tiny import "
                     "build_network, PROFILES\n\nDETECTION = dict(base.DETECTION, input='image')\n")
    result = run("calibrate", model, "--weights", WEIGHTS, "--images", DATA / "darknet" / "images" / "dog.jpg",
                 "-o", tmp_path / "c.json")
    assert_one_line_error(result, f"model '{model}': DETECTION['input']: network 'yolov3-tiny' has no tensor "
                                  "'image' (did you mean 'images'?)")
    assert not (tmp_path / "c.json").exists()
