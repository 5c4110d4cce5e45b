"""Composite activations (mish, swish/silu, hard swish) from native layers, against torch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl import DataType, LayerType, Network
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.reference import execute

HELPERS = {"add_mish": F.mish, "add_swish": F.silu, "add_silu": F.silu, "add_hard_swish": F.hardswish}


def composite_net(helper, shape, dtype=DataType.FLOAT, name=None):
    net = Network("composite")
    x = net.add_input("x", DataType.FLOAT, shape)
    if dtype is not DataType.FLOAT:
        x = net.add_cast(x, dtype, name="cast").output
    layer = getattr(net, helper)(x, name=name)
    net.mark_output(layer.output)
    return net, layer


def values(shape, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 4
    x.flat[:5] = [-3.0, 3.0, 0.0, -20.0, 20.0]  # hard swish kinks; saturation
    return x


@pytest.mark.parametrize("helper", HELPERS)
def test_fp32_matches_torch(helper):
    x = values((2, 3, 4, 5))
    net, layer = composite_net(helper, x.shape)
    got = execute(net, {"x": x})[layer.output.name]
    np.testing.assert_allclose(got, HELPERS[helper](torch.from_numpy(x).double()).numpy(), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("helper", HELPERS)
def test_fp16_matches_torch(helper):
    """Each native layer rounds to float16: a few ulps of error against torch on the rounded input."""
    x = values((2, 3, 8), 1)
    net, layer = composite_net(helper, x.shape, DataType.HALF)
    got = execute(net, {"x": x})[layer.output.name]
    assert got.dtype == np.float16
    want = HELPERS[helper](torch.from_numpy(x.astype(np.float16)).double()).numpy()
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=4e-3, atol=4e-3)


@settings(max_examples=15, deadline=None)
@given(helper=st.sampled_from(sorted(HELPERS)), shape=st.lists(st.integers(1, 5), min_size=1, max_size=4))
def test_random_shapes_bf16(helper, shape):
    x = values(tuple(shape), len(shape))
    net, layer = composite_net(helper, tuple(shape), DataType.BF16)
    got = execute(net, {"x": x})[layer.output.name]
    want = HELPERS[helper](torch.from_numpy(x).to(torch.bfloat16).double()).numpy()
    np.testing.assert_allclose(got, want, rtol=3e-2, atol=3e-2)


def test_built_from_native_layers_under_the_name_scope():
    net, layer = composite_net("add_mish", (1, 4), name="act")
    assert [(l.name, l.type) for l in net.layers if l.type is not LayerType.CAST] == [
        ("act.softplus", LayerType.ACTIVATION), ("act.tanh", LayerType.ACTIVATION), ("act", LayerType.ELEMENTWISE)]
    assert (net.layer("act.softplus").alpha, net.layer("act.softplus").beta) == (1.0, 1.0)
    assert layer.output.name == "act" and layer.op.name == "PROD"
    hs = composite_net("add_hard_swish", (1, 4))[0].layer("hard_swish.hard_sigmoid")
    assert (hs.alpha, hs.beta) == (1 / 6, 0.5)


def test_default_names_are_unique():
    net = Network("two")
    x = net.add_input("x", DataType.FLOAT, (2, 2))
    a = net.add_swish(x)
    b = net.add_swish(a.output)
    with net.scope("head"):
        c = net.add_swish(b.output)
    assert (a.name, b.name, c.name) == ("swish", "swish1", "head.swish")


def test_errors_name_the_helper():
    net = Network("bad")
    i = net.add_input("i", DataType.INT32, (2, 2))
    with pytest.raises(NetworkDefinitionError, match=r"^mish: input 'i' must be FLOAT, HALF, BF16, found INT32"):
        net.add_mish(i)
    x = net.add_input("x", DataType.FLOAT, (2, 2))
    net.add_silu(x, name="act")
    count = len(net.layers)
    with pytest.raises(NetworkDefinitionError, match=r"^act: a layer of that name already exists"):
        net.add_hard_swish(x, name="act")
    assert len(net.layers) == count  # nothing half-added
