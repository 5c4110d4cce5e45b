"""netdsl's default alpha and beta per ActivationType are what TensorRT gives a new IActivationLayer.

The oracle is the installed TensorRT (TensorRT-RTX here): a layer added with
``add_activation`` and nothing set reports its defaults. A netdsl layer added
without alpha/beta must hold the same values (rounded to float32, as TensorRT
holds them), and its lowering must hand TensorRT the same values back.
"""
import numpy as np
import pytest

from netdsl import ActivationType, DataType, Network
from netdsl.layers.activation import DEFAULTS
from netdsl.tensorrt.compat import load_tensorrt


@pytest.fixture(scope="module")
def trt_defaults():
    tm = load_tensorrt()
    trt = tm.trt
    builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
    network = builder.create_network(0)
    x = network.add_input("x", trt.DataType.FLOAT, (1, 2))
    out = {}
    for member in ActivationType:
        kind = getattr(trt.ActivationType, member.name, None)
        if kind is not None:
            layer = network.add_activation(x, kind)
            out[member.name] = (layer.alpha, layer.beta)
    return out


def test_every_type_defaults_to_tensorrts_values(trt_defaults):
    assert len(trt_defaults) >= 12
    net = Network("defaults")
    x = net.add_input("x", DataType.FLOAT, (1, 2))
    for name, (alpha, beta) in trt_defaults.items():
        layer = net.add_activation(x, name, name=name.lower())
        assert (np.float32(layer.alpha), np.float32(layer.beta)) == (np.float32(alpha), np.float32(beta)), name


def test_the_table_names_only_types_with_nonzero_defaults(trt_defaults):
    nonzero = {name for name, values in trt_defaults.items() if values != (0.0, 0.0)}
    assert set(DEFAULTS) == nonzero


def test_given_values_win_over_defaults():
    net = Network("given")
    x = net.add_input("x", DataType.FLOAT, (1, 2))
    layer = net.add_activation(x, ActivationType.LEAKY_RELU, 0.0)
    assert (layer.alpha, layer.beta) == (0.0, 0.0)
    layer = net.add_activation(x, ActivationType.CLIP, beta=6.0)
    assert layer.alpha == -np.finfo(np.float32).max and layer.beta == 6.0
