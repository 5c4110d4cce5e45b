"""Winograd F(2x2, 3x3) and F(4x4, 3x3) (netdsl.reference.winograd) against exact arithmetic, the direct
convolution kernel and torch: the fast path must agree with the straightforward kernel within 1e-5 relative
(to the output's largest magnitude) in float32, on odd shapes and paddings."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.graph.dtypes import DataType
from netdsl.graph.network import Network
from netdsl.reference import execute
from netdsl.reference import winograd
from netdsl.reference.convolution import convolve, winograd_tile
from netdsl.reference.winograd import TILE_SIZES, choose_tile, convolve_winograd
from pool_oracle import leaky, window_maxima

RTOL = 1e-5


def relative_error(got, expected):
    return float(np.abs(got.astype(np.float64) - expected).max() / np.abs(expected).max())


def direct(x, w, b, pre, post):
    out = tuple(x.shape[2 + i] + pre[i] + post[i] - 2 for i in range(2))
    return convolve(x, w, b, (1, 1), (1, 1), pre, post, 1, out), out


@pytest.mark.parametrize("m", TILE_SIZES)
def test_transforms_compute_correlation_exactly(m):
    """A^T [(G g) * (B^T d)] is the 1-D correlation of d with g, for every unit d and g (float64)."""
    at, g, bt = winograd._AT[m], winograd._G[m], winograd._BT[m]
    for i in range(m + 2):
        for k in range(3):
            d = np.eye(m + 2)[i]
            f = np.eye(3)[k]
            expected = np.array([sum(f[r] * d[j + r] for r in range(3)) for j in range(m)])
            np.testing.assert_allclose(at @ ((g @ f) * (bt @ d)), expected, atol=1e-14)


def test_input_and_output_transforms_are_exact_in_float32():
    for m in TILE_SIZES:
        for matrix in (winograd._BT[m], winograd._AT[m]):
            assert np.array_equal(matrix.astype(np.float32).astype(np.float64), matrix)


@pytest.mark.parametrize("m", TILE_SIZES)
@pytest.mark.parametrize("n, c, h, w, k, pre, post", [
    (1, 1, 1, 1, 1, (1, 1), (1, 1)),       # one pixel: every tap but the centre reads padding
    (1, 3, 5, 7, 4, (1, 1), (1, 1)),       # map not a multiple of the tile
    (2, 5, 13, 13, 6, (1, 1), (1, 1)),     # YOLO's 13x13 at batch 2
    (3, 2, 9, 6, 3, (0, 0), (0, 0)),       # no padding: output smaller than input
    (1, 4, 8, 11, 5, (2, 0), (0, 3)),      # asymmetric padding
    (1, 17, 4, 3, 33, (1, 2), (2, 1)),
])
def test_matches_direct_convolution(m, n, c, h, w, k, pre, post):
    rng = np.random.default_rng(n * 100 + c)
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    kernel = rng.standard_normal((k, c, 3, 3), dtype=np.float32)
    bias = rng.standard_normal(k, dtype=np.float32)
    expected, out = direct(x, kernel, bias, pre, post)
    got = convolve_winograd(x, kernel, bias, pre, out, m)
    assert got.shape == expected.shape
    assert relative_error(got, expected) < RTOL


@settings(max_examples=40, deadline=None)
@given(m=st.sampled_from(TILE_SIZES), n=st.integers(1, 2), c=st.integers(1, 12), k=st.integers(1, 12),
       h=st.integers(1, 14), w=st.integers(1, 14), pre=st.tuples(st.integers(0, 2), st.integers(0, 2)),
       post=st.tuples(st.integers(0, 2), st.integers(0, 2)), seed=st.integers(0, 2**32 - 1))
def test_random_shapes_match_direct_convolution(m, n, c, k, h, w, pre, post, seed):
    if h + pre[0] + post[0] < 3 or w + pre[1] + post[1] < 3:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    kernel = rng.standard_normal((k, c, 3, 3), dtype=np.float32)
    expected, out = direct(x, kernel, None, pre, post)
    assert relative_error(convolve_winograd(x, kernel, None, pre, out, m), expected) < RTOL


@pytest.mark.parametrize("m", TILE_SIZES)
def test_wide_layer_error_against_float64_is_that_of_direct_convolution_order(m):
    """512 channels (YOLO's deep layers): both algorithms within 1e-5 of the float64 result."""
    rng = np.random.default_rng(7)
    x = np.abs(rng.standard_normal((1, 512, 13, 13), dtype=np.float32))  # post-activation: positive
    kernel = (rng.standard_normal((16, 512, 3, 3)) * 0.02).astype(np.float32)
    truth = F.conv2d(torch.from_numpy(x).double(), torch.from_numpy(kernel).double(), padding=1).numpy()
    got = convolve_winograd(x, kernel, None, (1, 1), (13, 13), m)
    assert relative_error(got, truth) < RTOL
    assert relative_error(direct(x, kernel, None, (1, 1), (1, 1))[0], truth) < RTOL


def test_choose_tile_uses_direct_for_few_channels_and_winograd_for_wide_layers():
    assert choose_tile(1, 3, 16, (416, 416)) is None   # the first layer of a detector: im2col is cheaper
    assert choose_tile(1, 256, 256, (52, 52)) == 4
    assert choose_tile(1, 512, 1024, (13, 13)) in TILE_SIZES
    # small layers (MTCNN's O-Net, a 60x60 map of 8 channels): a Winograd layer's fixed costs dominate
    assert choose_tile(1, 32, 64, (21, 21)) is None
    assert choose_tile(1, 8, 8, (60, 60)) is None


def conv_network(c, k, hw, dtype=DataType.FLOAT, groups=1, stride=1):
    rng = np.random.default_rng(3)
    net = Network("wide")
    x = net.add_input("x", DataType.FLOAT, (1, c, hw, hw))
    if dtype is not DataType.FLOAT:
        x = net.add_cast(x, dtype).output
    conv = net.add_convolution_nd(x, k, (3, 3), rng.standard_normal((k, c // groups, 3, 3)).astype(np.float32) * 0.05,
                                  rng.standard_normal(k).astype(np.float32), padding_nd=(1, 1), num_groups=groups,
                                  stride_nd=stride, name="conv")
    net.mark_output(conv.output)
    return net, conv, rng.standard_normal((1, c, hw, hw)).astype(np.float32)


def test_network_layer_runs_winograd_and_matches_torch():
    net, conv, x = conv_network(128, 64, 26)
    assert winograd_tile(conv, x.shape, (26, 26), conv.weights["kernel"].value) in TILE_SIZES
    got = execute(net, {"x": x})[conv.output.name]
    w, b = (torch.from_numpy(conv.weights[r].value).double() for r in ("kernel", "bias"))
    expected = F.conv2d(torch.from_numpy(x).double(), w, b, padding=1).numpy()
    assert relative_error(got, expected) < RTOL


@pytest.mark.parametrize("kwargs", [dict(dtype=DataType.HALF), dict(groups=2), dict(stride=2)])
def test_layers_outside_its_domain_use_direct_convolution(kwargs):
    net, conv, x = conv_network(128, 64, 26, **kwargs)
    assert winograd_tile(conv, x.shape, conv.output.shape[-2:], conv.weights["kernel"].value) is None


def test_filter_transform_is_cached_per_array_and_released_with_it():
    kernel = np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32)
    first = winograd.filter_transform(kernel, 4)
    assert winograd.filter_transform(kernel, 4) is first
    assert winograd.filter_transform(kernel.copy(), 4) is not first
    key = (id(kernel), 4)
    del kernel
    assert key not in winograd._filters


@pytest.mark.parametrize("m", TILE_SIZES)
@pytest.mark.parametrize("row_block_tiles", [4, 10**9], ids=["row blocks", "channel blocks"])
def test_an_image_gives_the_same_bits_alone_in_a_batch_and_on_any_thread_count(monkeypatch, m, row_block_tiles):
    """Products per image (these layers have too few filter weights to merge images)."""
    assert 16 * 24 < winograd._MERGE_WEIGHTS
    monkeypatch.setattr(winograd, "_ROW_BLOCK_TILES", row_block_tiles)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 16, 45, 37), dtype=np.float32)
    kernel = rng.standard_normal((24, 16, 3, 3), dtype=np.float32)
    monkeypatch.setenv("NETDSL_NUM_THREADS", "2")
    batch = convolve_winograd(x, kernel, None, (1, 1), (45, 37), m)
    monkeypatch.setattr(winograd, "_GROUP_BYTES", 1)  # small maps: images one at a time, not as one group
    assert np.array_equal(convolve_winograd(x, kernel, None, (1, 1), (45, 37), m), batch)
    for count in ("1", "3"):
        monkeypatch.setenv("NETDSL_NUM_THREADS", count)
        for i in range(3):
            assert np.array_equal(convolve_winograd(x[i:i + 1], kernel, None, (1, 1), (45, 37), m)[0], batch[i])


