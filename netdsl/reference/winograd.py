"""Winograd minimal filtering F(m x m, 3 x 3) for 3x3, stride-1, undilated, ungrouped convolutions.

Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016):
each m x m output tile is ``A^T [ (G g G^T) * (B^T d B) ] A`` for the
(m+2) x (m+2) input tile d and the 3 x 3 filter g, so the (m+2)^2 element-wise
products, summed over input channels, become (m+2)^2 GEMMs of shape
(K, C) x (C, tiles): F(4x4, 3x3) does 36 multiplications where direct
convolution does 144, F(2x2, 3x3) 16 where it does 36.

The transforms are Cook-Toom matrices for the interpolation points 0, +-1
and infinity (m = 2, Lavin's) and 0, +-1, 2, -1/2 and infinity (m = 4): that
choice, from Barabasz et al., "Error analysis and improving the accuracy of
Winograd convolution for deep neural networks" (ACM TOMS 2020), has a third of
the float32 error of Lavin's 0, +-1, +-2 (measured here: 5e-6 against 1.5e-5
of the output's largest magnitude, 384 channels). All entries of B^T and A^T
are exact in float32. tests/reference/test_winograd.py checks that each
triple computes the 1-D correlation exactly in float64, and every fast path
against the direct kernel within 1e-5 relative. Filter transforms are computed in
float64 once per weight array and cached for as long as it lives.
"""
from __future__ import annotations

import weakref

import numpy as np

from . import buffers
from .threads import PIECES, balanced, parallel, split

_BT = {
    2: np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float64),
    4: np.array([[1, 3 / 2, -2, -3 / 2, 1, 0], [0, -1, -5 / 2, -1 / 2, 1, 0], [0, 1, 1 / 2, -5 / 2, 1, 0],
                 [0, -1 / 2, -1, 1 / 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 1, 3 / 2, -2, -3 / 2, 1]], np.float64),
}
_G = {
    2: np.array([[1, 0, 0], [1 / 2, 1 / 2, 1 / 2], [1 / 2, -1 / 2, 1 / 2], [0, 0, 1]], np.float64),
    4: np.array([[1, 0, 0], [-1 / 3, -1 / 3, -1 / 3], [1 / 3, -1 / 3, 1 / 3], [1 / 15, 2 / 15, 4 / 15],
                 [-16 / 15, 8 / 15, -4 / 15], [0, 0, 1]], np.float64),
}
_AT = {
    2: np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float64),
    4: np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -1 / 2, 0], [0, 1, 1, 4, 1 / 4, 0],
                 [0, 1, -1, 8, -1 / 8, 1]], np.float64),
}
TILE_SIZES = tuple(sorted(_BT))

_filters: dict = {}


