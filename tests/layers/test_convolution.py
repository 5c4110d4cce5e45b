"""add_convolution_nd: reference executor vs torch conv2d/conv3d (F.pad for asymmetric, SAME and ROUND_UP padding).

The padding each PaddingMode applies is computed here from the formulas of
TensorRT's ``PaddingMode`` documentation (NvInfer.h), independently of
``netdsl.layers.padding``; torch then pads and convolves.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.graph.dtypes import DataType
from netdsl.graph.enums import PaddingMode as PM
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute

TOL = {DataType.FLOAT: dict(rtol=1e-4, atol=1e-4), DataType.HALF: dict(rtol=2e-3, atol=2e-3),
       DataType.BF16: dict(rtol=1.6e-2, atol=1.6e-2)}
TORCH_DTYPE = {DataType.FLOAT: torch.float32, DataType.HALF: torch.float16, DataType.BF16: torch.bfloat16}


def doc_padding(mode, i, f, s, d, b, a):
    """(O, pre, post) for one dim from TensorRT's PaddingMode formulas (convolution); post covers a ROUND_UP window."""
    dk = 1 + d * (f - 1)
    if mode in (PM.SAME_UPPER, PM.SAME_LOWER):
        p = max(0, math.floor((i - 1) / s) * s + dk - i)
        b = p // 2 if mode is PM.SAME_UPPER else p - p // 2
        return math.ceil(i / s), b, p - b
    if mode in (PM.CAFFE_ROUND_DOWN, PM.CAFFE_ROUND_UP):
        a = b
    m = i + b + a
    rounding = math.ceil if mode in (PM.EXPLICIT_ROUND_UP, PM.CAFFE_ROUND_UP) else math.floor
    o = rounding((m - dk) / s) + 1
    return o, b, a + max(0, (o - 1) * s + dk - m)


def as_dtype(a, dtype):
    """float64 tensor of ``a`` rounded to ``dtype`` (what a cast to HALF / BF16 keeps)."""
    return torch.from_numpy(np.asarray(a, np.float32)).to(TORCH_DTYPE[dtype]).double()


def torch_conv(x, w, b, stride, dilation, groups, pre, post, dtype=DataType.FLOAT):
    n = w.ndim - 2
    pads = [p for pair in zip(reversed(pre), reversed(post)) for p in pair]
    xt = F.pad(as_dtype(x, dtype), pads)
    conv = F.conv2d if n == 2 else F.conv3d
    return conv(xt, as_dtype(w, dtype), None if b is None else as_dtype(b, dtype), stride, 0, dilation,
                groups).numpy()


def conv_net(shape, w, b, dtype=DataType.FLOAT, **kwargs):
    net = Network("conv")
    x = net.add_input("x", DataType.FLOAT, shape)
    if dtype is not DataType.FLOAT:
        x = net.add_cast(x, dtype).output
    layer = net.add_convolution_nd(x, w.shape[0], w.shape[2:], w, False if b is None else b, name="conv",
                                   **kwargs)
    net.mark_output(layer.output)
    return net, layer


