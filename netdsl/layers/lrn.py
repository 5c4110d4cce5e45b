"""lrn: ``Network.add_lrn`` (TensorRT ILRNLayer), cross-channel local response normalization.

Semantics, for an NCHW input with window ``w`` (odd) and ``r = w // 2``::

    y[n, c, h, w] = x[n, c, h, w] / (k + alpha / w * S) ** beta
    S = sum(x[n, j, h, w] ** 2 for j in [max(0, c - r), min(C - 1, c + r)])

This is what TensorRT computes: the worked example of the TensorRT operator
reference "LRN" (``add_lrn(window=3, alpha=1, beta=1, k=0.1)`` on channels
0..4 gives 0.56603765 for channel 1 = 1 / (0.1 + (0 + 1 + 4) / 3)) fixes both
the half-window ``r = w // 2`` and the division of alpha by the window size.
The formula printed on that page (a sum from ``c - w`` to ``c + w`` and alpha
not divided) disagrees with its own example; netdsl follows the example.
It is also exactly ``torch.nn.functional.local_response_norm(x, size=w,
alpha=alpha, beta=beta, k=k)`` (torch divides alpha by ``size`` and pads
with zeros, so edge channels still divide by ``w``), and Caffe's /
AlexNet's ACROSS_CHANNELS LRN with ``local_size = w``.

Parameter ranges (ILRNLayer API reference): window odd in [1, 15], alpha in
[-1e20, 1e20], beta in [0.01, 1e5], k in [1e-5, 1e10] (the operator page's
"[1e5, 1e10]" for k is a typo of the API reference's range).
"""
from __future__ import annotations

from ..graph.enums import LayerType
from ..graph.network import network_method
from ._checks import FLOAT_TYPES, check_dtype, check_rank, fail


@network_method
def add_lrn(self, input, window: int, alpha: float, beta: float, k: float, *, name=None):
    """Add cross-channel LRN over the C dim of an NCHW tensor.

    Args:
        input: NCHW FLOAT/HALF/BF16 tensor (rank 4: TensorRT needs rank >= 4
            and places the window on dim ``rank - 3``, which is C only for 4-D).
        window: odd channel window in [1, 15] (torch's ``size``).
        alpha: scale in [-1e20, 1e20], divided by ``window`` (torch's convention).
        beta: exponent in [0.01, 1e5].
        k: offset in [1e-5, 1e10].
    Returns:
        Layer with one output of the input's shape and dtype; attributes
        ``window_size``, ``alpha``, ``beta``, ``k`` (ILRNLayer's names).
    Raises:
        NetworkDefinitionError: rank other than 4, non-float dtype, or a
            parameter outside TensorRT's range.
    """
    name = self.begin_layer(LayerType.LRN, name, [input])
    check_rank(name, input, 4)
    check_dtype(name, input, FLOAT_TYPES)
    window = int(window)
    if window % 2 == 0 or not 1 <= window <= 15:
        fail(name, f"window must be odd and in [1, 15] (ILRNLayer), found {window}")
    for what, value, lo, hi in (("alpha", alpha, -1e20, 1e20), ("beta", beta, 0.01, 1e5), ("k", k, 1e-5, 1e10)):
        if not lo <= float(value) <= hi:
            fail(name, f"{what} must be in [{lo:g}, {hi:g}] (ILRNLayer), found {value}")
    attrs = dict(window_size=window, alpha=float(alpha), beta=float(beta), k=float(k))
    return self.append_layer(LayerType.LRN, name, [input], [(input.shape, input.dtype)], attrs)
