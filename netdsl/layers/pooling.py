"""pooling: ``Network.add_pooling_nd`` (TensorRT IPoolingLayer) and ``Network.add_global_pooling``.

Semantics: TensorRT API reference, IPoolingLayer and the operator page
"Pooling". MAX takes the largest input cell of the window (padding never
wins); AVERAGE divides the window's sum by the cells that overlap the
unpadded input when ``average_count_excludes_padding`` (TensorRT's default)
or else by the cells that overlap the padded input — cells of a ROUND_UP
window past the padded input (the overhang) are never counted, as in torch's
``ceil_mode`` and Caffe; MAX_AVERAGE_BLEND is
``(1 - blend_factor) * max + blend_factor * average``.
"""
from __future__ import annotations

from ..graph.enums import LayerType, PaddingMode, PoolingType
from ..graph.network import network_method
from ..graph.shapes import is_static_shape, require
from . import padding as _padding
from ._checks import as_enum, dims, fail


@network_method
def add_pooling_nd(self, input, type: PoolingType, window_size, *, stride_nd=1, padding_nd=None,
                   pre_padding=None, post_padding=None,
                   padding_mode: PaddingMode = PaddingMode.EXPLICIT_ROUND_DOWN,
                   average_count_excludes_padding: bool = True, blend_factor: float = 0.0, name=None):
    """Add 2-D or 3-D pooling over the innermost spatial dims of an (N..., C, H, W) / (N..., C, D, H, W) input.

    Output size per spatial dim: as convolution with dilation 1
    (``netdsl.layers.padding``); EXPLICIT_ROUND_UP is "ceil mode". Unlike
    torch's ``ceil_mode``, EXPLICIT_ROUND_UP keeps a last window that starts
    in the post padding; CAFFE_ROUND_UP drops it, as torch does.

    Args:
        input: FLOAT, HALF or BF16 tensor of rank >= 4 (2-D) or >= 5 (3-D);
            dims before C are batch dims.
        type: PoolingType.MAX, AVERAGE or MAX_AVERAGE_BLEND (or its name).
        window_size: (R, S) or (T, R, S), in elements.
        stride_nd: default 1, as TensorRT.
        padding_nd / pre_padding / post_padding, padding_mode: as convolution.
        average_count_excludes_padding: AVERAGE divisor = window cells inside
            the input (True, TensorRT's default) or inside the padded input.
        blend_factor: weight of the average in MAX_AVERAGE_BLEND, in [0, 1].
        name: layer name (scoped); default ``pooling``, ``pooling1`` ...
    Returns:
        Layer with one output (N..., C, H', W'), input dtype; the PoolingType is
        ``layer.pooling_type`` (``layer.type`` is LayerType.POOLING);
        ``pre_padding`` / ``post_padding`` are the padding applied (post
        includes ``overhang``).
    Raises:
        NetworkDefinitionError: wrong rank or dtype, bad type or blend_factor,
            bad padding, an empty output, or a window that holds no cell to
            pool (no input cell for MAX, blend or AVERAGE without padding; no
            padded-input cell for AVERAGE with padding: TensorRT leaves its
            value unspecified) — naming the layer.
    """
    name = self.begin_layer(LayerType.POOLING, name, [input])
    if isinstance(window_size, int) or not hasattr(window_size, "__len__"):
        fail(name, f"window_size must be a tuple of 2 or 3 ints, found {window_size!r}")
    n = len(window_size)
    _padding.check_input(name, input, n, "window_size")
    kind = _pooling_type(name, type, blend_factor)
    window = dims(window_size, n, "window_size", name)
    stride = dims(stride_nd, n, "stride_nd", name)
    padding_mode = as_enum(name, PaddingMode, padding_mode, "padding_mode")
    pre, post = _padding.pre_post(name, n, padding_nd, pre_padding, post_padding)
    geometry = _padding.resolve(self, name, input.shape[-n:], window, stride, (1,) * n, pre, post, padding_mode,
                                kind="pooling")
    counts_padding = kind is PoolingType.AVERAGE and not average_count_excludes_padding
    for ax, (i, o, s, f, b, a, extra) in enumerate(zip(input.shape[-n:], geometry.output, stride, window,
                                                        geometry.pre, geometry.post, geometry.overhang)):
        lo, hi = (-b, i + a - extra) if counts_padding else (0, i)
        if not is_static_shape((i, o, b, a, extra)):
            # Windows are contiguous: every one holds a cell when the first and the last do.
            where = "padded input" if counts_padding else "input"
            require(self, name, lambda b_, lo_, last, hi_, f_=f: f_ - b_ > lo_ and last < hi_, (b, lo, (o - 1) * s - b, hi),
                    f"every pooling window of spatial dim {ax} to hold a cell of the {where}")
            continue
        counts = _padding.window_counts(o, s, f, b, lo, hi)
        if min(counts) == 0:
            where = "padded input" if counts_padding else "input"
            fail(name, f"pooling window {counts.index(0)} of spatial dim {ax} holds no cell of the {where} "
                       f"(size {i}, padding {b}/{a - extra}, window {f}, stride {s}, {padding_mode.name}); "
                       f"TensorRT leaves its value unspecified: use less padding"
                       + (" or CAFFE_ROUND_UP, which drops such a last window" if padding_mode.name ==
                          "EXPLICIT_ROUND_UP" else ""))
    attrs = dict(pooling_type=kind, window_size_nd=window, stride_nd=stride, pre_padding=geometry.pre,
                 post_padding=geometry.post, padding_nd=geometry.pre, padding_mode=padding_mode,
                 overhang=geometry.overhang, average_count_excludes_padding=bool(average_count_excludes_padding),
                 blend_factor=float(blend_factor), global_pooling=False)
    out = (*input.shape[:-n], *geometry.output)
    return self.append_layer(LayerType.POOLING, name, [input], [(out, input.dtype)], attrs)


