"""Known answers on YOLOv3-tiny: INT8 entropy calibration on four darknet sample images, simulated INT8 and
fp16 detections on the three held-out photos against fp32, INT8 (sm86) and FP8 (sm89) TensorRT-RTX builds,
the sensitivity sweep, and the calibrate / quantize commands (deterministic files)."""
from pathlib import Path

import numpy as np
import pytest

from netdsl.detection.nms import iou
from netdsl.models import yolov3_tiny
from netdsl.quantization import apply_precision, calibrate, evaluate, image_feeds, sensitivity_sweep
from netdsl.quantization.accuracy import detections, run_all
from netdsl.weights import load_weights

IMAGES = Path(__file__).parents[1] / "data" / "darknet" / "images"
CALIBRATION_IMAGES = ["dog.jpg", "eagle.jpg", "giraffe.jpg", "horses.jpg"]
HELD_OUT = ["kite.jpg", "person.jpg", "scream.jpg"]
WEIGHTS = Path(__file__).parents[2] / "weights" / "yolov3-tiny.h5"
SIZE = (416, 416)


@pytest.fixture(scope="module")
def net():
    network = yolov3_tiny.build_network()
    load_weights(network, WEIGHTS)
    return network


@pytest.fixture(scope="module")
def calibration(net):
    return calibrate(net, image_feeds([IMAGES / n for n in CALIBRATION_IMAGES], "images", SIZE), "entropy",
                     progress=False)


@pytest.fixture(scope="module")
def held_out():
    return image_feeds([IMAGES / n for n in HELD_OUT], "images", SIZE)


@pytest.fixture(scope="module")
def fp32_outputs(net, held_out):
    return run_all(net, held_out, progress=False)


def worst_iou(reference_outputs, candidate_outputs, above=0.4):
    """For every fp32 detection above ``above``: the best IoU of a candidate detection of the same class; the minimum."""
    worst, count = 1.0, 0
    for r, c in zip(reference_outputs, candidate_outputs):
        cand = detections(c, yolov3_tiny.DETECTION)
        for d in detections(r, yolov3_tiny.DETECTION):
            if d.confidence <= above:
                continue
            count += 1
            same = [float(iou(np.array(d.box), np.array([e.box]))[0]) for e in cand if e.class_id == d.class_id]
            worst = min(worst, max(same, default=0.0))
    return worst, count


def test_int8_entropy_detections_agree_with_fp32(net, calibration, held_out, fp32_outputs):
    assert set(calibration.amax) == {"images", "maxpool1", "maxpool3", "maxpool5", "maxpool7", "maxpool9",
                                     "maxpool11", "conv12.leaky", "conv13.leaky", "conv14.leaky", "route20",
                                     "conv21.leaky"}
    int8 = apply_precision(net, "int8", calibration=calibration, target="sm86")
    report = evaluate(net, int8, held_out, yolov3_tiny.DETECTION, reference_outputs=fp32_outputs)
    worst, count = worst_iou(fp32_outputs, run_all(int8, held_out, progress=False))
    print("\n".join(report.lines()), f"worst IoU above 0.4: {worst:.3f} of {count}")
    assert count == 7
    assert worst >= 0.9  # every fp32 detection above 0.4 found, same class, IoU >= 0.9 (measured 0.908)
    assert report.agreement.recall == 1.0 and report.agreement.f1 >= 0.9


def test_fp16_autocast_detections_agree_with_fp32(net, held_out, fp32_outputs):
    fp16 = apply_precision(net, "fp16")
    worst, count = worst_iou(fp32_outputs, run_all(fp16, held_out, progress=False))
    assert count == 7 and worst >= 0.99


@pytest.mark.parametrize("precision, target", [("int8", "sm86"), ("fp8", "sm89")])
def test_build_report_shows_every_convolution_quantized_with_its_leaky_relu_fused(calibration, build_engine_rtx,
                                                                                 precision, target):
    """TensorRT-RTX's own Layers listing (the build report): all 13 convolutions run in INT8 on sm86 / FP8 on
    sm89, and each leaky ReLU runs in one kernel with its convolution (none as a kernel of its own)."""
    static = yolov3_tiny.build_network(batch=1, height=416, width=416)
    load_weights(static, WEIGHTS)
    quantized = apply_precision(static, precision, calibration=calibration, target=target)
    assert sum(layer.type.name == "QUANTIZE" for layer in quantized.layers) == 26  # 13 inputs + 13 kernels
    _, report = build_engine_rtx(quantized, targets=(target,), report=True)
    assert report["precision_summary"] == {"CONVOLUTION": {precision.upper(): 13}}
    assert not report["warnings"]
    leaky = [layer.name for layer in static.layers if layer.name.endswith(".leaky")]
    assert len(leaky) == 11
    for name in leaky:
        conv = name.replace(".leaky", ".conv")
        assert any(name in kernel["layers"] and conv in kernel["layers"] for kernel in report["kernels"]), name


def test_sensitivity_sweep_names_the_costly_layers(net, calibration):
    feeds = image_feeds([IMAGES / "kite.jpg"], "images", (256, 256))
    result = sensitivity_sweep(net, "int8", calibration, feeds, yolov3_tiny.DETECTION)
    print("\n".join(result.lines(13)))
    assert len(result.rows) == 13 and all(name.endswith(".conv") for name, _, _ in result.rows)
    top = [name for name, _, _ in result.rows[:2]]
    both = evaluate(net, apply_precision(net, "int8", calibration=calibration, exclude=top), feeds,
                    yolov3_tiny.DETECTION)
    print(f"excluding {top}: error {both.error:.4g}, min IoU {both.agreement.min_iou:.3f} (all quantized "
          f"{result.baseline.error:.4g}, {result.baseline.agreement.min_iou:.3f})")
    assert result.rows[0][2] > 0.2 * result.baseline.error  # one layer in float removes > 20 % of the error
    assert both.error < 0.8 * result.baseline.error


def test_calibrate_and_quantize_commands(tmp_path, capsys):
    from netdsl.cli import main
    args = ["calibrate", "yolov3-tiny", "--weights", str(WEIGHTS), "--images", str(IMAGES / "dog.jpg"),
            str(IMAGES / "eagle.jpg"), "--size", "64", "--method", "max"]
    assert main(args + ["-o", str(tmp_path / "a.json"), "--cache", str(tmp_path / "a.cache")]) == 0
    assert main(args + ["-o", str(tmp_path / "b.json")]) == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert (tmp_path / "a.cache").read_text().startswith("TRT-8601-EntropyCalibration2\n")
    capsys.readouterr()
    assert main(["quantize", "yolov3-tiny", "--weights", str(WEIGHTS), "--calibration", str(tmp_path / "a.json"),
                 "--images", str(IMAGES / "kite.jpg"), "--size", "64", "--exclude", "conv0.conv"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("int8 vs fp32:\n") and "agreement" in out and "boxes: max |err|" in out
    assert main(["quantize", "yolov3-tiny", "--weights", str(WEIGHTS), "--images", str(IMAGES / "kite.jpg"),
                 "--size", "64"]) == 1
    assert "need a calibration" in capsys.readouterr().err
