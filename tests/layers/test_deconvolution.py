"""add_deconvolution_nd: reference executor vs torch conv_transpose2d/conv_transpose3d.

torch computes the full transposed convolution (no padding); the crop each
PaddingMode applies comes from the deconvolution formulas of TensorRT's
``PaddingMode`` documentation (NvInfer.h), written out here.
"""
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

TOL = {DataType.FLOAT: dict(rtol=1e-4, atol=1e-4), DataType.HALF: dict(rtol=2e-3, atol=3e-3)}
TORCH_DTYPE = {DataType.FLOAT: torch.float32, DataType.HALF: torch.float16}


def doc_crop(mode, i, f, s, d, b, a):
    """(O, B, A) of one dim: TensorRT's deconvolution formulas; B and A are cropped from the full output."""
    dk = 1 + d * (f - 1)
    if mode in (PM.SAME_UPPER, PM.SAME_LOWER):
        p = max(dk - s, 0)
        b = p // 2 if mode is PM.SAME_UPPER else p - p // 2
        return min(i * s, (i - 1) * s + dk), b, p - b
    if mode in (PM.CAFFE_ROUND_DOWN, PM.CAFFE_ROUND_UP):
        a = b
    return (i - 1) * s + dk - (b + a), b, a


def rounded(a, dtype):
    return torch.from_numpy(np.asarray(a, np.float32)).to(TORCH_DTYPE[dtype]).double()


def torch_deconv(x, w, b, stride, dilation, groups, crops, dtype):
    fn = F.conv_transpose2d if w.ndim == 4 else F.conv_transpose3d
    full = fn(rounded(x, dtype), rounded(w, dtype), None if b is None else rounded(b, dtype), stride, 0, 0,
              groups, dilation)
    index = (slice(None), slice(None)) + tuple(slice(b, size - a) for (b, a), size in zip(crops, full.shape[2:]))
    return full[index].numpy()