@network_method
def add_global_pooling(self, input, type: PoolingType, *, nb_spatial_dims: int | None = None,
                       blend_factor: float = 0.0, name=None):
    """Pool each channel's whole spatial extent to one value (ONNX GlobalMaxPool / GlobalAveragePool).

    A POOLING layer whose window is the input's spatial dims (no padding,
    stride 1), so (N..., C, H, W) -> (N..., C, 1, 1). It is marked
    ``layer.global_pooling``; the TensorRT lowering uses IPoolingLayer, or
    IReduceLayer where the window is larger than TensorRT's 2-D pooling
    window limit (100000 cells).

    Args:
        input: FLOAT, HALF or BF16 tensor, rank >= 4.
        type: PoolingType.MAX, AVERAGE or MAX_AVERAGE_BLEND (or its name).
        nb_spatial_dims: 2 or 3 innermost dims to pool; default 2 for a rank-4
            input and 3 for a rank-5 input (required for other ranks).
        blend_factor: as add_pooling_nd.
        name: layer name (scoped); default ``pooling``, ``pooling1`` ...
    Returns:
        Layer with one output of the input's shape with the pooled dims set to 1.
    Raises:
        NetworkDefinitionError: wrong rank or dtype, bad type, blend_factor or
            nb_spatial_dims — naming the layer.
    """
    name = self.begin_layer(LayerType.POOLING, name, [input])
    if nb_spatial_dims is None:
        if input.ndim not in (4, 5):
            fail(name, f"give nb_spatial_dims (2 or 3) for input {input.name!r} of shape {input.shape}: "
                       f"only a rank-4 (NCHW) or rank-5 (NCDHW) input has a default")
        nb_spatial_dims = input.ndim - 2
    if nb_spatial_dims not in (2, 3):
        fail(name, f"nb_spatial_dims must be 2 or 3, found {nb_spatial_dims!r}")
    _padding.check_input(name, input, nb_spatial_dims)
    kind = _pooling_type(name, type, blend_factor)
    window = input.shape[-nb_spatial_dims:]
    zeros, ones = (0,) * nb_spatial_dims, (1,) * nb_spatial_dims
    attrs = dict(pooling_type=kind, window_size_nd=window, stride_nd=ones, pre_padding=zeros, post_padding=zeros,
                 padding_nd=zeros, padding_mode=PaddingMode.EXPLICIT_ROUND_DOWN, overhang=zeros,
                 average_count_excludes_padding=True, blend_factor=float(blend_factor), global_pooling=True)
    out = (*input.shape[:-nb_spatial_dims], *ones)
    return self.append_layer(LayerType.POOLING, name, [input], [(out, input.dtype)], attrs)


def _pooling_type(name: str, type_, blend_factor) -> PoolingType:
    """Check the pooling type and blend factor; return the PoolingType."""
    kind = as_enum(name, PoolingType, type_, "type")
    if not 0.0 <= blend_factor <= 1.0:
        fail(name, f"blend_factor must be in [0, 1], found {blend_factor}")
    return kind
