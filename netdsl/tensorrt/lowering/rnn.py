"""RNN -> one ILoop per layer and direction (TensorRT developer guide, "Working with Loops").

TensorRT 10 removed IRNNv2Layer, so the recurrence of ``netdsl.layers.rnn``
is spelled out with loop boundary layers, the same on TensorRT 8.6, 10.x,
11.x and TensorRT-RTX (their Python ILoop APIs do not differ:
tensorrt_python_api_by_version.txt):

* outside the loop, the input projection of every step at once:
  ``P = seq @ weight_ih^T + bias`` (one IMatrixMultiplyLayer, a (1, C_in, G*H)
  constant, broadcast over the step and batch dims);
* ``loop.add_trip_limit(T, TripLimit.COUNT)`` with a 0-D INT32 constant;
* ``loop.add_iterator(P, time_axis, reverse)``: step t's (N, G*H) row, the
  backward direction iterating from the last step;
* ``loop.add_recurrence(h0)`` (and c0 for LSTM), fed back the new state
  with ``set_input(1, ...)``;
* the gates: ``h @ weight_hh^T`` (IMatrixMultiplyLayer), ISliceLayer per
  gate, IActivationLayer (SIGMOID, TANH, RELU) and IElementWiseLayer;
* ``loop.add_loop_output(h', CONCATENATE, time_axis)`` (REVERSE for the
  backward direction, so step t lands at index t) with ``set_input(1, T)``
  for the sequence, ``LAST_VALUE`` of the recurrence for the final states.

Bidirectional layers concatenate the two loops' sequences on the feature
axis; stacked layers chain. Every TensorRT layer is named
``<layer>::l{k}[_reverse].<part>``. Constants take the input's dtype (a
HALF input gives float16 weights, as a strongly typed network needs).
"""
from __future__ import annotations

import numpy as np

from ...graph.dtypes import DataType
from ...graph.enums import LayerType
from ...layers.rnn import loop_weights, weight_role
from .registry import lowering


class _Builder:
    """Adds the TensorRT layers of one netdsl RNN layer, naming them ``<layer>::<prefix>.<part>``."""

    def __init__(self, ctx, layer):
        self.ctx, self.layer, self.trt = ctx, layer, ctx.trt
        self.net = ctx.network
        self.dtype = layer.inputs[0].dtype
        self.prefix = ""

    def name(self, trt_layer, part):
        return self.ctx.named(trt_layer, self.layer, f"{self.prefix}{part}")

    def const(self, part, value):
        return self.ctx.constant(self.layer, f"{self.prefix}{part}", np.asarray(value, np.float32), self.dtype)

    def matmul(self, part, a, b):
        none = self.trt.MatrixOperation.NONE
        return self.name(self.net.add_matrix_multiply(a, none, b, none), part).get_output(0)

    def elementwise(self, part, a, b, op):
        return self.name(self.net.add_elementwise(a, b, getattr(self.trt.ElementWiseOperation, op)),
                         part).get_output(0)

    def activation(self, part, x, kind):
        return self.name(self.net.add_activation(x, getattr(self.trt.ActivationType, kind)), part).get_output(0)

    def slice(self, part, x, start, shape):
        return self.name(self.net.add_slice(x, tuple(start), tuple(shape), (1,) * len(shape)), part).get_output(0)

    def reshape(self, part, x, shape):
        shuffle = self.name(self.net.add_shuffle(x), part)
        shuffle.reshape_dims = tuple(shape)
        return shuffle.get_output(0)

    def concat(self, part, tensors, axis):
        if len(tensors) == 1:
            return tensors[0]
        cat = self.name(self.net.add_concatenation(list(tensors)), part)
        cat.axis = axis
        return cat.get_output(0)


def _initial_state(b, state, index, batch, hidden, part):
    """(N, H) initial state: row ``index`` of an (L*D, N, H) tensor, or zeros."""
    if state is None:
        return b.const(part, np.zeros((batch, hidden), np.float32))
    row = b.slice(f"{part}.slice", state, (index, 0, 0), (1, batch, hidden))
    return b.reshape(part, row, (batch, hidden))