def check(shape, k, ksize, groups=1, stride=1, dilation=1, pre=0, post=0, mode=PM.EXPLICIT_ROUND_DOWN,
          bias=True, dtype=DataType.FLOAT, seed=0):
    rng = np.random.default_rng(seed)
    n = len(ksize)
    tup = lambda v: (v,) * n if isinstance(v, int) else tuple(v)  # noqa: E731
    stride, dilation, pre, post = tup(stride), tup(dilation), tup(pre), tup(post)
    x = rng.standard_normal(shape).astype(np.float32)
    w = rng.standard_normal((shape[-n - 1], k // groups, *ksize)).astype(np.float32)
    b = rng.standard_normal(k).astype(np.float32) if bias else None
    net = Network("deconv")
    t = net.add_input("x", DataType.FLOAT, shape)
    if dtype is not DataType.FLOAT:
        t = net.add_cast(t, dtype).output
    layer = net.add_deconvolution_nd(t, k, ksize, w, False if b is None else b, stride_nd=stride,
                                     dilation_nd=dilation, num_groups=groups, pre_padding=pre,
                                     post_padding=None if mode.name.startswith("CAFFE") else post,
                                     padding_mode=mode, name="up")
    net.mark_output(layer.output)
    out, bs, as_ = zip(*(doc_crop(mode, *a) for a in zip(shape[-n:], ksize, stride, dilation, pre, post)))
    assert layer.output.shape == (*shape[:-n - 1], k, *out) and layer.output.dtype is dtype
    got = execute(net, {"x": x})["up"]
    want = torch_deconv(x.reshape((-1,) + shape[-n - 1:]), w, b, stride, dilation, groups, zip(bs, as_), dtype)
    np.testing.assert_allclose(got.astype(np.float32), want.reshape(layer.output.shape), **TOL[dtype])
    return layer


@pytest.mark.parametrize("mode", list(PM))
@pytest.mark.parametrize("shape, ksize, stride, dilation, pre, post", [
    ((2, 3, 4, 5), (3, 3), (2, 2), (1, 1), (1, 0), (0, 2)),
    ((1, 2, 3, 4), (2, 4), (3, 2), (1, 2), (0, 1), (1, 1)),   # kernel < stride: SAME pads nothing
    ((1, 2, 3, 2, 3), (2, 3, 3), (2, 1, 2), (1, 2, 1), (0, 1, 1), (1, 0, 2)),
], ids=["2d-stride2-asym", "2d-dilated-kernel-lt-stride", "3d-mixed"])
def test_every_padding_mode_matches_torch(mode, shape, ksize, stride, dilation, pre, post):
    check(shape, 4, ksize, 1, stride, dilation, pre, post, mode)


def test_torch_padding_and_output_padding():
    """torch's padding p / output_padding q crop p before and p - q after: pre_padding p, post_padding p - q."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    w = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    net = Network("up")
    layer = net.add_deconvolution_nd(net.add_input("x", DataType.FLOAT, x.shape), 3, (4, 4), w, False,
                                     stride_nd=2, pre_padding=2, post_padding=(1, 2), name="up")
    net.mark_output(layer.output)
    want = F.conv_transpose2d(torch.from_numpy(x), torch.from_numpy(w), stride=2, padding=2, output_padding=(1, 0))
    np.testing.assert_allclose(execute(net, {"x": x})["up"], want.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape, k, ksize, groups", [
    ((2, 6, 4, 4), 4, (3, 3), 2),
    ((1, 4, 3, 5), 4, (2, 2), 4),          # depthwise
    ((1, 6, 2, 3, 3), 9, (2, 2, 2), 3),
])
def test_groups_match_torch(shape, k, ksize, groups):
    check(shape, k, ksize, groups, stride=2, pre=1, post=0)


def test_no_bias_and_leading_batch_dims():
    layer = check((2, 2, 3, 4, 4), 3, (3, 3), stride=2, bias=False)
    assert layer.output.shape == (2, 2, 3, 9, 9) and "bias" not in layer.weights


def test_fp16_uses_rounded_weights():
    """HALF: input and weights in float16 (the lowering converts the weights), float32 accumulation."""
    check((1, 4, 5, 5), 3, (4, 4), stride=2, mode=PM.SAME_UPPER, dtype=DataType.HALF)


@settings(max_examples=20, deadline=None)
@given(data=st.data(), n=st.sampled_from([2, 3]), mode=st.sampled_from(list(PM)),
       dtype=st.sampled_from([DataType.FLOAT, DataType.HALF]))
def test_random_deconvolutions(data, n, mode, dtype):
    draw_n = lambda lo, hi: tuple(data.draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)))  # noqa: E731
    groups = data.draw(st.sampled_from([1, 1, 2]))
    channels, k = groups * data.draw(st.integers(1, 3)), groups * data.draw(st.integers(1, 3))
    ksize, stride, dilation, spatial = draw_n(1, 4), draw_n(1, 3), draw_n(1, 2), draw_n(1, 4)
    # crops that leave at least one output cell per dim
    full = [(i - 1) * s + d * (f - 1) + 1 for i, s, d, f in zip(spatial, stride, dilation, ksize)]
    pre = tuple(data.draw(st.integers(0, min(2, (m - 1) // 2))) for m in full)
    post = tuple(data.draw(st.integers(0, min(2, (m - 1) // 2))) for m in full)
    shape = (data.draw(st.integers(1, 2)), channels, *spatial)
    check(shape, k, ksize, groups, stride, dilation, pre, post, mode, data.draw(st.booleans()), dtype)


def test_declared_weights_use_ckrs_layout():
    net = Network("store")
    x = net.add_input("x", DataType.FLOAT, (1, 4, 5, 5))
    net.add_deconvolution_nd(x, 6, (2, 3), num_groups=2, name="up")
    assert {n: w.shape for n, w in net.weights().items()} == {"up.kernel": (4, 3, 2, 3), "up.bias": (6,)}


@pytest.mark.parametrize("shape, k, ksize, kwargs, message", [
    ((3, 4, 4), 2, (2, 2), {}, r"input 'x' must have rank 4 or more \(batch dims, C, H, W\)"),
    ((1, 3, 4, 4), 2, (2, 2, 2), {}, r"input 'x' must have rank 5 or more"),
    ((1, 3, 4, 4), 2, (2, 2), dict(num_groups=2), r"input channels \(3\) and num_output_maps \(2\) must both "
                                                  r"be divisible by num_groups \(2\)"),
    ((1, 3, 2, 2), 2, (3, 3), dict(pre_padding=2, post_padding=2),
     r"padding \(2, 2\)/\(2, 2\) crops the whole output: .*output dimension 0 would be 0"),
    ((1, 3, 2, 2), 2, (3, 3), dict(pre_padding=(0, -1)), r"padding must be in \[0, 100000\]"),
    ((1, 3, 2, 2), 2, (3, 3), dict(padding_nd=1, post_padding=0), r"give either padding_nd or"),
    ((1, 3, 2, 2), 2, (3, 3), dict(dilation_nd=0), r"kernel_shape, stride_nd and dilation_nd must be >= 1"),
    ((1, 3, 2, 2), 2, (3, 3), dict(pre_padding=1, post_padding=0, padding_mode=PM.CAFFE_ROUND_DOWN),
     r"CAFFE_ROUND_DOWN pads symmetrically"),
])
def test_invalid_use_raises_naming_layer(shape, k, ksize, kwargs, message):
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, shape)
    with pytest.raises(NetworkDefinitionError, match=rf"^up: {message}"):
        net.add_deconvolution_nd(x, k, ksize, bias=False, name="up", **kwargs)


def test_bf16_input_raises_naming_layer():
    """TensorRT's Deconvolution takes int8 / half / float (operator reference); RTX cannot build BF16."""
    net = Network("bad")
    x = net.add_cast(net.add_input("x", DataType.FLOAT, (1, 4, 3, 3)), DataType.BF16, name="bf").output
    with pytest.raises(NetworkDefinitionError, match=r"^up: input 'bf' must be FLOAT, HALF, found BF16"):
        net.add_deconvolution_nd(x, 2, (3, 3), name="up")


def test_wrong_kernel_shape_raises_naming_layer():
    """A KCRS (convolution-layout) kernel is refused: deconvolution takes CKRS."""
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, (1, 4, 3, 3))
    with pytest.raises(NetworkDefinitionError, match=r"^up: kernel weights must have shape \(4, 2, 3, 3\), "
                                                     r"found \(2, 4, 3, 3\)"):
        net.add_deconvolution_nd(x, 2, (3, 3), np.zeros((2, 4, 3, 3), np.float32), name="up")
