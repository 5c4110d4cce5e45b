"""torch.nn.RNN / LSTM / GRU on CPU as the oracle of netdsl's RNN layer, with packed sequences for
per-sequence lengths: ``pack_padded_sequence(x, lengths, enforce_sorted=False)`` -> module ->
``pad_packed_sequence(..., total_length=T)`` (padding 0)."""
import numpy as np
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def torch_module(op, features, hidden, layers, bidirectional, batch_first=False, seed=0):
    """A float32 torch module for netdsl's op name (LSTM, GRU, TANH, RELU), weights from ``seed``."""
    torch.manual_seed(seed)
    kw = dict(num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    if op == "LSTM":
        return torch.nn.LSTM(features, hidden, **kw)
    if op == "GRU":
        return torch.nn.GRU(features, hidden, **kw)
    return torch.nn.RNN(features, hidden, nonlinearity=op.lower(), **kw)


def run_torch(module, op, x, lengths=None, h0=None, c0=None):
    """torch's outputs [sequence, h_n(, c_n)] as float32 arrays; with ``lengths`` through packed sequences."""
    with torch.no_grad():
        inp = torch.from_numpy(np.ascontiguousarray(x, np.float32))
        if lengths is not None:
            inp = pack_padded_sequence(inp, torch.from_numpy(np.asarray(lengths, np.int64)),
                                       batch_first=module.batch_first, enforce_sorted=False)
        state = None
        if h0 is not None:
            state = (torch.from_numpy(h0), torch.from_numpy(c0)) if op == "LSTM" else torch.from_numpy(h0)
        y, final = module(inp, state)
        if lengths is not None:
            y, _ = pad_packed_sequence(y, batch_first=module.batch_first,
                                       total_length=x.shape[1 if module.batch_first else 0])
    return [y.numpy()] + ([s.numpy() for s in final] if op == "LSTM" else [final.numpy()])
