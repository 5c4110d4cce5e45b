"""Convert recurrent weights from PyTorch, ONNX, Keras and Keras CuDNN layers to netdsl's layout.

netdsl's canonical layout (``netdsl.layers.rnn``, docs/recurrent.md) is
PyTorch's: per layer ``k`` and direction (suffix ``""`` / ``"_reverse"``),
float32 ``<name>.l{k}{suffix}.weight_ih`` (G*H, C_in), ``.weight_hh``
(G*H, H), ``.bias_ih`` (G*H,), ``.bias_hh`` (G*H,); rows are gate blocks of
H in the order LSTM i, f, g, o; GRU r, z, n; RELU / TANH one block.

Every helper returns a dict ``scoped weight name -> float32 array`` for
``Network.bind_weights`` or ``save_weights`` (merge the dicts of several
layers or directions with ``|``). ``name`` is the RNN layer's scoped name.

Source conventions, each checked against an independent implementation in
tests/frameworks/test_recurrent.py:

* PyTorch (torch.nn.RNN/LSTM/GRU ``state_dict``): the canonical layout
  itself, keys ``weight_ih_l{k}[_reverse]`` etc. (torch docs, nn.LSTM);
  nn.RNNCell/LSTMCell/GRUCell: the same blocks under ``weight_ih``,
  ``weight_hh``, ``bias_ih``, ``bias_hh`` (no ``_l0``), as layer 0.
* ONNX RNN/LSTM/GRU (ONNX operator spec): ``W`` (D, G*H, C), ``R``
  (D, G*H, H), ``B`` (D, 2*G*H) = [Wb, Rb]; gate blocks LSTM i, o, f, c;
  GRU z, r, h; direction 0 forward, 1 reverse.
* Keras LSTM / GRU / SimpleRNN: ``kernel`` (C, G*H), ``recurrent_kernel``
  (H, G*H) — transposed w.r.t. torch; gate blocks LSTM i, f, c, o; GRU
  z, r, h; ``bias`` (G*H,) or, for GRU ``reset_after=True``, (2, 3H) =
  [input bias, recurrent bias].
* Keras CuDNNLSTM / CuDNNGRU (Keras 2.0.9 - 2.3, as in textgenrnn): same
  variable shapes as Keras, gate blocks LSTM i, f, c, o; GRU z, r, h; but
  Keras hands each gate block, flattened in C order without a transpose, to
  cuDNN, which reads it as its row-major (H, C_in) matrix. So a kernel block
  ``kernel[:, g*H:(g+1)*H]`` (C, H) holds torch's (H, C) block reshaped,
  not transposed, and a recurrent block (H, H) holds torch's block as is.
  ``bias`` is (2*G*H,) = [input biases of every gate, recurrent biases].
"""
from __future__ import annotations

import re
from typing import Mapping

import numpy as np

from ..graph.enums import RNNOperation
from ..graph.errors import WeightsError
from ..layers.rnn import GATE_COUNT, weight_role

# Gate order of each source, as indices into netdsl's (torch's) order.
ONNX_GATES = {"LSTM": ("i", "o", "f", "c"), "GRU": ("z", "r", "h")}
KERAS_GATES = {"LSTM": ("i", "f", "c", "o"), "GRU": ("z", "r", "h")}
TORCH_GATES = {"LSTM": ("i", "f", "c", "o"), "GRU": ("r", "z", "h")}


def _op_name(op) -> str:
    key = op.upper() if isinstance(op, str) else getattr(op, "name", None)
    if key not in GATE_COUNT:
        raise ValueError(f"unknown RNN op {op!r}; expected one of "
                         f"{', '.join(f'RNNOperation.{m}' for m in RNNOperation.__members__)}")
    return key


def _array(value) -> np.ndarray:
    """A float32 NumPy copy of a NumPy array, torch tensor or h5py dataset."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.array(value, dtype=np.float32)


def _to_torch_gates(blocks: np.ndarray, op: str, source_order: Mapping[str, tuple]) -> np.ndarray:
    """Reorder the gate blocks of axis 0 of ``blocks`` (G*H, ...) from ``source_order`` to torch's."""
    if op not in source_order:
        return blocks
    order = source_order[op]
    parts = np.split(blocks, len(order), axis=0)
    return np.concatenate([parts[order.index(g)] for g in TORCH_GATES[op]], axis=0)


def _entry(name, layer, reverse, weight_ih, weight_hh, bias_ih=None, bias_hh=None) -> dict:
    out = {f"{name}.{weight_role(layer, reverse, 'weight_ih')}": weight_ih,
           f"{name}.{weight_role(layer, reverse, 'weight_hh')}": weight_hh}
    if bias_ih is not None:
        out[f"{name}.{weight_role(layer, reverse, 'bias_ih')}"] = bias_ih
        out[f"{name}.{weight_role(layer, reverse, 'bias_hh')}"] = bias_hh
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def _check(what: str, array: np.ndarray, shape) -> None:
    if array.shape != tuple(shape):
        raise WeightsError(f"{what}: expected shape {tuple(shape)}, found {array.shape}")


