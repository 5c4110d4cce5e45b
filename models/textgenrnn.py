"""textgenrnn (Max Woolf, PyPI ``textgenrnn`` 2.0.0): a character-level language model, written in netdsl's
DSL. Registered as ``textgenrnn``.

The Keras 2.1.5 model of ``textgenrnn_weights.hdf5``: Embedding(465, 100)
``embedding`` -> CuDNNLSTM(128) ``rnn_1`` -> CuDNNLSTM(128) ``rnn_2`` ->
concatenation [embedding, rnn_1, rnn_2] (356 features per step) ``rnn_concat``
-> AttentionWeightedAverage ``attention`` -> Dense(465, softmax) ``output``.
The attention layer (textgenrnn's ``AttentionWeightedAverage``) scores each
step with one vector W (356, 1), ``a = softmax_t(x_t . W)``, and returns
``sum_t a_t x_t`` (its ``K.epsilon()`` of 1e-7 in the denominator is omitted:
the sum is >= 1, so the difference is below 1e-7 relative).

Input ``tokens``: (N, T) INT32 character indices (``VOCAB_FILE`` maps
characters to indices; index 0 is padding); textgenrnn feeds the last 40
characters (``MAXLEN``) after a start token, left-padded with 0. Output
``probabilities`` (N, 465): the next character's distribution.

Weights: ``weights/textgenrnn.h5`` (weights/README.md). The LSTM weights are
in cuDNN's per-gate layout in the Keras file (docs/recurrent.md).
"""
from __future__ import annotations

from netdsl import DataType, ElementWiseOperation, Network, Tensor
from netdsl.graph.enums import MatrixOperation, RNNOperation

from netdsl.models.blocks import _reshaped, add_embedding, add_linear

VOCAB_SIZE = 465
EMBEDDING_DIM = 100
HIDDEN = 128
MAXLEN = 40
START_TOKEN = "<s>"


def attention_weighted_average(net: Network, x: Tensor, *, name: str) -> Tensor:
    """textgenrnn's AttentionWeightedAverage on (N, T, F): ``sum_t softmax_t(x_t . W) x_t`` -> (N, F).

    Declares ``<name>.attention_W`` (F, 1) float32 — the Keras weight's own
    name and shape, so the Keras importer fills it by name — with
    ``Network.declare_weights``, the way to give a helper of your own weights.
    """
    features = x.shape[-1]
    w = net.declare_weights(net.scoped_name(name), "attention_W", (features, 1))
    with net.scope(name):
        kernel = net.add_constant((1, features, 1), _reshaped(w, (1, features, 1)), name="W").output
        scores = net.add_matrix_multiply(x, MatrixOperation.NONE, kernel, MatrixOperation.NONE,
                                         name="scores").output                     # (N, T, 1)
        weights = net.add_softmax(scores, axes=(1,), name="softmax").output       # over the steps
        weighted = net.add_elementwise(x, weights, ElementWiseOperation.PROD, name="weighted").output
    return net.add_reduce(weighted, "SUM", (1,), keep_dims=False, name=name).output


def build_network(batch: int | None = 1, steps: int | None = MAXLEN) -> Network:
    """textgenrnn on (batch, steps) tokens, static by default (1, 40).

    Args:
        batch: N (1 by default), or None for a runtime dimension ``batch``.
        steps: T, textgenrnn's 40 by default (its Keras model's input
            length), or None for a runtime dimension ``steps``.
    Runtime dimensions run on the reference executor, but netdsl's TensorRT
    lowering of recurrent layers needs a static batch and sequence length
    (its loop trip count and zero initial states are build-time constants),
    so engines are built from the static form.
    """
    net = Network("textgenrnn")
    tokens = net.add_input("tokens", DataType.INT32, ("batch" if batch is None else batch,
                                                      "steps" if steps is None else steps))
    x = add_embedding(net, tokens, VOCAB_SIZE, EMBEDDING_DIM, name="embedding")         # (N, T, 100)
    r1 = net.add_rnn(x, 1, HIDDEN, RNNOperation.LSTM, batch_first=True, name="rnn_1").get_output(0)
    r2 = net.add_rnn(r1, 1, HIDDEN, RNNOperation.LSTM, batch_first=True, name="rnn_2").get_output(0)
    feats = net.add_concatenation([x, r1, r2], axis=2, name="rnn_concat").output      # (N, T, 356)
    pooled = attention_weighted_average(net, feats, name="attention")
    logits = add_linear(net, pooled, VOCAB_SIZE, name="output")
    net.mark_output(net.add_softmax(logits, axes=(1,), name="probabilities").output)
    return net