@pytest.mark.parametrize("c,k,size,m", [(256, 512, 13, 2), (256, 512, 13, 4), (512, 1024, 13, 2),
                                         (512, 1024, 13, 4), (384, 256, 26, 4)],
                         ids=["256-512@13-F2", "256-512@13-F4", "512-1024@13-F2", "512-1024@13-F4", "384-256@26-F4"])
def test_merged_products_give_an_image_the_same_result_alone_and_in_a_batch(monkeypatch, c, k, size, m):
    """YOLOv3-tiny's deep layers (13x13 with either tile size, 26x26 with F(4x4)) multiply a batch's tiles in one product, and a lone
    image's narrow products are cut into small ones. Against direct convolution within RTOL; the batch the
    same bits on any thread count; an image alone and in the batch within RTOL of each other (BLAS rounds
    a small product and a packed one differently: not bit for bit)."""
    tiles = (-(-size // m)) ** 2
    assert winograd.merges_images(c, k, tiles)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, c, size, size), dtype=np.float32)
    kernel = (rng.standard_normal((k, c, 3, 3)) / np.sqrt(9 * c)).astype(np.float32)
    monkeypatch.setenv("NETDSL_NUM_THREADS", "2")
    batch = convolve_winograd(x, kernel, None, (1, 1), (size, size), m)
    expected, _ = direct(x, kernel, None, (1, 1), (1, 1))
    assert relative_error(batch, expected) < RTOL
    monkeypatch.setenv("NETDSL_NUM_THREADS", "1")
    assert np.array_equal(convolve_winograd(x, kernel, None, (1, 1), (size, size), m), batch)
    for i in range(3):
        alone = convolve_winograd(x[i:i + 1], kernel, None, (1, 1), (size, size), m)[0]
        assert relative_error(alone, batch[i].astype(np.float64)) < RTOL
        assert relative_error(alone, expected[i]) < RTOL


