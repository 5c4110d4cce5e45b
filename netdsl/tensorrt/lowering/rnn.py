"""RNN -> one ILoop per layer and direction (TensorRT developer guide, "Working with Loops").

TensorRT 10 removed IRNNv2Layer, so the recurrence of ``netdsl.layers.rnn``
is spelled out with loop boundary layers, the same on TensorRT 8.6, 10.x,
11.x and TensorRT-RTX (their Python ILoop APIs do not differ:
tensorrt_python_api_by_version.txt):

* outside the loop, the input projection of every step at once:
  ``P = seq @ weight_ih^T + bias`` (one IMatrixMultiplyLayer, a (1, C_in, G*H)
  constant, broadcast over the step and batch dims);
* ``loop.add_trip_limit(T, TripLimit.COUNT)`` with a 0-D INT32 constant, or,
  when T is a runtime dimension, a 0-D shape tensor read from the input:
  ``IShapeLayer(input)`` -> ISliceLayer of the time axis -> IShuffleLayer to
  0-D (TensorRT's shape-tensor dtype: INT64 from 10.0, INT32 on 8.6);
* ``loop.add_iterator(P, time_axis, reverse)``: step t's (N, G*H) row, the
  backward direction iterating from the last step;
* ``loop.add_recurrence(h0)`` (and c0 for LSTM), fed back the new state
  with ``set_input(1, ...)``;
* the gates: ``h @ weight_hh^T`` (IMatrixMultiplyLayer), ISliceLayer per
  gate, IActivationLayer (SIGMOID, TANH, RELU) and IElementWiseLayer;
* ``loop.add_loop_output(h', CONCATENATE, time_axis)`` (REVERSE for the
  backward direction, so step t lands at index t) with ``set_input(1, T)``
  for the sequence, ``LAST_VALUE`` of the recurrence for the final states.

A runtime batch N: the (N, H) slices and reshapes inside and around the
loop take their sizes from the same IShapeLayer (ISliceLayer size input 2;
reshapes use -1 for N), and zero initial states are a CLAMP-mode slice of a
(1, H) zero constant to (N, H).

Per-sequence lengths (``sequence_lengths``, (N,) INT32): TensorRT 10 has no
IRNNv2Layer and so no ``setSequenceLengths``; the loop masks instead. A
third recurrence counts the time step ``t`` of the current iteration, an
INT32 (1, 1) tensor: 0, 1, ... for the forward direction, T-1, T-2, ...
for the backward one (whose iterator reads step T-1-i at iteration i).
Per iteration ``valid = LESS(t, len)`` ((N, 1) BOOL, ``len`` reshaped to
(N, 1) outside the loop) and

* ``h <- SELECT(valid, h', h)`` (and ``c`` for LSTM): a sequence's states
  stop changing after its last step;
* the concatenated output is ``SELECT(valid, h', 0)``: zeros past the end.

The backward loop therefore keeps its initial state for the steps
``t >= len`` it meets first and starts the recurrence at step ``len - 1``,
running to step 0: each sequence reversed within its own length, which is
what PyTorch's packed bidirectional RNNs compute — no gather of reversed
indices is needed, the REVERSE loop output already stores step ``t`` at
index ``t``. The final states (LAST_VALUE of the recurrences) are those of
step ``len - 1`` (forward) and step 0 (backward).

Bidirectional layers concatenate the two loops' sequences on the feature
axis; stacked layers chain. Every TensorRT layer is named
``<layer>::l{k}[_reverse].<part>``. Constants take the input's dtype (a
HALF input gives float16 weights, as a strongly typed network needs).
"""
from __future__ import annotations

import numpy as np

from ...graph.dtypes import DataType
from ...graph.enums import LayerType, SampleMode
from ...graph.shapes import is_static, is_static_shape
from ...layers.rnn import loop_weights, weight_role
from .registry import lowering


