"""add_pooling_nd / add_global_pooling: reference executor vs torch max_pool / avg_pool (2-D, 3-D).

Two oracles: torch's own pooling options where they express the layer
(symmetric padding, ``ceil_mode``, ``count_include_pad``), and for any
padding a composition of torch ops: pad, then ``avg_pool(divisor_override=1)``
for window sums and counts, with the padding each PaddingMode applies
written out here from TensorRT's ``PaddingMode`` pooling formulas (NvInfer.h).
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import event, given, settings
from hypothesis import strategies as st

from netdsl.graph.dtypes import DataType
from netdsl.graph.enums import PaddingMode as PM
from netdsl.graph.enums import PoolingType as PT
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute

TOL = {DataType.FLOAT: dict(rtol=1e-5, atol=1e-6), DataType.HALF: dict(rtol=1e-3, atol=1e-3),
       DataType.BF16: dict(rtol=8e-3, atol=8e-3)}
TORCH_DTYPE = {DataType.FLOAT: torch.float32, DataType.HALF: torch.float16, DataType.BF16: torch.bfloat16}


def pool_net(shape, kind, window, dtype=DataType.FLOAT, **kwargs):
    net = Network("pool")
    x = net.add_input("x", DataType.FLOAT, shape)
    if dtype is not DataType.FLOAT:
        x = net.add_cast(x, dtype).output
    layer = net.add_pooling_nd(x, kind, window, name="pool", **kwargs)
    net.mark_output(layer.output)
    return net, layer


def run(net, x):
    return execute(net, {"x": x})["pool"].astype(np.float32)


def doc_geometry(mode, i, f, s, b, a):
    """(O, B, A, overhang) of one dim from TensorRT's pooling formulas; B/A the padded input's padding."""
    if mode in (PM.SAME_UPPER, PM.SAME_LOWER):
        p = max(0, math.floor((i - 1) / s) * s + f - i)
        b = p // 2 if mode is PM.SAME_UPPER else p - p // 2
        return math.ceil(i / s), b, p - b, 0
    caffe = mode in (PM.CAFFE_ROUND_DOWN, PM.CAFFE_ROUND_UP)
    a = b if caffe else a
    rounding = math.ceil if mode in (PM.EXPLICIT_ROUND_UP, PM.CAFFE_ROUND_UP) else math.floor
    o = rounding((i + b + a - f) / s) + 1
    if caffe and (o - 1) * s >= i + b:
        o -= 1
    return o, b, a, max(0, (o - 1) * s + f - (i + b + a))


def composed_oracle(x, kind, window, stride, geometry, excludes_padding, blend, dtype):
    """Pool with torch ops: F.pad + max_pool for MAX; window sums / counts via avg_pool(divisor_override=1)."""
    n = len(window)
    _, pre, post, extra = zip(*geometry)
    pads = lambda lo, hi: [p for pair in zip(reversed(lo), reversed(hi)) for p in pair]  # noqa: E731
    full = pads(pre, [a + e for a, e in zip(post, extra)])
    t = torch.from_numpy(x).to(TORCH_DTYPE[dtype]).double()
    max_pool, avg_pool = (F.max_pool2d, F.avg_pool2d) if n == 2 else (F.max_pool3d, F.avg_pool3d)
    total = lambda v: avg_pool(v, window, stride, divisor_override=1)  # noqa: E731
    mx = max_pool(F.pad(t, full, value=-math.inf), window, stride)
    ones = torch.ones_like(t)
    if excludes_padding:
        count = total(F.pad(ones, full))
    else:
        count = total(F.pad(F.pad(ones, pads(pre, post), value=1.0), pads([0] * n, extra)))
    avg = total(F.pad(t, full)) / count
    result = {PT.MAX: mx, PT.AVERAGE: avg, PT.MAX_AVERAGE_BLEND: (1 - blend) * mx + blend * avg}[kind]
    return result.numpy()


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("ceil", [False, True])
@pytest.mark.parametrize("count_include_pad", [False, True])
def test_symmetric_padding_matches_torch_pooling(n, ceil, count_include_pad):
    """torch ceil_mode = CAFFE_ROUND_UP (the last window must start inside the input or left padding)."""
    shape = (2, 3, 7, 8) if n == 2 else (1, 2, 5, 6, 7)
    window, stride, pad = (3,) * n, (2,) * n, (1,) * n
    x = np.random.default_rng(n).standard_normal(shape).astype(np.float32)
    mode = PM.CAFFE_ROUND_UP if ceil else PM.EXPLICIT_ROUND_DOWN
    max_pool, avg_pool = (F.max_pool2d, F.avg_pool2d) if n == 2 else (F.max_pool3d, F.avg_pool3d)
    t = torch.from_numpy(x)
    net, _ = pool_net(shape, PT.MAX, window, stride_nd=stride, padding_nd=pad, padding_mode=mode)
    np.testing.assert_array_equal(run(net, x), max_pool(t, window, stride, pad, ceil_mode=ceil).numpy())
    net, _ = pool_net(shape, PT.AVERAGE, window, stride_nd=stride, padding_nd=pad, padding_mode=mode,
                      average_count_excludes_padding=not count_include_pad)
    want = avg_pool(t, window, stride, pad, ceil_mode=ceil, count_include_pad=count_include_pad)
    np.testing.assert_allclose(run(net, x), want.numpy(), **TOL[DataType.FLOAT])


@pytest.mark.parametrize("count_include_pad", [False, True])
def test_explicit_round_up_is_torch_ceil_mode_when_no_window_starts_in_padding(count_include_pad):
    """EXPLICIT_ROUND_UP: the overhang past the padded input is never counted, as torch's ceil_mode."""
    x = np.random.default_rng(5).standard_normal((1, 2, 8, 9)).astype(np.float32)
    net, layer = pool_net(x.shape, PT.AVERAGE, (3, 3), stride_nd=(2, 2), padding_nd=(1, 1),
                          padding_mode=PM.EXPLICIT_ROUND_UP, average_count_excludes_padding=not count_include_pad)
    assert layer.overhang == (1, 0) and layer.output.shape == (1, 2, 5, 5)
    want = F.avg_pool2d(torch.from_numpy(x), 3, 2, 1, ceil_mode=True, count_include_pad=count_include_pad)
    np.testing.assert_allclose(run(net, x), want.numpy(), **TOL[DataType.FLOAT])


