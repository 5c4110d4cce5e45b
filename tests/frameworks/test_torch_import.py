"""PyTorch / safetensors importer (netdsl.frameworks.torch_import) against torch itself.

Each layout rule is checked by running torch's own module and the netdsl
network built with the imported weights (reference executor) on the same
input; the error tests check the one-line report.
"""
import numpy as np
import pytest
import torch
import torch.nn as nn

from netdsl import DataType, Network, NetdslError
from netdsl.frameworks._importing import WeightImportError
from netdsl.frameworks.torch_import import convert_torch, import_state_dict, import_torch, load_state_dict
from netdsl.graph.enums import RNNDirection, RNNOperation
from netdsl.models.blocks import add_conv1d, add_embedding, add_linear
from netdsl.reference import execute
from netdsl.weights import WeightStore


class Mixed(nn.Module):
    """Conv1d -> BatchNorm1d -> PReLU, Linear on (N, L, C), an embedding, a 2-layer bidirectional GRU."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv1d(3, 6, 3, padding=1), nn.BatchNorm1d(6), nn.PReLU(6))
        self.head = nn.Linear(6, 4)
        self.emb = nn.Embedding(11, 4)
        self.gru = nn.GRU(4, 5, num_layers=2, bidirectional=True)

    def forward(self, x, tokens):
        y = self.body(x)                                   # (N, 6, L)
        y = self.head(y.transpose(1, 2))                  # (N, L, 4)
        seq, _ = self.gru(self.emb(tokens))               # tokens (T, N)
        return y, seq


def build_mixed(batch, length, steps):
    net = Network("mixed")
    x = net.add_input("x", DataType.FLOAT, (batch, 3, length))
    tokens = net.add_input("tokens", DataType.INT32, (steps, batch))
    with net.scope("stage0"):
        y = add_conv1d(net, x, 6, 3, padding=1, name="conv")
        y = net.add_unsqueeze(y, (3,), name="to4d").output             # IScaleLayer needs rank >= 4
        y = net.add_batch_norm(y, name="bn").output
        y = net.add_squeeze(y, (3,), name="to3d").output
        y = net.add_parametric_relu(y, slopes_shape=(1, 6, 1), name="act").output
    y = net.add_shuffle(y, first_transpose=(0, 2, 1), name="nlc").output
    y = add_linear(net, y, 4, name="head")
    e = add_embedding(net, tokens, 11, 4, name="emb")
    seq = net.add_rnn(e, 2, 5, RNNOperation.GRU, direction=RNNDirection.BIDIRECTION, name="gru").get_output(0)
    net.mark_output(y)
    net.mark_output(seq)
    return net


MIXED_MAPPING = {"stage*.conv": "body.*", "stage0.bn": "body.1", "stage0.act": "body.2"}


def _mixed_state(tmp_path):
    torch.manual_seed(0)
    model = Mixed().eval()
    with torch.no_grad():  # non-trivial running statistics
        model.body[1].running_mean.uniform_(-1, 1)
        model.body[1].running_var.uniform_(0.5, 2)
        model.body[2].weight.uniform_(0.05, 0.4)
    path = tmp_path / "mixed.pt"
    torch.save(model.state_dict(), path)
    return model, path


def test_layout_rules_match_torch(tmp_path):
    model, path = _mixed_state(tmp_path)
    net = build_mixed(2, 7, 5)
    # glob key "stage*.conv" -> "body.*" maps stage0.conv to body.0; exact keys for the rest
    arrays = import_torch(path, net, MIXED_MAPPING)
    assert list(arrays) == list(net.weights()) and all(a.dtype == np.float32 for a in arrays.values())
    net.bind_weights(arrays)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 7)).astype(np.float32)
    tokens = rng.integers(0, 11, (5, 2)).astype(np.int32)
    with torch.no_grad():
        y, seq = model(torch.from_numpy(x), torch.from_numpy(tokens.astype(np.int64)))
    got = execute(net, {"x": x, "tokens": tokens})
    np.testing.assert_allclose(got["head"], y.numpy(), atol=1e-5)
    np.testing.assert_allclose(got["gru"], seq.numpy(), atol=1e-5)


def test_callable_mapping_safetensors_and_hdf5_output(tmp_path):
    from safetensors.torch import save_file
    model, _ = _mixed_state(tmp_path)
    st = tmp_path / "mixed.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, st)
    net = build_mixed(1, 4, 3)
    table = {"stage0.conv": "body.0", "stage0.bn": "body.1", "stage0.act": "body.2"}
    out = tmp_path / "mixed.h5"
    arrays = convert_torch(st, net, out, lambda scope: table.get(scope, scope))
    store = WeightStore.open(out)
    assert list(store) == list(arrays) and store.layouts["stage0.conv.kernel"] == "KCS"
    for name, value in arrays.items():
        np.testing.assert_array_equal(store[name], value)
    assert "safetensors" not in store.attrs["source"] or store.attrs["source"].startswith("pytorch")


def test_cells_linear_on_vectors_and_lstm(tmp_path):
    torch.manual_seed(3)
    cells = nn.ModuleDict({"lstm": nn.LSTMCell(3, 4), "gru": nn.GRUCell(3, 4), "fc": nn.Linear(3, 2)})
    net = Network("cells")
    x = net.add_input("x", DataType.FLOAT, (1, 2, 3))              # one step, batch 2
    lstm = net.add_rnn(x, 1, 4, RNNOperation.LSTM, name="lstm").get_output(0)
    gru = net.add_rnn(x, 1, 4, RNNOperation.GRU, name="gru").get_output(0)
    v = net.add_input("v", DataType.FLOAT, (3,))
    fc = add_linear(net, v, 2, name="fc")
    for t in (lstm, gru, fc):
        net.mark_output(t)
    net.bind_weights(import_state_dict(cells.state_dict(), net))
    xv = np.random.default_rng(0).standard_normal((1, 2, 3)).astype(np.float32)
    got = execute(net, {"x": xv, "v": xv[0, 0]})
    with torch.no_grad():
        h, _ = cells["lstm"](torch.from_numpy(xv[0]))
        g = cells["gru"](torch.from_numpy(xv[0]))
        f = cells["fc"](torch.from_numpy(xv[0, 0]))
    np.testing.assert_allclose(got["lstm"][0], h.numpy(), atol=1e-6)
    np.testing.assert_allclose(got["gru"][0], g.numpy(), atol=1e-6)
    np.testing.assert_allclose(got["fc"], f.numpy(), atol=1e-6)


def test_state_dict_with_extra_key_and_wrong_shape_is_one_line(tmp_path):
    torch.manual_seed(0)
    sd = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8)).state_dict()
    sd["0.weight"] = torch.zeros(8, 3, 5, 5)          # wrong shape
    sd["2.weight"] = torch.zeros(4)                    # extra key (no netdsl scope maps to module "2")
    path = tmp_path / "bad.pt"
    torch.save(sd, path)
    net = Network("two")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 9, 9))
    y = net.add_convolution_nd(x, 8, (3, 3), name="0").output
    net.add_batch_norm(y, name="1")
    net.add_input("v", DataType.FLOAT, (1, 5))
    add_linear(net, net.tensor("v"), 2, name="fc")    # unfilled: nothing in the file
    with pytest.raises(WeightImportError) as info:
        import_torch(path, net)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    assert "unmapped source tensors: 2.weight" in message
    assert "unfilled netdsl weights: fc.kernel, fc.bias" in message
    assert "0.kernel: expected shape (8, 3, 3, 3), found (8, 3, 5, 5) in 0.weight" in message
    assert "num_batches_tracked" not in message and "0.bias" not in message.split("unfilled")[1].split("|")[0]


def test_storage_claiming_more_than_the_file_is_refused(tmp_path):
    import pickle
    good = (tmp_path / "good.pt")
    torch.save({"w": torch.ones(3)}, good, _use_new_zipfile_serialization=False)
    data = bytearray(good.read_bytes())
    # the legacy pickle records the storage's element count (3) as a BININT1 (K\x03) in the persistent id
    marker = b"K\x03"
    index = bytes(data).find(marker, len(pickle.dumps(0x1950a86a20f9469cfc6c, protocol=2)))
    assert index > 0
    data[index:index + 2] = b"K\xff"                   # 255 elements claimed, 3 present
    bad = tmp_path / "bad.pt"
    bad.write_bytes(bytes(data))
    with pytest.raises(NetdslError, match="claim"):
        load_state_dict(bad)
    assert set(load_state_dict(good)) == {"w"}


def test_missing_and_non_state_dict_files(tmp_path):
    with pytest.raises(WeightImportError, match="no such file"):
        load_state_dict(tmp_path / "none.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(WeightImportError, match="expected a state dict"):
        load_state_dict(tmp_path / "list.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(WeightImportError, match="junk.pt"):
        load_state_dict(tmp_path / "junk.pt")


def test_whole_model_and_nested_checkpoint_say_what_to_do(tmp_path):
    """torch.save(model) pickles the module (weights_only refuses it: the message is torch's, with terminal
    colour codes); a training checkpoint nests the state dict under a key the user must name."""
    model = nn.Sequential(nn.Conv2d(2, 3, 3))
    torch.save(model, tmp_path / "whole.pt")
    with pytest.raises(WeightImportError) as err:
        load_state_dict(tmp_path / "whole.pt")
    text = str(err.value)
    assert text == (f"{tmp_path / 'whole.pt'}: not a state dict: the file pickles Python objects, which "
                    "torch.load(weights_only=True) does not run (a whole model saved with torch.save(model)?); "
                    "save model.state_dict() instead")
    torch.save({"epoch": 3, "state_dict": model.state_dict()}, tmp_path / "ckpt.pt")
    with pytest.raises(WeightImportError) as err:
        load_state_dict(tmp_path / "ckpt.pt")
    assert str(err.value).endswith(": a checkpoint, not a state dict: 'state_dict' holds a mapping; "
                                   "pass key='state_dict' (the entry with the model's tensors)")
    with pytest.raises(WeightImportError) as err:
        load_state_dict(tmp_path / "ckpt.pt", key="model")
    assert str(err.value).endswith(": no entry 'model' in the checkpoint (its entries: 'epoch', 'state_dict')")
    arrays = load_state_dict(tmp_path / "ckpt.pt", key="state_dict")
    np.testing.assert_array_equal(arrays["0.weight"], model[0].weight.detach().numpy())


def test_plain_error_drops_colour_codes_and_cuts_at_a_word():
    from netdsl.frameworks._importing import plain_error
    assert plain_error(ValueError("\x1b[1mbold\x1b[0m text\nsecond line")) == "ValueError: bold text"
    long = plain_error(RuntimeError("word " * 100))
    assert long.startswith("RuntimeError: word word") and long.endswith(" ...") and len(long) <= len("RuntimeError: ") + 304
    assert plain_error(KeyError()) == "KeyError"
