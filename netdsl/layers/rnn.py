"""rnn: ``Network.add_rnn`` — stacked, optionally bidirectional RNN / LSTM / GRU.

Names follow TensorRT 8's IRNNv2Layer (``RNNOperation`` RELU, TANH, LSTM,
GRU; ``RNNDirection`` UNIDIRECTION, BIDIRECTION). TensorRT 10 removed
IRNNv2Layer; netdsl lowers this layer to an ILoop (``netdsl/tensorrt/lowering/rnn.py``).

Semantics (per layer ``k`` and direction, input ``x_t``, state ``h``; the
same as torch.nn.RNN / LSTM / GRU, ONNX RNN / LSTM / GRU with default
activations, and cuDNN; ``W`` = ``weight_ih``, ``R`` = ``weight_hh``,
``Wb`` = ``bias_ih``, ``Rb`` = ``bias_hh``, ``σ`` the logistic sigmoid)::

    RELU / TANH:  h' = act(W x + Wb + R h + Rb)
    LSTM (gates i, f, g, o in that order):
                  i = σ(W_i x + Wb_i + R_i h + Rb_i)   (f, o likewise)
                  g = tanh(W_g x + Wb_g + R_g h + Rb_g)
                  c' = f ⊙ c + i ⊙ g;   h' = o ⊙ tanh(c')
    GRU (gates r, z, n in that order):
                  r = σ(W_r x + Wb_r + R_r h + Rb_r)   (z likewise)
                  n = tanh(W_n x + Wb_n + r ⊙ (R_n h + Rb_n))       linear_before_reset=True
                  n = tanh(W_n x + Wb_n + R_n (r ⊙ h) + Rb_n)       linear_before_reset=False
                  h' = (1 - z) ⊙ n + z ⊙ h

The backward direction of a BIDIRECTION layer runs the same recurrence from
the last time step to the first; its outputs are stored at their own time
steps. Layer ``k > 0`` reads the (T, N, D*H) output of layer ``k - 1``
(forward features first, then backward).

Runtime dimensions: the steps T and the batch N may be runtime dimensions
(``net.add_input("x", DataType.FLOAT, ("time", "batch", 40))``); the
features C must be known when the network is defined (the weights are
(G*H, C)). The output shapes are then expressions of T and N, and the
TensorRT loop's trip count is read from the input's shape at run time.

Per-sequence lengths (``sequence_lengths``, an (N,) INT32 tensor ``len``),
as PyTorch's packed sequences (``torch.nn.utils.rnn.pack_padded_sequence``
then ``pad_packed_sequence`` with ``padding_value=0``): sequence ``n`` is
``x[0:len[n]]``; at a step ``t >= len[n]`` its states keep their values
and its output is 0. So the final states (outputs 1, 2) are those after
step ``len[n] - 1`` for the forward direction, and the backward direction
runs from step ``len[n] - 1`` down to 0 (each sequence reversed within its
own length, as torch's packed bidirectional RNNs do), its final states
being those after step 0. Lengths must lie in [1, T], the contract of
TensorRT 8's ``IRNNv2Layer::setSequenceLengths`` ("All sequence lengths in
seqLengths should be in the range [1, getMaxSeqLength()]. Zero-length
sequences are not supported. This tensor must be of type
DataType::kINT32"); TensorRT 8's documentation does not state the values
of the padded outputs, netdsl takes PyTorch's zeros.

Weight layout (PyTorch's; see docs/recurrent.md): for every layer ``k`` and
direction (suffix ``""`` forward, ``"_reverse"`` backward), float32 weights
``<name>.l{k}{suffix}.weight_ih`` (G*H, C_in), ``.weight_hh`` (G*H, H) and,
with ``bias=True``, ``.bias_ih`` (G*H,), ``.bias_hh`` (G*H,); G = 1 (RELU,
TANH), 4 (LSTM), 3 (GRU); C_in = C for layer 0, D*H above.
``netdsl.frameworks.recurrent`` converts PyTorch, ONNX, Keras and Keras
CuDNN weights to this layout.
"""
from __future__ import annotations

import numpy as np

from ..graph.dtypes import DataType
from ..graph.enums import LayerType, RNNDirection, RNNOperation
from ..graph.network import network_method
from ..graph.shapes import format_shape, is_static, require_at_least, require_equal
from ._checks import FLOAT_TYPES, as_enum, check_dtype, check_rank, fail, weights_arg

GATE_COUNT = {"RELU": 1, "TANH": 1, "LSTM": 4, "GRU": 3}
"""Gates per cell type: the G of the (G*H, ...) weight shapes."""

WEIGHT_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def weight_role(layer_index: int, reverse: bool, kind: str) -> str:
    """Role of one recurrent weight: ``l{k}.weight_ih``, ``l{k}_reverse.bias_hh`` ...

    The scoped weight name is ``<layer name>.<role>``.
    """
    return f"l{int(layer_index)}{'_reverse' if reverse else ''}.{kind}"


