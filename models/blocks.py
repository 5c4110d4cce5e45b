"""Reusable DSL blocks shared by the model definitions.

Each block opens a name scope, so weights read ``conv13.bn.scale``.
"""
from __future__ import annotations

import numpy as np

from netdsl import ActivationType, DataType, ElementWiseOperation, Network, Tensor, UnaryOperation
from netdsl.graph.enums import FillOperation


def conv_bn_act(net: Network, x: Tensor, filters: int, size: int, stride: int = 1, *, scope: str,
                batch_normalize: bool = True, activation: str = "leaky", fold_batch_norm: bool = False) -> Tensor:
    """Darknet ``[convolutional]``: convolution, batch norm, activation.

    Semantics: darknet src/convolutional_layer.c — padding ``size // 2`` when
    ``pad=1``, batch norm ``scale * (x - mean) / sqrt(variance + 1e-5) + bias``
    (no convolution bias then), leaky slope 0.1.

    Args:
        x: NCHW float tensor.
        filters, size, stride: output channels, square kernel size, stride.
        scope: name scope, e.g. ``conv13`` (darknet layer index).
        batch_normalize: with batch norm; else the convolution has a bias.
        activation: ``leaky`` or ``linear``.
        fold_batch_norm: fold the batch norm into the convolution's kernel and
            bias (``Network.add_conv_batch_norm``); the same weight names, equal
            within float32 rounding.
    Returns:
        NCHW tensor (N, filters, H / stride, W / stride).
    Weights declared: ``<scope>.conv.kernel`` (filters, C, size, size) KCRS;
    ``<scope>.bn.{scale,bias,mean,variance}`` or ``<scope>.conv.bias``.
    """
    with net.scope(scope):
        if batch_normalize:
            x = net.add_conv_batch_norm(x, filters, (size, size), stride_nd=stride, padding_nd=size // 2, eps=1e-5,
                                        fold=fold_batch_norm, conv_name="conv", bn_name="bn").output
        else:
            x = net.add_convolution_nd(x, filters, (size, size), stride_nd=stride, padding_nd=size // 2,
                                       name="conv").output
        if activation == "leaky":
            x = net.add_activation(x, ActivationType.LEAKY_RELU, alpha=0.1, name="leaky").output
        elif activation != "linear":
            raise ValueError(f"{scope}: unsupported darknet activation {activation!r}")
    return x


