"""``netdsl.weights.values.first_nonfinite``: a one-pass sum decides "all finite"; a non-finite sum is looked at
element by element in blocks, so the message names the first bad element (C order) whatever the sum did."""
from __future__ import annotations

import numpy as np
import pytest

from netdsl.weights import values
from netdsl.weights.values import first_nonfinite


def test_finite_arrays_and_non_floats_have_none():
    assert first_nonfinite(np.arange(24, dtype=np.float32).reshape(2, 3, 4) - 12) is None
    assert first_nonfinite(np.float32(0.5)) is None
    assert first_nonfinite(np.zeros((0, 3), np.float32)) is None
    assert first_nonfinite(np.array([2 ** 62, -(2 ** 62)], np.int64)) is None
    assert first_nonfinite(np.array([True, False])) is None


@pytest.mark.parametrize("dtype, big", [(np.float32, 3e38), (np.float16, 60000.0), (np.float64, 1.5e308)])
def test_finite_values_whose_sum_overflows_are_finite(dtype, big):
    """The sum overflows to inf (or inf - inf = nan): only a reason to look closer, not a verdict."""
    array = np.array([big, big, big, -big], dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        assert not np.isfinite(np.add.reduce(array, axis=None))  # the one-pass sum does not decide
    assert first_nonfinite(array) is None


@pytest.mark.parametrize("bad, shown", [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_first_bad_element_named_in_c_order(bad, shown):
    array = np.ones((2, 3, 4), np.float32)
    array[1, 2, 3] = -np.inf  # a later one
    array[1, 0, 2] = bad
    assert first_nonfinite(array) == f"non-finite value {shown} at index (1, 0, 2)"


def test_plus_and_minus_infinity_that_cancel_in_the_sum_are_found():
    array = np.zeros(10, np.float64)
    array[3], array[7] = np.inf, -np.inf  # the sum is nan, not inf
    assert first_nonfinite(array) == "non-finite value inf at index (3,)"


def test_bad_element_beyond_the_first_block_and_in_a_scalar():
    array = np.zeros((3, values._BLOCK), np.float32)
    array[2, 5] = np.nan
    assert first_nonfinite(array) == "non-finite value nan at index (2, 5)"
    assert first_nonfinite(np.float64(np.nan)) == "non-finite value nan at index ()"


def test_non_contiguous_arrays_are_searched_in_their_own_c_order():
    base = np.zeros((4, 3), np.float32)
    base[2, 1] = np.nan  # in the transposed view (3, 4) that is index (1, 2)
    assert first_nonfinite(base.T) == "non-finite value nan at index (1, 2)"
    assert first_nonfinite(base[:, ::2]) is None  # column 1 is not in this view
