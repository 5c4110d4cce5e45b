"""A small CRNN (convolutional recurrent network for text lines, Shi et al. 2015) with a runtime width,
written in netdsl, and its PyTorch re-implementation (the oracle) loaded with the same weights.

images (N, 1, 16, W) FLOAT, N and W runtime dimensions
  3 x [conv 3x3 pad 1 + ReLU + max pool]: pools 2x2/2, 2x2/2, 4x1/(4, 1)  -> (N, 32, 1, T), T = W // 4
  shuffle: transpose (3, 0, 1, 2), reshape (0, 0, C)                     -> (T, N, C)   sequence-major
  bidirectional LSTM, hidden 16                                           -> (T, N, 32)
  linear on the last axis: matmul with a (1, 32, K) constant + (1, 1, K) bias -> logits (T, N, K)
  top-k (MAX, k = 1) over classes                                         -> best (T, N, 1) INT32
CTC greedy decoding (collapse repeats, drop the blank 0) runs on the host: :func:`ctc_greedy_decode`.
"""
import numpy as np

from netdsl import ActivationType, DataType, ElementWiseOperation, Network, PoolingType
from netdsl.frameworks.recurrent import from_torch
from netdsl.graph.enums import MatrixOperation, RNNDirection, RNNOperation, TopKOperation

HEIGHT = 16
CHANNELS = (8, 16, 32)
POOLS = ((2, 2), (2, 2), (4, 1))  # window = stride; height 16 -> 8 -> 4 -> 1, width W -> W//2 -> W//4 -> W//4
HIDDEN = 16
CLASSES = 11  # blank (0) + 10 symbols
PROFILE = {"images": ((1, 1, HEIGHT, 32), (1, 1, HEIGHT, 200), (4, 1, HEIGHT, 1000))}
"""Optimization profile: batch 1..4, width 32..1000 (opt 200); T = width // 4 runs 8..250 loop steps."""


def build_crnn() -> Network:
    """The netdsl CRNN (weights declared, unbound): outputs ``logits`` (T, N, K) and ``best`` (T, N, 1) INT32."""
    net = Network("crnn")
    x = net.add_input("images", DataType.FLOAT, ("batch", 1, HEIGHT, "width"))
    for i, (channels, pool) in enumerate(zip(CHANNELS, POOLS)):
        with net.scope(f"conv{i}"):
            x = net.add_convolution_nd(x, channels, (3, 3), padding_nd=(1, 1), name="conv").output
            x = net.add_activation(x, ActivationType.RELU, name="relu").output
            x = net.add_pooling_nd(x, PoolingType.MAX, pool, stride_nd=pool, name="pool").output
    seq = net.add_shuffle(x, first_transpose=(3, 0, 1, 2), reshape_dims=(0, 0, CHANNELS[-1]), name="to_sequence").output
    seq = net.add_rnn(seq, 1, HIDDEN, RNNOperation.LSTM, direction=RNNDirection.BIDIRECTION, name="blstm").get_output(0)
    weight = net.add_constant((1, 2 * HIDDEN, CLASSES), name="fc.weight").output
    bias = net.add_constant((1, 1, CLASSES), name="fc.bias").output
    logits = net.add_matrix_multiply(seq, MatrixOperation.NONE, weight, MatrixOperation.NONE, name="fc.matmul").output
    logits = net.add_elementwise(logits, bias, ElementWiseOperation.SUM, name="fc.add_bias").output
    net.mark_output(logits, "logits")
    best = net.add_topk(logits, TopKOperation.MAX, 1, (2,), name="argmax").get_output(1)
    net.mark_output(best, "best")
    return net


def torch_crnn(seed: int = 0):
    """The PyTorch re-implementation with random weights from ``seed``; returns the module (eval mode).

    Weights are drawn with NumPy: He-normal convolutions, LSTM weights and biases uniform in [-0.5, 0.5],
    a unit-normal classifier (larger than torch's default initialisation, so that the best class varies
    along the sequence and decoding has something to collapse)."""
    import torch
    from torch import nn

    class CRNN(nn.Module):
        def __init__(self):
            super().__init__()
            layers, in_channels = [], 1
            for channels, pool in zip(CHANNELS, POOLS):
                layers += [nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU(), nn.MaxPool2d(pool, pool)]
                in_channels = channels
            self.cnn = nn.Sequential(*layers)
            self.rnn = nn.LSTM(CHANNELS[-1], HIDDEN, bidirectional=True)
            self.fc = nn.Linear(2 * HIDDEN, CLASSES)

        def forward(self, images):
            features = self.cnn(images)                      # (N, C, 1, T)
            seq = features.squeeze(2).permute(2, 0, 1)       # (T, N, C)
            return self.fc(self.rnn(seq)[0])                 # (T, N, K)

    model = CRNN().eval()
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("cnn.") and name.endswith("weight"):
                value = rng.standard_normal(p.shape) * np.sqrt(2.0 / np.prod(p.shape[1:]))
            elif name.startswith("cnn."):
                value = rng.uniform(-0.1, 0.1, p.shape)
            elif name.startswith("rnn."):
                value = rng.uniform(-0.5, 0.5, p.shape)
            else:
                value = rng.standard_normal(p.shape)
            p.copy_(torch.from_numpy(value.astype(np.float32)))
    return model


def torch_weights(model) -> dict:
    """The torch model's weights under the netdsl network's weight names."""
    sd = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    out = {}
    for i, index in enumerate((0, 3, 6)):  # the Conv2d modules of the Sequential
        out[f"conv{i}.conv.kernel"] = sd[f"cnn.{index}.weight"]
        out[f"conv{i}.conv.bias"] = sd[f"cnn.{index}.bias"]
    out |= from_torch("blstm", {k[len("rnn."):]: v for k, v in model.state_dict().items() if k.startswith("rnn.")},
                      "LSTM")
    out["fc.weight.weights"] = np.ascontiguousarray(sd["fc.weight"].T[None])  # (1, 2H, K): seq @ W^T
    out["fc.bias.weights"] = sd["fc.bias"].reshape(1, 1, CLASSES)
    return out


def ctc_greedy_decode(best: np.ndarray, blank: int = 0) -> list[list[int]]:
    """CTC best-path decoding of per-step class indices (T, N) or (T, N, 1): per sequence, collapse
    repeated labels, then drop blanks (Graves et al. 2006, best path decoding)."""
    best = np.asarray(best).reshape(best.shape[0], best.shape[1])
    out = []
    for n in range(best.shape[1]):
        labels, previous = [], None
        for label in best[:, n].tolist():
            if label != previous and label != blank:
                labels.append(label)
            previous = label
        out.append(labels)
    return out


def text_line_images(rng, batch: int, width: int) -> np.ndarray:
    """(batch, 1, 16, width) float32 test images with structure along the width (random 8-column blocks
    of different contrast over noise), so that the best class changes along the sequence."""
    blocks = np.repeat(rng.uniform(0, 3, (batch, 1, 1, width // 8 + 1)), 8, axis=3)[..., :width]
    rows = rng.uniform(0, 1, (batch, 1, HEIGHT, 1))
    return (rng.random((batch, 1, HEIGHT, width)) * blocks - rows).astype(np.float32)
