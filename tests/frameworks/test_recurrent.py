"""Recurrent weight import (``netdsl.frameworks.recurrent``) against independent oracles.

* ONNX: onnxruntime runs a single LSTM / GRU / RNN node with the same W, R, B.
* Keras: the Keras LSTM / GRU / SimpleRNN formulas, written here in NumPy
  from the Keras source semantics (kernel (C, G*H) multiplies from the right).
* Keras CuDNN: torch weights written in the documented cuDNN per-gate layout
  round-trip to torch's outputs; the real textgenrnn weights (2x CuDNNLSTM)
  predict English under the documented layout and nonsense under others.
"""
import json

import h5py
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from netdsl import DataType, Network, WeightsError
from netdsl.graph.enums import RNNDirection, RNNOperation
from netdsl.reference import execute
from netdsl.weights import load_weights, save_weights
from netdsl.frameworks.recurrent import from_keras, from_keras_cudnn, from_onnx, from_torch

GATES = {"LSTM": 4, "GRU": 3, "TANH": 1, "RELU": 1}


def run_netdsl(arrays, op, x, hidden, *, layers=1, bidirectional=False, bias=True, linear_before_reset=True):
    """Run a netdsl RNN layer named "rnn" on x (T, N, C); returns its outputs as a list."""
    net = Network("import")
    xin = net.add_input("x", DataType.FLOAT, x.shape)
    layer = net.add_rnn(xin, layers, hidden, op, bias=bias, linear_before_reset=linear_before_reset,
                        direction=RNNDirection.BIDIRECTION if bidirectional else RNNDirection.UNIDIRECTION,
                        name="rnn")
    for t in layer.outputs:
        net.mark_output(t)
    net.bind_weights(arrays)
    got = execute(net, {"x": x})
    return [got[t.name] for t in layer.outputs]


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# -- ONNX -------------------------------------------------------------------------------
def run_onnx_node(op_type, x, W, R, B, hidden, direction, **attrs):
    """One ONNX RNN/LSTM/GRU node through onnxruntime: returns (Y (T, D, N, H), Y_h (D, N, H))."""
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, a.shape) for n, a in
              (("X", x), ("W", W), ("R", R), ("B", B))]
    dirs, batch = W.shape[0], x.shape[1]
    outputs = [helper.make_tensor_value_info("Y", TensorProto.FLOAT, (x.shape[0], dirs, batch, hidden)),
               helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, (dirs, batch, hidden))]
    node = helper.make_node(op_type, ["X", "W", "R", "B"], ["Y", "Y_h"], hidden_size=hidden, direction=direction,
                            **attrs)
    model = helper.make_model(helper.make_graph([node], "g", inputs, outputs),
                              opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"X": x, "W": W, "R": R, "B": B})


@pytest.mark.parametrize("case", [
    ("LSTM", "LSTM", {}, True), ("GRU", "GRU", dict(linear_before_reset=1), True),
    ("GRU", "GRU", dict(linear_before_reset=0), True), ("GRU", "GRU", {}, False),
    ("TANH", "RNN", {}, True), ("RELU", "RNN", dict(activations=["Relu", "Relu"]), True),
], ids=["lstm", "gru-lbr1", "gru-lbr0", "gru-lbr0-forward", "rnn-tanh", "rnn-relu"])
def test_onnx_matches_onnxruntime(case):
    op, op_type, attrs, bidirectional = case
    rng = np.random.default_rng(0)
    steps, batch, features, hidden = 9, 2, 3, 5
    dirs = 2 if bidirectional else 1
    g = GATES[op]
    x = rng.standard_normal((steps, batch, features)).astype(np.float32)
    W = rng.standard_normal((dirs, g * hidden, features)).astype(np.float32) * 0.5
    R = rng.standard_normal((dirs, g * hidden, hidden)).astype(np.float32) * 0.5
    B = rng.standard_normal((dirs, 2 * g * hidden)).astype(np.float32) * 0.5
    if op == "RELU" and not bidirectional:
        attrs = dict(activations=["Relu"])
    y, y_h = run_onnx_node(op_type, x, W, R, B, hidden, "bidirectional" if bidirectional else "forward", **attrs)
    lbr = attrs.get("linear_before_reset", 0) == 1 if op == "GRU" else True
    seq, h_n = run_netdsl(from_onnx("rnn", op, W, R, B), op, x, hidden, bidirectional=bidirectional,
                          linear_before_reset=lbr)[:2]
    np.testing.assert_allclose(seq, y.transpose(0, 2, 1, 3).reshape(steps, batch, dirs * hidden), atol=1e-5)
    np.testing.assert_allclose(h_n, y_h, atol=1e-5)