def _hidden(what: str, recurrent: np.ndarray, gates: int, transposed: bool) -> int:
    """H from a recurrent matrix of shape (G*H, H) (torch, ONNX) or (H, G*H) (Keras)."""
    rows, cols = (recurrent.shape[1], recurrent.shape[0]) if transposed else recurrent.shape[-2:]
    if rows != gates * cols:
        shape = "(H, G*H)" if transposed else "(G*H, H)"
        raise WeightsError(f"{what}: recurrent weights of shape {recurrent.shape} are not {shape} with G={gates}")
    return cols


_TORCH_KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$")


def from_torch(name: str, state_dict: Mapping, op=None, *, prefix: str = "") -> dict:
    """Canonical arrays from a torch.nn.RNN / LSTM / GRU ``state_dict``.

    Args:
        name: the netdsl RNN layer's scoped name.
        state_dict: mapping with keys ``{prefix}weight_ih_l{k}[_reverse]``,
            ``weight_hh_...`` and optionally ``bias_ih_...``, ``bias_hh_...``
            (torch tensors or arrays); other keys are ignored.
        op: optional RNNOperation (or name) to check the gate count against.
        prefix: key prefix of the module inside a larger model (``"rnn."``).
    Returns:
        dict scoped name -> float32 array (same layout: torch's is canonical).
    Raises:
        WeightsError: no recurrent weights under ``prefix``, an LSTM with
            ``proj_size`` (``weight_hr``; not supported), or shapes that do
            not match ``op``.
    """
    out = {}
    for key, value in state_dict.items():
        if not key.startswith(prefix):
            continue
        match = _TORCH_KEY.match(key[len(prefix):])
        if not match:
            continue
        kind, layer, reverse = match.group(1), int(match.group(2)), bool(match.group(3))
        if kind == "weight_hr":
            raise WeightsError(f"{key}: LSTM with proj_size is not supported by netdsl's RNN layer")
        out[f"{name}.{weight_role(layer, reverse, kind)}"] = _array(value)
    if not out:
        raise WeightsError(f"no torch recurrent weights (weight_ih_l0 ...) under prefix {prefix!r}")
    if op is not None:
        gates = GATE_COUNT[_op_name(op)]
        for key, value in out.items():
            if key.endswith(".weight_hh"):
                _hidden(key, value, gates, transposed=False)
    return out


_TORCH_CELL_KEYS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def from_torch_cell(name: str, state_dict: Mapping, op=None, *, prefix: str = "") -> dict:
    """Canonical arrays from a torch.nn.RNNCell / LSTMCell / GRUCell ``state_dict``.

    A cell is one layer, one direction, one step: its keys are
    ``weight_ih`` (G*H, C), ``weight_hh`` (G*H, H) and, with ``bias=True``,
    ``bias_ih`` / ``bias_hh`` (G*H,) — torch's nn.LSTMCell / GRUCell docs —
    with no ``_l0`` suffix, gates in torch's order (LSTM i, f, g, o; GRU r,
    z, n). They become layer 0 of a netdsl RNN layer (run it over a
    sequence of length 1, or step it yourself).

    Args:
        name: the netdsl RNN layer's scoped name.
        state_dict: mapping with keys ``{prefix}weight_ih`` ... (torch tensors or arrays).
        op: optional RNNOperation (or name) to check the gate count against.
        prefix: the cell's module path plus ``.`` inside a larger model.
    Returns:
        dict scoped name -> float32 array: ``<name>.l0.weight_ih`` ...
    Raises:
        WeightsError: no ``weight_ih``/``weight_hh`` under ``prefix``, a bias
            without its pair, or shapes that do not match ``op``.
    """
    found = {k: state_dict[prefix + k] for k in _TORCH_CELL_KEYS if prefix + k in state_dict}
    if "weight_ih" not in found or "weight_hh" not in found:
        raise WeightsError(f"no torch cell weights ({prefix}weight_ih, {prefix}weight_hh) under prefix {prefix!r}")
    if ("bias_ih" in found) != ("bias_hh" in found):
        raise WeightsError(f"torch cell under prefix {prefix!r} has only one of bias_ih / bias_hh")
    out = {f"{name}.{weight_role(0, False, k)}": _array(v) for k, v in found.items()}
    w_hh = out[f"{name}.{weight_role(0, False, 'weight_hh')}"]
    if w_hh.ndim != 2:
        raise WeightsError(f"{prefix}weight_hh: expected a matrix (G*H, H), found shape {w_hh.shape}")
    if op is not None:
        _hidden(f"{prefix}weight_hh", w_hh, GATE_COUNT[_op_name(op)], transposed=False)
    return out