def yolo_decode(net: Network, head: Tensor, anchors, images: Tensor, *, scope: str):
    """Decode a darknet ``[yolo]`` head in the graph with native layers, at any input size.

    Semantics: darknet src/yolo_layer.c get_yolo_box. For cell (gx, gy) of a
    G_h x G_w grid and anchor (aw, ah) in input pixels:
    ``cx = (sigmoid(tx) + gx) * W / G_w``, ``cy = (sigmoid(ty) + gy) * H / G_h``,
    ``w = exp(tw) * aw``, ``h = exp(th) * ah``;
    class scores ``sigmoid(objectness) * sigmoid(class logit)``.

    Nothing depends on a fixed input size: the grid offsets are LINSPACE
    fills of the head's (runtime) grid shape and the cell size W / G_w,
    H / G_h is computed from the shapes of ``images`` and ``head``
    (``add_shape``), so one definition serves every batch and input size.

    Args:
        head: (N, A * (5 + classes), G_h, G_w) raw convolution output (dims may
            be runtime dimensions).
        anchors: A pairs (aw, ah) in input pixels.
        images: the network input (N, 3, H, W), for the cell size.
    Returns:
        boxes (N, A * G_h * G_w, 4) as x1, y1, x2, y2 in input pixels, and
        scores (N, A * G_h * G_w, classes) in [0, 1]; rows ordered anchor-major,
        then row-major cells.
    """
    n, channels, gh, gw = head.shape
    a = len(anchors)
    k = channels // a
    cells = gh * gw
    with net.scope(scope):
        t = net.add_shuffle(head, reshape_dims=(n, a, k, cells), second_transpose=(0, 1, 3, 2),
                            name="to_rows").output                                     # (N, A, cells, k)

        def part(begin, size, name):
            return net.add_slice(t, (0, 0, 0, begin), (n, a, cells, size), (1, 1, 1, 1), name=name).output

        def grid_axis(step, name):  # the column (x) or row (y) index of every cell, as (1, 1, cells, 1)
            index = net.add_fill((gh, gw), FillOperation.LINSPACE, 0.0, step, name=name).output
            return net.add_shuffle(index, reshape_dims=(1, 1, cells, 1), name=f"{name}_rows").output

        grid = net.add_concatenation([grid_axis((0.0, 1.0), "grid_x"), grid_axis((1.0, 0.0), "grid_y")], axis=3,
                                     name="grid").output                                  # (1, 1, cells, 2)

        def width_height(tensor, name):  # (W, H) of an NCHW tensor's runtime shape, as FLOAT (2,)
            shape = net.add_shape(tensor, name=f"{name}_shape").output
            wh = net.add_slice(shape, (3,), (2,), (-1,), name=f"{name}_wh").output
            return net.add_cast(wh, DataType.FLOAT, name=f"{name}_wh_float").output

        cell = _binary(net, width_height(images, "input"), width_height(head, "grid"), "DIV", "cell_size_wh")
        cell = net.add_shuffle(cell, reshape_dims=(1, 1, 1, 2), name="cell_size").output  # (1, 1, 1, 2)
        xy = net.add_activation(part(0, 2, "txy"), ActivationType.SIGMOID, name="sigmoid_xy").output
        cxy = _binary(net, _binary(net, xy, grid, "SUM", "add_grid"), cell, "PROD", "to_pixels")
        anchor_wh = np.asarray(anchors, np.float32).reshape(1, a, 1, 2)
        wh = net.add_unary(part(2, 2, "twh"), UnaryOperation.EXP, name="exp_wh").output
        wh = _binary(net, wh, net.add_constant(anchor_wh.shape, anchor_wh, name="anchors").output, "PROD",
                     "anchor_wh")
        half = _binary(net, wh, net.add_constant((1, 1, 1, 1), np.full((1, 1, 1, 1), 0.5, np.float32),
                                                 name="half").output, "PROD", "half_wh")
        x1y1 = _binary(net, cxy, half, "SUB", "x1y1")
        x2y2 = _binary(net, cxy, half, "SUM", "x2y2")
        boxes = net.add_concatenation([x1y1, x2y2], axis=3, name="corners").output
        boxes = net.add_shuffle(boxes, reshape_dims=(n, a * cells, 4), name="boxes").output
        obj = net.add_activation(part(4, 1, "tobj"), ActivationType.SIGMOID, name="sigmoid_obj").output
        cls = net.add_activation(part(5, k - 5, "tcls"), ActivationType.SIGMOID, name="sigmoid_cls").output
        scores = _binary(net, obj, cls, "PROD", "class_scores")
        scores = net.add_shuffle(scores, reshape_dims=(n, a * cells, k - 5), name="scores").output
    return boxes, scores


def _binary(net, a, b, op, name):
    return net.add_elementwise(a, b, ElementWiseOperation[op], name=name).output


# ======================================================================================================
# Blocks for porting models from PyTorch, Keras and ONNX (issue 9).
#
# Each takes ``name`` (the scope of its weights and layers) and declares its weights with
# ``Network.declare_weights(scope, role, shape)`` in the layout the framework importers
# (netdsl.frameworks.torch_import / keras_import / onnx_import / wts) fill:
#
#   * ``<name>.kernel`` (out, in) for add_linear — torch.nn.Linear.weight's layout;
#   * ``<name>.kernel`` (out, in/groups, k) for add_conv1d — torch.nn.Conv1d.weight's;
#   * ``<name>.embeddings`` (V, D) for add_embedding — torch.nn.Embedding.weight's.
#
# Composing your own helper: declare what the weight file must supply with
# ``w = net.declare_weights(net.scoped_name(name), "kernel", shape)`` and feed ``w`` (or a
# ``DerivedWeights`` computed from it, e.g. reshaped) to ``add_constant`` / ``add_convolution_nd``.
# Give an array instead (``declare_weights(..., value=array)`` or ``kernel=array`` here) and it is a
# constant bound at once: ``netdsl inspect --weights`` lists it under constants, never as a weight the
# file must supply, and importers do not expect it.
# ======================================================================================================
from netdsl import PoolingType as _PoolingType  # noqa: E402
from netdsl import SampleMode as _SampleMode  # noqa: E402
from netdsl.graph.enums import MatrixOperation as _MatrixOperation  # noqa: E402
from netdsl.graph.network import DerivedWeights as _DerivedWeights  # noqa: E402
from netdsl.graph.network import Weights as _Weights  # noqa: E402