def test_round_up_window_starting_in_padding():
    """torch drops a last window that starts in the right padding; TensorRT's EXPLICIT_ROUND_UP keeps it
    (its value is unspecified, so netdsl refuses it) and CAFFE_ROUND_UP drops it like torch."""
    x = np.random.default_rng(6).standard_normal((1, 1, 3, 3)).astype(np.float32)
    with pytest.raises(NetworkDefinitionError, match=r"^pool: pooling window 2 of spatial dim 0 holds no cell of "
                                                     r"the input .* or CAFFE_ROUND_UP, which drops"):
        pool_net(x.shape, PT.MAX, (2, 2), stride_nd=2, padding_nd=1, padding_mode=PM.EXPLICIT_ROUND_UP)
    net, layer = pool_net(x.shape, PT.MAX, (2, 2), stride_nd=2, padding_nd=1, padding_mode=PM.CAFFE_ROUND_UP)
    want = F.max_pool2d(torch.from_numpy(x), 2, 2, 1, ceil_mode=True).numpy()
    assert layer.output.shape == want.shape == (1, 1, 2, 2)
    np.testing.assert_array_equal(run(net, x), want)


def test_darknet_maxpool_size2_stride1():
    """Darknet [maxpool] size=2 stride=1 (YOLOv3-tiny layer 11): post padding 1 only, padding never wins."""
    x = -np.abs(np.random.default_rng(7).standard_normal((1, 4, 13, 13))).astype(np.float32)  # all negative
    net, layer = pool_net(x.shape, PT.MAX, (2, 2), stride_nd=1, pre_padding=(0, 0), post_padding=(1, 1))
    assert layer.output.shape == x.shape
    want = F.max_pool2d(F.pad(torch.from_numpy(x), (0, 1, 0, 1), value=-math.inf), 2, 1).numpy()
    np.testing.assert_array_equal(run(net, x), want)
    assert run(net, x).max() < 0  # a zero pad would have won at the border


def test_tensorrt_doc_pooling_example_1():
    """NvInfer.h PaddingMode, "Pooling Example 1": I=6, B=3, A=2, S=2, F=3."""
    sizes = {}
    for mode in (PM.EXPLICIT_ROUND_DOWN, PM.EXPLICIT_ROUND_UP, PM.SAME_UPPER, PM.SAME_LOWER):
        _, layer = pool_net((1, 1, 6, 6), PT.AVERAGE, (3, 3), stride_nd=2, pre_padding=3, post_padding=2,
                            padding_mode=mode, average_count_excludes_padding=False)
        sizes[mode.name] = (layer.output.shape[2:], layer.pre_padding, layer.post_padding)
    assert sizes == {"EXPLICIT_ROUND_DOWN": ((5, 5), (3, 3), (2, 2)), "EXPLICIT_ROUND_UP": ((5, 5), (3, 3), (2, 2)),
                     "SAME_UPPER": ((3, 3), (0, 0), (1, 1)), "SAME_LOWER": ((3, 3), (1, 1), (0, 0))}


