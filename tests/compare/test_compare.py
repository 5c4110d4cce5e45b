"""netdsl compare: every tensor against a reference computed elsewhere, the first divergence named.

References here come from independent frameworks: PyTorch (forward hooks) and OpenCV DNN
(``forward(layerNames)``), as in docs/compare.md."""
import json

import numpy as np
import pytest
import torch
from cli_run import DATA, WEIGHTS, run

from netdsl.compare import CompareError, compare, first_divergence

MODEL = '''
from netdsl import ActivationType, DataType, Network


def build_network(eps0: float = 1e-5, eps1: float = 1e-5, eps2: float = 1e-5):
    net = Network("three-blocks")
    x = net.add_input("x", DataType.FLOAT, ("n", 3, "h", "w"))
    for i, (k, eps) in enumerate(zip((8, 8, 4), (eps0, eps1, eps2))):
        with net.scope(f"block{i}"):
            x = net.add_convolution_nd(x, k, (3, 3), padding_nd=(1, 1), bias=False, name="conv").output
            x = net.add_batch_norm(x, eps=eps, name="bn").output
            x = net.add_activation(x, ActivationType.LEAKY_RELU, alpha=0.1, name="leaky").output
    net.mark_output(x)
    return net
'''


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The model file, its weights, inputs, and a PyTorch reference with every intermediate (forward hooks)."""
    from netdsl.weights import save_weights
    root = tmp_path_factory.mktemp("compare")
    (root / "three_blocks.py").write_text(MODEL)
    torch.manual_seed(0)
    blocks = []
    for c_in, k in ((3, 8), (8, 8), (8, 4)):
        bn = torch.nn.BatchNorm2d(k, eps=1e-5).eval()
        with torch.no_grad():
            bn.weight.uniform_(0.5, 1.5), bn.bias.uniform_(-0.5, 0.5)
            bn.running_mean.uniform_(-0.2, 0.2), bn.running_var.uniform_(1e-4, 2e-3)  # small: eps matters
        blocks.append(torch.nn.Sequential(torch.nn.Conv2d(c_in, k, 3, padding=1, bias=False), bn,
                                          torch.nn.LeakyReLU(0.1)))
    model = torch.nn.Sequential(*blocks).eval()
    captured = {}
    for name, module in model.named_modules():
        if name.count(".") == 1:
            module.register_forward_hook(lambda m, i, o, name=name: captured.__setitem__(name, o.detach().numpy()))
    x = torch.randn(2, 3, 10, 12)
    with torch.no_grad():
        model(x)
    np.savez(root / "inputs.npz", x=x.numpy())
    np.savez(root / "reference.npz", **captured)
    mapping = {f"{i}.{j}": f"block{i}.{part}" for i in range(3) for j, part in enumerate(("conv", "bn", "leaky"))}
    (root / "map.json").write_text(json.dumps(mapping))
    arrays = {}
    for i, block in enumerate(blocks):
        conv, bn = block[0], block[1]
        arrays[f"block{i}.conv.kernel"] = conv.weight.detach().numpy()
        for role, value in (("scale", bn.weight), ("bias", bn.bias), ("mean", bn.running_mean),
                            ("variance", bn.running_var)):
            arrays[f"block{i}.bn.{role}"] = value.detach().numpy()
    save_weights(root / "w.h5", arrays, source="test: torch.nn.Sequential, seed 0")
    return root


def _cli(files, *extra):
    return run("compare", files / "three_blocks.py", "--weights", files / "w.h5", "--inputs", files / "inputs.npz",
               "--reference", files / "reference.npz", "--map", files / "map.json", *extra)


def test_matching_network_passes(files):
    result = _cli(files)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["tensor", "shape", "max", "abs", "max", "rel", "pass"]
    assert len(lines) == 1 + 9 + 1 and lines[-1].startswith("all 9 compared tensors match")
    assert [line.split()[0] for line in lines[1:10]] == [f"block{i}.{p}" for i in range(3)
                                                          for p in ("conv", "bn", "leaky")]


def test_planted_batch_norm_epsilon_is_found_at_its_layer(files):
    result = _cli(files, "--param", "eps1=1e-3")
    assert result.returncode == 1, result.stdout + result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:10]}
    assert rows["block1.conv"].endswith("ok") and "FAIL" in rows["block1.bn"]
    assert result.stdout.splitlines()[-1].startswith("5 of 9 tensors differ; first divergence: block1.bn "
                                                     "(layer block1.bn)")


def test_python_api_returns_the_same_rows(files):
    from netdsl.models import load_model
    from netdsl.weights import load_weights
    net = load_model(str(files / "three_blocks.py")).build_network(eps2=0.01)
    load_weights(net, files / "w.h5")
    reference = dict(np.load(files / "reference.npz"))
    rows = compare(net, dict(np.load(files / "inputs.npz")), reference, json.loads((files / "map.json").read_text()))
    assert [r.passed for r in rows] == [True] * 7 + [False] * 2
    first = first_divergence(rows)
    assert first.tensor == "block2.bn" and first.reference == "2.1" and first.max_rel > 1e-3


def test_against_opencv_dnn_layer_outputs(data, yolov3_tiny_darknet_weights):
    """The OpenCV recipe: forward(layerNames) on YOLOv3-tiny; bn eps differs (OpenCV 1e-6, darknet 1e-5), so
    the batch-norm outputs agree to rtol 1e-3 but not 1e-5 (1.6e-4 apart), and the first such is conv0's."""
    import cv2

    from netdsl.detection import load_image
    from netdsl.detection.preprocess import preprocess
    from netdsl.models.yolov3_tiny import build_network
    from netdsl.weights import load_weights
    cvnet = cv2.dnn.readNetFromDarknet(str(data / "darknet" / "cfg" / "yolov3-tiny.cfg"),
                                       str(yolov3_tiny_darknet_weights))
    cvnet.enableWinograd(False)
    blob = preprocess(load_image(data / "darknet" / "images" / "dog.jpg"), (416, 416))
    cvnet.setInput(blob)
    names = ["conv_0", "bn_0", "leaky_1", "pool_1", "conv_2", "bn_2", "leaky_3", "conv_15", "conv_22"]
    reference = dict(zip(names, cvnet.forward(names)))
    mapping = {"conv_0": "conv0.conv", "bn_0": "conv0.bn", "leaky_1": "conv0.leaky", "pool_1": "maxpool1",
               "conv_2": "conv2.conv", "bn_2": "conv2.bn", "leaky_3": "conv2.leaky", "conv_15": "conv15.conv",
               "conv_22": "conv22.conv"}
    net = build_network(fold_batch_norm=False)
    load_weights(net, WEIGHTS)
    rows = compare(net, {"images": blob}, reference, mapping, atol=1e-4, rtol=1e-3)
    assert len(rows) == 9 and all(r.passed for r in rows), [r for r in rows if not r.passed]
    strict = compare(net, {"images": blob}, reference, mapping, atol=0, rtol=1e-5)  # conv0.conv: 4e-7
    assert first_divergence(strict).tensor == "conv0.bn"  # the convolution before it is identical