def test_onnx_without_bias_and_as_second_layer():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((1, 8, 3)).astype(np.float32)
    R = rng.standard_normal((1, 8, 2)).astype(np.float32)
    arrays = from_onnx("enc.rnn", RNNOperation.LSTM, W, R, layer=1)
    assert sorted(arrays) == ["enc.rnn.l1.weight_hh", "enc.rnn.l1.weight_ih"]
    # ONNX i, o, f, c blocks -> netdsl i, f, g, o
    np.testing.assert_array_equal(arrays["enc.rnn.l1.weight_ih"][2:4], W[0, 4:6])
    np.testing.assert_array_equal(arrays["enc.rnn.l1.weight_ih"][6:8], W[0, 2:4])
    with pytest.raises(WeightsError, match="not \\(G\\*H, H\\) with G=3"):
        from_onnx("rnn", "GRU", W, R)


# -- Keras ------------------------------------------------------------------------------
def keras_layer(op, x, kernel, recurrent, bias, reset_after=False, go_backwards=False):
    """Keras' LSTM / GRU / SimpleRNN (return_sequences) on x (T, N, C), written from the Keras formulas."""
    hidden = recurrent.shape[0]
    h = np.zeros((x.shape[1], hidden))
    c = np.zeros_like(h)
    steps = range(x.shape[0] - 1, -1, -1) if go_backwards else range(x.shape[0])
    ys = np.zeros((x.shape[0], x.shape[1], hidden))
    for t in steps:
        xt = x[t]
        if op == "LSTM":
            z = xt @ kernel + h @ recurrent + bias
            i, f = sigmoid(z[:, :hidden]), sigmoid(z[:, hidden:2 * hidden])
            c = f * c + i * np.tanh(z[:, 2 * hidden:3 * hidden])
            h = sigmoid(z[:, 3 * hidden:]) * np.tanh(c)
        elif op == "GRU":
            input_bias, rec_bias = (bias[0], bias[1]) if reset_after else (bias, np.zeros_like(bias))
            xz, xr, xh = np.split(xt @ kernel + input_bias, 3, axis=1)
            uz, ur, uh = np.split(recurrent, 3, axis=1)
            bz, br, bh = np.split(rec_bias, 3)
            z = sigmoid(xz + h @ uz + bz)
            r = sigmoid(xr + h @ ur + br)
            hh = np.tanh(xh + r * (h @ uh + bh)) if reset_after else np.tanh(xh + (r * h) @ uh)
            h = z * h + (1 - z) * hh
        else:
            pre = xt @ kernel + h @ recurrent + bias
            h = np.tanh(pre) if op == "TANH" else np.maximum(pre, 0)
        ys[t] = h
    return ys


@pytest.mark.parametrize("op, reset_after", [("LSTM", None), ("GRU", True), ("GRU", False), ("TANH", None),
                                             ("RELU", None)], ids=["lstm", "gru-reset-after", "gru-v1", "tanh",
                                                                   "relu"])
def test_keras_bidirectional_matches_keras_formula(op, reset_after):
    rng = np.random.default_rng(2)
    features, hidden, g = 4, 3, GATES[op]
    x = rng.standard_normal((8, 2, features)).astype(np.float32)
    arrays, expected = {}, []
    for reverse in (False, True):
        kernel = rng.standard_normal((features, g * hidden)).astype(np.float32) * 0.6
        recurrent = rng.standard_normal((hidden, g * hidden)).astype(np.float32) * 0.6
        bias = rng.standard_normal((2, g * hidden) if reset_after else (g * hidden,)).astype(np.float32)
        act = op.lower() if op in ("TANH", "RELU") else "tanh"
        arrays |= from_keras("rnn", op, kernel, recurrent, bias, reverse=reverse, activation=act)
        expected.append(keras_layer(op, x.astype(np.float64), kernel, recurrent, bias, bool(reset_after), reverse))
    seq, h_n = run_netdsl(arrays, op, x, hidden, bidirectional=True, linear_before_reset=reset_after is not False)[:2]
    np.testing.assert_allclose(seq, np.concatenate(expected, axis=2), atol=1e-5)
    np.testing.assert_allclose(h_n, np.stack([expected[0][-1], expected[1][0]]), atol=1e-5)


def test_keras_without_bias_and_refusals():
    rng = np.random.default_rng(3)
    kernel, recurrent = rng.standard_normal((2, 12)), rng.standard_normal((3, 12))
    arrays = from_keras("rnn", "LSTM", kernel, recurrent, layer=2)
    assert sorted(arrays) == ["rnn.l2.weight_hh", "rnn.l2.weight_ih"]
    assert arrays["rnn.l2.weight_ih"].dtype == np.float32
    with pytest.raises(WeightsError, match="hard_sigmoid"):
        from_keras("rnn", "LSTM", kernel, recurrent, recurrent_activation="hard_sigmoid")
    with pytest.raises(WeightsError, match=r"Keras GRU \(reset_after=True\) bias: expected shape \(2, 9\)"):
        from_keras("rnn", "GRU", kernel[:, :9], recurrent[:, :9], np.zeros(9), reset_after=True)
    with pytest.raises(WeightsError, match="SimpleRNN with activation='relu' does not match op TANH"):
        from_keras("rnn", "TANH", kernel[:, :3], recurrent[:, :3], activation="relu")
    with pytest.raises(ValueError, match="unknown RNN op 'SRU'"):
        from_keras("rnn", "SRU", kernel, recurrent)