def check(shape, k, ksize, groups=1, stride=1, dilation=1, pre=0, post=0, mode=PM.EXPLICIT_ROUND_DOWN,
          bias=True, dtype=DataType.FLOAT, seed=0):
    """Build, run and compare one convolution with torch; return the layer."""
    rng = np.random.default_rng(seed)
    n = len(ksize)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((k, shape[-n - 1] // groups, *ksize)).astype(np.float32)
    b = rng.standard_normal(k).astype(np.float32) if bias else None
    tup = lambda v: (v,) * n if isinstance(v, int) else tuple(v)  # noqa: E731
    stride, dilation, pre, post = tup(stride), tup(dilation), tup(pre), tup(post)
    net, layer = conv_net(shape, w, b, dtype, stride_nd=stride, dilation_nd=dilation, num_groups=groups,
                          pre_padding=pre, post_padding=None if mode.name.startswith("CAFFE") else post,
                          padding_mode=mode)
    geo = [doc_padding(mode, *args) for args in zip(shape[-n:], ksize, stride, dilation, pre, post)]
    out, tpre, tpost = zip(*geo)
    assert layer.output.shape == (*shape[:-n - 1], k, *out)
    assert layer.output.dtype is dtype
    got = execute(net, {"x": x})["conv"]
    want = torch_conv(x.reshape((-1,) + shape[-n - 1:]), w, b, stride, dilation, groups, tpre, tpost, dtype)
    np.testing.assert_allclose(got.astype(np.float32), want.reshape(layer.output.shape), **TOL[dtype])
    return layer


@pytest.mark.parametrize("mode", list(PM))
@pytest.mark.parametrize("shape, ksize, stride, dilation, pre, post", [
    ((2, 3, 9, 8), (3, 3), (2, 2), (1, 1), (1, 0), (0, 2)),
    ((1, 2, 10, 7), (3, 2), (3, 2), (2, 1), (2, 1), (1, 1)),
    ((1, 2, 5, 6, 7), (2, 3, 3), (2, 1, 2), (1, 2, 1), (0, 1, 1), (1, 0, 2)),
], ids=["2d-stride2-asym", "2d-dilated-stride3", "3d-mixed"])
def test_every_padding_mode_matches_torch(mode, shape, ksize, stride, dilation, pre, post):
    check(shape, 4, ksize, 1, stride, dilation, pre, post, mode)


@pytest.mark.parametrize("shape, k, ksize, groups", [
    ((2, 6, 7, 7), 4, (3, 3), 2),          # grouped
    ((1, 8, 6, 5), 8, (3, 3), 8),          # depthwise
    ((1, 4, 6, 5), 12, (1, 1), 4),         # depthwise multiplier 3, pointwise kernel
    ((1, 6, 4, 5, 6), 3, (3, 3, 3), 3),    # grouped 3-D
])
def test_groups_match_torch(shape, k, ksize, groups):
    check(shape, k, ksize, groups, stride=1, pre=1, post=1)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("ksize, dilation", [((4, 3), (1, 1)), ((2, 5), (3, 2)), ((2, 2, 3), (1, 2, 2))])
def test_same_upper_is_torch_padding_same_at_stride_1(ksize, dilation):
    """torch's padding='same' puts the odd cell after (SAME_UPPER); a second oracle, free of doc_padding."""
    n = len(ksize)
    rng = np.random.default_rng(4)
    shape = (1, 2) + (7, 6, 5)[:n]
    x, w = rng.standard_normal(shape).astype(np.float32), rng.standard_normal((3, 2, *ksize)).astype(np.float32)
    net, _ = conv_net(shape, w, None, dilation_nd=dilation, padding_mode=PM.SAME_UPPER)
    conv = F.conv2d if n == 2 else F.conv3d
    want = conv(torch.from_numpy(x), torch.from_numpy(w), padding="same", dilation=dilation).numpy()
    np.testing.assert_allclose(execute(net, {"x": x})["conv"], want, **TOL[DataType.FLOAT])


def test_no_bias_and_pointwise_fast_path():
    check((2, 5, 4, 3), 3, (1, 1), bias=False)


def test_leading_batch_dims():
    """TensorRT convolves the innermost C, H, W; the dims before are batch dims."""
    layer = check((2, 3, 4, 6, 5), 2, (3, 3), pre=1, post=1)
    assert layer.output.shape == (2, 3, 2, 6, 5)


@pytest.mark.parametrize("dtype", [DataType.HALF, DataType.BF16])
def test_reduced_precision_uses_rounded_weights(dtype):
    """fp16 / bf16: input and weights in that type (the lowering converts weights), fp32 accumulation."""
    check((1, 4, 8, 8), 3, (3, 3), groups=1, stride=2, pre=1, post=1, mode=PM.SAME_LOWER, dtype=dtype)


def test_padding_attributes():
    """pre/post_padding hold the padding applied; overhang is the ROUND_UP room past the declared padding."""
    layer = check((1, 1, 6, 6), 1, (3, 3), stride=2, pre=(1, 0), post=(1, 0), mode=PM.EXPLICIT_ROUND_UP)
    assert layer.output.shape == (1, 1, 4, 3)
    assert (layer.pre_padding, layer.post_padding, layer.overhang) == ((1, 0), (2, 1), (1, 1))
    same = check((1, 1, 6, 7), 1, (4, 4), stride=1, mode=PM.SAME_UPPER, pre=5, post=5)  # explicit ignored
    assert (same.pre_padding, same.post_padding, same.overhang) == ((1, 1), (2, 2), (0, 0))


@settings(max_examples=20, deadline=None)
@given(data=st.data(), n=st.sampled_from([2, 3]), mode=st.sampled_from(list(PM)),
       dtype=st.sampled_from([DataType.FLOAT, DataType.FLOAT, DataType.HALF, DataType.BF16]))
def test_random_convolutions(data, n, mode, dtype):
    groups = data.draw(st.sampled_from([1, 1, 2, 3]))
    channels, k = groups * data.draw(st.integers(1, 3)), groups * data.draw(st.integers(1, 3))
    ksize = tuple(data.draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    stride = tuple(data.draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    dilation = tuple(data.draw(st.lists(st.integers(1, 2), min_size=n, max_size=n)))
    pre = tuple(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    post = tuple(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)))
    spatial = tuple(data.draw(st.integers(1 + d * (f - 1), 1 + d * (f - 1) + 5)) for f, d in zip(ksize, dilation))
    shape = (data.draw(st.integers(1, 2)), channels, *spatial)
    check(shape, k, ksize, groups, stride, dilation, pre, post, mode, data.draw(st.booleans()), dtype)


def test_declared_weights_are_named_and_bound_later():
    net = Network("store")
    x = net.add_input("x", DataType.FLOAT, (1, 4, 5, 5))
    with net.scope("block"):
        layer = net.add_convolution_nd(x, 6, (3, 3), num_groups=2, name="conv")
    assert {n: w.shape for n, w in net.weights().items()} == {"block.conv.kernel": (6, 2, 3, 3),
                                                              "block.conv.bias": (6,)}


@pytest.mark.parametrize("shape, k, ksize, kwargs, message", [
    ((1, 3, 8), 4, (3, 3), {}, r"input 'x' must have rank 4 or more \(batch dims, C, H, W\) for a 2-D "
                               r"window, found shape \(1, 3, 8\)"),
    ((1, 3, 8, 8), 4, (3, 3, 3), {}, r"input 'x' must have rank 5 or more .*found shape \(1, 3, 8, 8\)"),
    ((1, 3, 8, 8), 4, (3,), {}, r"kernel_shape must have 2 or 3 values"),
    ((1, 3, 8, 8), 4, 3, {}, r"kernel_shape must be a tuple of 2 or 3 ints, found 3"),
    ((1, 3, 8, 8), 4, (3, 3), dict(num_groups=2),
     r"input channels \(3\) and num_output_maps \(4\) must both be divisible by num_groups \(2\)"),
    ((1, 4, 8, 8), 3, (3, 3), dict(num_groups=2),
     r"input channels \(4\) and num_output_maps \(3\) must both be divisible"),
    ((1, 3, 8, "width"), 4, (3, 3), dict(num_groups=2),  # a runtime last dim: no NHWC hint, no TypeError
     r"input channels \(3\) and num_output_maps \(4\) must both be divisible by num_groups \(2\); input 'x' "
     r"has shape \(1, 3, 8, Dim\(width\)\)$"),
    ((1, 4, 8, 8), 0, (3, 3), {}, r"num_output_maps must be a positive int, found 0"),
    ((1, 3, 8, 8), 4, (9, 9), {}, r"spatial input \(8, 8\) is too small for kernel_shape \(9, 9\).*"
                                  r"output dimension 0 would be 0"),
    ((1, 3, 8, 8), 4, (3, 3), dict(dilation_nd=(1, 4)),
     r"spatial input \(8, 8\) is too small .*output dimension 1 would be 0"),
    ((1, 3, 8, 8), 4, (3, 3), dict(pre_padding=(-1, 0)), r"padding must be in \[0, 100000\], found "
                                                          r"pre_padding \(-1, 0\)"),
    ((1, 3, 8, 8), 4, (3, 3), dict(stride_nd=0), r"kernel_shape, stride_nd and dilation_nd must be >= 1"),
    ((1, 3, 8, 8), 4, (3, 3), dict(stride_nd=(1, 100001)), r"stride_nd \(1, 100001\) .* must be <= 100000"),
    ((1, 3, 8, 8), 4, (3, 3), dict(stride_nd=(1, 2, 1)), r"stride_nd must have 2 values, found 3"),
    ((1, 3, 8, 8), 4, (3, 3), dict(padding_nd=1, pre_padding=1),
     r"give either padding_nd or pre_padding/post_padding, not both"),
    ((1, 3, 8, 8), 4, (3, 3), dict(pre_padding=1, post_padding=2, padding_mode=PM.CAFFE_ROUND_UP),
     r"CAFFE_ROUND_UP pads symmetrically with pre_padding \(1, 1\); post_padding \(2, 2\) differs"),
    ((1, 3, 8, 8), 4, (3, 3), dict(padding_mode="VALID"), r"padding_mode must be a PaddingMode member or one of its names \(EXPLICIT_ROUND_DOWN, "),
    ((1, 1, 320, 320), 1, (317, 317), {},
     r"kernel_shape \(317, 317\) has 100489 cells; TensorRT takes fewer than 100000"),
])
def test_invalid_use_raises_naming_layer(shape, k, ksize, kwargs, message):
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, shape)
    with net.scope("head"), pytest.raises(NetworkDefinitionError, match=rf"^head\.conv: {message}"):
        net.add_convolution_nd(x, k, ksize, bias=False, name="conv", **kwargs)


def test_wrong_weights_and_dtype_raise_naming_layer():
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, (1, 4, 6, 6))
    with pytest.raises(NetworkDefinitionError, match=r"^c: kernel weights must have shape \(2, 2, 3, 3\), "
                                                     r"found \(2, 4, 3, 3\)"):
        net.add_convolution_nd(x, 2, (3, 3), np.zeros((2, 4, 3, 3), np.float32), num_groups=2, name="c")
    with pytest.raises(NetworkDefinitionError, match=r"^c: bias weights must have shape \(2,\), found \(3,\)"):
        net.add_convolution_nd(x, 2, (3, 3), bias=np.zeros(3, np.float32), name="c")
    i = net.add_input("i", DataType.INT32, (1, 4, 6, 6))
    with pytest.raises(NetworkDefinitionError, match=r"^c: input 'i' must be FLOAT, HALF, BF16, found INT32"):
        net.add_convolution_nd(i, 2, (3, 3), name="c")