class _Builder:
    """Adds the TensorRT layers of one netdsl RNN layer, naming them ``<layer>::<prefix>.<part>``."""

    def __init__(self, ctx, layer, input):
        self.ctx, self.layer, self.trt = ctx, layer, ctx.trt
        self.net = ctx.network
        self.dtype = layer.inputs[0].dtype
        self.prefix = ""
        self.input = input  # the layer's trt input, whose shape gives the runtime T and N
        self.time_axis = 1 if layer.batch_first else 0
        x = layer.inputs[0]
        self.steps, self.batch = x.shape[self.time_axis], x.shape[1 - self.time_axis]
        self._sizes = {}

    # -- runtime dimensions: T and N read from the input's shape ---------------------------------------
    def axis_size(self, axis):
        """(1,) shape tensor (TensorRT's shape dtype): the input's dimension ``axis``."""
        if axis not in self._sizes:
            if "shape" not in self._sizes:
                self._sizes["shape"] = self.ctx.named(self.net.add_shape(self.input), self.layer,
                                                      "input_shape").get_output(0)
            part = self.net.add_slice(self._sizes["shape"], (axis,), (1,), (1,))
            self._sizes[axis] = self.ctx.named(part, self.layer, f"input_dim{axis}").get_output(0)
        return self._sizes[axis]

    def size_tensor(self, dims):
        """1-D shape tensor of ``dims``: ints, and the input's T and N where they are runtime Dims."""
        parts = []
        for d in dims:
            if is_static(d):
                key = ("const", int(d))
                if key not in self._sizes:
                    dtype = self.ctx.tm.shape_dtype()
                    const = self.net.add_constant((1,), self.ctx.weights(np.array([int(d)]), dtype))
                    self._sizes[key] = self.ctx.named(const, self.layer, f"dim_const{int(d)}").get_output(0)
                parts.append(self._sizes[key])
            elif d == self.batch:
                parts.append(self.axis_size(1 - self.time_axis))
            elif d == self.steps:
                parts.append(self.axis_size(self.time_axis))
            else:  # pragma: no cover - the lowering only asks for shapes of N, T, H and constants
                raise AssertionError(f"{self.layer.name}: no source for runtime dimension {d}")
        key = tuple(str(d) for d in dims)
        if key not in self._sizes:
            cat = self.net.add_concatenation(parts)
            cat.axis = 0
            self._sizes[key] = self.ctx.named(cat, self.layer, f"size({', '.join(key)})").get_output(0)
        return self._sizes[key]

    def trip_count(self):
        """0-D trip count: an INT32 constant for a static T, else the input's T as a 0-D shape tensor."""
        if is_static(self.steps):
            return self.ctx.constant(self.layer, "trip_count", np.array(self.steps, np.int32), DataType.INT32)
        to_scalar = self.net.add_shuffle(self.axis_size(self.time_axis))
        to_scalar.reshape_dims = ()
        return self.ctx.named(to_scalar, self.layer, "trip_count").get_output(0)

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

    def slice(self, part, x, start, shape, mode=None):
        static = tuple(d if is_static(d) else 1 for d in shape)
        size = None if is_static_shape(shape) else self.size_tensor(shape)  # a runtime N: from the input's shape
        sl = self.name(self.net.add_slice(x, tuple(start), static, (1,) * len(shape)), part)
        if size is not None:
            sl.set_input(2, size)
        if mode is not None:
            sl.mode = self.ctx.tm.enum(mode)
        return sl.get_output(0)

    def reshape(self, part, x, shape):
        """Reshape to ``shape``; one runtime dimension (N) is inferred by TensorRT (-1)."""
        runtime = [i for i, d in enumerate(shape) if not is_static(d)]
        size = self.size_tensor(shape) if len(runtime) > 1 else None
        shuffle = self.name(self.net.add_shuffle(x), part)
        if size is None:
            shuffle.reshape_dims = tuple(-1 if i in runtime else int(d) for i, d in enumerate(shape))
        else:
            shuffle.set_input(1, size)
        return shuffle.get_output(0)

    def int_const(self, part, value):
        return self.ctx.constant(self.layer, f"{self.prefix}{part}", np.asarray(value, np.int32), DataType.INT32)

    def concat(self, part, tensors, axis):
        if len(tensors) == 1:
            return tensors[0]
        cat = self.name(self.net.add_concatenation(list(tensors)), part)
        cat.axis = axis
        return cat.get_output(0)


def _initial_state(b, state, index, batch, hidden, part):
    """(N, H) initial state: row ``index`` of an (L*D, N, H) tensor, or zeros."""
    if state is None:
        if is_static(batch):
            return b.const(part, np.zeros((batch, hidden), np.float32))
        # runtime N: every row of a CLAMP-mode slice reads the (1, H) zero row
        return b.slice(part, b.const(f"{part}.zero_row", np.zeros((1, hidden), np.float32)), (0, 0),
                       (batch, hidden), mode=SampleMode.CLAMP)
    row = b.slice(f"{part}.slice", state, (index, 0, 0), (1, batch, hidden))
    return b.reshape(part, row, (batch, hidden))