def loop_weights(layer, layer_index: int, reverse: bool):
    """The float32 weights of one layer and direction as the TensorRT loop holds them (before the
    conversion to the input's dtype), shared by the lowering and the reference kernel.

    The input and recurrent biases are folded into one input bias, in
    float32, since both are added outside any gate product: ``b_ih + b_hh``,
    except for GRU with ``linear_before_reset``, whose ``Rb_n`` stays inside
    ``r * (R_n h + Rb_n)``.

    Returns:
        ``(w_ih (G*H, C_in), w_hh (G*H, H), input_bias (G*H,), recurrent_bias)``;
        ``recurrent_bias`` is the GRU's ``Rb_n`` (H,) with linear_before_reset,
        else None. Without bias the biases are zeros.
    """
    def value(kind):
        return np.asarray(layer.weights[weight_role(layer_index, reverse, kind)].value, np.float32)

    w_ih, w_hh = value("weight_ih"), value("weight_hh")
    if layer.has_bias:
        b_ih, b_hh = value("bias_ih"), value("bias_hh")
    else:
        b_ih = b_hh = np.zeros(w_hh.shape[0], np.float32)
    hidden = layer.hidden_size
    if layer.op.name == "GRU" and layer.linear_before_reset:
        input_bias = b_ih.copy()
        input_bias[:2 * hidden] += b_hh[:2 * hidden]
        return w_ih, w_hh, input_bias, b_hh[2 * hidden:].copy()
    return w_ih, w_hh, b_ih + b_hh, None