def test_max_average_blend():
    x = np.random.default_rng(8).standard_normal((2, 3, 6, 6)).astype(np.float32)
    t = torch.from_numpy(x)
    net, _ = pool_net(x.shape, PT.MAX_AVERAGE_BLEND, (2, 2), stride_nd=2, blend_factor=0.3)
    want = 0.7 * F.max_pool2d(t, 2, 2) + 0.3 * F.avg_pool2d(t, 2, 2)
    np.testing.assert_allclose(run(net, x), want.numpy(), **TOL[DataType.FLOAT])


def test_leading_batch_dims():
    x = np.random.default_rng(9).standard_normal((2, 3, 4, 6, 6)).astype(np.float32)
    net, layer = pool_net(x.shape, PT.MAX, (3, 3), stride_nd=3)
    assert layer.output.shape == (2, 3, 4, 2, 2)
    want = F.max_pool2d(torch.from_numpy(x.reshape(6, 4, 6, 6)), 3, 3).numpy().reshape(2, 3, 4, 2, 2)
    np.testing.assert_array_equal(run(net, x), want)


@pytest.mark.parametrize("dtype", [DataType.HALF, DataType.BF16])
@pytest.mark.parametrize("kind", list(PT))
def test_reduced_precision(kind, dtype):
    x = np.random.default_rng(10).standard_normal((1, 3, 7, 7)).astype(np.float32)
    net, layer = pool_net(x.shape, kind, (3, 3), dtype, stride_nd=2, padding_nd=1, blend_factor=0.5)
    assert layer.output.dtype is dtype
    geometry = [doc_geometry(PM.EXPLICIT_ROUND_DOWN, 7, 3, 2, 1, 1)] * 2
    want = composed_oracle(x, kind, (3, 3), (2, 2), geometry, True, 0.5, dtype)
    np.testing.assert_allclose(run(net, x), want, **TOL[dtype])


@pytest.mark.parametrize("kind", list(PT))
@pytest.mark.parametrize("shape", [(2, 3, 5, 7), (1, 2, 3, 4, 5), (2, 1, 3, 4, 5, 6)])
def test_global_pooling(kind, shape):
    """Window = spatial dims; rank 4 pools (H, W), rank 5 (D, H, W); others say nb_spatial_dims."""
    x = np.random.default_rng(11).standard_normal(shape).astype(np.float32)
    net = Network("global")
    n = {4: 2, 5: 3}.get(len(shape), 2)
    kwargs = {} if len(shape) in (4, 5) else dict(nb_spatial_dims=n)
    layer = net.add_global_pooling(net.add_input("x", DataType.FLOAT, shape), kind, blend_factor=0.25, name="pool",
                                   **kwargs)
    net.mark_output(layer.output)
    assert layer.output.shape == shape[:-n] + (1,) * n and layer.window_size_nd == shape[-n:]
    t, axes = torch.from_numpy(x).double(), tuple(range(len(shape) - n, len(shape)))
    mx, avg = t.amax(axes, keepdim=True), t.mean(axes, keepdim=True)
    want = {PT.MAX: mx, PT.AVERAGE: avg, PT.MAX_AVERAGE_BLEND: 0.75 * mx + 0.25 * avg}[kind]
    np.testing.assert_allclose(run(net, x), want.numpy(), **TOL[DataType.FLOAT])


def test_global_average_matches_adaptive_pooling_fp16():
    x = np.random.default_rng(12).standard_normal((1, 4, 9, 9)).astype(np.float32)
    net = Network("global")
    h = net.add_cast(net.add_input("x", DataType.FLOAT, x.shape), DataType.HALF).output
    net.mark_output(net.add_global_pooling(h, PT.AVERAGE, name="pool").output)
    want = F.adaptive_avg_pool2d(torch.from_numpy(x).half().double(), 1).numpy()
    np.testing.assert_allclose(run(net, x), want, **TOL[DataType.HALF])


def _empty_window(geometry, sizes, window, stride, counts_padding):
    for (o, b, a, _), i, f, s in zip(geometry, sizes, window, stride):
        lo, hi = (-b, i + a) if counts_padding else (0, i)
        if any(min(j * s - b + f, hi) <= max(j * s - b, lo) for j in range(o)):
            return True
    return False


@settings(max_examples=25, deadline=None)
@given(data=st.data(), n=st.sampled_from([2, 3]), kind=st.sampled_from(list(PT)), mode=st.sampled_from(list(PM)),
       excludes=st.booleans(), dtype=st.sampled_from([DataType.FLOAT, DataType.FLOAT, DataType.HALF, DataType.BF16]))
