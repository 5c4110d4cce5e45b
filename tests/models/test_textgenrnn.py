"""textgenrnn (netdsl.models.textgenrnn) against a PyTorch re-implementation loading the same Keras file.

The oracle reads textgenrnn_weights.hdf5 with h5py and builds torch modules:
nn.Embedding, two nn.LSTM with the CuDNNLSTM weights (each gate block of
Keras' cuDNN layout reshaped, not transposed, as Keras' CuDNN layers hand it
to cuDNN; gate order i, f, c, o = torch's), textgenrnn's
AttentionWeightedAverage (with its K.epsilon() = 1e-7) and the softmax
Dense layer. netdsl runs the zoo model with the shipped weights.
"""
import json

import h5py
import numpy as np
import pytest
import torch

from netdsl.models import textgenrnn as tg
from netdsl.reference import execute

from zoo_support import zoo_network

PROMPTS = ["I went to the store and bought a ", "This is one of the ", "The", ""]
WORDS = set("""a about after all also an and any are as at back be because been before being bit but by can
could day did do down even first for from get go going good got great had has have he her here him his how i if
in into is it its just know like little look made make man many me more most much my new no not now of off on one
only or other our out over people said same see she so some state still such take than that the their them then
there these they thing think this those time to two up us very was way we well went were what when where which
who will with world would year you your""".split())


class TorchTextgenrnn(torch.nn.Module):
    def __init__(self, path):
        super().__init__()
        with h5py.File(path, "r") as f:
            w = {k: torch.from_numpy(f[k][()]) for k in (
                "embedding/embedding/embeddings:0", "attention/attention/attention_W:0",
                "output/output/kernel:0", "output/output/bias:0")}
            rnn = {i: [f[f"rnn_{i}/rnn_{i}/{n}:0"][()] for n in ("kernel", "recurrent_kernel", "bias")] for i in (1, 2)}
        self.embedding = torch.nn.Embedding.from_pretrained(w["embedding/embedding/embeddings:0"])
        self.lstms = torch.nn.ModuleList()
        for i in (1, 2):
            kernel, recurrent, bias = rnn[i]
            hidden = recurrent.shape[0]
            lstm = torch.nn.LSTM(kernel.shape[0], hidden, batch_first=True)

            def blocks(m, cols):
                return np.concatenate([m[:, g * hidden:(g + 1) * hidden].reshape(hidden, cols) for g in range(4)])
            with torch.no_grad():
                lstm.weight_ih_l0.copy_(torch.from_numpy(blocks(kernel, kernel.shape[0])))
                lstm.weight_hh_l0.copy_(torch.from_numpy(blocks(recurrent, hidden)))
                lstm.bias_ih_l0.copy_(torch.from_numpy(bias[:4 * hidden]))
                lstm.bias_hh_l0.copy_(torch.from_numpy(bias[4 * hidden:]))
            self.lstms.append(lstm)
        self.attention_W = w["attention/attention/attention_W:0"]
        self.kernel, self.bias = w["output/output/kernel:0"], w["output/output/bias:0"]

    def forward(self, tokens):
        e = self.embedding(tokens)
        r1, _ = self.lstms[0](e)
        r2, _ = self.lstms[1](r1)
        x = torch.cat([e, r1, r2], dim=2).double()
        logits = (x @ self.attention_W.double())[..., 0]                     # textgenrnn AttentionWeightedAverage
        ai = torch.exp(logits - logits.max(dim=-1, keepdim=True).values)
        att = ai / (ai.sum(dim=1, keepdim=True) + 1e-7)
        pooled = (x * att[..., None]).sum(dim=1)
        return torch.softmax(pooled @ self.kernel.double() + self.bias.double(), dim=1)


@pytest.fixture(scope="module")
def vocab(data):
    return json.loads((data / "keras" / "textgenrnn_vocab.json").read_text(encoding="utf-8"))


def encode(vocab, texts):
    """textgenrnn's input: the start token then the text, the last 40, left-padded with 0."""
    idx = np.zeros((len(texts), tg.MAXLEN), np.int32)
    for row, text in enumerate(texts):
        tokens = ([vocab[tg.START_TOKEN]] + [vocab[c] for c in text])[-tg.MAXLEN:]
        idx[row, tg.MAXLEN - len(tokens):] = tokens
    return idx


def test_next_character_distributions_match_torch(data, vocab):
    tokens = encode(vocab, PROMPTS)
    oracle = TorchTextgenrnn(data / "keras" / "textgenrnn_weights.hdf5")
    with torch.no_grad():
        expected = oracle(torch.from_numpy(tokens.astype(np.int64))).numpy()
    got = execute(zoo_network("textgenrnn", batch=None), {"tokens": tokens})["probabilities"]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_greedy_generation_reads_english(vocab):
    chars = {i: c for c, i in vocab.items()}
    net = zoo_network("textgenrnn")
    text = "I "
    for _ in range(60):
        p = execute(net, {"tokens": encode(vocab, [text])})["probabilities"]
        text += chars[int(p[0].argmax())]
    words = [w.strip(".,!?'\"").lower() for w in text.split()[:-1]]      # the last word may be cut
    known = [w for w in words if w in WORDS]
    assert len(words) >= 8 and len(known) >= 0.8 * len(words), text