def _positive(layer, value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        fail(layer, f"{what} must be a positive int, found {value!r}")
    return int(value)


def _check_state(network, layer, state, input, expected, what):
    check_rank(layer, state, 3, what)
    if state.dtype != input.dtype:
        fail(layer, f"{what} {state.name!r} must be {input.dtype.name} like input {input.name!r}, "
                    f"found {state.dtype.name}")
    if any(is_static(a) and is_static(b) and a != b for a, b in zip(state.shape, expected)):
        fail(layer, f"{what} {state.name!r} must have shape {format_shape(expected)} (layers*directions, batch, "
                    f"hidden_size), found {format_shape(state.shape)}")
    for axis, (found, want) in enumerate(zip(state.shape, expected)):  # runtime dims: checked at run time
        require_equal(network, layer, found, want, f"{what} {state.name!r} of shape {format_shape(expected)} "
                                                   f"(axis {axis}, found vs expected)")


def _check_lengths(network, layer, lengths, input, batch):
    """sequence_lengths: rank 1, INT32, (N,) with N the input's batch (a runtime requirement if N is one)."""
    check_rank(layer, lengths, 1, "sequence_lengths")
    check_dtype(layer, lengths, (DataType.INT32,), "sequence_lengths")
    (found,) = lengths.shape
    if is_static(found) and is_static(batch) and found != batch:
        fail(layer, f"sequence_lengths {lengths.name!r} must have shape ({batch},) (one length per sequence of "
                    f"input {input.name!r}), found ({found},)")
    require_equal(network, layer, found, batch, f"sequence_lengths {lengths.name!r} of one length per sequence "
                                                f"of input {input.name!r} (found vs batch)")


@network_method
def add_rnn(self, input, layer_count: int, hidden_size: int, op: RNNOperation, *,
            direction: RNNDirection = RNNDirection.UNIDIRECTION, batch_first: bool = False,
            initial_hidden=None, initial_cell=None, bias: bool = True, linear_before_reset: bool = True,
            sequence_lengths=None, name=None):
    """Add a stacked recurrent layer (RNN with RELU or TANH, LSTM or GRU), as TensorRT 8's add_rnn_v2.

    Args:
        input: (T, N, C) sequence-major, or (N, T, C) with ``batch_first``;
            FLOAT, HALF or BF16. T steps, N batch, C features. T and N may
            be runtime dimensions; C must be static.
        layer_count: L >= 1 stacked layers.
        hidden_size: H >= 1 features of the hidden (and cell) state.
        op: RNNOperation RELU, TANH, LSTM or GRU (or its name).
        direction: RNNDirection UNIDIRECTION (D = 1) or BIDIRECTION (D = 2)
            (or its name).
        batch_first: input and sequence output are (N, T, ...) instead of
            (T, N, ...); the states stay (L*D, N, H), as in torch.
        initial_hidden: optional (L*D, N, H) tensor of the input's dtype,
            index ``k*D + d`` for layer k, direction d; zeros if None.
        initial_cell: optional (L*D, N, H) LSTM cell state; zeros if None.
        bias: declare ``bias_ih`` / ``bias_hh`` weights (True) or not.
        linear_before_reset: GRU only: True (torch, cuDNN, TensorRT 8, ONNX
            ``linear_before_reset=1``, Keras ``reset_after=True``) applies
            the reset gate to ``R_n h + Rb_n``; False (ONNX default, Keras
            ``reset_after=False``) applies it to ``h`` before ``R_n``.
        sequence_lengths: optional (N,) INT32 tensor, the length of each
            sequence, each in [1, T] (any order: torch's
            ``enforce_sorted=False``). States stop updating after a
            sequence's length, outputs past it are 0, the backward
            direction reverses each sequence within its length (PyTorch
            packed-sequence semantics; see the module docstring). The
            reference executor raises ExecutionError for a length outside
            [1, T]; a TensorRT engine does not check them (as TensorRT 8's
            IRNNv2Layer did not).
    Returns:
        Layer with outputs, all of the input's dtype:
        0: the last layer's hidden state at every step, (T, N, D*H), or
        (N, T, D*H) with ``batch_first`` (forward features, then backward);
        1: final hidden states (L*D, N, H); 2 (LSTM only): final cell
        states (L*D, N, H). Weights (float32) as in the module docstring,
        declared unbound: bind them with ``Network.bind_weights``.
    Raises:
        NetworkDefinitionError: input not rank 3 or not float; unknown op or
            direction; non-positive layer_count / hidden_size; an initial
            state of the wrong shape or dtype; initial_cell for a non-LSTM
            op; linear_before_reset=False for a non-GRU op; features C a
            runtime dimension; sequence_lengths not rank 1, not INT32, or
            of a length other than the batch N; a static T < 1. Where the
            dimensions are runtime ones, a state's batch, sequence_lengths'
            N and T >= 1 become shape requirements (checked against
            optimization profiles and the executor's feeds: ShapeError /
            ExecutionError).
    """
    inputs = [t for t in (input, initial_hidden, initial_cell, sequence_lengths) if t is not None]
    name = self.begin_layer(LayerType.RNN, name, inputs)
    op = as_enum(name, RNNOperation, op, "op")
    direction = as_enum(name, RNNDirection, direction, "direction")
    layer_count = _positive(name, layer_count, "layer_count")
    hidden_size = _positive(name, hidden_size, "hidden_size")
    check_rank(name, input, 3)
    check_dtype(name, input, FLOAT_TYPES)
    if not isinstance(bias, bool):
        fail(name, f"bias must be True or False, found {bias!r}")
    if not linear_before_reset and op is not RNNOperation.GRU:
        fail(name, f"linear_before_reset=False applies to GRU only, op is {op.name}")
    if initial_cell is not None and op is not RNNOperation.LSTM:
        fail(name, f"initial_cell {initial_cell.name!r} is given, but only LSTM has a cell state (op is {op.name})")
    dirs = 2 if direction is RNNDirection.BIDIRECTION else 1
    time_axis = 1 if batch_first else 0
    steps, batch = input.shape[time_axis], input.shape[1 - time_axis]
    if not is_static(input.shape[2]):
        fail(name, f"input {input.name!r} must have static features (axis 2; the weights are (G*H, C)), "
                   f"found shape {format_shape(input.shape)}")
    state_shape = (layer_count * dirs, batch, hidden_size)
    if initial_hidden is not None:
        _check_state(self, name, initial_hidden, input, state_shape, "initial_hidden")
    if initial_cell is not None:
        _check_state(self, name, initial_cell, input, state_shape, "initial_cell")
    if sequence_lengths is not None:
        _check_lengths(self, name, sequence_lengths, input, batch)
    require_at_least(self, name, steps, 1, f"input {input.name!r} steps (axis {time_axis})")

    gates = GATE_COUNT[op.name] * hidden_size
    weights = {}
    for k in range(layer_count):
        in_features = input.shape[2] if k == 0 else dirs * hidden_size
        shapes = {"weight_ih": (gates, in_features), "weight_hh": (gates, hidden_size)}
        if bias:
            shapes.update(bias_ih=(gates,), bias_hh=(gates,))
        for d in range(dirs):
            for kind, shape in shapes.items():
                role = weight_role(k, d == 1, kind)
                weights[role] = weights_arg(self, name, role, None, shape, DataType.FLOAT)

    seq_shape = (batch, steps, dirs * hidden_size) if batch_first else (steps, batch, dirs * hidden_size)
    outputs = [(seq_shape, input.dtype), (state_shape, input.dtype)]
    if op is RNNOperation.LSTM:
        outputs.append((state_shape, input.dtype))
    attrs = dict(op=op, direction=direction, num_layers=layer_count, hidden_size=hidden_size,
                 max_seq_length=steps, data_length=input.shape[2], num_directions=dirs, batch_first=bool(batch_first),
                 has_bias=bias, linear_before_reset=bool(linear_before_reset),
                 has_initial_hidden=initial_hidden is not None, has_initial_cell=initial_cell is not None,
                 has_sequence_lengths=sequence_lengths is not None)
    return self.append_layer(LayerType.RNN, name, inputs, outputs, attrs, weights)
