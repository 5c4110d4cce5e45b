"""RNN / LSTM / GRU with runtime steps and batch, and with per-sequence lengths, against torch on CPU (fp32).

* Runtime dimensions: one network whose input is (time, batch, C) (or (batch, time, C) with batch_first)
  runs T = 1, 7 and 100 (and several batch sizes) and matches torch.nn.RNN / LSTM / GRU within 1e-5.
* ``sequence_lengths``: the oracle is torch's packed sequences,
  ``pack_padded_sequence(x, lengths, enforce_sorted=False)`` -> module -> ``pad_packed_sequence(...,
  total_length=T)`` (padding 0), whose final states are those of each sequence's last valid step and
  whose backward direction reverses each sequence within its length. Lengths include 1 and T and are
  unsorted.
"""
import numpy as np
import pytest
import rnn_oracle
from rnn_oracle import run_torch

from netdsl import DataType, ExecutionError, Network, NetworkDefinitionError
from netdsl.frameworks.recurrent import from_torch
from netdsl.graph.enums import RNNDirection, RNNOperation
from netdsl.reference import execute

OPS = ["LSTM", "GRU", "TANH", "RELU"]
FEATURES, HIDDEN = 5, 6


def torch_module(op, layers, bidirectional, batch_first=False, seed=0):
    return rnn_oracle.torch_module(op, FEATURES, HIDDEN, layers, bidirectional, batch_first, seed)


def netdsl_rnn(module, op, dims, *, lengths_dims=None, h0=False, c0=False):
    """A network mirroring ``module`` with input dims ``dims`` (names are runtime dims); returns (net, layer)."""
    net = Network("rnn")
    x = net.add_input("x", DataType.FLOAT, dims)
    dirs = 2 if module.bidirectional else 1
    batch = "batch" if "batch" in dims else dims[0 if module.batch_first else 1]
    state_dims = (module.num_layers * dirs, batch, HIDDEN)
    lengths = net.add_input("lengths", DataType.INT32, lengths_dims) if lengths_dims else None
    layer = net.add_rnn(x, module.num_layers, HIDDEN, op,
                        direction=RNNDirection.BIDIRECTION if module.bidirectional else RNNDirection.UNIDIRECTION,
                        batch_first=module.batch_first, sequence_lengths=lengths,
                        initial_hidden=net.add_input("h0", DataType.FLOAT, state_dims) if h0 else None,
                        initial_cell=net.add_input("c0", DataType.FLOAT, state_dims) if c0 else None, name="rnn")
    for t in layer.outputs:
        net.mark_output(t)
    net.bind_weights(from_torch("rnn", module.state_dict(), op))
    return net, layer


def compare(net, layer, expected, feeds, atol=1e-5):
    got = execute(net, feeds)
    for tensor, want in zip(layer.outputs, expected, strict=True):
        assert got[tensor.name].shape == want.shape, tensor.name
        np.testing.assert_allclose(got[tensor.name], want, atol=atol, rtol=0, err_msg=tensor.name)


# -- runtime steps and batch ---------------------------------------------------------------------------
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("op", OPS)
def test_runtime_steps_one_network_matches_torch(op, bidirectional, layers):
    """One network, time and batch runtime dims, run at T = 1, 7, 100 (batch-first when layers == 2)."""
    batch_first = layers == 2
    module = torch_module(op, layers, bidirectional, batch_first)
    dims = ("batch", "time", FEATURES) if batch_first else ("time", "batch", FEATURES)
    net, layer = netdsl_rnn(module, op, dims)
    dirs = 2 if bidirectional else 1
    seq = ("batch", "time", dirs * HIDDEN) if batch_first else ("time", "batch", dirs * HIDDEN)
    assert [tuple(map(str, t.shape)) for t in layer.outputs[:2]] == [
        tuple(map(str, seq)), (str(layers * dirs), "batch", str(HIDDEN))]
    rng = np.random.default_rng(layers)
    for steps, batch in ((1, 2), (7, 3), (100, 1)):
        shape = (batch, steps, FEATURES) if batch_first else (steps, batch, FEATURES)
        x = rng.standard_normal(shape).astype(np.float32)
        compare(net, layer, run_torch(module, op, x), {"x": x})


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_runtime_batch_with_initial_states(op):
    """Initial states whose batch is the same runtime dimension as the input's."""
    module = torch_module(op, 2, True)
    net, layer = netdsl_rnn(module, op, ("time", "batch", FEATURES), h0=True, c0=op == "LSTM")
    rng = np.random.default_rng(5)
    for steps, batch in ((3, 1), (8, 4)):
        x = rng.standard_normal((steps, batch, FEATURES)).astype(np.float32)
        h0 = rng.standard_normal((4, batch, HIDDEN)).astype(np.float32)
        c0 = rng.standard_normal((4, batch, HIDDEN)).astype(np.float32) if op == "LSTM" else None
        feeds = {"x": x, "h0": h0} | ({"c0": c0} if c0 is not None else {})
        compare(net, layer, run_torch(module, op, x, h0=h0, c0=c0), feeds)