def from_onnx(name: str, op, W, R, B=None, *, layer: int = 0) -> dict:
    """Canonical arrays from the W / R / B inputs of one ONNX RNN, LSTM or GRU node.

    Args:
        name: the netdsl RNN layer's scoped name.
        op: RNNOperation: LSTM, GRU, or TANH / RELU for an ONNX RNN node
            (its ``activations`` attribute decides which).
        W: (D, G*H, C) input weights; R: (D, G*H, H) recurrent weights;
        B: optional (D, 2*G*H) biases [Wb, Rb]. D = 1 (forward) or 2
            (bidirectional: index 1 is the reverse direction). Gate blocks
            in ONNX order (LSTM i, o, f, c; GRU z, r, h).
        layer: the netdsl layer index this node becomes (ONNX nodes are
            single-layer; a stack of nodes is layers 0, 1, ...).
    Returns:
        dict scoped name -> float32 array for ``l{layer}`` (and ``l{layer}_reverse``).
    Notes:
        The netdsl layer must use the node's settings: GRU
        ``linear_before_reset`` (ONNX default 0 -> ``linear_before_reset=False``),
        default activations, no ``clip``, ``input_forget=0``, no peepholes
        (P), ``direction`` forward or bidirectional (not "reverse").
    Raises:
        WeightsError: shapes inconsistent with ``op``.
    """
    op = _op_name(op)
    gates = GATE_COUNT[op]
    W, R = _array(W), _array(R)
    if W.ndim != 3 or R.ndim != 3 or W.shape[0] != R.shape[0] or W.shape[0] not in (1, 2):
        raise WeightsError(f"ONNX {op} W {W.shape} and R {R.shape} must be (D, G*H, C) and (D, G*H, H), D 1 or 2")
    hidden = _hidden(f"ONNX {op} R", R, gates, transposed=False)
    dirs = W.shape[0]
    _check(f"ONNX {op} W", W, (dirs, gates * hidden, W.shape[2]))
    if B is not None:
        B = _array(B)
        _check(f"ONNX {op} B", B, (dirs, 2 * gates * hidden))
    out = {}
    for d in range(dirs):
        biases = (None, None)
        if B is not None:
            biases = (_to_torch_gates(B[d, :gates * hidden], op, ONNX_GATES),
                      _to_torch_gates(B[d, gates * hidden:], op, ONNX_GATES))
        out |= _entry(name, layer, d == 1, _to_torch_gates(W[d], op, ONNX_GATES),
                      _to_torch_gates(R[d], op, ONNX_GATES), *biases)
    return out


def _keras_check(op, activation, recurrent_activation):
    """Refuse Keras activations that netdsl's cell ``op`` does not compute."""
    if op in ("LSTM", "GRU"):
        if activation != "tanh" or recurrent_activation != "sigmoid":
            raise WeightsError(f"Keras {op} with activation={activation!r}, recurrent_activation="
                               f"{recurrent_activation!r}: netdsl's {op} computes tanh and the logistic sigmoid "
                               f"(Keras 2 before TF 2 defaults to hard_sigmoid; such a model cannot be matched)")
    elif activation != op.lower():
        raise WeightsError(f"Keras SimpleRNN with activation={activation!r} does not match op {op} "
                           f"(netdsl's RNN computes tanh for RNNOperation.TANH, relu for RNNOperation.RELU)")


