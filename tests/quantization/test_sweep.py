"""The sensitivity sweep when a bad scale sits on a tensor two quantized layers share (a residual
block's input, read by its first convolution and by its add): excluding one layer at a time never
removes that tensor's Q/DQ, so the sweep also leaves each shared tensor's readers in float together.
Seen on an MNIST ResNet whose stem ReLU was calibrated at amax 0.43 of 6.4: ``--target-agreement
0.95`` excluded all 13 layers one by one and reported the target reached."""
import json

import numpy as np
import pytest

from netdsl.cli import main
from netdsl.models import load_model
from netdsl.quantization import calibrate, sensitivity_sweep
from netdsl.weights import load_weights

MODEL = '''
from netdsl import ActivationType, DataType, ElementWiseOperation, Network


def build_network():
    net = Network("mini-resnet")
    x = net.add_input("x", DataType.FLOAT, ("n", 1, 12, 12))
    a = net.add_convolution_nd(x, 8, (3, 3), padding_nd=1, name="stem").output
    a = net.add_activation(a, ActivationType.RELU, name="stem.relu").output
    b = net.add_convolution_nd(a, 8, (3, 3), padding_nd=1, name="block.conv1").output
    b = net.add_activation(b, ActivationType.RELU, name="block.relu1").output
    b = net.add_convolution_nd(b, 8, (3, 3), padding_nd=1, name="block.conv2").output
    s = net.add_elementwise(a, b, ElementWiseOperation.SUM, name="block.add").output
    s = net.add_activation(s, ActivationType.RELU, name="block.relu2").output
    for i in range(3):
        s = net.add_convolution_nd(s, 8, (3, 3), padding_nd=1, name=f"conv{i}").output
        s = net.add_activation(s, ActivationType.RELU, name=f"relu{i}").output
    net.mark_output(net.add_convolution_nd(s, 4, (3, 3), padding_nd=1, name="head").output)
    return net
'''
LAYERS = ["stem", "block.conv1", "block.conv2", "block.add", "conv0", "conv1", "conv2", "head"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The model file, He-initialised weights (seed 0), calibration inputs, held-out inputs (.npz), and a
    max calibration whose amax of the shared tensor ``stem.relu`` is divided by 50 (a scale far too small)."""
    from netdsl.weights import save_weights
    root = tmp_path_factory.mktemp("sweep")
    (root / "mini_resnet.py").write_text(MODEL)
    net = load_model(str(root / "mini_resnet.py")).build_network()
    rng = np.random.default_rng(0)
    save_weights(root / "w.h5", {n: (rng.standard_normal(w.shape) * np.sqrt(2 / np.prod(w.shape[1:]))).astype(np.float32)
                                 for n, w in net.weights().items()}, source="test: He init, seed 0")
    rng = np.random.default_rng(1)
    np.savez(root / "calib.npz", x=rng.standard_normal((32, 1, 12, 12), dtype=np.float32))
    np.savez(root / "held.npz", x=rng.standard_normal((40, 1, 12, 12), dtype=np.float32))
    assert main(["calibrate", str(root / "mini_resnet.py"), "--weights", str(root / "w.h5"), "--inputs",
                 str(root / "calib.npz"), "--method", "max", "-o", str(root / "max.json")]) == 0
    data = json.loads((root / "max.json").read_text())
    data["tensors"]["stem.relu"] /= 50
    (root / "bad.json").write_text(json.dumps(data))
    return root


@pytest.fixture(scope="module")
def net(files):
    network = load_model(str(files / "mini_resnet.py")).build_network()
    load_weights(network, files / "w.h5")
    return network


def test_the_readers_of_a_shared_tensor_are_swept_together(files, net):
    from netdsl.quantization import load_calibration
    held = [{"x": x[None]} for x in np.load(files / "held.npz")["x"]]
    result = sensitivity_sweep(net, "int8", load_calibration(files / "bad.json"), held, target_agreement=0.95)
    rows = {name: report for name, report, _ in result.rows}
    assert sorted(rows) == sorted(LAYERS)
    # leaving either reader of stem.relu in float alone keeps its Q/DQ on the other: far below the target
    assert result.baseline.agreement.f1 < 0.2
    assert rows["block.add"].agreement.f1 < 0.65 and rows["block.conv1"].agreement.f1 < 0.2
    assert result.rows[-1][0] == "block.conv1"  # alone, its exclusion even adds error: ranked last
    assert [(tensor, layers) for tensor, layers, _, _ in result.groups] == [("stem.relu", ["block.conv1", "block.add"])]
    together = result.groups[0][2]
    assert together.agreement.f1 > 0.95 and together.error < 0.2 * result.baseline.error
    # the search excludes the group, the largest gain, and stops; one layer at a time it took all 8 layers
    assert result.excluded == ["block.conv1", "block.add"] and not result.excluded_everything
    assert result.final.agreement.f1 == together.agreement.f1
    lines = result.lines()
    assert lines[lines.index("shared tensors (every quantized layer reading it left in float):") + 1].endswith(
        "(block.conv1, block.add)")


def test_quantize_command_prints_the_excludes_or_says_it_took_everything(files, capsys):
    args = ["quantize", str(files / "mini_resnet.py"), "--weights", str(files / "w.h5"), "--calibration",
            str(files / "bad.json"), "--inputs", str(files / "held.npz"), "--sweep"]
    capsys.readouterr()
    assert main(args + ["--target-agreement", "0.95"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "reached agreement 0.95: --exclude block.conv1 --exclude block.add"
    assert main(args + ["--target-agreement", "1"]) == 0  # only fp32 agrees everywhere
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "that is every one of the 8 quantized layers: nothing swept is quantized any more"
    assert out[-1] == ("reached agreement 1 only with every quantized layer excluded: nothing is left in int8 (try "
                       "another calibration --method, or a lower --target-agreement)")


def test_a_classifier_report_speaks_of_argmax_not_detections(files, net):
    """Was: 'precision ..., recall ...; ... min IoU 1.000' for a network without DETECTION."""
    from netdsl.quantization import apply_precision, evaluate, load_calibration
    held = [{"x": x[None]} for x in np.load(files / "held.npz")["x"]]
    report = evaluate(net, apply_precision(net, "int8", calibration=load_calibration(files / "bad.json")), held)
    a = report.agreement
    assert a.kind == "argmax" and a.reference == a.candidate > 0 and a.reference % len(held) == 0
    assert report.lines()[-1] == (f"agreement {a.f1:.4f} (the argmax over the last axis equals fp32's at "
                                  f"{a.matched} of {a.reference} positions) on {len(held)} sample(s)")
