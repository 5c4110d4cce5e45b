"""The RNN reference kernel's fast float32 path against a straightforward step-by-step float64 recurrence.

``netdsl/reference/rnn.py`` computes in float32 with the input projections of all steps in one product,
hidden-major states, sigmoids through a tanh of halved (pre-scaled) gate rows, reordered LSTM gates and
masked steps only where a sequence has ended. :func:`step_by_step` below is none of that: the textbook
recurrences of ``netdsl.layers.rnn`` in float64, one step and one sequence-major (N, H) state at a time,
with the logistic sigmoid ``1 / (1 + exp(-x))``, on the same engine-rounded weights
(``loop_weights`` + ``engine_weights``). The kernel's float32 outputs (before the executor rounds them
to a HALF/BF16 output dtype) must match it within 1e-5 relative: every element within
``1e-5 * |want| + 1e-6 * max|want|`` (the small absolute term covers elements near a zero crossing).

Shapes are odd on purpose: hidden sizes that are not multiples of 8, batch 1, T = 1, one and three
layers, bidirectional, per-sequence lengths (unsorted, including 1 and T), initial states, batch-first,
no bias, GRU without linear_before_reset, HALF and BF16 inputs, and one larger case.
"""
import numpy as np
import pytest

from netdsl import DataType, Network
from netdsl.graph.enums import RNNDirection
from netdsl.layers.rnn import loop_weights
from netdsl.reference.executor import engine_weights, round_bf16
from netdsl.reference.registry import lookup

RTOL, ATOL_OF_MAX = 1e-5, 1e-6


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def step_by_step(layer, x, h0=None, c0=None, lengths=None):
    """[sequence, h_n(, c_n)] in float64: one step, one (N, H) state at a time; ``x`` as the kernel gets it."""
    op, dirs, hidden = layer.op.name, layer.num_directions, layer.hidden_size
    seq = np.asarray(x, np.float64)
    if layer.batch_first:
        seq = seq.transpose(1, 0, 2)
    steps, batch = seq.shape[:2]
    h_n, c_n = [], []
    for k in range(layer.num_layers):
        outs = []
        for d in range(dirs):
            w_ih, w_hh, bias, b_hn = (None if v is None else engine_weights(v, layer.inputs[0].dtype).astype(np.float64)
                                      for v in loop_weights(layer, k, d == 1))
            index = k * dirs + d
            h = np.zeros((batch, hidden)) if h0 is None else np.asarray(h0[index], np.float64)
            c = np.zeros((batch, hidden)) if c0 is None else np.asarray(c0[index], np.float64)
            y = np.zeros((steps, batch, hidden))
            for t in (range(steps - 1, -1, -1) if d == 1 else range(steps)):
                for n in range(batch):
                    if lengths is not None and t >= lengths[n]:
                        continue  # state kept, output 0
                    gx, gh = w_ih @ seq[t, n] + bias, w_hh @ h[n]
                    if op == "LSTM":
                        i, f, g, o = np.split(gx + gh, 4)
                        c[n] = _sigmoid(f) * c[n] + _sigmoid(i) * np.tanh(g)
                        h[n] = _sigmoid(o) * np.tanh(c[n])
                    elif op == "GRU":
                        r = _sigmoid(gx[:hidden] + gh[:hidden])
                        z = _sigmoid(gx[hidden:2 * hidden] + gh[hidden:2 * hidden])
                        if b_hn is not None:  # linear_before_reset
                            cand = np.tanh(gx[2 * hidden:] + r * (gh[2 * hidden:] + b_hn))
                        else:
                            cand = np.tanh(gx[2 * hidden:] + w_hh[2 * hidden:] @ (r * h[n]))
                        h[n] = (1.0 - z) * cand + z * h[n]
                    elif op == "TANH":
                        h[n] = np.tanh(gx + gh)
                    else:
                        h[n] = np.maximum(gx + gh, 0.0)
                    y[t, n] = h[n]
            outs.append(y)
            h_n.append(h)
            c_n.append(c)
        seq = np.concatenate(outs, axis=2)
    if layer.batch_first:
        seq = seq.transpose(1, 0, 2)
    return [seq, np.stack(h_n)] + ([np.stack(c_n)] if op == "LSTM" else [])


def rnn_layer(op, shape, layers, hidden, *, bidirectional=False, batch_first=False, dtype=DataType.FLOAT,
              h0=False, c0=False, lengths=False, bias=True, linear_before_reset=True, seed=0, scale=1.0):
    """A network with one RNN layer, weights uniform in ±scale/sqrt(H) (torch's init for scale 1)."""
    net = Network("rnn")
    x = net.add_input("x", dtype, shape)
    dirs = 2 if bidirectional else 1
    state = (layers * dirs, shape[0] if batch_first else shape[1], hidden)
    layer = net.add_rnn(x, layers, hidden, op, name="rnn", batch_first=batch_first, bias=bias,
                        direction=RNNDirection.BIDIRECTION if bidirectional else RNNDirection.UNIDIRECTION,
                        initial_hidden=net.add_input("h0", dtype, state) if h0 else None,
                        initial_cell=net.add_input("c0", dtype, state) if c0 else None,
                        sequence_lengths=net.add_input("len", DataType.INT32, state[1:2]) if lengths else None,
                        linear_before_reset=linear_before_reset)
    rng = np.random.default_rng(seed)
    bound = scale / np.sqrt(hidden)
    net.bind_weights({n: rng.uniform(-bound, bound, w.shape).astype(np.float32) for n, w in net.weights().items()})
    return layer


