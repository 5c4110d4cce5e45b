"""``netdsl convert torch`` / ``netdsl convert wts``: a framework's file into a model's declared weights, as an HDF5
store equal (bit for bit) to the arrays the Python importers give; one-line errors."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from cli_run import assert_one_line_error, run

from netdsl.frameworks.wts import export_wts, torch_names
from netdsl.weights import load_weights_file

SHIPPED = Path(__file__).resolve().parents[2] / "weights" / "lenet5.h5"


@pytest.fixture(scope="module")
def lenet5(tmp_path_factory):
    """LeNet-5's shipped weights (trained) written as torch would hold them: a state dict and a tensorrtx .wts."""
    root = tmp_path_factory.mktemp("convert")
    store = load_weights_file(SHIPPED)
    arrays = {n: np.asarray(store[n]) for n in store}
    sd = torch_names(arrays)
    torch.save({k: torch.from_numpy(v.copy()) for k, v in sd.items()}, root / "lenet5.pt")
    torch.save({"epoch": 9, "state_dict": {k: torch.from_numpy(v.copy()) for k, v in sd.items()}}, root / "ckpt.pt")
    renamed = {k.replace("conv", "features.conv"): v for k, v in sd.items()}
    torch.save({k: torch.from_numpy(v.copy()) for k, v in renamed.items()}, root / "renamed.pt")
    export_wts(root / "lenet5.wts", arrays)
    return root, arrays


def _same(path, arrays):
    store = load_weights_file(path)
    assert store.checksummed and set(store) == set(arrays)
    for name, value in arrays.items():
        np.testing.assert_array_equal(np.asarray(store[name]), value)


@pytest.mark.parametrize("fmt, source, extra", [("torch", "lenet5.pt", ()), ("wts", "lenet5.wts", ()),
                                                ("torch", "ckpt.pt", ("--key", "state_dict"))])
def test_convert_gives_the_original_arrays(lenet5, tmp_path, fmt, source, extra):
    root, arrays = lenet5
    out = tmp_path / "out.h5"
    result = run("convert", fmt, "lenet5", "--weights", root / source, "-o", out, *extra)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (f"wrote {out}: 10 tensors, 61,706 values, from {root / source} into network "
                                     "'lenet5'")
    _same(out, arrays)


def test_map_names_the_source_modules(lenet5, tmp_path):
    root, arrays = lenet5
    scope_map = tmp_path / "map.json"
    scope_map.write_text(json.dumps({"conv*": "features.conv*"}))
    out = tmp_path / "out.h5"
    result = run("convert", "torch", "lenet5", "--weights", root / "renamed.pt", "-o", out, "--map", scope_map)
    assert result.returncode == 0, result.stderr
    _same(out, arrays)


@pytest.mark.parametrize("args, fragments", [
    (("--weights", "renamed.pt"), ("renamed.pt: cannot import into network 'lenet5': unmapped source tensors: "
                                   "features.conv1.weight",)),
    (("--weights", "ckpt.pt"), ("pass key='state_dict'",)),
    (("--weights", "lenet5.pt", "--map", "missing.json"), ("--map", "missing.json cannot be read as JSON")),
])
def test_errors_are_one_line_and_write_nothing(lenet5, tmp_path, args, fragments):
    root, _ = lenet5
    args = [root / a if a.endswith((".pt", ".wts")) else (tmp_path / a if a.endswith(".json") else a) for a in args]
    out = tmp_path / "out.h5"
    result = run("convert", "torch", "lenet5", *args, "-o", out)
    assert_one_line_error(result, *fragments)
    assert not out.exists()


ONNX_MODEL = '''
from netdsl import DataType, Network
from netdsl.models.blocks import add_linear


def build_network():
    net = Network("tiny-onnx")
    x = net.add_input("x", DataType.FLOAT, (1, 2, 5, 5))
    y = net.add_convolution_nd(x, 3, (3, 3), name="conv").output
    y = net.add_shuffle(y, reshape_dims=(1, 27), name="flat").output
    net.mark_output(add_linear(net, y, 4, name="fc"))
    return net
'''


def test_convert_onnx_by_name_and_by_order(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((3, 2, 3, 3)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    fw, fb = rng.standard_normal((4, 27)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv"),
             helper.make_node("Reshape", ["c", "shape"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1)]
    inits = [numpy_helper.from_array(a, n) for a, n in ((w, "w"), (b, "b"), (fw, "fw"), (fb, "fb"))]
    inits.append(numpy_helper.from_array(np.array([1, 27], np.int64), "shape"))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "m.onnx")
    (tmp_path / "tiny.py").write_text(ONNX_MODEL)
    for extra in ((), ("--by", "order")):
        out = tmp_path / "out.h5"
        result = run("convert", "onnx", tmp_path / "tiny.py", "--weights", tmp_path / "m.onnx", "-o", out, *extra)
        assert result.returncode == 0, result.stderr
        _same(out, {"conv.kernel": w, "conv.bias": b, "fc.kernel": fw, "fc.bias": fb})
