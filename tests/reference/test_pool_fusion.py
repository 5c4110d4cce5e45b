"""Max pooling fused into the convolution kernel (netdsl.reference.fusion, convolution.convolve,
winograd.convolve_winograd): the pooled direct kernel gives the maxima of the unpooled kernel's outputs
(after bias and activation) within float32 rounding (the same products in a matrix of another width, which
BLAS may round differently for small matrices); fused network runs give the bits of unfused ones on realistic
layers. The Winograd kernel's pooling (exact) is tested with its work splits in test_winograd.py."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.graph.dtypes import DataType
from netdsl.graph.enums import ActivationType, PoolingType
from netdsl.graph.network import Network
from netdsl.reference import execute, fusion
from netdsl.reference.convolution import convolve
from pool_oracle import leaky, window_maxima


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 2), groups=st.sampled_from([1, 2]), cg=st.integers(1, 5), kg=st.integers(1, 6),
       h=st.integers(2, 40), w=st.integers(2, 40), kernel=st.sampled_from([(3, 3), (1, 1), (3, 2), (5, 5)]),
       dilation=st.sampled_from([(1, 1), (2, 1), (1, 2), (2, 3)]), pre=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       post=st.tuples(st.integers(0, 2), st.integers(0, 2)), pool=st.sampled_from([(2, 2), (3, 3), (2, 3), (1, 2)]),
       bias=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_direct_kernel_pools_exactly_the_activated_outputs(n, groups, cg, kg, h, w, kernel, dilation, pre, post,
                                                           pool, bias, seed):
    out = tuple((s + b + a - d * (r - 1) - 1) + 1 for s, b, a, d, r in zip((h, w), pre, post, dilation, kernel))
    if min(o // p for o, p in zip(out, pool)) < 1:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, cg * groups, h, w), dtype=np.float32)
    weights = rng.standard_normal((kg * groups, cg) + kernel, dtype=np.float32)
    b = rng.standard_normal(kg * groups, dtype=np.float32) if bias else None
    args = (x, weights, b, (1, 1), dilation, pre, post, groups, out)
    expected = window_maxima(convolve(*args, epilogue=leaky), pool)
    got = convolve(*args, epilogue=leaky, pool=pool)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 * max(1.0, float(np.abs(expected).max())))


def chain(c=8, k=16, hw=(20, 20), batch=2, stride=1, activation=True, pool_type=PoolingType.MAX, window=(2, 2),
          pool_stride=None, pool_padding=None, extra_consumer=False):
    """input -> 3x3 convolution -> [leaky ReLU] -> pooling; returns (network, conv, pool layer, input)."""
    rng = np.random.default_rng(c * k + hw[0])
    net = Network("pooled")
    x = net.add_input("x", DataType.FLOAT, (batch, c) + hw)
    conv = net.add_convolution_nd(x, k, (3, 3), rng.standard_normal((k, c, 3, 3)).astype(np.float32),
                                  rng.standard_normal(k).astype(np.float32), padding_nd=(1, 1),
                                  stride_nd=stride, name="conv")
    t = conv.output
    if activation:
        t = net.add_activation(t, ActivationType.LEAKY_RELU, 0.1, name="act").output
    pool = net.add_pooling_nd(t, pool_type, window, stride_nd=pool_stride or window,
                              padding_nd=pool_padding, name="pool")
    net.mark_output(pool.output)
    if extra_consumer:
        net.mark_output(net.add_activation(t, ActivationType.SIGMOID, name="other").output)
    return net, conv, pool, rng.standard_normal((batch, c) + hw).astype(np.float32)


@pytest.mark.parametrize("case, exact", [
    (dict(), False),                                          # direct kernel (few channels)
    (dict(c=3, hw=(37, 29)), False),                          # odd map: the last row and column are dropped
    (dict(activation=False), False),                          # no activation between them
    (dict(window=(3, 2), hw=(31, 30)), False),
    (dict(c=64, k=64, hw=(104, 104)), True),                  # Winograd, row blocks
    (dict(c=128, k=128, hw=(26, 26)), True),                  # Winograd, channel blocks
    (dict(c=128, k=128, hw=(26, 26), window=(3, 3)), True),   # a Winograd tile holds no whole windows: pooled after
    (dict(stride=2, hw=(40, 40)), True),                      # strided convolution: pooled after the kernel
])
def test_fused_chain_gives_the_unfused_layers_result(case, exact):
    """Bit for bit where the kernel computes the same products (Winograd; pooling after the kernel); the
    direct kernel's pooled products come from a matrix of another width, which BLAS may round differently."""
    net, conv, pool, x = chain(**case)
    fused = fusion.plan(net, set(net.outputs))
    assert pool in fused[conv].layers
    got = execute(net, {"x": x})[pool.output.name]
    layer_by_layer = execute(net, {"x": x}, outputs="all")  # "all" fuses nothing
    expected = layer_by_layer[pool.output.name]
    assert np.array_equal(expected, window_maxima(layer_by_layer[pool.inputs[0].name], case.get("window", (2, 2))))
    if exact:
        assert np.array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6 * float(np.abs(expected).max()))


@pytest.mark.parametrize("case", [
    dict(pool_type=PoolingType.AVERAGE),
    dict(pool_stride=(1, 1)),                         # overlapping windows
    dict(pool_padding=(1, 1)),
    dict(extra_consumer=True),                        # the activation's output is read twice
])
def test_other_poolings_are_not_fused(case):
    net, conv, pool, x = chain(**case)
    fused = fusion.plan(net, set(net.outputs))
    assert pool not in (fused[conv].layers if conv in fused else ())
    got = execute(net, {"x": x})[pool.output.name]
    assert np.array_equal(got, execute(net, {"x": x}, outputs="all")[pool.output.name])


def test_a_wanted_activation_output_stops_the_chain_there():
    net, conv, pool, x = chain()
    act = pool.inputs[0]
    fused = fusion.plan(net, {act, pool.output})
    assert [layer.name for layer in fused[conv].layers] == ["act"]
    out = execute(net, {"x": x}, outputs=[act.name, pool.output.name])
    assert np.array_equal(out[pool.output.name], window_maxima(out[act.name], (2, 2)))