# -- sequence_lengths ----------------------------------------------------------------------------------
LENGTHS = np.array([4, 9, 1, 6, 9], np.int32)  # unsorted; 1 and T = 9 included


@pytest.mark.parametrize("batch_first", [False, True], ids=["seq_major", "batch_first"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("op", OPS)
def test_sequence_lengths_match_torch_packed(op, bidirectional, layers, batch_first):
    module = torch_module(op, layers, bidirectional, batch_first, seed=layers)
    steps, batch = 9, len(LENGTHS)
    shape = (batch, steps, FEATURES) if batch_first else (steps, batch, FEATURES)
    net, layer = netdsl_rnn(module, op, shape, lengths_dims=(batch,))
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    compare(net, layer, run_torch(module, op, x, LENGTHS), {"x": x, "lengths": LENGTHS})


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_sequence_lengths_with_initial_states(op):
    """Initial states go with each sequence (torch permutes them with enforce_sorted=False; netdsl never sorts)."""
    module = torch_module(op, 2, True)
    net, layer = netdsl_rnn(module, op, (9, 5, FEATURES), lengths_dims=(5,), h0=True, c0=op == "LSTM")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((9, 5, FEATURES)).astype(np.float32)
    h0 = rng.standard_normal((4, 5, HIDDEN)).astype(np.float32)
    c0 = rng.standard_normal((4, 5, HIDDEN)).astype(np.float32) if op == "LSTM" else None
    feeds = {"x": x, "lengths": LENGTHS, "h0": h0} | ({"c0": c0} if c0 is not None else {})
    compare(net, layer, run_torch(module, op, x, LENGTHS, h0, c0), feeds)


@pytest.mark.parametrize("op", ["LSTM", "GRU", "TANH"])
def test_sequence_lengths_with_runtime_steps_and_batch(op):
    """One network, runtime time and batch, lengths (batch,): T = 1, 7, 100 with lengths from 1 to T."""
    module = torch_module(op, 2, True, seed=3)
    net, layer = netdsl_rnn(module, op, ("time", "batch", FEATURES), lengths_dims=("batch",))
    rng = np.random.default_rng(9)
    for steps, lengths in ((1, [1, 1]), (7, [7, 2, 1, 5]), (100, [37, 100, 1])):
        lengths = np.array(lengths, np.int32)
        x = rng.standard_normal((steps, len(lengths), FEATURES)).astype(np.float32)
        compare(net, layer, run_torch(module, op, x, lengths), {"x": x, "lengths": lengths})


def test_all_full_lengths_equal_no_lengths():
    """Lengths all equal to T give the unmasked layer (torch without packing)."""
    module = torch_module("GRU", 2, True)
    net, layer = netdsl_rnn(module, "GRU", (6, 3, FEATURES), lengths_dims=(3,))
    x = np.random.default_rng(10).standard_normal((6, 3, FEATURES)).astype(np.float32)
    compare(net, layer, run_torch(module, "GRU", x), {"x": x, "lengths": np.full(3, 6, np.int32)})


# -- checks ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("make, match", [
    (lambda net: net.add_input("l", DataType.FLOAT, (2,)),
     r"^bad: sequence_lengths 'l' must be INT32, found FLOAT$"),
    (lambda net: net.add_input("l", DataType.INT32, (2, 1)),
     r"^bad: sequence_lengths 'l' must have rank 1, found shape \(2, 1\)$"),
    (lambda net: net.add_input("l", DataType.INT32, (3,)),
     r"^bad: sequence_lengths 'l' must have shape \(2,\) \(one length per sequence of input 'x'\), found \(3,\)$"),
], ids=["dtype", "rank", "batch"])
def test_sequence_lengths_checked_at_definition(make, match):
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, (7, 2, 3))
    with pytest.raises(NetworkDefinitionError, match=match):
        net.add_rnn(x, 1, 4, RNNOperation.LSTM, sequence_lengths=make(net), name="bad")
    assert not net.layers


