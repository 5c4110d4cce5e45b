"""``netdsl inspect`` through the console script: text, --weights, --json, --graph and their errors."""
import json
import os
import shutil
import xml.etree.ElementTree as ET

import h5py
import pytest
from cli_run import NETDSL, WEIGHTS, assert_one_line_error, run

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")

PARAMETERS = 8_858_734  # floats in darknet's yolov3-tiny.weights
CONV0_FLOPS = 2 * 16 * 3 * 3 * 3 * 416 * 416 + 16 * 416 * 416  # 2 * MACs + the folded batch norm's bias


def _lines(stdout, prefix):
    return [line for line in stdout.splitlines() if line.startswith(prefix)]


def test_text_report_yolov3_tiny():
    result = run("inspect", "yolov3-tiny", "--param", "batch=1", "--param", "height=416", "--param", "width=416")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "network yolov3-tiny: 1 input, 102 layers, 2 outputs"
    assert lines[1] == "input   images [1, 3, 416, 416] FLOAT"
    layers = _lines(result.stdout, "layer   ")
    assert len(layers) == 102
    assert layers[0] == f"layer   conv0.conv CONVOLUTION -> conv0.conv [1, 16, 416, 416] FLOAT params=496 flops={CONV0_FLOPS}"
    assert "layer   yolo16.anchors CONSTANT -> yolo16.anchors [1, 3, 1, 2] FLOAT params=0 constants=6 flops=0" in lines
    assert _lines(result.stdout, "output  ") == ["output  boxes [1, 2535, 4] FLOAT", "output  scores [1, 2535, 80] FLOAT"]
    total = lines[-1]
    assert total.startswith(f"total   102 layers, {PARAMETERS:,} parameters, 14 constants, 5.58 GFLOPs (")
    # the per-layer columns add up to the totals line
    fields = [dict(f.split("=") for f in line.split() if "=" in f) for line in layers]
    assert sum(int(f["params"]) for f in fields) == PARAMETERS
    assert f"({sum(int(f['flops']) for f in fields):,} FLOPs)" in total
    assert not _lines(result.stdout, "weights ") and not _lines(result.stdout, "const   ")


def test_weights_lists_what_the_weight_file_must_contain():
    result = run("inspect", "yolov3-tiny", "--weights", "--param", "batch=1", "--param", "height=416", "--param", "width=416")
    assert result.returncode == 0, result.stderr
    listed = [line.split()[1] for line in _lines(result.stdout, "weights ")]
    with h5py.File(WEIGHTS, "r") as f:
        stored = set()
        f.visititems(lambda name, obj: stored.add(name.replace("/", ".")) if isinstance(obj, h5py.Dataset) else None)
    assert set(listed) == stored and len(listed) == len(stored) == 59  # 13 kernels, 11 x 4 batch norms, 2 biases
    assert listed[:6] == ["conv0.conv.kernel", "conv0.bn.scale", "conv0.bn.bias", "conv0.bn.mean",
                          "conv0.bn.variance", "conv2.conv.kernel"]  # declaration order
    assert "weights conv0.conv.kernel [16, 3, 3, 3] FLOAT" in result.stdout
    assert "(folded)" not in result.stdout and "(reshaped)" not in result.stdout
    consts = [line.split()[1] for line in _lines(result.stdout, "const   ")]
    assert consts == [f"{h}.{c}.weights" for h in ("yolo16", "yolo23") for c in ("anchors", "half")]


FC_MODEL = '''
import numpy as np
from netdsl import DataType, Network


def build_network():
    net = Network("fc-model")
    x = net.add_input("x", DataType.FLOAT, (2, 4, 3, 5))
    y = net.add_fully_connected(x, 7, name="fc").output
    offset = net.add_constant((1, 7, 1, 1), np.ones((1, 7, 1, 1), np.float32), name="offset").output
    y = net.add_elementwise(y, offset, __import__("netdsl").ElementWiseOperation.SUM, name="shift").output
    net.mark_output(y)
    return net
'''


def test_weights_of_a_fully_connected_model_file(tmp_path):
    model = tmp_path / "fc_model.py"
    model.write_text(FC_MODEL)
    result = run("inspect", model, "--weights")
    assert result.returncode == 0, result.stderr
    assert _lines(result.stdout, "weights ") == ["weights fc.kernel [7, 60] FLOAT", "weights fc.bias [7] FLOAT"]
    assert _lines(result.stdout, "const   ") == ["const   offset.weights [1, 7, 1, 1] FLOAT"]
    assert "layer   fc.matmul MATRIX_MULTIPLY -> fc.matmul [2, 7] FLOAT params=0 flops=1680" in result.stdout
    assert "layer   fc.kernel CONSTANT -> fc.kernel [7, 60] FLOAT params=420 flops=0" in result.stdout
    assert result.stdout.splitlines()[-1] == "total   8 layers, 427 parameters, 7 constants, 1.71 kFLOPs (1,708 FLOPs)"