@pytest.mark.parametrize("make, message", [
    (lambda f: ("--reference", f / "missing.npz"), "reference"),
    (lambda f: ("--map", f / "inputs.npz"), "cannot be read as JSON"),
])
def test_bad_files_are_one_line(files, make, message):
    args = dict(zip(*[iter(["--reference", files / "reference.npz", "--map", files / "map.json"])] * 2))
    key, value = make(files)
    args[key] = value
    result = run("compare", files / "three_blocks.py", "--weights", files / "w.h5", "--inputs", files / "inputs.npz",
                 *[str(v) for kv in args.items() for v in kv])
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_inputs_may_be_a_npy_of_the_only_input(files, tmp_path):
    """np.load of a .npy returns an array: it was used as an .npz (a TypeError traceback); for a network with one
    input it is that input's array, and a .npy reference (unnamed) is refused in one line."""
    np.save(tmp_path / "x.npy", np.load(files / "inputs.npz")["x"])
    result = run("compare", files / "three_blocks.py", "--weights", files / "w.h5", "--inputs", tmp_path / "x.npy",
                 "--reference", files / "reference.npz", "--map", files / "map.json")
    assert result.returncode == 0, result.stderr
    assert result.stdout == _cli(files).stdout
    np.save(tmp_path / "ref.npy", np.zeros(3, np.float32))
    result = run("compare", files / "three_blocks.py", "--weights", files / "w.h5", "--inputs", tmp_path / "x.npy",
                 "--reference", tmp_path / "ref.npy")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == (f"netdsl: error: reference {tmp_path / 'ref.npy'} is a .npy holding one unnamed array; "
                             f"reference must be an .npz of named arrays (one array per tensor name: "
                             f"np.savez('{tmp_path / 'ref.npz'}', **arrays))\n")


def test_no_common_tensor_says_give_a_map(files):
    from netdsl.models import load_model
    net = load_model(str(files / "three_blocks.py")).build_network()
    with pytest.raises(CompareError, match="holds no tensor of network 'three-blocks'.*give a name map"):
        compare(net, {}, {"0.0": np.zeros(1)})


def test_reference_tensors_and_outputs_left_out_are_reported(files, tmp_path):
    """Named like torch's modules, the last block's tensors match nothing: they are listed as not compared, and
    so is the network's output (a run that never compares the output must not read as a full pass)."""
    ref = np.load(files / "reference.npz")
    partial = tmp_path / "partial.npz"
    np.savez(partial, **{"block0.conv": ref["0.0"], "block0.bn": ref["0.1"], "2.1": ref["2.1"], "2.2": ref["2.2"]})
    result = run("compare", files / "three_blocks.py", "--weights", files / "w.h5", "--inputs", files / "inputs.npz",
                 "--reference", partial)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[-3:] == ["all 2 compared tensors match (atol 1e-05, rtol 0.0001)",
                          "not compared: 2 reference tensors named like no netdsl tensor (2.1, 2.2); map them with --map",
                          "warning: the network's output block2.leaky was not compared (the reference has no tensor "
                          "of that name)"], result.stdout
    # with the map nothing is left out
    mapped = _cli(files)
    assert "not compared" not in mapped.stdout and "warning" not in mapped.stdout


def test_not_compared_python_api(files):
    from netdsl.compare import not_compared
    from netdsl.models import load_model
    net = load_model(str(files / "three_blocks.py")).build_network()
    assert not_compared(net, {"block2.leaky": np.zeros(1), "fc": np.zeros(1)}) == (["fc"], [])
    assert not_compared(net, {"fc": np.zeros(1)}, {"fc": "block0.conv"}) == ([], ["block2.leaky"])