def _declared(net: Network, scope: str, role: str, shape, value=None):
    """``<scope>.<role>`` of ``shape``: declared unbound (value None), or bound to an array, or a given Weights."""
    if isinstance(value, (_Weights, _DerivedWeights)):
        if tuple(value.shape) != tuple(shape):
            raise ValueError(f"{scope}: {role} weights {value.name!r} must have shape {tuple(shape)}, "
                             f"found {value.shape}")
        return value
    if value is not None:
        value = np.asarray(value, dtype=np.float32)
    return net.declare_weights(scope, role, shape, value=value)


def _reshaped(w, shape):
    """``w`` (Weights) viewed with another shape, as DerivedWeights (never stored in a weight file)."""
    shape = tuple(shape)
    return _DerivedWeights(f"{w.name}(as {shape})", shape, (w,), lambda a: a.reshape(shape), w.dtype)


def _constant(net: Network, w, shape, dtype, name: str) -> Tensor:
    t = net.add_constant(shape, w, name=name).output
    if t.dtype != dtype:
        t = net.add_cast(t, dtype, name=f"{name}_cast").output
    return t


def add_linear(net: Network, x: Tensor, out_features: int, *, name: str, kernel=None, bias=True) -> Tensor:
    """``y = x W^T + b`` on the last axis: torch.nn.Linear, ONNX Gemm (transB=1), Keras Dense.

    Semantics: torch.nn.Linear docs (``y = x A^T + b``, weight (out, in)).
    Lowered as TensorRT's ONNX parser lowers Gemm / MatMul: a constant
    kernel of rank ``x.ndim`` (leading 1s broadcast over the leading dims),
    IMatrixMultiplyLayer (x NONE, kernel TRANSPOSE), elementwise SUM of a
    (1, ..., 1, out) bias.

    Args:
        x: (..., in) FLOAT / HALF / BF16, rank >= 1, any leading dims
            (runtime dims allowed); a rank-1 x gives (out,).
        out_features: ``out``.
        name: scope of the weights and layers (``<name>.kernel`` ...); the
            output tensor is named ``name``.
        kernel: None to declare ``<name>.kernel`` (out, in) float32 for the
            weight file; an array of that shape (a constant, not listed by
            ``inspect --weights``); or Weights.
        bias: True declares ``<name>.bias`` (out,); an array or Weights; False: none.
    Returns:
        (..., out) tensor of x's dtype.
    Raises:
        NetworkDefinitionError / ValueError: rank 0, a non-float x, weights of the wrong shape.
    """
    full = net.scoped_name(name)
    if x.ndim < 1:
        raise ValueError(f"{full}: add_linear needs an input of rank >= 1, found a scalar {x.name!r}")
    n_in, out_features = x.shape[-1], int(out_features)
    if not isinstance(n_in, int):
        raise ValueError(f"{full}: the last dim of {x.name!r} {x.shape} (in_features) must be known when the "
                         f"network is defined")
    w = _declared(net, full, "kernel", (out_features, n_in), None if kernel is None else kernel)
    b = None
    if bias is not False and bias is not None:
        b = _declared(net, full, "bias", (out_features,), None if bias is True else bias)
    with net.scope(name):
        if x.ndim == 1:
            k = _constant(net, w, (out_features, n_in), x.dtype, "kernel")
            y = net.add_matrix_multiply(k, _MatrixOperation.NONE, x, _MatrixOperation.VECTOR,
                                        name="matmul").output
        else:
            lead = (1,) * (x.ndim - 2)
            k = _constant(net, _reshaped(w, lead + (out_features, n_in)) if lead else w,
                          lead + (out_features, n_in), x.dtype, "kernel")
            y = net.add_matrix_multiply(x, _MatrixOperation.NONE, k, _MatrixOperation.TRANSPOSE,
                                        name="matmul").output
    if b is not None:
        shape = (1,) * (y.ndim - 1) + (out_features,)
        with net.scope(name):
            bt = _constant(net, _reshaped(b, shape) if len(shape) > 1 else b, shape, x.dtype, "bias")
        y = net.add_elementwise(y, bt, ElementWiseOperation.SUM, name=name).output
    else:
        y = net.add_identity(y, name=name).output
    return y