def test_json():
    result = run("inspect", "yolov3-tiny", "--json", "--param", "batch=1", "--param", "height=416", "--param", "width=416")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["network"] == "yolov3-tiny"
    assert doc["totals"]["layers"] == 102 and doc["totals"]["parameters"] == PARAMETERS
    assert doc["totals"]["constants"] == 14
    assert doc["totals"]["flops"] == sum(layer["flops"] for layer in doc["layers"])
    conv0 = doc["layers"][0]
    assert conv0["name"] == "conv0.conv" and conv0["type"] == "CONVOLUTION" and conv0["inputs"] == ["images"]
    assert conv0["outputs"] == [{"name": "conv0.conv", "shape": [1, 16, 416, 416], "dtype": "FLOAT"}]
    assert conv0["parameters"] == 496 and conv0["flops"] == CONV0_FLOPS
    assert conv0["attributes"]["kernel_size_nd"] == [3, 3] and conv0["attributes"]["padding_mode"] == "EXPLICIT_ROUND_DOWN"
    assert doc["weights"][0] == {"name": "conv0.conv.kernel", "shape": [16, 3, 3, 3], "dtype": "FLOAT",
                                 "elements": 432}
    assert sum(w["elements"] for w in doc["weights"]) == PARAMETERS
    assert [c["name"] for c in doc["constants"]][:1] == ["yolo16.anchors.weights"]


@needs_dot
def test_graph_svg(tmp_path):
    out = tmp_path / "yolo.svg"
    result = run("inspect", "yolov3-tiny", "--graph", out, "--param", "batch=1", "--param", "height=416",
                 "--param", "width=416")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"graph   {out} ({out.stat().st_size:,} bytes)"
    ET.parse(out)
    text = out.read_text()
    assert "conv0.conv" in text and "yolo23.scores" in text and "1×16×416×416 FLOAT" in text
    result = run("inspect", "yolov3-tiny", "--json", "--graph", tmp_path / "again.svg")
    assert json.loads(result.stdout)["graph"] == {"path": str(tmp_path / "again.svg"),
                                                  "bytes": (tmp_path / "again.svg").stat().st_size}


def test_graph_without_dot(tmp_path):
    """With no ``dot`` on PATH: .svg is one error line saying how to get it, and nothing written; .dot works."""
    env = dict(os.environ, PATH=os.path.dirname(NETDSL))
    result = run("inspect", "yolov3-tiny", "--graph", tmp_path / "net.svg", env=env)
    assert_one_line_error(result, "net.svg", "dot", "apt install graphviz", ".dot")
    assert result.stdout == "" and not any(tmp_path.iterdir())
    result = run("inspect", "yolov3-tiny", "--graph", tmp_path / "net.dot", env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "net.dot").read_text().startswith("digraph ")


@pytest.mark.parametrize("name,fragments", [
    ("net.pdf", ("net.pdf", "unknown graph format '.pdf'", ".svg, .png or .dot")),
    ("no/such/dir/net.svg", ("net.svg", "does not exist")),
])
def test_graph_bad_output_checked_before_work(tmp_path, name, fragments):
    result = run("inspect", "yolov3-tiny", "--graph", tmp_path / name)
    assert_one_line_error(result, *fragments)
    assert result.stdout == "" and not any(tmp_path.iterdir())


def test_unknown_model():
    assert_one_line_error(run("inspect", "yolov9-huge"), "yolov9-huge")


def test_runtime_dimensions_shown_as_expressions():
    result = run("inspect", "yolov3-tiny")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "input   images [batch, 3, height, width] FLOAT"
    assert "output  boxes [batch, 15*(height//32)*(width//32), 4] FLOAT" in lines
    assert any(line.startswith("layer   conv2.conv CONVOLUTION -> conv2.conv [batch, 32, height//2, width//2] FLOAT")
               for line in lines)
    # FLOPs of the whole network as an expression; at 416 x 416, batch 1, it is the static total
    from netdsl.graph.shapes import dim
    total = lines[-1]
    assert "*batch*(height//32)*(width//32)" in total and total.endswith(" FLOPs")


def test_weights_file_checksummed_or_unverified(tmp_path):
    """A store netdsl writes now is checksummed; one written before (tests/weights/data/old_format_v1.h5 came
    from the old writer) binds but is reported unverified."""
    result = run("inspect", "yolov3-tiny", "--weights", WEIGHTS)
    assert result.returncode == 0, result.stderr
    assert f"store   {WEIGHTS}: 59 tensors bound, checksummed" in result.stdout
    # binding the file changes nothing of the report: its tensors stay parameters (darknet's count), not constants
    without_file = run("inspect", "yolov3-tiny", "--weights")
    assert without_file.returncode == 0, without_file.stderr
    assert result.stdout.splitlines()[:-1] == without_file.stdout.splitlines()
    assert f"total   102 layers, {PARAMETERS:,} parameters, 14 constants" in result.stdout
    import numpy as np

    from netdsl.weights import load_weights_file
    old = tmp_path / "old.h5"
    import h5py
    store = load_weights_file(WEIGHTS)
    with h5py.File(old, "w") as f:  # the old layout: contiguous datasets, no checksums, default file format
        for key, value in store.attrs.items():
            f.attrs[key] = value
        for name in store:
            f.create_dataset(name.replace(".", "/"), data=np.asarray(store[name]))
    result = run("inspect", "yolov3-tiny", "--weights", old)
    assert result.returncode == 0, result.stderr
    assert f"store   {old}: 59 tensors bound, unverified (59 without checksums" in result.stdout