@pytest.mark.parametrize("k", [40, 42, 8, 7])
def test_narrow_products_cut_into_row_blocks_equal_the_whole_product(monkeypatch, k):
    """_products with blocks of 8 rows (the last one shorter when K is not a multiple; K of 8 or fewer: one
    product) against the float64 product."""
    monkeypatch.setattr(winograd, "_SMALL_PRODUCT", 8 * 24 * 20)
    rng = np.random.default_rng(k)
    u = rng.standard_normal((16, k, 24), dtype=np.float32)
    v = rng.standard_normal((16, 24, 20), dtype=np.float32)
    got = winograd._products(u, v)
    truth = np.matmul(u.astype(np.float64), v.astype(np.float64))
    assert got.shape == (16, k, 20) and got.dtype == np.float32
    assert relative_error(got, truth) < 1e-6


@settings(max_examples=40, deadline=None)
@given(m=st.sampled_from(TILE_SIZES), n=st.integers(1, 2), c=st.integers(1, 6), k=st.integers(1, 6),
       h=st.integers(1, 30), w=st.integers(1, 30), pre=st.tuples(st.integers(0, 3), st.integers(0, 3)),
       post=st.tuples(st.integers(0, 3), st.integers(0, 3)), seed=st.integers(0, 2**32 - 1))
@pytest.mark.parametrize("row_block_tiles,merge_weights", [(1, None), (10**9, 10**12), (10**9, 1)],
                         ids=["row blocks", "channel blocks", "channel blocks, images in one product"])
def test_both_work_splits_match_direct_convolution_and_pool_exactly(row_block_tiles, merge_weights, m, n, c, k, h, w,
                                                                    pre, post, seed):
    """Either work split forced on any map (``_ROW_BLOCK_TILES`` 1: row blocks everywhere; a threshold no
    map reaches: channel blocks, with products per image or, ``_MERGE_WEIGHTS`` 1 and ``_NARROW_TILES``
    above any map here, one product for the batch's images). Row blocks cut the map at tile rows: the last
    block's overhang, paddings wider than a tile and blocks that read only padding must all give direct
    convolution's answer."""
    if h + pre[0] + post[0] < 3 or w + pre[1] + post[1] < 3:
        return
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    kernel = rng.standard_normal((k, c, 3, 3), dtype=np.float32)
    bias = rng.standard_normal(k, dtype=np.float32)
    expected, out = direct(x, kernel, bias, pre, post)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(winograd, "_ROW_BLOCK_TILES", row_block_tiles)
        if merge_weights is not None:
            patch.setattr(winograd, "_MERGE_WEIGHTS", merge_weights)
            patch.setattr(winograd, "_NARROW_TILES", 10**9)
        got = convolve_winograd(x, kernel, bias, pre, out, m)
        if min(out) >= 2:  # a fused 2x2 max pooling, taken in the output transform before bias and activation
            activated = convolve_winograd(x, kernel, bias, pre, out, m, leaky)
            pooled = convolve_winograd(x, kernel, bias, pre, out, m, leaky, (2, 2))
    assert relative_error(got, expected) < RTOL
    if min(out) >= 2:  # both monotone, so the maxima of the activated outputs bit for bit
        assert np.array_equal(pooled, window_maxima(activated, (2, 2)))


@pytest.mark.parametrize("m", TILE_SIZES)
def test_large_map_takes_row_blocks_and_matches_torch(m):
    """An early detector layer (16 -> 32 channels, 104 x 98 map): enough tiles for the row-blocked split."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((1, 16, 104, 98), dtype=np.float32)
    kernel = (rng.standard_normal((32, 16, 3, 3)) * 0.1).astype(np.float32)
    assert -(-104 // m) * -(-98 // m) >= winograd.PIECES * winograd._ROW_BLOCK_TILES
    truth = F.conv2d(torch.from_numpy(x).double(), torch.from_numpy(kernel).double(), padding=1).numpy()
    assert relative_error(convolve_winograd(x, kernel, None, (1, 1), (104, 98), m), truth) < RTOL