def test_runtime_features_refused():
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, ("time", 2, "features"))
    with pytest.raises(NetworkDefinitionError, match=r"^bad: input 'x' must have static features \(axis 2; the "
                                                     r"weights are \(G\*H, C\)\), found shape \(time, 2, features\)$"):
        net.add_rnn(x, 1, 4, RNNOperation.GRU, name="bad")


def _runtime_lengths_net():
    net = Network("lengths")
    x = net.add_input("x", DataType.FLOAT, ("time", "batch", 3))
    lengths = net.add_input("lengths", DataType.INT32, (-1,))  # its own runtime dim: a requirement is recorded
    layer = net.add_rnn(x, 1, 4, RNNOperation.GRU, sequence_lengths=lengths, name="gru")
    net.mark_output(layer.get_output(0))
    rng = np.random.default_rng(0)
    net.bind_weights({n: rng.standard_normal(w.shape).astype(np.float32) for n, w in net.weights().items()})
    return net


def test_runtime_lengths_batch_is_a_requirement():
    net = _runtime_lengths_net()
    x = np.zeros((5, 2, 3), np.float32)
    assert execute(net, {"x": x, "lengths": np.array([5, 1], np.int32)})["gru"].shape == (5, 2, 4)
    with pytest.raises(ExecutionError) as info:
        execute(net, {"x": x, "lengths": np.array([5, 1, 2], np.int32)})
    message = str(info.value)
    assert message.startswith("gru: needs sequence_lengths 'lengths' of one length per sequence of input 'x' "
                              "(found vs batch): lengths[0] == batch, but at the feed")
    assert "lengths[0] = 3, batch = 2" in message and "\n" not in message


@pytest.mark.parametrize("bad", [[0, 3], [6, 1]], ids=["zero", "longer-than-T"])
def test_lengths_outside_1_to_T_refused_by_the_executor(bad):
    net = _runtime_lengths_net()
    with pytest.raises(ExecutionError, match=r"^gru: sequence_lengths 'lengths' must lie in \[1, 5\] \(the input's "
                                             r"steps\), found (0 for sequence 0|6 for sequence 0)$"):
        execute(net, {"x": np.zeros((5, 2, 3), np.float32), "lengths": np.array(bad, np.int32)})


def test_runtime_state_batch_is_a_requirement():
    net = Network("states")
    x = net.add_input("x", DataType.FLOAT, ("time", "batch", 3))
    h0 = net.add_input("h0", DataType.FLOAT, (1, "n", 4))
    layer = net.add_rnn(x, 1, 4, RNNOperation.TANH, initial_hidden=h0, name="rnn")
    net.mark_output(layer.get_output(1))
    net.bind_weights({n: np.zeros(w.shape, np.float32) for n, w in net.weights().items()})
    with pytest.raises(ExecutionError, match=r"^rnn: needs initial_hidden 'h0' of shape \(1, batch, 4\) \(axis 1, "
                                             r"found vs expected\): n == batch, but at the feed n = 3, batch = 2"):
        execute(net, {"x": np.zeros((4, 2, 3), np.float32), "h0": np.zeros((1, 3, 4), np.float32)})
    with pytest.raises(NetworkDefinitionError, match=r"initial_hidden 'h1' must have shape \(1, batch, 4\) .*found "
                                                     r"\(2, batch, 4\)"):
        net.add_rnn(x, 1, 4, RNNOperation.TANH, initial_hidden=net.add_input("h1", DataType.FLOAT, (2, "batch", 4)))
