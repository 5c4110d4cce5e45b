"""pooling: ``Network.add_pooling_nd`` (TensorRT IPoolingLayer).

Semantics: TensorRT API reference, IPoolingLayer. MAX ignores padding (a
padded cell never wins); AVERAGE divides by the window cells inside the
input when ``average_count_excludes_padding`` (TensorRT's default) else by
the whole window; MAX_AVERAGE_BLEND = (1 - blend_factor) * max + blend_factor * average.
"""
from __future__ import annotations

from ..graph.enums import LayerType, PaddingMode, PoolingType
from ..graph.network import network_method
from . import padding as _padding
from ._checks import FLOAT_TYPES, check_dtype, check_rank, dims, fail
from .convolution import _pre_post


@network_method
def add_pooling_nd(self, input, type: PoolingType, window_size, *, stride_nd=1, padding_nd=None,
                   pre_padding=None, post_padding=None,
                   padding_mode: PaddingMode = PaddingMode.EXPLICIT_ROUND_DOWN,
                   average_count_excludes_padding: bool = True, blend_factor: float = 0.0, name=None):
    """Add 2-D or 3-D pooling over the trailing spatial dims of NC(D)HW input.

    Args:
        input: NCHW (or NCDHW) FLOAT/HALF/BF16 tensor.
        type: PoolingType.MAX, AVERAGE or MAX_AVERAGE_BLEND.
        window_size: (R, S) or (T, R, S), in elements.
        stride_nd: default 1, as TensorRT.
        padding_nd / pre_padding / post_padding, padding_mode: as convolution.
        average_count_excludes_padding: AVERAGE divisor excludes padded cells.
        blend_factor: weight of the average in MAX_AVERAGE_BLEND, in [0, 1].
    Returns:
        Layer with one output (N, C, H', W'), input dtype; the PoolingType is
        ``layer.pooling_type`` (``layer.type`` is LayerType.POOLING).
    Raises:
        NetworkDefinitionError: wrong rank/dtype, bad blend_factor, empty output.
    """
    n = len(tuple(window_size))
    name = self.begin_layer(LayerType.POOLING, name, [input])
    check_rank(name, input, n + 2)
    check_dtype(name, input, FLOAT_TYPES)
    if not 0.0 <= blend_factor <= 1.0:
        fail(name, f"blend_factor must be in [0, 1], found {blend_factor}")
    window = dims(window_size, n, "window_size", name)
    stride = dims(stride_nd, n, "stride_nd", name)
    pre, post = _pre_post(name, n, padding_nd, pre_padding, post_padding)
    spatial, pre, post = _padding.resolve(name, input.shape[2:], window, stride, (1,) * n, pre, post,
                                          padding_mode, pooling=True)
    attrs = dict(pooling_type=PoolingType[type.name], window_size_nd=window, stride_nd=stride, pre_padding=pre,
                 post_padding=post, padding_nd=pre, padding_mode=padding_mode,
                 average_count_excludes_padding=bool(average_count_excludes_padding),
                 blend_factor=float(blend_factor))
    out = (*input.shape[:2], *spatial)
    return self.append_layer(LayerType.POOLING, name, [input], [(out, input.dtype)], attrs)