def add_conv1d(net: Network, x: Tensor, out_channels: int, kernel_size: int, *, name: str, stride: int = 1,
               padding=0, dilation: int = 1, groups: int = 1, kernel=None, bias=True) -> Tensor:
    """1-D convolution (torch.nn.Conv1d, ONNX Conv on (N, C, L), Keras Conv1D) on an (N, C, L) tensor.

    TensorRT has no 1-D convolution; as TensorRT's ONNX parser does, the
    input is unsqueezed to (N, C, L, 1), convolved with a (k, 1) window and
    squeezed back. Output length ``floor((L + pre + post - dilation*(k-1) - 1) / stride) + 1``
    (torch.nn.Conv1d docs).

    Args:
        x: (N, C, L) FLOAT/HALF/BF16; N and L may be runtime dims.
        out_channels, kernel_size, stride, dilation, groups: as torch.nn.Conv1d.
        padding: int (both ends) or (pre, post); zeros (use :func:`add_pad` first for other modes).
        name: scope; weights ``<name>.kernel`` (out, C/groups, k) float32 —
            torch's Conv1d layout (KCS) — and ``<name>.bias`` (out,).
        kernel, bias: None/True to declare, an array (constant) or Weights; bias False for none.
    Returns:
        (N, out_channels, L') tensor named ``name``.
    """
    full = net.scoped_name(name)
    if x.ndim != 3:
        raise ValueError(f"{full}: add_conv1d needs (N, C, L), found {x.name!r} {x.shape}")
    c, k = x.shape[1], int(kernel_size)
    pre, post = (padding, padding) if isinstance(padding, int) else tuple(padding)
    w = _declared(net, full, "kernel", (int(out_channels), c // int(groups), k), kernel)
    b = None if bias is False or bias is None else _declared(net, full, "bias", (int(out_channels),),
                                                            None if bias is True else bias)
    with net.scope(name):
        y = net.add_unsqueeze(x, (3,), name="unsqueeze").output
        y = net.add_convolution_nd(y, int(out_channels), (k, 1), _reshaped(w, w.shape + (1,)),
                                   b if b is not None else False, stride_nd=(int(stride), 1),
                                   pre_padding=(pre, 0), post_padding=(post, 0), dilation_nd=(int(dilation), 1),
                                   num_groups=int(groups), name="conv").output
    return net.add_squeeze(y, (3,), name=name).output


def add_pool1d(net: Network, x: Tensor, type, kernel_size: int, *, name: str, stride: int | None = None,
               padding=0, ceil_mode: bool = False, count_include_pad: bool = False) -> Tensor:
    """1-D max / average pooling (torch.nn.MaxPool1d / AvgPool1d, ONNX MaxPool / AveragePool on (N, C, L)).

    Unsqueeze to (N, C, L, 1), pool with a (k, 1) window, squeeze back (as
    TensorRT's ONNX parser). ``ceil_mode`` uses PaddingMode.EXPLICIT_ROUND_UP,
    ``ceil((L + pre + post - k) / s) + 1``, which is torch's ceil_mode except
    that torch drops a last window starting inside the post padding (possible
    only with padding): such a static shape raises ValueError.

    Args:
        x: (N, C, L) FLOAT/HALF/BF16.
        type: PoolingType.MAX or AVERAGE (or the name).
        kernel_size, stride (default kernel_size), padding (int or (pre, post)): as torch.
        count_include_pad: AVERAGE divides by the padded window (torch's
            default True for AvgPool1d; ONNX's default 0). With a runtime
            length the reference executor runs it, but netdsl's TensorRT
            pooling lowering needs a static length for it.
    Returns:
        (N, C, L') tensor named ``name``.
    """
    from netdsl.graph.enums import PaddingMode
    full = net.scoped_name(name)
    if x.ndim != 3:
        raise ValueError(f"{full}: add_pool1d needs (N, C, L), found {x.name!r} {x.shape}")
    k = int(kernel_size)
    s = k if stride is None else int(stride)
    pre, post = (padding, padding) if isinstance(padding, int) else tuple(padding)
    if isinstance(type, str):
        type = _PoolingType[type.upper()]
    length = x.shape[2]
    if ceil_mode and isinstance(length, int) and (-(-(length + pre + post - k) // s)) * s >= length + pre:
        raise ValueError(f"{full}: with ceil_mode, torch drops the last window of length {length} + padding "
                         f"{pre}/{post}, which TensorRT's EXPLICIT_ROUND_UP keeps; pad explicitly instead")
    with net.scope(name):
        y = net.add_unsqueeze(x, (3,), name="unsqueeze").output
        y = net.add_pooling_nd(y, type, (k, 1), stride_nd=(s, 1), pre_padding=(pre, 0), post_padding=(post, 0),
                               padding_mode=PaddingMode.EXPLICIT_ROUND_UP if ceil_mode else
                               PaddingMode.EXPLICIT_ROUND_DOWN,
                               average_count_excludes_padding=not count_include_pad, name="pool").output
    return net.add_squeeze(y, (3,), name=name).output


_PAD_MODES = {"constant": _SampleMode.FILL, "reflect": _SampleMode.REFLECT, "edge": _SampleMode.CLAMP,
              "replicate": _SampleMode.CLAMP}


def add_pad(net: Network, x: Tensor, pads, mode: str = "constant", value: float = 0.0, *, name: str) -> Tensor:
    """Pad any axes, channels included, with constant, reflect or edge values (ONNX Pad, torch F.pad, np.pad).

    One ISliceLayer whose start is ``-pre`` and size ``d + pre + post`` per
    axis, with the SampleMode giving the values outside the input (TensorRT
    operator reference, Slice; TensorRT's ONNX parser lowers Pad the same
    way): ``constant`` -> FILL with ``value``; ``reflect`` -> REFLECT
    (mirror without repeating the edge: torch "reflect", np.pad "reflect",
    ONNX "reflect"; needs pre, post < d); ``edge`` (alias ``replicate``) ->
    CLAMP (torch "replicate", ONNX "edge"). Negative pads crop.

    Args:
        x: any rank, FLOAT/HALF/BF16 (INT32 ... for constant).
        pads: one ``(pre, post)`` per axis of x, or a dict ``{axis: (pre, post)}``
            (negative axes count from the end; other axes unpadded).
        mode: "constant", "reflect", "edge" / "replicate".
        value: the constant for mode "constant".
        name: the slice layer's name (and the output tensor's).
    Returns:
        tensor of x's dtype with each dim ``d + pre + post`` (runtime dims stay expressions).
    Raises:
        ValueError: an unknown mode, pads of the wrong length;
        NetworkDefinitionError: as add_slice.
    """
    full = net.scoped_name(name)
    if mode not in _PAD_MODES:
        raise ValueError(f"{full}: pad mode {mode!r}: expected one of {', '.join(_PAD_MODES)}")
    if isinstance(pads, dict):
        per_axis = [(0, 0)] * x.ndim
        for axis, pair in pads.items():
            per_axis[int(axis) % x.ndim] = tuple(int(p) for p in pair)
    else:
        per_axis = [tuple(int(p) for p in pair) for pair in pads]
        if len(per_axis) != x.ndim or any(len(p) != 2 for p in per_axis):
            raise ValueError(f"{full}: pads must give (pre, post) for each of the {x.ndim} axes of {x.name!r}, "
                             f"found {pads!r}")
    start = tuple(-pre for pre, _ in per_axis)
    shape = tuple(d + pre + post for d, (pre, post) in zip(x.shape, per_axis))
    return net.add_slice(x, start, shape, (1,) * x.ndim, mode=_PAD_MODES[mode],
                         fill_value=float(value) if mode == "constant" else 0.0, name=name).output


def add_embedding(net: Network, indices: Tensor, num_embeddings: int, embedding_dim: int, *, name: str,
                  embeddings=None) -> Tensor:
    """Look up rows of an embedding table: torch.nn.Embedding, Keras Embedding, ONNX Gather(axis=0) on a table.

    Args:
        indices: INT32 / INT64 tensor of any shape (e.g. (N, T) tokens).
        num_embeddings, embedding_dim: V and D.
        name: scope: ``<name>.embeddings`` (V, D) float32 (torch's and
            Keras' layout) and the layers ``<name>.table``, ``name`` (gather).
        embeddings: None to declare, an array (constant) or Weights.
    Returns:
        ``indices.shape + (D,)`` FLOAT tensor named ``name`` (IGatherLayer, axis 0).
    """
    full = net.scoped_name(name)
    w = _declared(net, full, "embeddings", (int(num_embeddings), int(embedding_dim)), embeddings)
    with net.scope(name):
        table = net.add_constant(w.shape, w, name="table").output
    return net.add_gather(table, indices, 0, name=name).output