# -- Keras CuDNN ------------------------------------------------------------------------
def to_cudnn_layout(op, weight_ih, weight_hh, bias_ih, bias_hh):
    """torch weights -> Keras CuDNN variables (inverse of the documented layout, written independently).

    Keras slices kernel[:, g*H:(g+1)*H] per gate (Keras gate order) and feeds
    ``reshape(block, (-1,))`` to cuDNN, which reads (H, C_in) row-major: so
    the block's C-order flat values are torch's (H, C_in) gate block.
    """
    torch_order = {"LSTM": "ifco", "GRU": "rzh"}[op]
    keras_order = {"LSTM": "ifco", "GRU": "zrh"}[op]
    hidden = weight_hh.shape[1]

    def gate(m, name):
        k = torch_order.index(name)
        return m[k * hidden:(k + 1) * hidden]

    kernel = np.concatenate([gate(weight_ih, n).reshape(-1, hidden) for n in keras_order], axis=1)
    recurrent = np.concatenate([gate(weight_hh, n).reshape(-1, hidden) for n in keras_order], axis=1)
    bias = np.concatenate([gate(b, n) for b in (bias_ih, bias_hh) for n in keras_order])
    return kernel, recurrent, bias


@pytest.mark.parametrize("op", ["LSTM", "GRU"])
def test_cudnn_layout_round_trips_torch(op):
    torch.manual_seed(4)
    module = (torch.nn.LSTM if op == "LSTM" else torch.nn.GRU)(5, 3, num_layers=2, bidirectional=True)
    sd = {k: v.numpy() for k, v in module.state_dict().items()}
    arrays = {}
    for layer in range(2):
        for sfx in ("", "_reverse"):
            parts = [sd[f"{kind}_l{layer}{sfx}"] for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            arrays |= from_keras_cudnn("rnn", op, *to_cudnn_layout(op, *parts), layer=layer, reverse=bool(sfx))
    assert arrays.keys() == from_torch("rnn", module.state_dict()).keys()
    x = np.random.default_rng(4).standard_normal((6, 2, 5)).astype(np.float32)
    with torch.no_grad():
        y, _ = module(torch.from_numpy(x))
    np.testing.assert_allclose(run_netdsl(arrays, op, x, 3, layers=2, bidirectional=True)[0], y.numpy(), atol=1e-5)


class TextGenRNN:
    """textgenrnn (Keras 2.1.5): Embedding(465, 100) -> CuDNNLSTM(128) x2 -> concat -> attention -> Dense(465).

    The two LSTMs run in netdsl's reference executor; the embedding,
    attention-weighted average and softmax are NumPy here.
    """

    MAXLEN = 40
    START = "<s>"

    def __init__(self, folder, convert):
        self.vocab = json.loads((folder / "textgenrnn_vocab.json").read_text(encoding="utf-8"))
        self.chars = {i: c for c, i in self.vocab.items()}
        with h5py.File(folder / "textgenrnn_weights.hdf5", "r") as f:
            read = {name: f[name][()] for name in ("embedding/embedding/embeddings:0", "attention/attention/attention_W:0",
                                                   "output/output/kernel:0", "output/output/bias:0")}
            self.rnn = [[f[f"rnn_{i}/rnn_{i}/{n}:0"][()] for n in ("kernel", "recurrent_kernel", "bias")]
                        for i in (1, 2)]
        self.embeddings = read["embedding/embedding/embeddings:0"]
        self.attention = read["attention/attention/attention_W:0"][:, 0]
        self.dense = (read["output/output/kernel:0"], read["output/output/bias:0"])
        self.arrays = {}
        for i, (kernel, recurrent, bias) in enumerate(self.rnn, 1):
            self.arrays |= convert(f"rnn_{i}", kernel, recurrent, bias)

    def probabilities(self, contexts):
        """Next-character probabilities (N, 465) after each context string."""
        idx = np.zeros((len(contexts), self.MAXLEN), np.int64)  # Keras pad_sequences: zeros in front
        for row, text in enumerate(contexts):
            tokens = ([self.vocab[self.START]] + [self.vocab[c] for c in text])[-self.MAXLEN:]
            idx[row, self.MAXLEN - len(tokens):] = tokens
        x = self.embeddings[idx].transpose(1, 0, 2).astype(np.float32)  # (T, N, 100)
        net = Network("textgenrnn")
        xin = net.add_input("x", DataType.FLOAT, x.shape)
        r1 = net.add_rnn(xin, 1, 128, RNNOperation.LSTM, name="rnn_1").get_output(0)
        r2 = net.add_rnn(r1, 1, 128, RNNOperation.LSTM, name="rnn_2").get_output(0)
        net.mark_output(r1)
        net.mark_output(r2)
        net.bind_weights(self.arrays)
        out = execute(net, {"x": x})
        feats = np.concatenate([x, out["rnn_1"], out["rnn_2"]], axis=2).astype(np.float64)  # (T, N, 356)
        scores = feats @ self.attention
        weights = np.exp(scores - scores.max(axis=0))
        weights /= weights.sum(axis=0)
        logits = (feats * weights[..., None]).sum(axis=0) @ self.dense[0] + self.dense[1]
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)

    def loss(self, text):
        """Mean negative log-likelihood (nats / char) of ``text`` given its prefixes."""
        p = self.probabilities([text[:i] for i in range(len(text))])
        return -np.mean(np.log([p[i, self.vocab[c]] for i, c in enumerate(text)]))


