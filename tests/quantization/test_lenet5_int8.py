"""LeNet-5 (zoo, MNIST) in INT8: entropy calibration on 500 training digits, simulated INT8 accuracy on the
500 held-out digits within 0.5 points of fp32, and the sm86 build report showing every convolution and
matrix multiply running in INT8 (parsed from TensorRT-RTX's own Layers listing)."""
import importlib.util
from pathlib import Path

import pytest
from zoo_support import zoo_network

from netdsl.graph.enums import LayerType
from netdsl.quantization import apply_precision
from netdsl.quantization.calibration import calibrate
from netdsl.reference import execute

TOOL = Path(__file__).resolve().parents[2] / "tools" / "train_lenet5.py"


@pytest.fixture(scope="module")
def split():
    spec = importlib.util.spec_from_file_location("train_lenet5", TOOL)   # the training tool's own split
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.load_split()


@pytest.fixture(scope="module")
def networks(split):
    train_x = split[0]
    net = zoo_network("lenet5")
    calibration = calibrate(net, [{"images": train_x[i:i + 100]} for i in range(0, 500, 100)], "entropy")
    return net, apply_precision(net, "int8", calibration=calibration)


def _accuracy(net, x, y) -> float:
    return float((execute(net, {"images": x})["logits"].argmax(axis=1) == y).mean())


def test_int8_accuracy_within_half_a_point_of_fp32(split, networks):
    _, _, test_x, test_y = split
    fp32, int8 = networks
    assert sum(layer.type is LayerType.QUANTIZE for layer in int8.layers) >= 5
    base, quantized = _accuracy(fp32, test_x, test_y), _accuracy(int8, test_x, test_y)
    assert base >= 0.97 and abs(base - quantized) <= 0.005, (base, quantized)


def test_sm86_build_runs_every_convolution_and_matmul_in_int8(networks, rtx_build):
    _, int8 = networks
    _, report = rtx_build(int8, report=True, profiles=[{"images": ((1, 1, 28, 28), (8, 1, 28, 28), (64, 1, 28, 28))}])
    summary = {kind: counts for kind, counts in report["precision_summary"].items()
               if kind in ("CONVOLUTION", "MATRIX_MULTIPLY")}
    assert set(summary) == {"CONVOLUTION", "MATRIX_MULTIPLY"}, report["precision_summary"]
    assert all(set(counts) == {"INT8"} for counts in summary.values()), summary
    assert not report["warnings"], report["warnings"]
