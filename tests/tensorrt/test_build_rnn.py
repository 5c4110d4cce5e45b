"""RNN layers lower to TensorRT loops and build real TensorRT-RTX engines (AOT, sm86).

Engines cannot run here (no GPU), so besides building them, the lowered
INetworkDefinition itself is evaluated layer by layer in NumPy with the
semantics of the TensorRT API reference (tests/support/trt_network_eval.py:
ILoop: the iterator yields slice ``i`` — ``T-1-i`` when reversed — of its
input; a recurrence outputs its first input, then its second input's value
of the previous iteration; LoopOutput CONCATENATE / REVERSE stack the
per-iteration values in forward / reverse order along ``axis``; LAST_VALUE
of a recurrence is its value after the last iteration) and compared with the
reference executor, which matches torch (tests/layers/test_rnn.py).

Build count: one network per cell type and precision, each holding one RNN
layer per variant (direction x 1-3 layers x initial states x batch-first).
"""
import itertools

import numpy as np
import pytest
from trt_network_eval import as_type as _as
from trt_network_eval import evaluate

import netdsl as nd
from netdsl import DataType
from netdsl.graph.enums import RNNDirection, RNNOperation
from netdsl.reference import execute
from netdsl.tensorrt import to_trt_network

STEPS, BATCH, FEATURES, HIDDEN = 5, 2, 3, 4
# Every direction x depth once; initial states and batch-first alternate so that each appears with
# and without, in all four combinations (a pairwise cover, to keep the builds short).
VARIANTS = [dict(bidirectional=bi, layers=layers, states=states, batch_first=bf) for bi, layers, states, bf in (
    (False, 1, False, False), (False, 2, True, False), (False, 3, False, True),
    (True, 1, True, True), (True, 2, False, True), (True, 3, True, False))]


def variant_id(v):
    return f"{'bi' if v['bidirectional'] else 'uni'}-L{v['layers']}{'-states' if v['states'] else ''}" \
           f"{'-batch_first' if v['batch_first'] else ''}"


def rnn_network(op, half, rng):
    """One network: an RNN layer per variant, every output marked; returns (net, feeds)."""
    net = nd.Network(f"rnn_{op.lower()}_{'fp16' if half else 'fp32'}")
    feeds = {}
    for v in VARIANTS:
        tag = variant_id(v).replace("-", "_")
        dirs = 2 if v["bidirectional"] else 1
        shape = (BATCH, STEPS, FEATURES) if v["batch_first"] else (STEPS, BATCH, FEATURES)
        x = net.add_input(f"x_{tag}", DataType.FLOAT, shape)
        feeds[x.name] = rng.standard_normal(shape).astype(np.float32)
        states = []
        if v["states"]:
            for kind in ("h0", "c0") if op == "LSTM" else ("h0",):
                s = net.add_input(f"{kind}_{tag}", DataType.FLOAT, (v["layers"] * dirs, BATCH, HIDDEN))
                feeds[s.name] = rng.standard_normal(s.shape).astype(np.float32)
                states.append(s)
        if half:
            x = net.add_cast(x, DataType.HALF, name=f"x16_{tag}").output
            states = [net.add_cast(s, DataType.HALF, name=f"{s.name}16").output for s in states]
        layer = net.add_rnn(x, v["layers"], HIDDEN, RNNOperation[op], batch_first=v["batch_first"],
                            direction=RNNDirection.BIDIRECTION if v["bidirectional"] else RNNDirection.UNIDIRECTION,
                            initial_hidden=states[0] if states else None,
                            initial_cell=states[1] if len(states) > 1 else None, name=f"rnn_{tag}")
        for t in layer.outputs:
            if half:
                t = net.add_cast(t, DataType.FLOAT, name=f"{t.name.replace(':', '_')}_f32").output
            net.mark_output(t)
    net.bind_weights({n: (rng.standard_normal(w.shape) * 0.5).astype(np.float32) for n, w in net.weights().items()})
    return net, feeds


# -- tests -------------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["LSTM", "GRU", "TANH", "RELU"])
def test_lowered_loops_compute_the_reference(rtx, rng, op):
    """The lowered network (fp32), evaluated by the TensorRT semantics above, equals the reference executor."""
    net, feeds = rnn_network(op, False, rng)
    _, trt_network, keep = to_trt_network(net, rtx)
    got = evaluate(rtx.trt, trt_network, feeds)
    want = execute(net, feeds)
    assert set(got) == set(want)
    for name, value in want.items():
        np.testing.assert_allclose(got[name], value, atol=1e-5, err_msg=name)


def test_gru_linear_before_reset_false(rtx, build, rng):
    """ONNX's default GRU (reset gate before the recurrent product): evaluated, then built."""
    net = nd.Network("gru_v1")
    x = net.add_input("x", DataType.FLOAT, (6, 2, 3))
    layer = net.add_rnn(x, 2, 4, RNNOperation.GRU, direction=RNNDirection.BIDIRECTION, linear_before_reset=False,
                        name="gru")
    for t in layer.outputs:
        net.mark_output(t)
    net.bind_weights({n: rng.standard_normal(w.shape).astype(np.float32) for n, w in net.weights().items()})
    feeds = {"x": rng.standard_normal((6, 2, 3)).astype(np.float32)}
    _, trt_network, keep = to_trt_network(net, rtx)
    got, want = evaluate(rtx.trt, trt_network, feeds), execute(net, feeds)
    for name, value in want.items():
        np.testing.assert_allclose(got[name], value, atol=1e-5, err_msg=name)
    build(net)


@pytest.mark.parametrize("half", [False, True], ids=["fp32", "fp16"])
@pytest.mark.parametrize("op", ["LSTM", "GRU", "TANH", "RELU"])
def test_engine_builds(build, rng, op, half):
    """Every variant of ``op`` in one network (see VARIANTS) builds an sm86 engine."""
    net, _ = rnn_network(op, half, rng)
    assert len(net.layers) >= len(VARIANTS)
    build(net)


def test_fp16_weights_and_outputs_are_half(rtx, rng):
    """Strongly typed: a HALF RNN gets float16 constants and HALF outputs from TensorRT."""
    net, _ = rnn_network("LSTM", True, rng)
    _, trt_network, keep = to_trt_network(net, rtx)
    trt = rtx.trt
    consts = [_as(trt, trt_network.get_layer(i), "IConstantLayer") for i in range(trt_network.num_layers)
              if trt_network.get_layer(i).type == trt.LayerType.CONSTANT]
    assert {c.get_output(0).dtype for c in consts if "weight" in c.name} == {trt.DataType.HALF}
    rnn_out = [keep.tensors[t] for layer in net.layers if layer.type.name == "RNN" for t in layer.outputs]
    assert rnn_out and all(t.dtype == trt.DataType.HALF for t in rnn_out)