def _swap_gates(arrays, order):
    """Permute the LSTM gate blocks (netdsl order i, f, g, o) of every weight: a wrong gate order."""
    out = {}
    for name, value in arrays.items():
        blocks = np.split(value, 4, axis=0)
        out[name] = np.concatenate([blocks[k] for k in order], axis=0)
    return out


SENTENCE = "the weather is nice today, so we went for a walk in the park."


@pytest.fixture(scope="module")
def textgenrnn(data):
    return TextGenRNN(data / "keras", lambda n, k, r, b: from_keras_cudnn(n, "LSTM", k, r, b))


def test_textgenrnn_cudnn_layout_reads_english(textgenrnn):
    top = textgenrnn.probabilities(["I went to the store and bought a ", "This is one of the "])
    for row in top:
        best = [textgenrnn.chars[i] for i in np.argsort(row)[::-1][:5]]
        assert all(c.isalpha() or c == " " for c in best), best
    text = "I "
    for _ in range(50):  # greedy sampling
        text += textgenrnn.chars[int(textgenrnn.probabilities([text])[0].argmax())]
    letters = sum(c.isalpha() or c == " " for c in text)
    assert letters >= 0.9 * len(text) and " the " in text, text
    assert textgenrnn.loss(SENTENCE) < 2.0


def test_textgenrnn_wrong_layouts_fail(data, textgenrnn):
    good = textgenrnn.loss(SENTENCE)
    keras_layout = TextGenRNN(data / "keras", lambda n, k, r, b: from_keras(
        n, "LSTM", k, r, b[:512] + b[512:]))  # as if a Keras LSTM: transposed blocks
    assert keras_layout.loss(SENTENCE) > good + 3.0
    swapped = TextGenRNN(data / "keras", lambda n, k, r, b: _swap_gates(
        from_keras_cudnn(n, "LSTM", k, r, b), [0, 3, 1, 2]))  # gates read as ONNX's i, o, f, c
    assert swapped.loss(SENTENCE) > good + 2.0


def test_converted_weights_round_trip_hdf5(tmp_path, textgenrnn):
    path = tmp_path / "textgenrnn_lstm.h5"
    save_weights(path, textgenrnn.arrays, source="textgenrnn_weights.hdf5 via from_keras_cudnn")
    net = Network("lstm")
    x = net.add_input("x", DataType.FLOAT, (3, 1, 100))
    net.add_rnn(x, 1, 128, RNNOperation.LSTM, name="rnn_1")
    net.add_rnn(net.layer("rnn_1").get_output(0), 1, 128, RNNOperation.LSTM, name="rnn_2")
    load_weights(net, path)
    for name, w in net.weights().items():
        np.testing.assert_array_equal(w.value, textgenrnn.arrays[name])


# -- PyTorch ----------------------------------------------------------------------------
def test_torch_prefix_and_refusals():
    torch.manual_seed(5)
    model = torch.nn.Sequential(torch.nn.GRU(3, 4, num_layers=2))
    arrays = from_torch("dec.gru", model.state_dict(), "GRU", prefix="0.")
    assert sorted(arrays) == sorted(f"dec.gru.l{k}.{n}" for k in range(2)
                                    for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
    with pytest.raises(WeightsError, match="not \\(G\\*H, H\\) with G=4"):
        from_torch("dec.gru", model.state_dict(), "LSTM", prefix="0.")
    with pytest.raises(WeightsError, match="no torch recurrent weights"):
        from_torch("dec.gru", model.state_dict(), prefix="1.")
    with pytest.raises(WeightsError, match="proj_size"):
        from_torch("lstm", torch.nn.LSTM(3, 4, proj_size=2).state_dict())
