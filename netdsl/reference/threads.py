"""Work split over the CPU's cores for the reference kernels.

The heavy kernels (convolution, pooling, matrix products) cut their work
into independent pieces (column chunks of the im2col matrix, blocks of
output channels, rows) and run them on a pool of threads: NumPy releases the
GIL in its copies, ufuncs and matrix products, so the memory-bound parts
(im2col, Winograd transforms, bias and activation) run on every core, not
only the BLAS calls. For the whole of an ``execute`` call the BLAS library is
held to one thread per call (via ``threadpoolctl``, :func:`blas_held`), so
the cores are not oversubscribed and BLAS's own idle threads do not spin
against ours; its thread count is restored afterwards.

Every piece computes the same elements with the same arithmetic whatever the
number of threads, so results are bit-for-bit identical for any thread count
(tests/reference/test_fast_convolution.py, test_winograd.py).

Threads: the ``NETDSL_NUM_THREADS`` environment variable, else the number of
CPUs this process may run on (its affinity, read once per process).
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import buffers

_lock = threading.Lock()
_state = threading.local()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_blas = None          # [(controller, its thread count when the outermost hold began)]
_active = 0           # parallel regions running now, in any thread


def thread_count() -> int:
    """Threads the kernels use: ``NETDSL_NUM_THREADS`` if set (>= 1), else the usable CPUs."""
    value = os.environ.get("NETDSL_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) >= 1:
        return int(value)
    return _usable_cpus()


@functools.lru_cache(maxsize=1)
def _usable_cpus() -> int:
    """CPUs this process may run on, read once (a system call per parallel region cost 0.5 ms a pass)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _executor(count: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < count - 1:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=count - 1, thread_name_prefix="netdsl-reference")
            _pool_size = count - 1
        return _pool


def _enter() -> None:
    """First region in: hold BLAS to one thread per call (found once via threadpoolctl)."""
    global _blas, _active
    with _lock:
        if _active == 0:
            if _blas is None:
                from threadpoolctl import ThreadpoolController
                _blas = [(c, 0) for c in ThreadpoolController().select(user_api="blas").lib_controllers]
            _blas = [(c, c.num_threads) for c, _ in _blas]  # what the user has set now
            for controller, _ in _blas:
                controller.set_num_threads(1)
        _active += 1


def _leave() -> None:
    """Last region out: give BLAS its thread count back."""
    global _active
    with _lock:
        _active -= 1
        if _active == 0:
            for controller, count in _blas:
                controller.set_num_threads(count)


@contextlib.contextmanager
def blas_held():
    """Context: BLAS computes on the calling thread only (restored when the last holder leaves)."""
    _enter()
    try:
        yield
    finally:
        _leave()


@contextlib.contextmanager
def blas_threads():
    """Context inside :func:`blas_held`: BLAS may use its own threads again, for a kernel made of
    many small dependent products that only BLAS can spread over the cores (the RNN recurrence)."""
    with _lock:
        released = _active > 0 and _blas is not None
        if released:
            for controller, count in _blas:
                controller.set_num_threads(count)
    try:
        yield
    finally:
        if released:
            with _lock:
                if _active > 0:
                    for controller, _ in _blas:
                        controller.set_num_threads(1)


_PARALLEL_MACS = 1 << 22   # smaller products run in one piece
PIECES = 4  # the kernels cut one image's work into at least this many pieces when its shape allows, a
            # number fixed here and not the thread count: the pieces (so the bits) never depend on the machine


def matmul(a, b):
    """``np.matmul(a, b)``, the rows of ``a`` (axis -2) cut into pieces run by :func:`parallel` when the
    product is large. The pieces depend on the shapes only, so results do not depend on the thread
    count."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim < 2 or b.ndim < 2:
        return np.matmul(a, b)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    rows, inner, cols = a.shape[-2], a.shape[-1], b.shape[-1]
    if rows < 2 or rows * inner * cols * int(np.prod(batch)) < _PARALLEL_MACS:
        return np.matmul(a, b)
    out = buffers.empty(batch + (rows, cols), np.result_type(a, b))
    parallel(lambda piece: np.matmul(a[..., piece[0]:piece[1], :], b, out=out[..., piece[0]:piece[1], :]),
             split(rows, PIECES))
    return out


def split(total: int, parts: int) -> list[tuple[int, int]]:
    """``range(total)`` cut into at most ``parts`` contiguous (start, stop) pieces of near-equal size."""
    parts = max(1, min(parts, total))
    bounds = [total * i // parts for i in range(parts + 1)]
    return [(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]


def balanced(total: int, size: int) -> list[tuple[int, int]]:
    """``range(total)`` cut into near-equal pieces of about ``size``, as many as the multiple of ``PIECES``
    nearest ``total / size`` (at least ``PIECES``; fewer only when ``total`` is smaller): 1, 2 or 4 threads
    then get equal shares of work."""
    parts = max(1, round(total / max(1, size) / PIECES)) * PIECES
    return split(total, min(total, parts))


def parallel(fn, pieces) -> None:
    """Run ``fn(piece)`` for every piece, spread over :func:`thread_count` threads (the caller's thread
    takes a share). Pieces must write disjoint outputs. Nested calls run inline. The first exception
    raised by a piece is re-raised after all pieces have finished."""
    pieces = list(pieces)
    count = min(thread_count(), len(pieces))
    if count <= 1 or getattr(_state, "inside", False):
        for piece in pieces:
            fn(piece)
        return
    shares = [pieces[a:b] for a, b in split(len(pieces), count)]

    def run(share):
        _state.inside = True
        try:
            for piece in share:
                fn(piece)
        finally:
            _state.inside = False

    _enter()
    try:
        futures = [_executor(count).submit(run, share) for share in shares[1:]]
        error = None
        try:
            run(shares[0])
        except BaseException as exc:  # noqa: BLE001 - re-raised below once the other threads are done
            error = exc
        for future in futures:
            try:
                future.result()
            except BaseException as exc:  # noqa: BLE001
                error = error or exc
        if error is not None:
            raise error
    finally:
        _leave()