def _direction(b, seq, k, reverse, h0, c0, trip):
    """One loop; returns (sequence (T, N, H) or (N, T, H), final h (N, H), final c or None)."""
    layer, trt = b.layer, b.trt
    op, hidden, time_axis = layer.op.name, layer.hidden_size, 1 if layer.batch_first else 0
    batch = layer.inputs[0].shape[0 if layer.batch_first else 1]
    # biases folded as the reference kernel reads them (layers.rnn.loop_weights); b_hn of a
    # linear_before_reset GRU stays inside r * (R_n h + b_hn)
    w_ih, w_hh, input_bias, recurrent_bias = loop_weights(layer, k, reverse)
    gru_n = slice(2 * hidden, 3 * hidden)

    proj = b.matmul("input_projection", seq, b.const("weight_ih", w_ih.T[None]))
    proj = b.elementwise("input_bias", proj, b.const("bias", input_bias[None, None]), "SUM")

    loop = b.net.add_loop()
    loop.name = f"{layer.name}::{b.prefix}loop"
    b.name(loop.add_trip_limit(trip, trt.TripLimit.COUNT), "trip_limit")
    x_t = b.name(loop.add_iterator(proj, time_axis, reverse), "iterator").get_output(0)
    h_rec = b.name(loop.add_recurrence(h0), "h")
    h = h_rec.get_output(0)
    c_rec = b.name(loop.add_recurrence(c0), "c") if op == "LSTM" else None

    if op == "GRU":
        two = (batch, 2 * hidden)
        rz_weights = w_hh[:2 * hidden] if not layer.linear_before_reset else w_hh
        gh = b.matmul("recurrent", h, b.const("weight_hh", rz_weights.T))
        rz = b.activation("rz", b.elementwise("rz_sum", b.slice("x_rz", x_t, (0, 0), two),
                                              b.slice("h_rz", gh, (0, 0), two), "SUM"), "SIGMOID")
        r = b.slice("r", rz, (0, 0), (batch, hidden))
        z = b.slice("z", rz, (0, hidden), (batch, hidden))
        if layer.linear_before_reset:
            hn = b.elementwise("h_n_bias", b.slice("h_n", gh, (0, 2 * hidden), (batch, hidden)),
                               b.const("bias_hn", recurrent_bias[None]), "SUM")
            hn = b.elementwise("reset", r, hn, "PROD")
        else:
            hn = b.matmul("recurrent_n", b.elementwise("reset", r, h, "PROD"),
                          b.const("weight_hn", w_hh[gru_n].T))
        n = b.activation("n", b.elementwise("n_sum", b.slice("x_n", x_t, (0, 2 * hidden), (batch, hidden)), hn,
                                            "SUM"), "TANH")
        # h' = (1 - z) * n + z * h = n + z * (h - n)
        h_new = b.elementwise("h_new", n, b.elementwise("update", z, b.elementwise("h_minus_n", h, n, "SUB"),
                                                         "PROD"), "SUM")
        c_new = None
    else:
        pre = b.elementwise("gates", x_t, b.matmul("recurrent", h, b.const("weight_hh", w_hh.T)), "SUM")
        if op == "LSTM":
            sig = b.activation("sigmoid", pre, "SIGMOID")
            i, f, o = (b.slice(g, sig, (0, j * hidden), (batch, hidden)) for g, j in (("i", 0), ("f", 1), ("o", 3)))
            g = b.activation("g", b.slice("g_pre", pre, (0, 2 * hidden), (batch, hidden)), "TANH")
            c = c_rec.get_output(0)
            c_new = b.elementwise("c_new", b.elementwise("keep", f, c, "PROD"), b.elementwise("write", i, g, "PROD"),
                                  "SUM")
            h_new = b.elementwise("h_new", o, b.activation("tanh_c", c_new, "TANH"), "PROD")
            c_rec.set_input(1, c_new)
        else:
            h_new = b.activation("h_new", pre, "TANH" if op == "TANH" else "RELU")
            c_new = None
    h_rec.set_input(1, h_new)

    kind = trt.LoopOutput.REVERSE if reverse else trt.LoopOutput.CONCATENATE
    out = b.name(loop.add_loop_output(h_new, kind, time_axis), "sequence")
    out.set_input(1, trip)
    h_last = b.name(loop.add_loop_output(h, trt.LoopOutput.LAST_VALUE), "h_last").get_output(0)
    c_last = None
    if c_rec is not None:
        c_last = b.name(loop.add_loop_output(c_rec.get_output(0), trt.LoopOutput.LAST_VALUE), "c_last").get_output(0)
    return out.get_output(0), h_last, c_last


@lowering(LayerType.RNN)
def lower_rnn(ctx, layer, inputs):
    """Chained loops (see module docstring); outputs: sequence, h_n (L*D, N, H), c_n for LSTM."""
    b = _Builder(ctx, layer)
    states = list(inputs[1:])
    h_init = states.pop(0) if layer.has_initial_hidden else None
    c_init = states.pop(0) if layer.has_initial_cell else None
    seq = inputs[0]
    batch = layer.inputs[0].shape[0 if layer.batch_first else 1]
    hidden, dirs = layer.hidden_size, layer.num_directions
    trip = ctx.constant(layer, "trip_count", np.array(layer.max_seq_length, np.int32), DataType.INT32)
    h_n, c_n = [], []
    for k in range(layer.num_layers):
        outs = []
        for d in range(dirs):
            index = k * dirs + d
            b.prefix = weight_role(k, d == 1, "")  # "l0." / "l0_reverse."
            h0 = _initial_state(b, h_init, index, batch, hidden, "h0")
            c0 = _initial_state(b, c_init, index, batch, hidden, "c0") if layer.op.name == "LSTM" else None
            y, h, c = _direction(b, seq, k, d == 1, h0, c0, trip)
            outs.append(y)
            h_n.append(b.reshape("h_n", h, (1, batch, hidden)))
            if c is not None:
                c_n.append(b.reshape("c_n", c, (1, batch, hidden)))
        b.prefix = f"l{k}."
        seq = b.concat("bidirectional_concat", outs, 2)
    b.prefix = ""
    results = [seq, b.concat("h_n", h_n, 0)]
    if c_n:
        results.append(b.concat("c_n", c_n, 0))
    return results
