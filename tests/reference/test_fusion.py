"""Convolution + activation fusion in the reference executor (netdsl.reference.fusion): a fused run gives
bit-identical outputs to an unfused one (outputs="all" fuses nothing), and only safe pairs fuse."""
import numpy as np
import pytest

from netdsl.graph.dtypes import DataType
from netdsl.graph.enums import ActivationType
from netdsl.graph.network import Network
from netdsl.reference import execute, fusion


def network(kind, alpha=0.0, beta=0.0, c=8, k=16, hw=20, dtype=DataType.FLOAT, extra_consumer=False):
    rng = np.random.default_rng(0)
    net = Network("fused")
    x = net.add_input("x", DataType.FLOAT, (2, c, hw, hw))
    if dtype is not DataType.FLOAT:
        x = net.add_cast(x, dtype).output
    conv = net.add_convolution_nd(x, k, (3, 3), rng.standard_normal((k, c, 3, 3)).astype(np.float32),
                                  rng.standard_normal(k).astype(np.float32), padding_nd=(1, 1), name="conv")
    act = net.add_activation(conv.output, kind, alpha, beta, name="act")
    net.mark_output(act.output)
    if extra_consumer:
        net.mark_output(net.add_activation(conv.output, ActivationType.SIGMOID, name="other").output)
    return net, conv, act, rng.standard_normal((2, c, hw, hw)).astype(np.float32)


@pytest.mark.parametrize("kind, alpha, beta", [
    (ActivationType.RELU, 0, 0), (ActivationType.LEAKY_RELU, 0.1, 0), (ActivationType.LEAKY_RELU, 1.0, 0),
    (ActivationType.CLIP, -0.5, 0.7), (ActivationType.CLIP, 0.0, 6.0)])
@pytest.mark.parametrize("shape", [dict(), dict(c=128, k=64, hw=26)])  # direct and Winograd kernels
def test_fused_outputs_are_bit_identical_to_unfused(kind, alpha, beta, shape):
    net, conv, act, x = network(kind, alpha, beta, **shape)
    assert conv in fusion.plan(net, {act.output})
    fused = execute(net, {"x": x})[act.output.name]
    everything = execute(net, {"x": x}, outputs="all")
    assert np.array_equal(fused, everything[act.output.name])
    conv_out = everything[conv.output.name]
    expected = {ActivationType.RELU: lambda v: np.maximum(v, 0),
                ActivationType.LEAKY_RELU: lambda v: np.where(v >= 0, v, np.float32(alpha) * v),
                ActivationType.CLIP: lambda v: np.clip(v, np.float32(alpha), np.float32(beta))}[kind](conv_out)
    assert np.array_equal(fused, expected)


@pytest.mark.parametrize("case", [
    dict(kind=ActivationType.SIGMOID),                               # not an in-place piecewise-linear function
    dict(kind=ActivationType.LEAKY_RELU, alpha=1.5),                 # max(x, a*x) is not leaky ReLU for a > 1
    dict(kind=ActivationType.RELU, dtype=DataType.HALF),             # rounded to fp16 between the layers
    dict(kind=ActivationType.RELU, extra_consumer=True),             # the convolution's output is read twice
])
def test_unsafe_pairs_are_not_fused(case):
    net, conv, act, x = network(**case)
    assert conv not in fusion.plan(net, set(net.outputs))


def test_a_wanted_intermediate_is_not_fused_away():
    net, conv, act, x = network(ActivationType.RELU)
    assert conv not in fusion.plan(net, {conv.output, act.output})
    out = execute(net, {"x": x}, outputs=[conv.output.name, act.output.name])
    assert np.array_equal(out[act.output.name], np.maximum(out[conv.output.name], 0))
    assert (out[conv.output.name] < 0).any()
