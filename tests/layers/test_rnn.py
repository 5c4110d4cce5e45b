"""RNN / LSTM / GRU (``Network.add_rnn``) against torch.nn.RNN / LSTM / GRU on CPU.

Weights come from the torch module's state_dict through
``netdsl.frameworks.recurrent.from_torch``; the reference executor must match
torch to 1e-5 in fp32 (sequence lengths 1, 7, 100; 1-3 layers; uni- and
bidirectional; initial states; batch-first) and within fp16 rounding for a
HALF network.
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl import DataType, Network, NetworkDefinitionError
from netdsl.graph.enums import RNNDirection, RNNOperation
from netdsl.reference import execute
from netdsl.frameworks.recurrent import from_torch

OPS = ["LSTM", "GRU", "TANH", "RELU"]


def torch_module(op, input_size, hidden, layers, bidirectional, batch_first=False, bias=True, seed=0):
    torch.manual_seed(seed)
    kw = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    if op == "LSTM":
        return torch.nn.LSTM(input_size, hidden, **kw)
    if op == "GRU":
        return torch.nn.GRU(input_size, hidden, **kw)
    return torch.nn.RNN(input_size, hidden, nonlinearity=op.lower(), **kw)


def netdsl_rnn(module, op, x_shape, *, dtype=DataType.FLOAT, h0=False, c0=False, cast=False):
    """A one-layer network mirroring ``module``; returns (net, layer)."""
    net = Network("rnn")
    x = net.add_input("x", DataType.FLOAT if cast else dtype, x_shape)
    if cast:
        x = net.add_cast(x, DataType.HALF, name="to_half").output
    dirs = 2 if module.bidirectional else 1
    batch = x_shape[0] if module.batch_first else x_shape[1]
    state_shape = (module.num_layers * dirs, batch, module.hidden_size)
    init_h = net.add_input("h0", dtype, state_shape) if h0 else None
    init_c = net.add_input("c0", dtype, state_shape) if c0 else None
    layer = net.add_rnn(x, module.num_layers, module.hidden_size, RNNOperation[op],
                        direction=RNNDirection.BIDIRECTION if module.bidirectional else RNNDirection.UNIDIRECTION,
                        batch_first=module.batch_first, initial_hidden=init_h, initial_cell=init_c,
                        bias=module.bias, name="rnn")
    for t in layer.outputs:
        net.mark_output(t)
    net.bind_weights(from_torch("rnn", module.state_dict(), op))
    return net, layer


def run_torch(module, op, x, h0=None, c0=None):
    with torch.no_grad():
        args = [torch.from_numpy(x.astype(np.float32))]
        if op == "LSTM" and (h0 is not None or c0 is not None):
            shape = (module.num_layers * (2 if module.bidirectional else 1), x.shape[0 if module.batch_first else 1],
                     module.hidden_size)
            zeros = np.zeros(shape, np.float32)
            args.append((torch.from_numpy(zeros if h0 is None else h0), torch.from_numpy(zeros if c0 is None else c0)))
        elif h0 is not None:
            args.append(torch.from_numpy(h0))
        y, state = module(*args)
    if op == "LSTM":
        return [y.numpy(), state[0].numpy(), state[1].numpy()]
    return [y.numpy(), state.numpy()]


def compare(net, layer, expected, feeds, atol, rtol=0.0):
    got = execute(net, feeds)
    assert len(layer.outputs) == len(expected)
    for tensor, want in zip(layer.outputs, expected):
        value = got[tensor.name]
        assert value.shape == want.shape, tensor.name
        np.testing.assert_allclose(value.astype(np.float32), want, atol=atol, rtol=rtol, err_msg=tensor.name)


@pytest.mark.parametrize("steps", [1, 7, 100])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("op", OPS)
def test_matches_torch_fp32(op, bidirectional, layers, steps):
    module = torch_module(op, 5, 6, layers, bidirectional)
    x = np.random.default_rng(steps).standard_normal((steps, 3, 5)).astype(np.float32)
    net, layer = netdsl_rnn(module, op, x.shape)
    compare(net, layer, run_torch(module, op, x), {"x": x}, atol=1e-5)


@pytest.mark.parametrize("op", OPS)
def test_initial_states_and_batch_first(op):
    module = torch_module(op, 4, 5, 2, True, batch_first=True)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 9, 4)).astype(np.float32)  # (N, T, C)
    h0 = rng.standard_normal((4, 3, 5)).astype(np.float32)
    c0 = rng.standard_normal((4, 3, 5)).astype(np.float32) if op == "LSTM" else None
    net, layer = netdsl_rnn(module, op, x.shape, h0=True, c0=c0 is not None)
    assert layer.outputs[0].shape == (3, 9, 10)
    feeds = {"x": x, "h0": h0} | ({"c0": c0} if c0 is not None else {})
    compare(net, layer, run_torch(module, op, x, h0, c0), feeds, atol=1e-5)


def test_lstm_initial_hidden_only_and_no_bias():
    module = torch_module("LSTM", 3, 4, 1, False, bias=False)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 2, 3)).astype(np.float32)
    h0 = rng.standard_normal((1, 2, 4)).astype(np.float32)
    net, layer = netdsl_rnn(module, "LSTM", x.shape, h0=True)
    assert not any("bias" in n for n in net.weights())
    compare(net, layer, run_torch(module, "LSTM", x, h0=h0), {"x": x, "h0": h0}, atol=1e-5)


@pytest.mark.parametrize("op", OPS)
def test_fp16(op):
    """A HALF network (input cast to HALF, fp32 compute, outputs rounded): torch fp32 on the rounded input."""
    module = torch_module(op, 5, 8, 2, True)
    x = np.random.default_rng(3).standard_normal((20, 2, 5)).astype(np.float32)
    net, layer = netdsl_rnn(module, op, x.shape, dtype=DataType.HALF, cast=True)
    assert all(t.dtype is DataType.HALF for t in layer.outputs)
    expected = run_torch(module, op, x.astype(np.float16).astype(np.float32))
    tol = 5e-2 if op == "RELU" else 2e-3  # fp16 output rounding (relu states are unbounded)
    compare(net, layer, expected, {"x": x}, atol=tol, rtol=2e-3)


@settings(max_examples=20, deadline=None)
@given(op=st.sampled_from(OPS), steps=st.integers(1, 12), batch=st.integers(1, 4), features=st.integers(1, 6),
       hidden=st.integers(1, 7), layers=st.integers(1, 3), bidirectional=st.booleans(), batch_first=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_random_shapes_match_torch(op, steps, batch, features, hidden, layers, bidirectional, batch_first, seed):
    module = torch_module(op, features, hidden, layers, bidirectional, batch_first=batch_first, seed=seed)
    shape = (batch, steps, features) if batch_first else (steps, batch, features)
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    net, layer = netdsl_rnn(module, op, shape)
    compare(net, layer, run_torch(module, op, x), {"x": x}, atol=1e-5)


def test_declared_weights_and_outputs():
    net = Network("shapes")
    x = net.add_input("x", DataType.FLOAT, (7, 2, 3))
    with net.scope("enc"):
        layer = net.add_rnn(x, 2, 4, RNNOperation.GRU, direction=RNNDirection.BIDIRECTION, name="gru")
    assert layer.name == "enc.gru"
    assert [t.shape for t in layer.outputs] == [(7, 2, 8), (4, 2, 4)]
    shapes = {n: w.shape for n, w in net.weights().items()}
    assert shapes["enc.gru.l0.weight_ih"] == (12, 3)
    assert shapes["enc.gru.l0_reverse.weight_hh"] == (12, 4)
    assert shapes["enc.gru.l1.weight_ih"] == (12, 8)
    assert shapes["enc.gru.l1_reverse.bias_hh"] == (12,)
    assert len(shapes) == 16
    assert layer.op is RNNOperation.GRU and layer.num_layers == 2 and layer.max_seq_length == 7
    lstm = net.add_rnn(x, 1, 4, "lstm", name="lstm")  # op by name
    assert len(lstm.outputs) == 3 and lstm.outputs[2].shape == (1, 2, 4)


@pytest.mark.parametrize("build, match", [
    (lambda net, x, s: net.add_rnn(net.add_input("x2", DataType.FLOAT, (7, 3)), 1, 4, RNNOperation.LSTM,
                                   name="bad"), r"bad: input 'x2' must have rank 3, found shape \(7, 3\)"),
    (lambda net, x, s: net.add_rnn(x, 1, 4, RNNOperation.LSTM, initial_hidden=s, name="bad"),
     r"bad: initial_hidden 'h' must have shape \(1, 2, 4\) .*found \(1, 2, 5\)"),
    (lambda net, x, s: net.add_rnn(x, 1, 4, RNNOperation.TANH, direction="sideways", name="bad"),
     r"bad: direction must be a RNNDirection member or one of its names \(UNIDIRECTION, BIDIRECTION\), "
     r"found 'sideways'$"),
    (lambda net, x, s: net.add_rnn(x, 1, 4, "PEEPHOLE", name="bad"), r"bad: op must be a RNNOperation member or one of its names .*found 'PEEPHOLE'"),
    (lambda net, x, s: net.add_rnn(x, 0, 4, RNNOperation.GRU, name="bad"), r"bad: layer_count must be a positive"),
    (lambda net, x, s: net.add_rnn(x, 1, 5, RNNOperation.GRU, initial_cell=s, name="bad"),
     r"bad: initial_cell 'h' is given, but only LSTM"),
    (lambda net, x, s: net.add_rnn(x, 1, 5, RNNOperation.LSTM, linear_before_reset=False, name="bad"),
     r"bad: linear_before_reset=False applies to GRU only"),
    (lambda net, x, s: net.add_rnn(net.add_input("i", DataType.INT32, (7, 2, 3)), 1, 5, RNNOperation.GRU,
                                   name="bad"), r"bad: input 'i' must be FLOAT, HALF, BF16, found INT32"),
    (lambda net, x, s: net.add_rnn(x, 1, 5, RNNOperation.GRU, initial_hidden=net.add_input("h16", DataType.HALF,
                                   (1, 2, 5)), name="bad"), r"bad: initial_hidden 'h16' must be FLOAT"),
], ids=["rank", "hidden-size", "direction", "op", "layer-count", "cell-for-gru", "lbr-for-lstm", "dtype",
        "state-dtype"])
def test_invalid_use_names_the_layer(build, match):
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, (7, 2, 3))
    s = net.add_input("h", DataType.FLOAT, (1, 2, 5))
    with pytest.raises(NetworkDefinitionError, match=match):
        build(net, x, s)
    assert not net.layers
