"""Memory reused across ``execute`` calls for the reference kernels' large arrays.

A forward pass of a detector allocates and frees tens of megabytes per layer
(outputs, stride phases). Left to the C allocator, every such array is a
fresh ``mmap`` whose pages the kernel faults in and zeroes on first touch and
unmaps on free, so the next pass pays again: on YOLOv3 (416, batch 1) that
was about 10 % of the wall time and made the first layers' times swing by 2x
(benchmarks/yolo_speed.py). :func:`empty` instead hands out a block of a
pool, keyed by size, that no live array uses.

Safety: a block is free when nothing but the pool refers to it. Every array
made from a block (the array :func:`empty` returns, its views, reshapes,
slices, whatever a user keeps of an output) holds a reference to the block,
so a block is never handed out while any of them is alive; the check and the
hand-out happen under one lock.

Size: at the end of each outermost :func:`pass_scope` (one ``execute``
call), free blocks not handed out during that pass are released, so the pool
holds at most one pass's arrays plus what the caller still keeps.

:func:`scratch` is the other kind of reuse: a per-thread work area for a
kernel's temporaries inside one piece of work (an im2col chunk, an
activation's product), which never leave the piece.
"""
from __future__ import annotations

import contextlib
import math
import sys
import threading

import numpy as np

_MIN_BYTES = 1 << 20       # smaller arrays come from the allocator's heap, which it keeps anyway
_lock = threading.Lock()
_pool: dict[int, list[list]] = {}   # nbytes -> [[block (uint8, 1-D), pass it was last handed out in]]
_pass = 0
_depth = 0


def _references(entry: list) -> int:
    return sys.getrefcount(entry[0])


_FREE = _references([np.empty(0), 0])   # what _references gives for a block only its pool entry holds


def _take(bucket: list) -> np.ndarray | None:
    for entry in bucket:
        if _references(entry) == _FREE:
            entry[1] = _pass
            return entry[0]
    return None


def empty(shape, dtype=np.float32) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape`` (int or tuple) and ``dtype`` (like ``np.empty``),
    backed by a pooled block when it is at least 1 MiB. Raises what ``np.empty`` raises for a bad shape
    or dtype."""
    dtype = np.dtype(dtype)
    nbytes = math.prod(np.atleast_1d(shape).tolist()) * dtype.itemsize
    if nbytes < _MIN_BYTES:
        return np.empty(shape, dtype)
    with _lock:
        bucket = _pool.setdefault(nbytes, [])
        block = _take(bucket)
        if block is None:
            block = np.empty(nbytes, np.uint8)
            bucket.append([block, _pass])
    return block.view(dtype).reshape(shape)


def zeros(shape, dtype=np.float32) -> np.ndarray:
    """:func:`empty` filled with zeros."""
    out = empty(shape, dtype)
    out.fill(0)
    return out


@contextlib.contextmanager
def pass_scope():
    """Context for one forward pass: on leaving the outermost one, free blocks that the pass did not
    use are released to the allocator."""
    global _pass, _depth
    with _lock:
        if _depth == 0:
            _pass += 1
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _trim()


def _trim() -> None:
    for nbytes in list(_pool):
        kept = [entry for entry in _pool[nbytes]
                if entry[1] == _pass or _references(entry) > _FREE]
        if kept:
            _pool[nbytes] = kept
        else:
            del _pool[nbytes]


_SCRATCH_MAX = 16 << 20    # a larger request is a plain array (never held by a thread)
_scratch = threading.local()


def scratch(slot: str, shape, dtype=np.float32) -> np.ndarray:
    """An uninitialised C-contiguous array of ``shape``, from this thread's work area named ``slot``.

    The same thread asking again for the same slot gets the same memory, so
    the array is only valid until the calling code asks for ``slot`` again:
    it is for temporaries that never leave one piece of work (each use site
    names its own slot). Areas grow to the largest request up to 16 MiB and
    are kept for the thread's life; larger requests get a fresh array.
    Raises what ``np.empty`` raises for a bad shape or dtype.
    """
    dtype = np.dtype(dtype)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > _SCRATCH_MAX:
        return np.empty(shape, dtype)
    try:
        areas = _scratch.areas
    except AttributeError:
        areas = _scratch.areas = {}
    area = areas.get(slot)
    if area is None or area.nbytes < nbytes:
        area = areas[slot] = np.empty(max(nbytes, 64 << 10), np.uint8)
    return np.ndarray(shape, dtype, buffer=area)


def pooled_bytes() -> int:
    """Bytes the pool holds now (free or in use)."""
    with _lock:
        return sum(nbytes * len(bucket) for nbytes, bucket in _pool.items())