def from_keras(name: str, op, kernel, recurrent_kernel, bias=None, *, layer: int = 0, reverse: bool = False,
               reset_after: bool | None = None, activation: str = "tanh",
               recurrent_activation: str = "sigmoid") -> dict:
    """Canonical arrays from a Keras LSTM, GRU or SimpleRNN layer (one direction).

    Keras computes ``x @ kernel + h @ recurrent_kernel + bias``, so netdsl's
    ``weight_ih`` is ``kernel.T`` with the gate blocks reordered.

    Args:
        name: the netdsl RNN layer's scoped name.
        op: LSTM, GRU, or TANH / RELU (SimpleRNN with that activation).
        kernel: (C, G*H), gate blocks LSTM i, f, c, o; GRU z, r, h.
        recurrent_kernel: (H, G*H), same gate order.
        bias: None (``use_bias=False``), (G*H,), or for GRU with
            ``reset_after=True`` (2, 3H) = [input bias, recurrent bias].
        layer: netdsl layer index; reverse: True for the backward layer of a
            Keras ``Bidirectional`` wrapper.
        reset_after: GRU: None infers it from the bias shape (2-D: True).
            The netdsl layer needs ``linear_before_reset=reset_after``.
        activation, recurrent_activation: the Keras layer's settings, to
            refuse what netdsl cannot compute (LSTM / GRU need "tanh" and
            "sigmoid"; Keras < 2.3.0 defaults to "hard_sigmoid"; a
            SimpleRNN's ``activation`` must name ``op``: "tanh" or "relu").
    Returns:
        dict scoped name -> float32 array; the recurrent bias is zero except
        for GRU ``reset_after=True``.
    Raises:
        WeightsError: shapes inconsistent with ``op``, unsupported activations.
    """
    op = _op_name(op)
    _keras_check(op, activation, recurrent_activation)
    gates = GATE_COUNT[op]
    kernel, recurrent_kernel = _array(kernel), _array(recurrent_kernel)
    hidden = _hidden(f"Keras {op} recurrent_kernel", recurrent_kernel, gates, transposed=True)
    _check(f"Keras {op} kernel", kernel, (kernel.shape[0], gates * hidden))
    w_ih = _to_torch_gates(kernel.T, op, KERAS_GATES)
    w_hh = _to_torch_gates(recurrent_kernel.T, op, KERAS_GATES)
    if bias is None:
        return _entry(name, layer, reverse, w_ih, w_hh)
    bias = _array(bias)
    if reset_after is None:
        reset_after = op == "GRU" and bias.ndim == 2
    if reset_after:
        if op != "GRU":
            raise WeightsError(f"reset_after applies to Keras GRU only, op is {op}")
        _check("Keras GRU (reset_after=True) bias", bias, (2, gates * hidden))
        b_ih, b_hh = bias[0], bias[1]
    else:
        _check(f"Keras {op} bias", bias, (gates * hidden,))
        b_ih, b_hh = bias, np.zeros_like(bias)
    return _entry(name, layer, reverse, w_ih, w_hh, _to_torch_gates(b_ih, op, KERAS_GATES),
                  _to_torch_gates(b_hh, op, KERAS_GATES))


def from_keras_cudnn(name: str, op, kernel, recurrent_kernel, bias, *, layer: int = 0,
                     reverse: bool = False) -> dict:
    """Canonical arrays from a Keras CuDNNLSTM or CuDNNGRU layer (Keras 2.0.9 - 2.3 HDF5 weights).

    Layout found in textgenrnn_weights.hdf5 (Keras 2.1.5, see docs/recurrent.md):
    ``kernel`` (C, G*H) and ``recurrent_kernel`` (H, G*H) are split into G
    gate blocks of H columns (LSTM i, f, c, o; GRU z, r, h). Keras passes
    each block flattened in C order to cuDNN, which reads it as a row-major
    (H, C_in) matrix: torch's block is ``block.reshape(H, C_in)`` — a
    reshape, not a transpose (for the square recurrent blocks, the block
    itself). ``bias`` (2*G*H,) = [input biases per gate, recurrent biases
    per gate]. cuDNN computes the logistic sigmoid, tanh and, for GRU, the
    reset gate after the recurrent product (``linear_before_reset=True``).

    Args:
        name: the netdsl RNN layer's scoped name.
        op: LSTM or GRU.
        kernel, recurrent_kernel, bias: the layer's three HDF5 datasets.
        layer: netdsl layer index; reverse: backward layer of a Bidirectional.
    Returns:
        dict scoped name -> float32 array.
    Raises:
        WeightsError: op not LSTM / GRU, or inconsistent shapes.
    """
    op = _op_name(op)
    if op not in ("LSTM", "GRU"):
        raise WeightsError(f"Keras CuDNN layers are LSTM or GRU, not {op}")
    gates = GATE_COUNT[op]
    kernel, recurrent_kernel, bias = _array(kernel), _array(recurrent_kernel), _array(bias)
    hidden = _hidden(f"Keras CuDNN{op} recurrent_kernel", recurrent_kernel, gates, transposed=True)
    in_features = kernel.shape[0]
    _check(f"Keras CuDNN{op} kernel", kernel, (in_features, gates * hidden))
    _check(f"Keras CuDNN{op} bias", bias, (2 * gates * hidden,))

    def blocks(matrix, cols):
        return np.concatenate([b.reshape(hidden, cols) for b in np.split(matrix, gates, axis=1)], axis=0)

    w_ih = _to_torch_gates(blocks(kernel, in_features), op, KERAS_GATES)
    w_hh = _to_torch_gates(blocks(recurrent_kernel, hidden), op, KERAS_GATES)
    b_ih = _to_torch_gates(bias[:gates * hidden], op, KERAS_GATES)
    b_hh = _to_torch_gates(bias[gates * hidden:], op, KERAS_GATES)
    return _entry(name, layer, reverse, w_ih, w_hh, b_ih, b_hh)