def test_random_pooling(data, n, kind, mode, excludes, dtype):
    draw_n = lambda lo, hi: tuple(data.draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)))  # noqa: E731
    window, stride = draw_n(1, 3), draw_n(1, 3)
    pre = tuple(data.draw(st.integers(0, f - 1)) for f in window)
    post = draw_n(0, 2)
    spatial = tuple(data.draw(st.integers(f, f + 5)) for f in window)
    shape = (data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3)), *spatial)
    blend = data.draw(st.sampled_from([0.0, 0.4, 1.0]))
    kwargs = dict(stride_nd=stride, pre_padding=pre, post_padding=None if mode.name.startswith("CAFFE") else post,
                  padding_mode=mode, average_count_excludes_padding=excludes, blend_factor=blend)
    geometry = [doc_geometry(mode, *a) for a in zip(spatial, window, stride, pre, post)]
    empty = _empty_window(geometry, spatial, window, stride, kind is PT.AVERAGE and not excludes)
    event("refused: a window with no cell" if empty else f"compared {mode.name}")
    if empty:
        with pytest.raises(NetworkDefinitionError, match=r"^pool: pooling window \d+ of spatial dim \d holds no"):
            pool_net(shape, kind, window, dtype, **kwargs)
        return
    net, layer = pool_net(shape, kind, window, dtype, **kwargs)
    assert layer.output.shape == shape[:2] + tuple(g[0] for g in geometry)
    x = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
    want = composed_oracle(x, kind, window, stride, geometry, excludes, blend, dtype)
    np.testing.assert_allclose(run(net, x), want, **TOL[dtype])


@pytest.mark.parametrize("shape, kind, window, kwargs, message", [
    ((3, 4, 4), PT.MAX, (2, 2), {}, r"input 'x' must have rank 4 or more \(batch dims, C, H, W\) for a 2-D window"),
    ((1, 3, 4, 4), PT.MAX, (2, 2, 2), {}, r"input 'x' must have rank 5 or more"),
    ((1, 3, 4, 4), PT.MAX, (2,), {}, r"window_size must have 2 or 3 values"),
    ((1, 3, 4, 4), PT.MAX, 2, {}, r"window_size must be a tuple of 2 or 3 ints, found 2"),
    ((1, 3, 4, 4), "MIN", (2, 2), {}, r"type must be a PoolingType member or one of its names \(MAX, AVERAGE, MAX_AVERAGE_BLEND\), found 'MIN'"),
    ((1, 3, 4, 4), PT.MAX_AVERAGE_BLEND, (2, 2), dict(blend_factor=1.5), r"blend_factor must be in \[0, 1\]"),
    ((1, 3, 4, 4), PT.MAX, (5, 5), {}, r"spatial input \(4, 4\) is too small for window_size \(5, 5\)"),
    ((1, 3, 4, 4), PT.MAX, (2, 2), dict(post_padding=(0, -1)), r"padding must be in \[0, 100000\]"),
    ((1, 3, 4, 4), PT.MAX, (2, 2), dict(stride_nd=(0, 1)), r"window_size, stride_nd and dilation_nd must be >= 1"),
    ((1, 3, 4, 4), PT.MAX, (2, 2), dict(padding_nd=2, padding_mode=PM.CAFFE_ROUND_DOWN),
     r"CAFFE_ROUND_DOWN pooling needs padding smaller than the window, found padding \(2, 2\)"),
    ((1, 3, 4, 4), PT.MAX, (2, 2), dict(pre_padding=(2, 0)),
     r"pooling window 0 of spatial dim 0 holds no cell of the input \(size 4, padding 2/0, window 2"),
    ((1, 3, 5, 5), PT.AVERAGE, (1, 1), dict(stride_nd=3, padding_mode=PM.EXPLICIT_ROUND_UP,
                                             average_count_excludes_padding=False),
     r"pooling window 2 of spatial dim 0 holds no cell of the padded input"),
    ((1, 3, 320, 320), PT.AVERAGE, (317, 317), {}, r"window_size \(317, 317\) has 100489 cells"),
])
def test_invalid_use_raises_naming_layer(shape, kind, window, kwargs, message):
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, shape)
    with pytest.raises(NetworkDefinitionError, match=rf"^pool: {message}"):
        net.add_pooling_nd(x, kind, window, name="pool", **kwargs)


def test_global_pooling_errors_name_layer():
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, (2, 3, 4, 5, 6, 7))
    with pytest.raises(NetworkDefinitionError, match=r"^g: give nb_spatial_dims \(2 or 3\) for input 'x'"):
        net.add_global_pooling(x, PT.MAX, name="g")
    with pytest.raises(NetworkDefinitionError, match=r"^g: nb_spatial_dims must be 2 or 3, found 4"):
        net.add_global_pooling(x, PT.MAX, nb_spatial_dims=4, name="g")
    i = net.add_input("i", DataType.INT32, (1, 2, 3, 3))
    with pytest.raises(NetworkDefinitionError, match=r"^g: input 'i' must be FLOAT, HALF, BF16, found INT32"):
        net.add_global_pooling(i, PT.AVERAGE, name="g")
