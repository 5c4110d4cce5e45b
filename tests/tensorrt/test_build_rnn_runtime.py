"""RNN layers with runtime steps/batch and per-sequence lengths: the lowered TensorRT loops compute torch's
values, and build real TensorRT-RTX engines (AOT, sm86) with an optimization profile (time 1..100).

No GPU here: the lowered INetworkDefinition is evaluated layer by layer in NumPy with TensorRT's documented
loop, shape and select semantics (tests/support/trt_network_eval.py) at T = 1, 7 and 100, and compared with
torch.nn.RNN / LSTM / GRU directly (packed sequences for ``sequence_lengths``) within 1e-5.

Build count (each build takes about half a second per loop): the LSTM network holding every variant
below; for GRU, TANH and RELU the bidirectional batch-first variant with lengths and runtime T and N; an
fp16 LSTM network of two variants. Every variant of every cell type is evaluated.
"""
import numpy as np
import pytest
from rnn_oracle import run_torch, torch_module
from trt_network_eval import evaluate

import netdsl as nd
from netdsl import DataType
from netdsl.frameworks.recurrent import from_torch
from netdsl.graph.enums import RNNDirection
from netdsl.tensorrt import to_trt_network

FEATURES, HIDDEN = 3, 4
# name -> (layers, bidirectional, batch_first, runtime batch, sequence lengths, initial states)
VARIANTS = {
    "uni_l1": (1, False, False, True, False, False),
    "bi_l2_bf_len": (2, True, True, True, True, False),
    "bi_l3_static_batch_len": (3, True, False, False, True, False),
    "uni_l2_states_len": (2, False, False, True, True, True),
}
STATIC_BATCH = 2
# (T, runtime N, lengths of the runtime-batch variants): lengths 1 and T, unsorted
RUNS = [(1, 1, [1]), (7, 3, [7, 1, 4]), (100, 2, [37, 100])]
STATIC_LENGTHS = {1: [1, 1], 7: [2, 7], 100: [100, 1]}


def rnn_network(op, half=False, variants=tuple(VARIANTS)):
    """One network, a layer per variant (time and batch are shared runtime dims); returns (net, modules, profile)."""
    net = nd.Network(f"rnn_runtime_{op.lower()}{'_fp16' if half else ''}")
    modules, profile = {}, {}
    for tag in variants:
        layers, bi, batch_first, runtime_batch, lengths, states = VARIANTS[tag]
        module = torch_module(op, FEATURES, HIDDEN, layers, bi, batch_first, seed=layers)
        modules[tag] = module
        batch = "batch" if runtime_batch else STATIC_BATCH
        dims = (batch, "time", FEATURES) if batch_first else ("time", batch, FEATURES)
        x = net.add_input(f"x_{tag}", DataType.FLOAT, dims)
        profile[x.name] = tuple(zip(*((1, 7, 100) if d == "time" else (1, 3, 4) if d == "batch" else (d, d, d)
                                      for d in dims)))  # (min, opt, max) shapes
        inputs = {}
        if lengths:
            inputs["sequence_lengths"] = net.add_input(f"len_{tag}", DataType.INT32, (batch,))
            profile[f"len_{tag}"] = tuple(((n,) for n in ((1, 3, 4) if runtime_batch else (batch,) * 3)))
        if states:
            for kind, key in (("h0", "initial_hidden"), ("c0", "initial_cell"))[:2 if op == "LSTM" else 1]:
                state_dims = (layers * (2 if bi else 1), batch, HIDDEN)
                inputs[key] = net.add_input(f"{kind}_{tag}", DataType.FLOAT, state_dims)
                profile[f"{kind}_{tag}"] = tuple((state_dims[0], n, HIDDEN) for n in (1, 3, 4))
        if half:
            x = net.add_cast(x, DataType.HALF, name=f"x16_{tag}").output
            inputs = {k: net.add_cast(v, DataType.HALF, name=f"{v.name}16").output if k.startswith("initial") else v
                      for k, v in inputs.items()}
        layer = net.add_rnn(x, layers, HIDDEN, op, batch_first=batch_first,
                            direction=RNNDirection.BIDIRECTION if bi else RNNDirection.UNIDIRECTION,
                            name=f"rnn_{tag}", **inputs)
        for t in layer.outputs:
            if half:
                t = net.add_cast(t, DataType.FLOAT, name=f"{t.name.replace(':', '_')}_f32").output
            net.mark_output(t)
        net.bind_weights(from_torch(f"rnn_{tag}", module.state_dict(), op))
    return net, modules, profile


def feeds_and_expected(op, net, modules, steps, batch, lengths, rng):
    feeds, expected = {}, {}
    for tag, (layers, bi, batch_first, runtime_batch, with_lengths, states) in VARIANTS.items():
        n = batch if runtime_batch else STATIC_BATCH
        x = rng.standard_normal((n, steps, FEATURES) if batch_first else (steps, n, FEATURES)).astype(np.float32)
        feeds[f"x_{tag}"] = x
        seq_lengths = np.array(lengths if runtime_batch else STATIC_LENGTHS[steps], np.int32)
        if with_lengths:
            feeds[f"len_{tag}"] = seq_lengths
        h0 = c0 = None
        if states:
            shape = (layers * (2 if bi else 1), n, HIDDEN)
            h0 = feeds[f"h0_{tag}"] = rng.standard_normal(shape).astype(np.float32)
            if op == "LSTM":
                c0 = feeds[f"c0_{tag}"] = rng.standard_normal(shape).astype(np.float32)
        outputs = net.layer(f"rnn_{tag}").outputs
        want = run_torch(modules[tag], op, x, seq_lengths if with_lengths else None, h0, c0)
        expected.update({t.name: w for t, w in zip(outputs, want, strict=True)})
    return feeds, expected


