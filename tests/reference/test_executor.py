"""The executor's dtype handling: bfloat16 rounding against torch's float32 -> bfloat16 conversion."""
import numpy as np
import torch

from netdsl.reference.executor import round_bf16


def test_round_bf16_matches_torch():
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2**32, size=200_000, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    x = x[np.isfinite(x)]
    want = torch.from_numpy(x).to(torch.bfloat16).to(torch.float32).numpy()
    np.testing.assert_array_equal(round_bf16(x), want)


def test_round_bf16_keeps_nan_and_inf():
    x = np.array([0x7FFFFFFF, 0x7F800001, 0xFFC00000, 0x7F800000, 0xFF800000], np.uint32).view(np.float32)
    out = round_bf16(x)
    assert np.isnan(out[:3]).all()
    assert out[3] == np.inf and out[4] == -np.inf
