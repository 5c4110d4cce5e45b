"""Parameter counts against oracles: the darknet .weights file of YOLOv3-tiny, the HDF5 weight file netdsl
ships, and torch modules' state dicts."""
import numpy as np
import torch

from netdsl import DataType, Network
from netdsl.graph.enums import RNNDirection, RNNOperation
from netdsl.inspection import constant_weights, count_parameters, file_weights, summarize
from netdsl.models import yolov3_tiny

DARKNET_FLOATS = 8_858_734  # (35,434,956 B - 20 B header) / 4 of the official yolov3-tiny.weights


def _state_elements(module) -> int:
    """Elements of a torch module's state dict: parameters and buffers (running statistics), no counters."""
    return sum(v.numel() for k, v in module.state_dict().items() if not k.endswith("num_batches_tracked"))


def test_yolov3_tiny_parameters_equal_darknet_weights_file(yolov3_tiny_darknet_weights):
    floats = (yolov3_tiny_darknet_weights.stat().st_size - 20) // 4  # darknet header: 3 int32 + 1 int64
    assert floats == DARKNET_FLOATS
    for fold in (True, False):
        summary = summarize(yolov3_tiny.build_network(batch=1, height=416, width=416, fold_batch_norm=fold))
        assert summary.parameters == floats, fold
        assert sum(row.parameters for row in summary.layers) == floats, fold


def test_yolov3_tiny_parameters_equal_the_hdf5_file():
    import h5py
    from cli_run import WEIGHTS
    stored = {}
    with h5py.File(WEIGHTS, "r") as f:
        f.visititems(lambda name, obj: stored.update({name.replace("/", "."): obj.shape})
                     if isinstance(obj, h5py.Dataset) else None)
    net = yolov3_tiny.build_network(batch=1, height=416, width=416)
    assert {w.name: w.shape for w in file_weights(net)} == stored
    assert sum(int(np.prod(s)) for s in stored.values()) == DARKNET_FLOATS


def test_yolov3_tiny_constants_are_the_decode_arrays():
    net = yolov3_tiny.build_network(batch=1, height=416, width=416)
    names = [w.name for w in constant_weights(net)]
    assert names == [f"{head}.{c}.weights" for head in ("yolo16", "yolo23") for c in ("anchors", "half")]
    # anchors (1, 3, 1, 2) and half (1, 1, 1, 1) per head: the grid is computed in the graph (fills)
    expected = 2 * (3 * 2 + 1)
    assert count_parameters(net).constants == expected == 14
    assert count_parameters(net).parameters == DARKNET_FLOATS


def test_folded_batch_norm_counted_once_for_its_convolution():
    folded = {row.name: row.parameters for row in summarize(yolov3_tiny.build_network(batch=1, height=416, width=416)).layers}
    unfolded = {row.name: row.parameters for row in
                summarize(yolov3_tiny.build_network(batch=1, height=416, width=416, fold_batch_norm=False)).layers}
    assert folded["conv0.conv"] == 16 * 3 * 3 * 3 + 4 * 16
    assert unfolded["conv0.conv"] == 16 * 3 * 3 * 3 and unfolded["conv0.bn"] == 4 * 16
    assert folded["conv0.leaky"] == 0


def test_conv_batch_norm_matches_torch_state_dict():
    for fold in (True, False):
        net = Network("t")
        x = net.add_input("x", DataType.FLOAT, (1, 8, 10, 10))
        net.add_conv_batch_norm(x, 12, (3, 3), padding_nd=1, num_groups=2, fold=fold)
        torch_pair = torch.nn.Sequential(torch.nn.Conv2d(8, 12, 3, padding=1, groups=2, bias=False),
                                         torch.nn.BatchNorm2d(12))
        assert count_parameters(net).parameters == _state_elements(torch_pair) == 12 * 4 * 9 + 4 * 12


def test_rnn_matches_torch():
    net = Network("t")
    x = net.add_input("x", DataType.FLOAT, (5, 2, 3))
    net.add_rnn(x, 2, 4, RNNOperation.LSTM, direction=RNNDirection.BIDIRECTION, name="lstm")
    net.add_rnn(x, 1, 6, RNNOperation.GRU, bias=False, name="gru")
    expected = (_state_elements(torch.nn.LSTM(3, 4, 2, bidirectional=True))
                + _state_elements(torch.nn.GRU(3, 6, 1, bias=False)))
    assert count_parameters(net).parameters == expected


def test_fully_connected_and_norms_match_torch():
    net = Network("t")
    x = net.add_input("x", DataType.FLOAT, (2, 4, 3, 5))
    net.add_fully_connected(x, 7, name="fc")
    net.add_layer_norm(x, (3, 5), name="ln")
    net.add_group_norm(x, 2, name="gn")
    net.add_instance_norm(x, scale=False, bias=False, name="plain")  # identity coefficients: nothing to count
    expected = sum(_state_elements(m) for m in (torch.nn.Linear(60, 7), torch.nn.LayerNorm((3, 5)),
                                                torch.nn.GroupNorm(2, 4)))
    counts = count_parameters(net)
    assert counts.parameters == expected and counts.constants == 0
    assert counts.per_layer["fc.kernel"] == (7 * 60, 0) and counts.per_layer["fc.bias"] == (7, 0)
    assert counts.per_layer["plain"] == (0, 0)
    assert [w.name for w in file_weights(net)] == ["fc.kernel", "fc.bias", "ln.scale", "ln.bias", "gn.scale",
                                                   "gn.bias"]


def test_shared_weights_counted_once_for_the_first_layer():
    net = Network("t")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 8, 8))
    kernel = net.declare_weights("shared", "kernel", (3, 3, 3, 3))
    a = net.add_convolution_nd(x, 3, (3, 3), kernel, bias=False, padding_nd=1, name="a").output
    net.add_convolution_nd(a, 3, (3, 3), kernel, bias=False, padding_nd=1, name="b")
    counts = count_parameters(net)
    assert counts.per_layer == {"a": (81, 0), "b": (0, 0)}
    assert counts.parameters == 81


def test_arrays_given_at_definition_are_constants_not_file_weights():
    net = Network("t")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 8, 8))
    net.add_convolution_nd(x, 4, (1, 1), np.ones((4, 3, 1, 1), np.float32), np.zeros(4, np.float32), name="c")
    net.add_convolution_nd(x, 2, (1, 1), name="d")
    counts = count_parameters(net)
    assert counts.per_layer == {"c": (0, 16), "d": (8, 0)}
    assert [w.name for w in file_weights(net)] == ["d.kernel", "d.bias"]
    assert [w.name for w in constant_weights(net)] == ["c.kernel", "c.bias"]


def test_declared_but_unused_weights_are_in_the_total():
    net = Network("t")
    net.add_input("x", DataType.FLOAT, (1,))
    net.declare_weights("orphan", "w", (5, 2))
    counts = count_parameters(net)
    assert counts.per_layer == {} and counts.unused_parameters == 10 and counts.parameters == 10