@pytest.mark.parametrize("op", ["LSTM", "GRU", "TANH", "RELU"])
def test_lowered_runtime_loops_match_torch(rtx, op):
    """The lowered network, evaluated by TensorRT's semantics at T = 1, 7, 100, equals torch."""
    net, modules, profile = rnn_network(op)
    _, trt_network, keep = to_trt_network(net, rtx)
    rng = np.random.default_rng(0)
    for steps, batch, lengths in RUNS:
        feeds, expected = feeds_and_expected(op, net, modules, steps, batch, lengths, rng)
        got = evaluate(rtx.trt, trt_network, feeds)
        assert set(got) == set(expected)
        for name, want in expected.items():
            np.testing.assert_allclose(got[name], want, atol=1e-5, rtol=0, err_msg=f"{name} at T={steps}")


@pytest.mark.parametrize("op, variants", [
    ("LSTM", tuple(VARIANTS)), ("GRU", ("bi_l2_bf_len",)), ("TANH", ("bi_l2_bf_len",)), ("RELU", ("bi_l2_bf_len",))],
    ids=["LSTM-all", "GRU-bi_l2_bf_len", "TANH-bi_l2_bf_len", "RELU-bi_l2_bf_len"])
def test_engine_builds_with_a_time_profile(build, op, variants):
    """Profile time 1..100 (opt 7), batch 1..4: an sm86 TensorRT-RTX engine."""
    net, _, profile = rnn_network(op, variants=variants)
    for tag in variants:
        lo, _, hi = profile[f"x_{tag}"]
        axis = 1 if VARIANTS[tag][2] else 0
        assert (lo[axis], hi[axis]) == (1, 100)
    build(net, profiles=[profile])


def test_runtime_trip_count_comes_from_the_input_shape(rtx):
    """With a runtime T the trip limit is a 0-D shape tensor computed from IShapeLayer (no constant)."""
    net, _, _ = rnn_network("GRU")
    _, trt_network, keep = to_trt_network(net, rtx)
    trt = rtx.trt
    layers = [trt_network.get_layer(i) for i in range(trt_network.num_layers)]
    trips = [layer for layer in layers if layer.type == trt.LayerType.TRIP_LIMIT]
    assert len(trips) == 1 + 4 + 6 + 2  # one loop per layer and direction of the four variants
    producers = {layer.get_output(0).name: layer for layer in layers if layer.num_outputs}
    for trip in trips:
        source = producers[trip.get_input(0).name]
        assert source.type == trt.LayerType.SHUFFLE and source.name.endswith("::trip_count")
        assert len(trip.get_input(0).shape) == 0


def test_fp16_with_lengths_builds(build):
    """A HALF network (strongly typed: float16 weights and zero constants, masks with SELECT) builds."""
    net, _, profile = rnn_network("LSTM", half=True, variants=("bi_l2_bf_len", "uni_l2_states_len"))
    build(net, profiles=[profile])


def test_engine_semantics_of_lengths_outside_1_to_T(rtx):
    """Documented (docs/recurrent.md), not checked by an engine: a length above T acts as T; a length <= 0
    keeps the initial state and outputs zeros. (The reference executor refuses both.)"""
    module = torch_module("GRU", FEATURES, HIDDEN, 1, True, seed=4)
    net = nd.Network("lengths_out_of_range")
    x = net.add_input("x", DataType.FLOAT, ("time", "batch", FEATURES))
    lengths = net.add_input("lengths", DataType.INT32, ("batch",))
    layer = net.add_rnn(x, 1, HIDDEN, "GRU", direction=RNNDirection.BIDIRECTION, sequence_lengths=lengths, name="gru")
    for t in layer.outputs:
        net.mark_output(t)
    net.bind_weights(from_torch("gru", module.state_dict(), "GRU"))
    _, trt_network, keep = to_trt_network(net, rtx)
    xv = np.random.default_rng(3).standard_normal((5, 3, FEATURES)).astype(np.float32)
    got = evaluate(rtx.trt, trt_network, {"x": xv, "lengths": np.array([9, 0, -2], np.int32)})
    seq, h_n = run_torch(module, "GRU", xv[:, :1])  # sequence 0 unpacked: its length acts as T = 5
    np.testing.assert_allclose(got["gru"][:, :1], seq, atol=1e-5, rtol=0)
    np.testing.assert_allclose(got["gru:1"][:, :1], h_n, atol=1e-5, rtol=0)
    assert not got["gru"][:, 1:].any() and not got["gru:1"][:, 1:].any()  # zero initial state, zero outputs