def _step_counter(b, loop, reverse, trip):
    """A (1, 1) INT32 recurrence holding the time step of the current iteration (see module docstring)."""
    one = b.int_const("one", np.ones((1, 1)))
    if not reverse:
        start = b.int_const("t0", np.zeros((1, 1)))
    elif is_static(b.steps):
        start = b.int_const("t0", np.full((1, 1), b.steps - 1))
    else:  # T - 1 from the trip count (a shape tensor, INT64 from TensorRT 10)
        steps = trip
        if b.ctx.tm.shape_dtype() is not DataType.INT32:
            steps = b.name(b.net.add_cast(trip, b.trt.DataType.INT32), "steps_int32").get_output(0)
        start = b.elementwise("t0", b.reshape("steps_2d", steps, (1, 1)), one, "SUB")
    counter = b.name(loop.add_recurrence(start), "t")
    t = counter.get_output(0)
    counter.set_input(1, b.elementwise("t_next", t, one, "SUB" if reverse else "SUM"))
    return t


def _direction(b, seq, k, reverse, h0, c0, trip, lengths=None):
    """One loop; returns (sequence (T, N, H) or (N, T, H), final h (N, H), final c or None).

    ``lengths``: None, or the (N, 1) INT32 sequence lengths (masking: see module docstring)."""
    layer, trt = b.layer, b.trt
    op, hidden, time_axis = layer.op.name, layer.hidden_size, b.time_axis
    batch = b.batch
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
            hn = b.elementwise("h_n_bias", b.slice("h_gate_n", gh, (0, 2 * hidden), (batch, hidden)),
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
    y_t = h_new
    if lengths is not None:  # sequence t < len: update and output; else keep the states, output 0
        t = _step_counter(b, loop, reverse, trip)
        valid = b.elementwise("valid", t, lengths, "LESS")
        select = b.net.add_select
        h_new = b.name(select(valid, h_new, h), "h_masked").get_output(0)
        y_t = b.name(select(valid, y_t, b.const("zero", np.zeros((1, 1), np.float32))), "y_masked").get_output(0)
        if c_new is not None:
            c_new = b.name(select(valid, c_new, c_rec.get_output(0)), "c_masked").get_output(0)
            c_rec.set_input(1, c_new)
    h_rec.set_input(1, h_new)

    kind = trt.LoopOutput.REVERSE if reverse else trt.LoopOutput.CONCATENATE
    out = b.name(loop.add_loop_output(y_t, kind, time_axis), "sequence")
    out.set_input(1, trip)
    h_last = b.name(loop.add_loop_output(h, trt.LoopOutput.LAST_VALUE), "h_last").get_output(0)
    c_last = None
    if c_rec is not None:
        c_last = b.name(loop.add_loop_output(c_rec.get_output(0), trt.LoopOutput.LAST_VALUE), "c_last").get_output(0)
    return out.get_output(0), h_last, c_last


@lowering(LayerType.RNN)
def lower_rnn(ctx, layer, inputs):
    """Chained loops (see module docstring); outputs: sequence, h_n (L*D, N, H), c_n for LSTM."""
    b = _Builder(ctx, layer, inputs[0])
    states = list(inputs[1:])
    h_init = states.pop(0) if layer.has_initial_hidden else None
    c_init = states.pop(0) if layer.has_initial_cell else None
    lengths = states.pop(0) if layer.has_sequence_lengths else None
    seq = inputs[0]
    batch = b.batch
    hidden, dirs = layer.hidden_size, layer.num_directions
    trip = b.trip_count()
    if lengths is not None:
        lengths = b.reshape("lengths", lengths, (batch, 1))  # (N, 1): broadcasts against the (N, H) states
    h_n, c_n = [], []
    for k in range(layer.num_layers):
        outs = []
        for d in range(dirs):
            index = k * dirs + d
            b.prefix = weight_role(k, d == 1, "")  # "l0." / "l0_reverse."
            h0 = _initial_state(b, h_init, index, batch, hidden, "h0")
            c0 = _initial_state(b, c_init, index, batch, hidden, "c0") if layer.op.name == "LSTM" else None
            y, h, c = _direction(b, seq, k, d == 1, h0, c0, trip, lengths)
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
