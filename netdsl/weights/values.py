"""Value checks shared by the weight readers and by binding: non-finite values, minimums, exact dtype conversion.

The value checks return a one-line problem (without the tensor's name,
which the caller prepends) or None; none raises, so the HDF5 store, the darknet
converter and ``Network.bind_weights`` can word their own errors. Only NumPy
is imported here.
"""
from __future__ import annotations

import numpy as np

_BLOCK = 1 << 16  # elements per block of the element-wise searches (a 64 kB bool mask, not one per tensor)


def index_text(shape: tuple[int, ...], flat: int) -> str:
    """``(i, j, ...)`` of the ``flat``-th element of an array of ``shape`` (C order); ``()`` for a scalar."""
    return str(tuple(int(i) for i in np.unravel_index(int(flat), shape))) if shape else "()"


def first_nonfinite(array: np.ndarray) -> str | None:
    """The first NaN or +-Inf of a floating-point array, as ``"nan at index (5, 2, 1, 0)"``; None if all finite.

    Integer and bool arrays are always finite (None). A finite sum proves
    every element finite (IEEE 754: a NaN, or an infinity, makes any sum it
    enters NaN or infinite), so the common all-finite case costs one pass
    that allocates nothing; only a non-finite sum (a bad value, or finite
    values overflowing) is followed by the element-wise search, in blocks.
    """
    array = np.asarray(array)
    if array.dtype.kind != "f" or array.size == 0:
        return None
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf, inf - inf: only a reason to look closer
        total = np.add.reduce(array, axis=None)
    if np.isfinite(total):
        return None
    flat = array.reshape(-1)  # a view for contiguous arrays (all of them here), else one copy
    for start in range(0, flat.size, _BLOCK):
        bad = ~np.isfinite(flat[start:start + _BLOCK])
        if bad.any():
            index = start + int(np.argmax(bad))
            return f"non-finite value {flat[index].item()} at index {index_text(array.shape, index)}"
    return None


def first_below(array: np.ndarray, minimum: float) -> str | None:
    """The first value below ``minimum``, as ``"value -0.5 at index (3,) is below the minimum 0.0"``; None if none.

    NaN is not "below" anything (check :func:`first_nonfinite` first).
    """
    array = np.asarray(array)
    if array.size == 0:
        return None
    below = array < minimum
    if not below.any():
        return None
    flat = int(np.argmax(below.ravel()))
    return f"value {array.ravel()[flat].item()} at index {index_text(array.shape, flat)} is below the minimum {minimum}"


def dtype_convertible(found: np.dtype, expected: np.dtype) -> bool:
    """Whether an array of dtype ``found`` may be bound to weights of dtype ``expected`` (converted exactly).

    True for equal dtypes and for conversions exact for every value (NumPy
    "safe" casting): float16 -> float32/float64, float32 -> float64,
    int8/int16/uint8/uint16 -> float32, narrower -> wider integers. False
    for anything that can round or wrap (float64 -> float32, int32 ->
    float32, int64 -> int32, float -> int) and for bool to or from numbers,
    so the verdict needs only the dtypes (an HDF5 dataset header).
    """
    found, expected = np.dtype(found), np.dtype(expected)
    if found == expected:
        return True
    if "b" in (found.kind, expected.kind):
        return False
    return bool(np.can_cast(found, expected, casting="safe"))