def as_dtype(a, dtype):
    """float32 values of ``a`` rounded to ``dtype``, as the executor hands HALF / BF16 tensors to kernels."""
    a = np.asarray(a, np.float32)
    if dtype is DataType.HALF:
        return a.astype(np.float16).astype(np.float32)
    return round_bf16(a) if dtype is DataType.BF16 else a


def check(layer, x, h0=None, c0=None, lengths=None):
    dtype = layer.inputs[0].dtype
    x, h0, c0 = (None if a is None else as_dtype(a, dtype) for a in (x, h0, c0))
    states = [a for a in (h0, c0) if a is not None] + ([np.asarray(lengths, np.int32)] if lengths is not None else [])
    inputs = [x.copy()] + [s.copy() for s in states]
    got = lookup(layer)(layer, *inputs)
    for before, after in zip([x] + states, inputs):
        np.testing.assert_array_equal(before, after)  # the kernel does not write into its inputs
    want = step_by_step(layer, x, h0, c0, lengths)
    assert len(got) == len(want) == len(layer.outputs)
    for tensor, g, w in zip(layer.outputs, got, want):
        assert g.dtype == np.float32 and g.shape == w.shape, tensor.name
        scale = np.abs(w).max()
        assert scale > 0.05, f"{tensor.name}: degenerate case (max |value| {scale:.2g})"
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL_OF_MAX * scale, err_msg=tensor.name)
    return got, want


def data(shape, seed, scale=1.0):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


OPS = ["LSTM", "GRU", "TANH", "RELU"]


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("steps, batch, hidden, layers", [(1, 1, 5, 1), (9, 3, 13, 3), (4, 1, 1, 2), (6, 5, 8, 1)],
                         ids=["T1-N1-H5-L1", "T9-N3-H13-L3", "T4-N1-H1-L2", "T6-N5-H8-L1"])
@pytest.mark.parametrize("op", OPS)
def test_matches_step_by_step(op, steps, batch, hidden, layers, bidirectional):
    layer = rnn_layer(op, (steps, batch, 7), layers, hidden, bidirectional=bidirectional, seed=steps)
    check(layer, data((steps, batch, 7), seed=hidden))


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("op", OPS)
def test_sequence_lengths_and_initial_states(op, bidirectional):
    """Unsorted lengths with 1 and T: the masked steps, states kept past a length, zero outputs, the backward
    direction's start within each length; with initial states (the states the masks keep)."""
    steps, batch, hidden = 8, 5, 11
    lstm = op == "LSTM"
    layer = rnn_layer(op, (steps, batch, 4), 2, hidden, bidirectional=bidirectional, h0=True, c0=lstm, lengths=True)
    dirs = 2 if bidirectional else 1
    h0, c0 = data((2 * dirs, batch, hidden), 1), (data((2 * dirs, batch, hidden), 2) if lstm else None)
    lengths = [3, 8, 1, 5, 8]
    got, _ = check(layer, data((steps, batch, 4), 3), h0, c0, lengths)
    assert np.all(got[0][3:, 0] == 0) and np.all(got[0][1:, 2] == 0) and np.all(got[0][5:, 3] == 0)
    assert np.any(got[0][:3, 0] != 0)


@pytest.mark.parametrize("lengths", [[6, 6, 6], [1, 1, 1]], ids=["all-full", "all-one"])
def test_sequence_lengths_all_equal(lengths):
    """Every step unmasked (lengths all T), and every step after the first masked (lengths all 1)."""
    layer = rnn_layer("LSTM", (6, 3, 4), 1, 9, bidirectional=True, lengths=True)
    check(layer, data((6, 3, 4), 4), lengths=lengths)


@pytest.mark.parametrize("op", OPS)
def test_batch_first_initial_states_no_bias(op):
    lstm = op == "LSTM"
    layer = rnn_layer(op, (2, 7, 3), 2, 6, bidirectional=True, batch_first=True, h0=True, c0=lstm, bias=False)
    check(layer, data((2, 7, 3), 5), data((4, 2, 6), 6), data((4, 2, 6), 7) if lstm else None)


@pytest.mark.parametrize("lengths", [None, [4, 9, 2]], ids=["full", "lengths"])
def test_gru_without_linear_before_reset(lengths):
    layer = rnn_layer("GRU", (9, 3, 5), 2, 7, bidirectional=True, h0=True, lengths=lengths is not None,
                      linear_before_reset=False)
    check(layer, data((9, 3, 5), 8), data((4, 3, 7), 9), lengths=lengths)


@pytest.mark.parametrize("dtype", [DataType.HALF, DataType.BF16], ids=["fp16", "bf16"])
@pytest.mark.parametrize("op", OPS)
def test_half_and_bf16_inputs(op, dtype):
    """The kernel computes on the dtype-rounded input and engine-rounded weights, in float32."""
    layer = rnn_layer(op, (10, 2, 6), 2, 9, bidirectional=op in ("GRU", "RELU"), dtype=dtype)
    got, _ = check(layer, data((10, 2, 6), 10))
    assert all(g.dtype == np.float32 for g in got)


def test_relu_large_states():
    """RELU with weights 3x torch's init: states grow over the steps; the error stays relative."""
    layer = rnn_layer("RELU", (12, 3, 5), 2, 10, scale=3.0)
    got, _ = check(layer, data((12, 3, 5), 11, scale=3.0))
    assert np.abs(got[0]).max() > 10


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_larger_shape(op):
    """Sizes where the products take OpenBLAS' blocked kernels: H = 100, C = 70, batch 8, 30 steps."""
    layer = rnn_layer(op, (30, 8, 70), 2, 100, bidirectional=True, lengths=True)
    check(layer, data((30, 8, 70), 12), lengths=[30, 17, 30, 1, 29, 30, 8, 30])
