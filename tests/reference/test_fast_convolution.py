"""The general convolution kernel (netdsl.reference.convolution.convolve): chunked im2col, chunks and
channel blocks spread over threads, bias and a fused epilogue applied per block, against a straightforward
float64 sum over every kernel tap; and bit-identical results whatever the thread count."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.reference import convolution, threads
from netdsl.reference.convolution import convolve


def naive(x, w, b, stride, dilation, pre, post, groups):
    """float64 cross-correlation by explicit taps: sum over (c, r...) of w * shifted strided input."""
    x = x.astype(np.float64)
    n = w.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + list(zip(pre, post)))
    out_spatial = [(xp.shape[2 + i] - dilation[i] * (w.shape[2 + i] - 1) - 1) // stride[i] + 1 for i in range(n)]
    k, cg = w.shape[:2]
    kg = k // groups
    out = np.zeros((x.shape[0], k, *out_spatial))
    for taps in itertools.product(*(range(s) for s in w.shape[2:])):
        index = tuple(slice(t * d, t * d + (o - 1) * s + 1, s)
                      for t, d, o, s in zip(taps, dilation, out_spatial, stride))
        shifted = xp[(slice(None), slice(None)) + index]
        for g in range(groups):
            part = shifted[:, g * cg:(g + 1) * cg]
            kernel = w[(slice(g * kg, (g + 1) * kg), slice(None)) + taps].astype(np.float64)
            out[:, g * kg:(g + 1) * kg] += np.einsum("kc,nc...->nk...", kernel, part)
    if b is not None:
        out += b.reshape((1, k) + (1,) * n)
    return out, tuple(out_spatial)


CASES = [
    # shape (N, C, *S), K, kernel, stride, dilation, pre, post, groups
    ((1, 3, 37, 29), 8, (3, 3), (1, 1), (1, 1), (1, 1), (1, 1), 1),
    ((2, 4, 17, 13), 6, (3, 2), (2, 3), (1, 2), (1, 0), (2, 3), 2),
    ((1, 6, 9, 9), 12, (5, 5), (1, 1), (2, 2), (4, 4), (4, 4), 3),
    ((3, 8, 11, 7), 8, (3, 3), (2, 1), (1, 2), (0, 1), (1, 0), 8),      # depthwise
    ((1, 8, 7, 8), 16, (3, 3), (1, 1), (1, 1), (1, 1), (1, 1), 8),      # depthwise, channel multiplier 2
    ((1, 7, 5, 6), 9, (1, 1), (1, 1), (1, 1), (0, 0), (0, 0), 1),       # pointwise
    ((1, 4, 6, 6), 4, (1, 1), (2, 2), (1, 1), (0, 0), (0, 0), 1),       # strided 1x1
    ((2, 5, 23), 7, (4,), (3,), (2,), (2,), (1,), 1),                     # 1-D
    ((1, 2, 5, 6, 7), 3, (3, 2, 3), (1, 2, 1), (1, 1, 2), (1, 0, 2), (1, 1, 0), 1),  # 3-D
    ((1, 64, 13, 13), 64, (3, 3), (1, 1), (1, 1), (1, 1), (1, 1), 1),   # one chunk: output-channel blocks
    ((1, 3, 160, 150), 16, (3, 3), (1, 1), (1, 1), (1, 1), (1, 1), 1),  # many chunks of output rows
]


@pytest.mark.parametrize("shape, k, ksize, stride, dilation, pre, post, groups", CASES)
@pytest.mark.parametrize("count", ["1", "2", "3"])
def test_matches_naive_sum_at_every_thread_count(monkeypatch, shape, k, ksize, stride, dilation, pre, post,
                                                 groups, count):
    monkeypatch.setenv("NETDSL_NUM_THREADS", count)
    rng = np.random.default_rng(sum(shape) + k)
    x = rng.standard_normal(shape, dtype=np.float32)
    w = rng.standard_normal((k, shape[1] // groups) + ksize, dtype=np.float32)
    b = rng.standard_normal(k, dtype=np.float32)
    expected, out_spatial = naive(x, w, b, stride, dilation, pre, post, groups)
    got = convolve(x, w, b, stride, dilation, pre, post, groups, out_spatial)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_chunking_and_threads_give_bit_identical_results(monkeypatch):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 16, 120, 90), dtype=np.float32)
    w = rng.standard_normal((32, 16, 3, 3), dtype=np.float32)
    args = (x, w, None, (1, 1), (1, 1), (1, 1), (1, 1), 1, (120, 90))
    results = []
    for count in ("1", "2", "4"):
        monkeypatch.setenv("NETDSL_NUM_THREADS", count)
        results.append(convolve(*args))
    monkeypatch.setattr(convolution, "_CHUNK_ABOVE", 1 << 40)  # one chunk per image
    results.append(convolve(*args))
    for r in results[1:]:
        assert np.array_equal(r, results[0])


def test_epilogue_runs_once_on_every_output_element(monkeypatch):
    monkeypatch.setenv("NETDSL_NUM_THREADS", "2")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 140, 60), dtype=np.float32)
    w = rng.standard_normal((16, 3, 3, 3), dtype=np.float32)
    plain = convolve(x, w, None, (1, 1), (1, 1), (1, 1), (1, 1), 1, (140, 60))

    def add_one(block):
        block += 1
    got = convolve(x, w, None, (1, 1), (1, 1), (1, 1), (1, 1), 1, (140, 60), epilogue=add_one)
    assert np.array_equal(got, plain + np.float32(1))


def test_thread_pool_errors_propagate_and_blas_threads_are_restored():
    from threadpoolctl import threadpool_info
    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

    def piece(i):
        if i == 3:
            raise ValueError("piece 3")
    with pytest.raises(ValueError, match="piece 3"):
        threads.parallel(piece, range(6))
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before


def test_split_covers_the_range_in_order():
    for total, parts in [(10, 3), (2, 5), (7, 1), (0, 2)]:
        pieces = threads.split(total, parts)
        assert [i for a, b in pieces for i in range(a, b)] == list(range(total))
        assert len(pieces) == min(max(parts, 1), total)
        assert all(math.isclose(b - a, total / len(pieces), abs_tol=1) for a, b in pieces)


def test_thread_count_reads_the_environment(monkeypatch):
    monkeypatch.setenv("NETDSL_NUM_THREADS", "3")
    assert threads.thread_count() == 3
    monkeypatch.setenv("NETDSL_NUM_THREADS", "zero")
    assert threads.thread_count() >= 1


@pytest.mark.parametrize("hw", [(13, 13), (150, 90)])   # channel blocks of one chunk; many chunks
def test_an_image_gives_the_same_bits_alone_and_in_a_batch(hw):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 8) + hw, dtype=np.float32)
    w = rng.standard_normal((40, 8, 3, 3), dtype=np.float32)
    batch = convolve(x, w, None, (1, 1), (1, 1), (1, 1), (1, 1), 1, hw)
    for i in range(3):
        assert np.array_equal(convolve(x[i:i + 1], w, None, (1, 1), (1, 1), (1, 1), (1, 1), 1, hw)[0], batch[i])


def test_blas_is_held_to_one_thread_inside_a_run_and_released_for_the_rnn_kernel():
    """The BLAS libraries loaded when the executor first ran (NumPy's among them; a library another
    package loads later, e.g. torch's, is not NumPy's and is left alone)."""
    with threads.blas_held():
        held = [controller for controller, _ in threads._blas]
    assert any("openblas" in c.internal_api or "mkl" in c.internal_api for c in held)

    def counts():
        return [c.num_threads for c in held]
    before = counts()
    with threads.blas_held():
        assert set(counts()) == {1}
        with threads.blas_threads():
            assert counts() == before
        assert set(counts()) == {1}
    assert counts() == before


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=3), step=st.data(), seed=st.integers(0, 2**32 - 1))
def test_polyphase_splits_the_padded_input_into_its_stride_phases(shape, step, seed):
    n = len(shape)
    stride = step.draw(st.tuples(*[st.integers(1, 3)] * n))
    pre = step.draw(st.tuples(*[st.integers(0, 3)] * n))
    post = step.draw(st.tuples(*[st.integers(0, 3)] * n))
    x = np.random.default_rng(seed).standard_normal((2, 3, *shape)).astype(np.float32)
    phases = convolution.polyphase(x, stride, pre, post)
    padded = np.pad(x, [(0, 0), (0, 0)] + list(zip(pre, post)))
    for phase in itertools.product(*(range(s) for s in stride)):
        got = phases[(slice(None), slice(None)) + phase]
        expected = padded[(slice(None), slice(None)) + tuple(slice(p, None, s) for p, s in zip(phase, stride))]
        cover = tuple(slice(0, e) for e in expected.shape[2:])
        assert np.array_equal(got[(slice(None), slice(None)) + cover], expected)
        # slots past the padded input are zero too (the kernel may read them for dropped columns)
        rest = got.copy()
        rest[(slice(None), slice(None)) + cover] = 0
        assert not rest.any()
