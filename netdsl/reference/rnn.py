"""Reference kernel for RNN: the exact recurrences of ``netdsl.layers.rnn``
(torch.nn.RNN / LSTM / GRU semantics), step by step in float64.

Precision: the weights are those the TensorRT loop holds
(``netdsl.layers.rnn.loop_weights``: biases folded in float32) rounded to the
input's dtype as the lowering's constants of that dtype hold them
(:func:`netdsl.reference.executor.engine_weights`); the recurrence runs in
float64 and the executor rounds each output to its dtype. (The engine also
rounds every intermediate tensor of a HALF/BF16 loop to that dtype; the
reference does not.)

Per-sequence lengths (``sequence_lengths``): at step ``t`` a sequence with
``t >= len`` keeps its states and outputs 0 — in both directions, so the
backward direction, running from T-1 down to 0, holds its initial state
until step ``len - 1`` and then runs to step 0: each sequence reversed
within its own length, as ``torch.nn.utils.rnn.pack_padded_sequence``
makes torch's bidirectional RNNs do."""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from ..graph.errors import ExecutionError
from ..layers.rnn import loop_weights
from .executor import engine_weights
from .registry import kernel


def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


def run_direction(op: str, x, w_ih, w_hh, input_bias, recurrent_bias, h, c, reverse: bool, lengths=None):
    """One layer, one direction.

    Args:
        op: "RELU", "TANH", "LSTM" or "GRU".
        x: (T, N, C) float64 inputs, sequence-major.
        w_ih: (G*H, C); w_hh: (G*H, H); input_bias: (G*H,) the folded
            ``b_ih + b_hh`` (``netdsl.layers.rnn.loop_weights``).
        recurrent_bias: the GRU's ``Rb_n`` (H,) with linear_before_reset
            (applied inside ``r * (R_n h + Rb_n)``), or None (GRU without
            linear_before_reset, whose ``Rb_n`` is in ``input_bias``).
        h, c: (N, H) initial hidden and cell state (c unused unless LSTM).
        reverse: run from step T-1 down to 0.
        lengths: optional (N,) ints in [1, T]: at a step ``t >= lengths[n]``
            sequence n keeps its states and its output is 0.
    Returns:
        (y (T, N, H) with y[t] the state after step t (0 past a sequence's
        length), final h, final c).
    """
    hidden = w_hh.shape[1]
    gx = x @ w_ih.T + input_bias  # (T, N, G*H): the input projections of every step at once
    y = np.empty(x.shape[:2] + (hidden,))
    steps = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    for t in steps:
        h_old, c_old = h, c
        if op == "GRU":
            gh = h @ w_hh[:2 * hidden].T
            r = _sigmoid(gx[t, :, :hidden] + gh[:, :hidden])
            z = _sigmoid(gx[t, :, hidden:2 * hidden] + gh[:, hidden:])
            if recurrent_bias is not None:  # linear_before_reset
                hn = r * (h @ w_hh[2 * hidden:].T + recurrent_bias)
            else:
                hn = (r * h) @ w_hh[2 * hidden:].T
            n = np.tanh(gx[t, :, 2 * hidden:] + hn)
            h = (1.0 - z) * n + z * h
        else:
            pre = gx[t] + h @ w_hh.T
            if op == "LSTM":
                i, f, g, o = np.split(pre, 4, axis=1)
                c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
                h = _sigmoid(o) * np.tanh(c)
            elif op == "TANH":
                h = np.tanh(pre)
            else:
                h = np.maximum(pre, 0.0)
        if lengths is not None:
            valid = (t < lengths)[:, None]  # (N, 1)
            y[t] = np.where(valid, h, 0.0)
            h = np.where(valid, h, h_old)
            if op == "LSTM":
                c = np.where(valid, c, c_old)
        else:
            y[t] = h
    return y, h, c


@kernel(LayerType.RNN)
def rnn(layer, x, *states):
    op = layer.op.name
    dirs, hidden = layer.num_directions, layer.hidden_size
    dtype = layer.inputs[0].dtype
    states = list(states)
    h0 = states.pop(0).astype(np.float64) if layer.has_initial_hidden else None
    c0 = states.pop(0).astype(np.float64) if layer.has_initial_cell else None
    lengths = states.pop(0) if layer.has_sequence_lengths else None
    seq = np.asarray(x, np.float64)
    if layer.batch_first:
        seq = seq.transpose(1, 0, 2)
    if lengths is not None:
        lengths = np.asarray(lengths).astype(np.int64)
        bad = (lengths < 1) | (lengths > seq.shape[0])
        if bad.any():
            n = int(np.flatnonzero(bad)[0])
            raise ExecutionError(f"{layer.name}: sequence_lengths {layer.inputs[-1].name!r} must lie in "
                                 f"[1, {seq.shape[0]}] (the input's steps), found {int(lengths[n])} "
                                 f"for sequence {n}")
    zeros = np.zeros((seq.shape[1], hidden))
    h_n, c_n = [], []
    for k in range(layer.num_layers):
        outs = []
        for d in range(dirs):
            w_ih, w_hh, input_bias, recurrent_bias = (
                None if v is None else engine_weights(v, dtype).astype(np.float64)
                for v in loop_weights(layer, k, d == 1))
            index = k * dirs + d
            y, h, c = run_direction(op, seq, w_ih, w_hh, input_bias, recurrent_bias,
                                    zeros if h0 is None else h0[index], zeros if c0 is None else c0[index],
                                    reverse=d == 1, lengths=lengths)
            outs.append(y)
            h_n.append(h)
            c_n.append(c)
        seq = np.concatenate(outs, axis=2)
    if layer.batch_first:
        seq = seq.transpose(1, 0, 2)
    results = [seq.astype(np.float32), np.stack(h_n).astype(np.float32)]
    if op == "LSTM":
        results.append(np.stack(c_n).astype(np.float32))
    return results