def filter_transform(w: np.ndarray, m: int) -> np.ndarray:
    """U (a*a, K, C) float32 for a KC33 kernel, ordered (column point, row point), a = m + 2.

    Cached per (array, m) while the array lives (weights bound to a network
    are not modified in place; rebinding gives a new array).
    """
    key = (id(w), m)
    hit = _filters.get(key)
    if hit is not None and hit[0]() is w:
        return hit[1]
    g = _G[m]
    a = m + 2
    k, c = w.shape[:2]
    u = np.empty((a, a, k, c), np.float32)
    # in float64, a block of kernels at a time: the float64 intermediates of a whole 512->1024 layer
    # would take 190 MB for F(4x4), more than the result
    step = max(1, (4 << 20) // (a * a * c * 8))
    for k0 in range(0, k, step):
        u[:, :, k0:k0 + step] = np.einsum("ar,bs,kcrs->bakc", g, g, w[k0:k0 + step].astype(np.float64),
                                          optimize=True)
    u = u.reshape(a * a, k, c)
    try:
        ref = weakref.ref(w, lambda _, key=key: _filters.pop(key, None))
    except TypeError:  # not weak-referenceable: do not cache
        return u
    _filters[key] = (ref, u)
    return u


# Estimated time of each algorithm, in units of one multiply-add of the direct (im2col GEMM) kernel:
# non-negative least-squares fit (relative errors) to per-layer timings of each kernel as it runs in the
# executor (2 threads, BLAS held to one thread per call, fused leaky ReLU; 20 detector-like 3x3 layers of
# 3-1024 channels on maps of 13-416) on the 2-core AMD EPYC (Zen 4) with NumPy's OpenBLAS this project is
# measured on; the mean of three fits of 2026-11-30, after narrow products were cut into small ones
# (benchmarks/winograd_cost_fit.py prints a fit and the choices it makes). Terms, direct: multiply-adds,
# floats of the im2col matrix, floats of the output; Winograd: multiply-adds in products of at least
# _NARROW_TILES columns, multiply-adds in narrower products (cut into small unpacked ones, _products),
# floats of transformed filters read, floats through the input transform, floats through the output
# transform. On the fitted layers above _MIN_WINOGRAD_MACS each of the three fits picks the fastest
# algorithm or one within 2 %. Below it a Winograd layer's fixed costs (more NumPy calls, two parallel
# regions) dominate: 16->32 channels on 60x60 (16.6 M) ran 1.14-1.30x slower with either tile size than
# direct, and every smaller layer tried (8-64 channels on maps of 13-60) as slow or slower. The choice
# depends only on the shapes, never on timings taken at run time, so a network always computes with the
# same algorithms (bit-for-bit repeatable).
_DIRECT_COST = (1.0, 45.5, 35.4)
_WINOGRAD_COST = (1.07, 1.29, 5.7, 111.0, 57.3)
_MIN_WINOGRAD_MACS = 20_000_000   # direct multiply-adds per image


def choose_tile(batch: int, channels: int, kernels: int, out_spatial) -> int | None:
    """The Winograd tile size m (2 or 4) estimated fastest for a 3x3 stride-1 ungrouped convolution
    of ``channels`` -> ``kernels`` on ``batch`` images with output (OH, OW), or None when direct
    convolution is estimated faster."""
    oh, ow = out_spatial
    pixels = batch * oh * ow
    mul, columns, output = _DIRECT_COST
    if 9 * kernels * channels * oh * ow < _MIN_WINOGRAD_MACS:
        return None
    best, best_cost = None, (mul * 9 * kernels * channels + columns * 9 * channels + output * kernels) * pixels
    for m in TILE_SIZES:
        a2 = (m + 2) ** 2
        per_image = -(-oh // m) * -(-ow // m)
        tiles = batch * per_image
        wide, narrow, filt, into, out_of = _WINOGRAD_COST
        mul = narrow if per_image < _NARROW_TILES else wide
        cost = (mul * a2 * tiles * kernels * channels + filt * a2 * kernels * channels
                + into * a2 * tiles * channels + out_of * a2 * tiles * kernels)
        if cost < best_cost:
            best, best_cost = m, cost
    return best


_BLOCK_BYTES = 4 << 20     # a piece's working set at most: input tiles of a channel block, products
                           # of an output-channel block
_ROW_BLOCK_BYTES = 1 << 20  # a row-blocked piece's transformed tiles and products (stays in L2)
_ROW_BLOCK_TILES = 128      # ... with at least this many tiles for the matrix products
_GROUP_BYTES = 64 << 20     # transformed input tiles of a group of images held at once (small maps)
_NARROW_TILES = 128         # a map of fewer tiles than this gives narrow products (a column per tile) ...
_MERGE_WEIGHTS = 1 << 16    # ... which, with this many filter weights (C K) or more, take a group's images
                            # in one product: BLAS packs each block of transformed filters once per product,
                            # so for 49 tiles it spends about as long packing as multiplying (measured:
                            # YOLOv3's 512->1024 layer on 13x13, batch 4: 0.76x the time of a product per
                            # image; 128->256 on 26x26 (32 K weights): 1.06x, so not merged)


def merges_images(channels: int, kernels: int, tiles: int) -> bool:
    """Whether a small-map layer of ``channels`` -> ``kernels`` with ``tiles`` tiles per image multiplies
    a group's images in one product (a narrow map, many filter weights), rather than image by image."""
    return tiles < _NARROW_TILES and channels * kernels >= _MERGE_WEIGHTS


_SMALL_PRODUCT = 1_000_000  # multiply-adds of one product that BLAS runs without packing its operands


def _products(u, v):
    """u (P, K, C) @ v (P, C, N) -> (P, K, N) float32, a matrix product per point p.

    A narrow product (N under ``_NARROW_TILES`` columns) is cut into blocks of
    rows of at most ``_SMALL_PRODUCT`` multiply-adds: OpenBLAS multiplies
    such small matrices in place, without first packing them into its block
    layout, and packing a block of filters costs about as much as multiplying
    it by 49 columns. Measured, batch 1, one process: YOLOv3's 512->1024 layer on
    13x13 0.87x the time of whole products, 256->512 on 26x26 0.85x,
    YOLOv3-tiny's 384->256 on 26x26 0.87x; F(4x4) on 13x13 (16 columns) 0.64x.
    Blocks of half the size (0.5 M) or twice (2 M) measured slower. The
    blocks depend on the shapes only, never on the thread count (BLAS may
    round the small products differently from whole ones: float32 rounding)."""
    p, k, c = u.shape
    cols = v.shape[2]
    rows = (_SMALL_PRODUCT // (c * cols)) // 8 * 8
    if cols >= _NARROW_TILES or rows < 8 or rows >= k:
        return np.matmul(u, v)
    blocks = -(-k // rows)
    rows = -(-k // (8 * blocks)) * 8  # as many blocks, of near-equal rows (a multiple of 8)
    prod = np.empty((p, k, cols), np.float32)
    for r0 in range(0, k, rows):
        np.matmul(u[:, r0:r0 + rows], v, out=prod[:, r0:r0 + rows])
    return prod


def _view(base, shape, strides):
    """A strided view of the C-contiguous array ``base`` (like ``as_strided``, a tenth of its Python cost;
    NumPy checks that every element lies inside ``base``)."""
    return np.ndarray(shape, base.dtype, buffer=base, strides=strides)


def _input_tiles(xp, bt, m, tile_rows, tile_cols):
    """V (a*a, C, tile_rows * tile_cols) of zero-padded input rows xp (C, tile_rows * m + 2, >= tile_cols * m + 2),
    ordered (column point, row point): ``B^T d B`` of every tile, as two products with ``B^T``."""
    a = m + 2
    c, _, wp = xp.shape
    s = xp.strides
    # rows: D[a', c, tile row, col] = sum_u BT[a', u] xp[c, tile_row*m + u, col]
    rows = _view(xp, (a, c, tile_rows, wp), (s[1], s[0], m * s[1], s[2]))
    d = np.matmul(bt, np.ascontiguousarray(rows).reshape(a, -1)).reshape(a, c, tile_rows, wp)
    s = d.strides
    # columns: V[b', a', c, (tile row, tile col)] = sum_v BT[b', v] D[a', c, tile row, tile_col*m + v]
    cols = _view(d, (a, a, c, tile_rows, tile_cols), (s[3], s[0], s[1], s[2], m * s[3]))
    return np.matmul(bt, np.ascontiguousarray(cols).reshape(a, -1)).reshape(a * a, c, tile_rows * tile_cols)


def _output_tiles(prod, at, m, tile_rows, tile_cols, target, pool=(1, 1)):
    """Write ``A^T P A`` of the products prod (a*a, K, G * tile_rows * tile_cols) of G images into target
    (G, K, <= tile_rows*m // p, <= tile_cols*m // q) for ``pool`` = (p, q) dividing m: each target cell
    is the maximum of its p x q window of outputs ((1, 1): the outputs themselves). Cells past
    target's edges (tile overhang, a last partial window) are dropped."""
    a = m + 2
    k = prod.shape[1]
    g = target.shape[0]
    p, q = pool
    # Y[j, i, k, t] = sum_{b', a'} AT[j, b'] AT[i, a'] prod[(b', a'), k, t]
    z = np.matmul(at, prod.reshape(a, -1)).reshape(m, a, -1)
    y = np.matmul(at, z).reshape(m // q, q, m // p, p, k, g, tile_rows, tile_cols)
    if (p, q) != (1, 1):  # window maxima: maxima of whole (K, tiles) planes, one per window offset
        offsets = [(jq, ip) for jq in range(q) for ip in range(p)]
        jq, ip = offsets[1]
        pooled = np.maximum(y[:, 0, :, 0], y[:, jq, :, ip])
        for jq, ip in offsets[2:]:
            np.maximum(pooled, y[:, jq, :, ip], out=pooled)
        y = pooled
    else:
        y = y[:, 0, :, 0]
    mr, mc = m // p, m // q  # target cells per tile, down and across
    oh, ow = target.shape[2:]
    # one copy per column-in-tile j of the whole tile rows, and per (j, i) for the rows i of a last tile
    # row that overhangs the target: each reads contiguous planes of y; one transposing copy of the whole
    # would read y with a stride of its largest axis
    full, rest = divmod(oh, mr)
    for j in range(min(mc, ow)):
        width = -(-(ow - j) // mc)
        columns = target[..., j::mc]
        if full:
            np.copyto(columns[:, :, :full * mr].reshape(g, k, full, mr, width),
                      y[j, :, :, :, :full, :width].transpose(2, 1, 3, 0, 4))
        for i in range(rest):
            np.copyto(columns[:, :, full * mr + i], y[j, i, :, :, full, :width].transpose(1, 0, 2))


def convolve_winograd(x, w, b, pre, out_spatial, m: int = 4, epilogue=None, pool=None):
    """x (N, C, H, W) float32, w (K, C, 3, 3) -> (N, K, OH, OW) float32, stride 1, no dilation.

    ``pre`` is the (top, left) zero padding; rows and columns past the input
    (bottom/right padding, tile overhang) read zeros. ``epilogue(block)``
    runs in place on each block of the output after the bias. With ``pool``
    (a window (p, q) dividing m) the result is the maximum over
    non-overlapping p x q windows, (N, K, OH // p, OW // q), taken in the
    output transform before the bias and the epilogue: both are monotone
    (bias addition and the fused activations), so this gives the maxima of
    the activated outputs exactly, with a quarter of their work for 2 x 2.

    Work is cut into pieces run by :func:`netdsl.reference.threads.parallel`:

    * a map of at least ``PIECES * _ROW_BLOCK_TILES`` tiles is cut into blocks
      of tile rows, each piece doing its rows' input transform, the (m+2)^2
      matrix products, output transform, bias and epilogue while they are in
      cache;
    * a smaller map (a deep layer: many channels, few tiles) runs in two phases
      per group of images: input tiles transformed per image and block of input
      channels, then per block of output channels the products, output
      transform, bias and epilogue (so a block's transformed filters stay in
      cache across the group's images). The products are per image, except
      on a narrow map (under ``_NARROW_TILES`` tiles) with at least
      ``_MERGE_WEIGHTS`` filter weights, where one product takes the whole
      group's tiles: packing the filters then costs as much as multiplying.

    The pieces depend on the image's shape only, never on the thread count,
    and on the batch size only through those merged products: a batch gives
    the same bits on any machine's core count. An image alone and in a batch
    agree to float32 rounding, and bit for bit except where a merged product
    is rounded differently from the per-image one (BLAS may use another
    kernel for a matrix of another width; OpenBLAS does for small ones only,
    so YOLOv3-tiny's images give identical bits alone and in a batch:
    tests/reference/test_winograd.py).
    """
    n, c, h, wd = x.shape
    k = w.shape[0]
    oh, ow = out_spatial
    a = m + 2
    th, tw = -(-oh // m), -(-ow // m)
    hp, wp = th * m + 2, tw * m + 2
    bt = _BT[m].astype(np.float32)
    at = _AT[m].astype(np.float32)
    u = filter_transform(w, m)
    cols_in = min(wd, wp - pre[1])
    pool = tuple(pool) if pool is not None else (1, 1)
    out = buffers.empty((n, k, oh // pool[0], ow // pool[1]), np.float32)
    rows_per_tile = m // pool[0]

    def finish(target, k0, k1):
        if b is not None:
            target += b[k0:k1].reshape(-1, 1, 1)
        if epilogue is not None:
            epilogue(target)

    def padded_rows(image, c0, c1, r0, r1):  # input rows of tile rows r0:r1, zero-padded to (C, rows, wp)
        top = r0 * m - pre[0]
        xp = buffers.scratch("winograd-input", (c1 - c0, (r1 - r0) * m + 2, wp))
        lo, hi = max(0, top), min(h, top + xp.shape[1])
        if hi <= lo or cols_in <= 0:
            xp.fill(0)
            return xp
        xp[:, :lo - top] = 0  # the border: rows above and below the input, columns left and right of it
        xp[:, hi - top:] = 0
        xp[:, lo - top:hi - top, :pre[1]] = 0
        xp[:, lo - top:hi - top, pre[1] + cols_in:] = 0
        xp[:, lo - top:hi - top, pre[1]:pre[1] + cols_in] = x[image, c0:c1, lo:hi, :cols_in]
        return xp

    if th * tw >= PIECES * _ROW_BLOCK_TILES:
        per_row = tw * a * a * (c + k) * 4
        rows = min(-(-th // PIECES), max(-(-_ROW_BLOCK_TILES // tw), _ROW_BLOCK_BYTES // per_row))

        def row_block(piece):
            image, r0, r1 = piece
            v = _input_tiles(padded_rows(image, 0, c, r0, r1), bt, m, r1 - r0, tw)
            target = out[image:image + 1, :, r0 * rows_per_tile:r1 * rows_per_tile]
            _output_tiles(np.matmul(u, v), at, m, r1 - r0, tw, target, pool)
            finish(target, 0, k)

        parallel(row_block, [(image, r0, r1) for image in range(n) for r0, r1 in balanced(th, rows)])
        return out

    tiles = th * tw
    # images go through in groups: all of a group's input tiles are transformed, then each block of
    # output channels does every image of the group, so the block's transformed filters are read from
    # memory once per group rather than once per image (they are the largest operand of deep layers)
    group = max(1, min(n, _GROUP_BYTES // (a * a * c * tiles * 4)))
    merged = merges_images(c, k, tiles)
    v = buffers.empty((a * a, c, group * tiles), np.float32)  # (column point, row point), channel, (image, tile)
    first = 0

    def transform_input(piece):
        i, (c0, c1) = piece
        v[:, c0:c1, i * tiles:(i + 1) * tiles] = _input_tiles(padded_rows(first + i, c0, c1, 0, th), bt, m, th, tw)

    def transform_output(block):
        k0, k1 = block
        count = min(group, n - first)
        for i0, i1 in [(0, count)] if merged else [(i, i + 1) for i in range(count)]:
            target = out[first + i0:first + i1, k0:k1]
            prod = _products(u[:, k0:k1], v[:, :, i0 * tiles:i1 * tiles])  # a product per point
            _output_tiles(prod, at, m, th, tw, target, pool)
            finish(target, k0, k1)

    inputs = split(c, max(PIECES, -(-c * hp * wp * 4 * 3 // _BLOCK_BYTES)))
    outputs = split(k, max(PIECES, min(k // 8, -(-k * a * a * tiles * 4 * 2 // _BLOCK_BYTES))))
    for first in range(0, n, group):
        parallel(transform_input, [(i, block) for i in range(min(group, n - first)) for block in inputs])
        parallel(transform_output, outputs)
    return out
