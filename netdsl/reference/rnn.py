"""Reference kernel for RNN: the exact recurrences of ``netdsl.layers.rnn``
(torch.nn.RNN / LSTM / GRU semantics), in float32.

Precision: the weights are those the TensorRT loop holds
(``netdsl.layers.rnn.loop_weights``: biases folded in float32) rounded to the
input's dtype as the lowering's constants of that dtype hold them
(:func:`netdsl.reference.executor.engine_weights`); the recurrence runs in
float32 (as the convolution and matrix-multiply kernels accumulate, and as
a FLOAT TensorRT loop computes) and the executor rounds each output to its
dtype. Against a float64 recurrence the float32 result differs by about
1e-7 relative (tests/reference/test_rnn_kernel.py checks 1e-5). (The engine
also rounds every intermediate tensor of a HALF/BF16 loop to that dtype;
the reference does not.)

Per-sequence lengths (``sequence_lengths``): at step ``t`` a sequence with
``t >= len`` keeps its states and outputs 0 — in both directions, so the
backward direction, running from T-1 down to 0, holds its initial state
until step ``len - 1`` and then runs to step 0: each sequence reversed
within its own length, as ``torch.nn.utils.rnn.pack_padded_sequence``
makes torch's bidirectional RNNs do.

How it is fast (benchmarks/lstm_speed.py: a 3-layer LSTM(256), batch 8,
160 steps, against torch.nn.LSTM on CPU):

* the input projections of all steps are one matrix product per layer and
  direction, ``(T*N, C) @ W_ih^T``, before the loop, its bias added in the
  same pass that lays each step's projections out hidden-major;
* states are hidden-major, ``(H, N)``, so each step's product is
  ``W_hh @ h`` with a (G*H, N) result, the orientation OpenBLAS runs about
  twice as fast as ``h @ W_hh^T`` for a small batch. A layer's output is
  one (T, D*H, N) buffer: each step writes its state into its (H, N) block
  and the next step reads it from there; one transposing copy per layer
  turns it into the (T*N, D*H) rows of the next layer's projection (or the
  output);
* sigmoid(x) = (tanh(x/2) + 1) / 2, the halving folded into the sigmoid
  gates' rows of the weights and biases (exact: a power of two), and the
  LSTM's gates reordered to i, f, o, g, so one tanh covers all the gates
  and two in-place operations turn the first three into sigmoids;
* every operation of a step writes into a preallocated buffer (``out=``);
  the projection buffers are shared by all layers and directions;
* per-sequence lengths cost nothing on the steps where every sequence is
  still running (``t < min(len)``); only the other steps are masked.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from ..graph.errors import ExecutionError
from ..layers.rnn import GATE_COUNT, loop_weights
from .executor import engine_weights
from .registry import kernel
from .threads import blas_threads

SIGMOID_GATES = {"RELU": 0, "TANH": 0, "LSTM": 3, "GRU": 2}
"""Gates (leading, after :func:`prepare_weights`' reordering) computed as sigmoids."""


def prepare_weights(op: str, w_ih, w_hh, input_bias, recurrent_bias):
    """One direction's weights (``loop_weights`` order and layout) in the kernel's float32 layout.

    LSTM gates are reordered from i, f, g, o to i, f, o, g; the rows of the
    sigmoid gates (LSTM i, f, o; GRU r, z) of ``w_ih``, ``w_hh`` and
    ``input_bias`` are multiplied by 0.5 (exact in binary floating point),
    so that ``tanh`` of a gate's pre-activation is ``tanh(x / 2)``.

    Returns:
        (w_ih (G*H, C), w_hh (G*H, H), input_bias (G*H,), recurrent_bias
        (H,) or None), float32, C-contiguous.
    """
    hidden = w_hh.shape[1]
    rows = np.arange(w_hh.shape[0])
    if op == "LSTM":
        rows = np.concatenate([rows[:2 * hidden], rows[3 * hidden:], rows[2 * hidden:3 * hidden]])
    scale = np.ones(len(rows), np.float32)
    scale[:SIGMOID_GATES[op] * hidden] = 0.5

    def arrange(w):
        return np.ascontiguousarray(np.asarray(w, np.float32)[rows] * (scale[:, None] if w.ndim == 2 else scale))
    bias = None if recurrent_bias is None else np.asarray(recurrent_bias, np.float32)
    return arrange(w_ih), arrange(w_hh), arrange(input_bias), bias


def _project(rows, w_ih, input_bias, flat, gx):
    """Every step's input projection plus bias into ``gx`` (T, G*H, N), through ``flat`` (T*N, G*H).

    One product for all steps, ``rows (T*N, C) @ w_ih^T``, then one pass
    adding the bias while transposing each step's (N, G*H) block (the bias
    as a full (G*H, N) array: a broadcast one makes NumPy's inner loop
    slower).
    """
    steps, gates, batch = gx.shape
    np.matmul(rows, w_ih.T, out=flat)
    bias = np.repeat(input_bias[:, None], batch, axis=1)
    np.add(flat.reshape(steps, batch, gates).transpose(0, 2, 1), bias, out=gx)


def _lstm_step(w_hh, hidden, batch):
    """``step(gx, h, c, h_out, c_out)``: one LSTM step on (H, N) states; gx is the step's (4H, N)
    projection, gates i, f, o, g with i, f, o pre-halved. ``c_out`` may be ``c``, ``h_out`` may be ``h``."""
    gates = np.empty((4 * hidden, batch), np.float32)
    sig, i, f, o, g = gates[:3 * hidden], gates[:hidden], gates[hidden:2 * hidden], \
        gates[2 * hidden:3 * hidden], gates[3 * hidden:]
    tmp = np.empty((hidden, batch), np.float32)
    mul, add, tanh = np.multiply, np.add, np.tanh

    def step(gx, h, c, h_out, c_out):
        np.matmul(w_hh, h, out=gates)
        add(gates, gx, out=gates)
        tanh(gates, out=gates)
        mul(sig, 0.5, out=sig)
        add(sig, 0.5, out=sig)  # i, f, o = sigmoid
        mul(f, c, out=c_out)
        mul(i, g, out=tmp)
        add(c_out, tmp, out=c_out)  # c' = f c + i g
        tanh(c_out, out=tmp)
        mul(o, tmp, out=h_out)  # h' = o tanh(c')
    return step


def _gru_step(w_hh, recurrent_bias, hidden, batch):
    """``step(gx, h, c, h_out, c_out)``: one GRU step (r, z pre-halved); ``c`` unused; ``h_out`` may be ``h``."""
    gates = np.empty((3 * hidden, batch), np.float32)
    rz, r, z, n = gates[:2 * hidden], gates[:hidden], gates[hidden:2 * hidden], gates[2 * hidden:]
    tmp = np.empty((hidden, batch), np.float32)
    mul, add, sub, tanh = np.multiply, np.add, np.subtract, np.tanh
    w_rz, w_n = w_hh[:2 * hidden], w_hh[2 * hidden:]
    bias = None if recurrent_bias is None else np.repeat(recurrent_bias[:, None], batch, axis=1)

    def step(gx, h, c, h_out, c_out):
        if bias is not None:  # linear_before_reset: n = tanh(W_n x + Wb_n + r (R_n h + Rb_n))
            np.matmul(w_hh, h, out=gates)
            add(rz, gx[:2 * hidden], out=rz)
            tanh(rz, out=rz)
            mul(rz, 0.5, out=rz)
            add(rz, 0.5, out=rz)  # r, z = sigmoid
            add(n, bias, out=n)
            mul(n, r, out=n)
        else:  # n = tanh(W_n x + Wb_n + R_n (r h) + Rb_n), Rb_n folded into the input bias
            np.matmul(w_rz, h, out=rz)
            add(rz, gx[:2 * hidden], out=rz)
            tanh(rz, out=rz)
            mul(rz, 0.5, out=rz)
            add(rz, 0.5, out=rz)
            mul(r, h, out=tmp)
            np.matmul(w_n, tmp, out=n)
        add(n, gx[2 * hidden:], out=n)
        tanh(n, out=n)
        sub(h, n, out=tmp)
        mul(tmp, z, out=tmp)
        add(n, tmp, out=h_out)  # h' = (1 - z) n + z h
    return step


def _simple_step(op, w_hh, hidden, batch):
    """``step(gx, h, c, h_out, c_out)``: one RELU / TANH step; ``c`` unused; ``h_out`` may be ``h``."""
    pre = np.empty((hidden, batch), np.float32)

    def step(gx, h, c, h_out, c_out):
        np.matmul(w_hh, h, out=pre)
        np.add(pre, gx, out=pre)
        if op == "TANH":
            np.tanh(pre, out=h_out)
        else:
            np.maximum(pre, 0.0, out=h_out)
    return step


def run_direction(op: str, rows, weights, h, c, out, reverse: bool, lengths=None, scratch=None):
    """One layer, one direction, on prepared weights (:func:`prepare_weights`).

    Args:
        op: "RELU", "TANH", "LSTM" or "GRU".
        rows: (T*N, C) float32 inputs, row ``t*N + n`` the input of sequence
            n at step t (any strides).
        weights: ``prepare_weights(...)`` of this layer and direction.
        h, c: (H, N) float32 initial hidden and cell state (hidden-major;
            c unused unless LSTM); not modified.
        out: (T, H, N) float32 view the states are written to: ``out[t]``
            the state after step t (0 past a sequence's length); each
            ``out[t]`` must be C-contiguous.
        reverse: run from step T-1 down to 0.
        lengths: optional (N,) ints in [1, T]: at a step ``t >= lengths[n]``
            sequence n keeps its states and its output is 0.
        scratch: optional float32 buffers (flat (T*N, G*H), gx (T, G*H, N))
            to reuse across calls (allocating them is page faults).
    Returns:
        (final h (H, N), final c (H, N) or None).
    """
    w_ih, w_hh, input_bias, recurrent_bias = weights
    steps, hidden, batch = out.shape
    flat, gx = scratch if scratch is not None else scratch_buffers(w_hh.shape[0], steps, batch)
    _project(rows, w_ih, input_bias, flat, gx)
    if op == "LSTM":
        step = _lstm_step(w_hh, hidden, batch)
        c = np.array(c, np.float32)  # updated in place
    elif op == "GRU":
        step = _gru_step(w_hh, recurrent_bias, hidden, batch)
    else:
        step = _simple_step(op, w_hh, hidden, batch)
    order = range(steps - 1, -1, -1) if reverse else range(steps)
    if lengths is None:
        for t in order:
            h_out = out[t]
            step(gx[t], h, c, h_out, c)
            h = h_out  # the next step reads the state where this one wrote it
        return h, c
    h = np.array(h, np.float32)
    h_new, c_new = np.empty_like(h), (np.empty_like(c) if op == "LSTM" else None)
    shortest = int(lengths.min())
    for t in order:
        h_out = out[t]
        if t < shortest:  # every sequence still running
            step(gx[t], h, c, h, c)
            h_out[...] = h
            continue
        valid = (lengths > t)[None, :]  # (1, N)
        step(gx[t], h, c, h_new, c_new)
        np.copyto(h, h_new, where=valid)
        if c_new is not None:
            np.copyto(c, c_new, where=valid)
        h_out[...] = 0.0
        np.copyto(h_out, h_new, where=valid)
    return h, c


def scratch_buffers(gates: int, steps: int, batch: int):
    """The (flat, gx) buffers of :func:`run_direction` for G*H = ``gates``."""
    return (np.empty((steps * batch, gates), np.float32), np.empty((steps, gates, batch), np.float32))


@kernel(LayerType.RNN)
def rnn(layer, x, *states):
    """The layer's outputs; BLAS keeps its own threads here (one small product per step: only BLAS can
    spread it over the cores)."""
    with blas_threads():
        return _rnn(layer, x, *states)


def _rnn(layer, x, *states):
    op = layer.op.name
    dirs, hidden = layer.num_directions, layer.hidden_size
    dtype = layer.inputs[0].dtype
    states = list(states)
    h0 = states.pop(0) if layer.has_initial_hidden else None
    c0 = states.pop(0) if layer.has_initial_cell else None
    lengths = states.pop(0) if layer.has_sequence_lengths else None
    x = np.asarray(x)
    if layer.batch_first:
        x = x.transpose(1, 0, 2)
    steps, batch = x.shape[:2]
    if lengths is not None:
        lengths = np.asarray(lengths).astype(np.int64)
        bad = (lengths < 1) | (lengths > steps)
        if bad.any():
            n = int(np.flatnonzero(bad)[0])
            raise ExecutionError(f"{layer.name}: sequence_lengths {layer.inputs[-1].name!r} must lie in "
                                 f"[1, {steps}] (the input's steps), found {int(lengths[n])} "
                                 f"for sequence {n}")
    rows = np.ascontiguousarray(x, np.float32).reshape(steps * batch, -1)
    zeros = np.zeros((hidden, batch), np.float32)
    h_n = np.empty((layer.num_layers * dirs, batch, hidden), np.float32)
    c_n = np.empty_like(h_n) if op == "LSTM" else None
    # buffers shared by every layer and direction
    scratch = scratch_buffers(GATE_COUNT[op] * hidden, steps, batch)
    seq = np.empty((steps, dirs * hidden, batch), np.float32)  # step, hidden-major state (row d*H + j), sequence
    between = None  # (T*N, D*H): layer k's output, layer k+1's input
    for k in range(layer.num_layers):
        for d in range(dirs):
            weights = prepare_weights(op, *(None if v is None else engine_weights(v, dtype)
                                             for v in loop_weights(layer, k, d == 1)))
            index = k * dirs + d
            h = zeros if h0 is None else np.asarray(h0[index], np.float32).T
            c = zeros if c0 is None else np.asarray(c0[index], np.float32).T
            h, c = run_direction(op, rows, weights, h, c, seq[:, d * hidden:(d + 1) * hidden],
                                 reverse=d == 1, lengths=lengths, scratch=scratch)
            h_n[index] = h.T
            if c_n is not None:
                c_n[index] = c.T
        if k + 1 < layer.num_layers:  # every projection of layer k is done: its input buffer is free
            if between is None:
                between = np.empty((steps * batch, dirs * hidden), np.float32)
            np.copyto(between.reshape(steps, batch, -1), seq.transpose(0, 2, 1))
            rows = between
    y = seq.transpose(2, 0, 1) if layer.batch_first else seq.transpose(0, 2, 1)  # (N, T, D*H) or (T, N, D*H)
    results = [np.ascontiguousarray(y), h_n]
    if c_n is not None:
        results.append(c_n)
    return results
