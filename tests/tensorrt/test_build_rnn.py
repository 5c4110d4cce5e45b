"""RNN layers lower to TensorRT loops and build real TensorRT-RTX engines (AOT, sm86).

Engines cannot run here (no GPU), so besides building them, the lowered
INetworkDefinition itself is evaluated layer by layer in NumPy with the
semantics of the TensorRT API reference (ILoop: the iterator yields slice
``i`` — ``T-1-i`` when reversed — of its input; a recurrence outputs its
first input, then its second input's value of the previous iteration;
LoopOutput CONCATENATE / REVERSE stack the per-iteration values in forward /
reverse order along ``axis``; LAST_VALUE of a recurrence is its value after
the last iteration) and compared with the reference executor, which matches
torch (tests/layers/test_rnn.py).

Build count: one network per cell type and precision, each holding one RNN
layer per variant (direction x 1-3 layers x initial states x batch-first).
"""
import itertools

import numpy as np
import pytest

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


# -- NumPy evaluation of a lowered INetworkDefinition (TensorRT API reference semantics) ------------
def _as(trt, layer, cls):
    layer.__class__ = getattr(trt, cls)
    return layer


def _plain_layer(trt, layer, kind, args):
    """Value of the single output of a non-loop layer (of LayerType ``kind``) of the types the RNN lowering uses."""
    lt = trt.LayerType
    if kind == lt.CONSTANT:
        c = _as(trt, layer, "IConstantLayer")
        return np.asarray(c.weights).reshape(tuple(c.shape))
    if kind == lt.MATRIX_MULTIPLY:
        m = _as(trt, layer, "IMatrixMultiplyLayer")
        assert m.op0 == m.op1 == trt.MatrixOperation.NONE
        return np.matmul(*args)
    if kind == lt.ELEMENTWISE:
        op = _as(trt, layer, "IElementWiseLayer").op.name
        return {"SUM": np.add, "SUB": np.subtract, "PROD": np.multiply}[op](*args)
    if kind == lt.ACTIVATION:
        act = _as(trt, layer, "IActivationLayer").type.name
        return {"SIGMOID": lambda v: 1 / (1 + np.exp(-v)), "TANH": np.tanh,
                "RELU": lambda v: np.maximum(v, 0)}[act](args[0])
    if kind == lt.SLICE:
        s = _as(trt, layer, "ISliceLayer")
        return args[0][tuple(slice(a, a + n * st, st) for a, n, st in zip(s.start, s.shape, s.stride))]
    if kind == lt.SHUFFLE:
        s = _as(trt, layer, "IShuffleLayer")
        return args[0].transpose(tuple(s.first_transpose)[:args[0].ndim]).reshape(tuple(s.reshape_dims))
    if kind == lt.CONCATENATION:
        return np.concatenate(args, axis=_as(trt, layer, "IConcatenationLayer").axis)
    if kind == lt.CAST:
        return args[0].astype({"HALF": np.float16, "FLOAT": np.float32}[_as(trt, layer, "ICastLayer").to_type.name])
    raise AssertionError(f"evaluator has no rule for {kind}")


def evaluate(trt, network, feeds):
    """Run a lowered INetworkDefinition on NumPy values; returns {output tensor name: array}."""
    values = {network.get_input(i).name: np.asarray(feeds[network.get_input(i).name], np.float64)
              for i in range(network.num_inputs)}
    layers = [network.get_layer(i) for i in range(network.num_layers)]
    kinds = {id(layer): layer.type for layer in layers}  # before _as() recasts a layer (its .type changes meaning)
    lt = trt.LayerType
    i = 0
    while i < len(layers):
        layer = layers[i]
        if kinds[id(layer)] != lt.TRIP_LIMIT:
            args = [values[layer.get_input(j).name] for j in range(layer.num_inputs)]
            values[layer.get_output(0).name] = _plain_layer(trt, layer, kinds[id(layer)], args)
            i += 1
            continue
        # A loop: from its trip limit to its last loop output (the lowering adds each loop's layers in one run).
        name = _as(trt, layer, "ITripLimitLayer").loop.name
        end = max(j for j, other in enumerate(layers) if kinds[id(other)] == lt.LOOP_OUTPUT
                  and _as(trt, other, "ILoopOutputLayer").loop.name == name)
        body = layers[i + 1:end + 1]
        trips = int(values[layer.get_input(0).name])
        per_iteration, next_value = {}, {}
        for it in range(trips):
            for b in body:
                out = b.get_output(0).name
                if kinds[id(b)] == lt.ITERATOR:
                    itl = _as(trt, b, "IIteratorLayer")
                    src = values[b.get_input(0).name]
                    values[out] = np.take(src, trips - 1 - it if itl.reverse else it, axis=itl.axis)
                elif kinds[id(b)] == lt.RECURRENCE:
                    values[out] = values[b.get_input(0).name] if it == 0 else next_value[out]
                elif kinds[id(b)] == lt.LOOP_OUTPUT:
                    continue
                else:
                    values[out] = _plain_layer(trt, b, kinds[id(b)], [values[b.get_input(j).name] for j in range(b.num_inputs)])
                per_iteration.setdefault(out, []).append(values[out])
            for b in body:  # the recurrences' values for the next iteration
                if kinds[id(b)] == lt.RECURRENCE:
                    next_value[b.get_output(0).name] = values[b.get_input(1).name]
        for b in body:
            if kinds[id(b)] != lt.LOOP_OUTPUT:
                continue
            lo = _as(trt, b, "ILoopOutputLayer")
            src = b.get_input(0)
            if lo.kind == trt.LoopOutput.LAST_VALUE:  # of a recurrence: its value after the last iteration
                values[b.get_output(0).name] = next_value[src.name]
            else:
                seq = per_iteration[src.name]
                if lo.kind == trt.LoopOutput.REVERSE:
                    seq = seq[::-1]
                values[b.get_output(0).name] = np.stack(seq, axis=lo.axis)
        i = end + 1
    return {network.get_output(k).name: values[network.get_output(k).name] for k in range(network.num_outputs)}


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
