"""Reusable DSL blocks shared by the model definitions and the darknet cfg builder.

Each block opens a name scope or names its layers, so weights read
``conv13.bn.scale``. Tensors are NCHW FLOAT; every dimension may be a runtime
dimension. Darknet blocks follow AlexeyAB/darknet's sources, named per block:

* :func:`activation`, :func:`darknet_conv` (:func:`conv_bn_act`) — ``[convolutional]``;
* :func:`yolo_decode` — ``[yolo]`` (masks, ``scale_x_y``, ``new_coords``);
  :func:`region_decode` — ``[region]`` (YOLOv2);
* :func:`route` — ``[route]`` incl. the CSP split ``groups``/``group_id``;
  :func:`shortcut` — ``[shortcut]``;
* :func:`darknet_maxpool` — ``[maxpool]``; :func:`spp` — YOLOv4's SPP;
  :func:`reorg` — ``[reorg]`` (darknet's REORG_OLD layout).
"""
from __future__ import annotations

import numpy as np

from netdsl import ActivationType, DataType, ElementWiseOperation, Network, PoolingType, Tensor, UnaryOperation
from netdsl.graph.enums import FillOperation
from netdsl.graph.shapes import require


# darknet activation name -> how it is built (darknet src/activations.c get_activation, activations.h).
DARKNET_ACTIVATIONS = ("linear", "leaky", "relu", "relu6", "logistic", "tanh", "mish", "swish")
# Activations these blocks also build that darknet does not define (darknet's get_activation falls back to
# ReLU for an unknown name): for hand-written models ported from other frameworks, never from a cfg.
EXTRA_ACTIVATIONS = ("hard_swish",)


def activation(net: Network, x: Tensor, kind: str, *, name: str | None = None) -> Tensor:
    """A darknet activation by its cfg name (darknet src/activations.h), on a tensor of any shape.

    ``linear``: none (x itself, no layer); ``leaky``: LEAKY_RELU slope 0.1;
    ``relu``: RELU; ``relu6``: CLIP [0, 6]; ``logistic``: SIGMOID; ``tanh``:
    TANH; ``mish``: ``x * tanh(softplus(x))`` (``add_mish``); ``swish``:
    ``x * sigmoid(x)`` (``add_swish``); and, not a darknet activation,
    ``hard_swish``: ``x * relu6(x + 3) / 6`` (``add_hard_swish``).

    Args:
        x: FLOAT, HALF or BF16 tensor.
        kind: one of DARKNET_ACTIVATIONS or EXTRA_ACTIVATIONS.
        name: layer name in the current scope (default: ``kind``).
    Returns:
        the activated tensor, same shape and dtype.
    Raises:
        ValueError: an unknown activation name.
    """
    name = name or kind
    if kind == "linear":
        return x
    if kind == "leaky":
        return net.add_activation(x, ActivationType.LEAKY_RELU, alpha=0.1, name=name).output
    if kind == "relu":
        return net.add_activation(x, ActivationType.RELU, name=name).output
    if kind == "relu6":
        return net.add_activation(x, ActivationType.CLIP, alpha=0.0, beta=6.0, name=name).output
    if kind == "logistic":
        return net.add_activation(x, ActivationType.SIGMOID, name=name).output
    if kind == "tanh":
        return net.add_activation(x, ActivationType.TANH, name=name).output
    if kind == "mish":
        return net.add_mish(x, name=name).output
    if kind == "swish":
        return net.add_swish(x, name=name).output
    if kind == "hard_swish":
        return net.add_hard_swish(x, name=name).output
    raise ValueError(f"{net.scoped_name(name)}: unsupported activation {kind!r}; expected one of "
                     f"{', '.join(DARKNET_ACTIVATIONS + EXTRA_ACTIVATIONS)}")


def darknet_conv(net: Network, x: Tensor, filters: int, size: int, stride: int = 1, *, scope: str,
                 padding: int | None = None, groups: int = 1, batch_normalize: bool = True,
                 activation_type: str = "leaky", eps: float = 1e-5, fold_batch_norm: bool = False) -> Tensor:
    """Darknet ``[convolutional]``: convolution (groups, depthwise), batch norm, activation.

    Semantics: darknet src/convolutional_layer.c forward_convolutional_layer
    and src/parser.c parse_convolutional — symmetric ``padding`` (``size // 2``
    for ``pad=1``), output ``(H + 2 * padding - size) // stride + 1``; batch
    norm ``scale * (x - mean) / sqrt(variance + eps) + bias`` (no convolution
    bias then); then :func:`activation`.

    Args:
        x: NCHW FLOAT tensor (N, C, H, W); C divisible by ``groups``.
        filters, size, stride: output channels K, square kernel size, stride.
        scope: name scope, e.g. ``conv13`` (darknet layer index).
        padding: pixels on each side; default ``size // 2`` (darknet ``pad=1``).
        groups: convolution groups (``groups == C == filters`` is depthwise).
        batch_normalize: with batch norm; else the convolution has a bias.
        activation_type: a name of :func:`activation` (darknet's default is ``logistic``;
            this block's ``leaky``).
        eps: batch-norm epsilon: darknet's is 1e-5 (src/batchnorm_layer.c,
            ``.00001``); OpenCV's darknet importer uses 1e-6.
        fold_batch_norm: fold the batch norm into the convolution (same weight
            names, equal within float32 rounding).
    Returns:
        NCHW tensor (N, K, (H + 2p - size) // stride + 1, (W + 2p - size) // stride + 1).
    Raises:
        NetworkDefinitionError: bad channels/groups or shapes (from the layers);
        ValueError: an unknown activation.
    Weights declared: ``<scope>.conv.kernel`` (K, C / groups, size, size) KCRS;
    ``<scope>.bn.{scale,bias,mean,variance}`` (K,) or ``<scope>.conv.bias`` (K,).
    """
    padding = size // 2 if padding is None else padding
    with net.scope(scope):
        if batch_normalize:
            x = net.add_conv_batch_norm(x, filters, (size, size), stride_nd=stride, padding_nd=padding, eps=eps,
                                        num_groups=groups, fold=fold_batch_norm, conv_name="conv",
                                        bn_name="bn").output
        else:
            x = net.add_convolution_nd(x, filters, (size, size), stride_nd=stride, padding_nd=padding,
                                       num_groups=groups, name="conv").output
        x = activation(net, x, activation_type)
    return x


def conv_bn_act(net: Network, x: Tensor, filters: int, size: int, stride: int = 1, *, scope: str,
                batch_normalize: bool = True, activation: str = "leaky", fold_batch_norm: bool = False,
                eps: float = 1e-5) -> Tensor:
    """Darknet ``[convolutional]`` with ``pad=1``, no groups: :func:`darknet_conv` under its older name.

    Semantics: darknet src/convolutional_layer.c — padding ``size // 2``,
    batch norm ``scale * (x - mean) / sqrt(variance + eps) + bias`` (no
    convolution bias then), leaky slope 0.1.

    Args:
        x: NCHW float tensor.
        filters, size, stride: output channels, square kernel size, stride.
        scope: name scope, e.g. ``conv13`` (darknet layer index).
        batch_normalize: with batch norm; else the convolution has a bias.
        activation: a name of :func:`activation` (``leaky``, ``linear``, ``mish`` ...).
        fold_batch_norm: fold the batch norm into the convolution's kernel and
            bias (``Network.add_conv_batch_norm``); the same weight names, equal
            within float32 rounding.
        eps: batch-norm epsilon (darknet 1e-5; OpenCV's importer 1e-6).
    Returns:
        NCHW tensor (N, filters, H / stride, W / stride).
    Raises:
        ValueError: an unknown activation.
    Weights declared: ``<scope>.conv.kernel`` (filters, C, size, size) KCRS;
    ``<scope>.bn.{scale,bias,mean,variance}`` or ``<scope>.conv.bias``.
    """
    return darknet_conv(net, x, filters, size, stride, scope=scope, batch_normalize=batch_normalize,
                        activation_type=activation, eps=eps, fold_batch_norm=fold_batch_norm)


def yolo_decode(net: Network, head: Tensor, anchors, images: Tensor, *, scope: str, mask=None,
                scale_x_y: float = 1.0, new_coords: bool = False):
    """Decode a darknet ``[yolo]`` head in the graph with native layers, at any input size.

    Semantics: darknet src/yolo_layer.c forward_yolo_layer and get_yolo_box.
    For cell (gx, gy) of a G_h x G_w grid and anchor (aw, ah) in input pixels,
    with ``s = scale_x_y``:

    * default: ``bx = sigmoid(tx) * s - (s - 1) / 2``, ``cx = (bx + gx) * W / G_w``
      (likewise y), ``w = exp(tw) * aw``, ``h = exp(th) * ah``; class scores
      ``sigmoid(objectness) * sigmoid(class logit)``;
    * ``new_coords`` (YOLOv4-csp/-p5/-p6/v7 cfgs, whose head convolution ends in
      ``activation=logistic``): no activation here — ``bx = tx * s - (s - 1) / 2``,
      ``w = tw * tw * 4 * aw``, class scores ``objectness * class value``.

    Nothing depends on a fixed input size: the grid offsets are LINSPACE
    fills of the head's (runtime) grid shape and the cell size W / G_w,
    H / G_h is computed from the shapes of ``images`` and ``head``
    (``add_shape``), so one definition serves every batch and input size.
    With ``scale_x_y == 1`` no scaling layer is added.

    Args:
        head: (N, A * (5 + classes), G_h, G_w) FLOAT raw convolution output
            (dims may be runtime dimensions).
        anchors: (aw, ah) pairs in input pixels: the A used ones, or with
            ``mask`` every anchor of the cfg.
        images: the network input (N, C, H, W), for the cell size.
        mask: indices into ``anchors`` of the A anchors of this head (darknet's
            ``mask=``), or None for all of them.
        scale_x_y: darknet's ``scale_x_y`` (YOLOv4: 1.05 - 1.2).
        new_coords: darknet's ``new_coords=1``.
    Returns:
        boxes (N, A * G_h * G_w, 4) FLOAT as x1, y1, x2, y2 in input pixels, and
        scores (N, A * G_h * G_w, classes) FLOAT; rows ordered anchor-major,
        then row-major cells.
    Raises:
        NetworkDefinitionError: head channels not A * (5 + classes) for some classes >= 1.
    """
    if mask is not None:
        anchors = [anchors[i] for i in mask]
    n, channels, gh, gw = head.shape
    a = len(anchors)
    k = channels // a if isinstance(channels, int) else channels
    if not isinstance(channels, int) or channels % a or k < 6:
        from netdsl.graph.errors import NetworkDefinitionError
        raise NetworkDefinitionError(f"{net.scoped_name(scope)}: head {head.name!r} has {channels} channels, "
                                     f"expected {a} anchors x (5 + classes), classes >= 1")
    cells = gh * gw
    with net.scope(scope):
        t = net.add_shuffle(head, reshape_dims=(n, a, k, cells), second_transpose=(0, 1, 3, 2),
                            name="to_rows").output                                     # (N, A, cells, k)

        def part(begin, size, name):
            return net.add_slice(t, (0, 0, 0, begin), (n, a, cells, size), (1, 1, 1, 1), name=name).output

        grid, cell = _grid_and_cell(net, gh, gw, cells, images, head)
        if new_coords:
            xy = part(0, 2, "txy")
        else:
            xy = net.add_activation(part(0, 2, "txy"), ActivationType.SIGMOID, name="sigmoid_xy").output
        if scale_x_y != 1.0:
            xy = _binary(net, xy, _scalar(net, scale_x_y, "scale_x_y"), "PROD", "scale_xy")
            xy = _binary(net, xy, _scalar(net, 0.5 * (scale_x_y - 1.0), "scale_x_y_shift"), "SUB", "shift_xy")
        cxy = _binary(net, _binary(net, xy, grid, "SUM", "add_grid"), cell, "PROD", "to_pixels")
        anchor_wh = np.asarray(anchors, np.float32).reshape(1, a, 1, 2)
        anchor_wh = net.add_constant(anchor_wh.shape, anchor_wh, name="anchors").output
        if new_coords:
            twh = part(2, 2, "twh")
            wh = _binary(net, _binary(net, twh, twh, "PROD", "square_wh"), _scalar(net, 4.0, "four"), "PROD",
                         "times_four")
        else:
            wh = net.add_unary(part(2, 2, "twh"), UnaryOperation.EXP, name="exp_wh").output
        wh = _binary(net, wh, anchor_wh, "PROD", "anchor_wh")
        boxes = _corners(net, cxy, wh, n, a * cells)
        obj, cls = part(4, 1, "tobj"), part(5, k - 5, "tcls")
        if not new_coords:
            obj = net.add_activation(obj, ActivationType.SIGMOID, name="sigmoid_obj").output
            cls = net.add_activation(cls, ActivationType.SIGMOID, name="sigmoid_cls").output
        scores = _binary(net, obj, cls, "PROD", "class_scores")
        scores = net.add_shuffle(scores, reshape_dims=(n, a * cells, k - 5), name="scores").output
    return boxes, scores


def region_decode(net: Network, head: Tensor, anchors, images: Tensor, *, scope: str):
    """Decode a darknet ``[region]`` head (YOLOv2) in the graph, at any input size.

    Semantics: darknet src/region_layer.c forward_region_layer (logistic
    objectness, softmax over the classes) and get_region_box (``DOABS``):
    for cell (gx, gy) of a G_h x G_w grid and anchor (aw, ah) in *grid
    cells*: ``cx = (gx + sigmoid(tx)) * W / G_w``, ``w = exp(tw) * aw * W / G_w``
    (likewise y, h with H / G_h); class scores ``sigmoid(objectness) *
    softmax(class logits)``. (OpenCV's RegionLayer divides w by G_h and h by
    G_w; the same on square grids.)

    Args:
        head: (N, A * (5 + classes), G_h, G_w) FLOAT raw convolution output.
        anchors: A pairs (aw, ah) in grid cells (darknet's ``anchors=`` of [region]).
        images: the network input (N, C, H, W), for the cell size.
    Returns:
        boxes (N, A * G_h * G_w, 4) FLOAT x1, y1, x2, y2 in input pixels, and
        scores (N, A * G_h * G_w, classes) FLOAT; rows anchor-major, then
        row-major cells.
    Raises:
        NetworkDefinitionError: head channels not A * (5 + classes), classes >= 1.
    """
    n, channels, gh, gw = head.shape
    a = len(anchors)
    if not isinstance(channels, int) or channels % a or channels // a < 6:
        from netdsl.graph.errors import NetworkDefinitionError
        raise NetworkDefinitionError(f"{net.scoped_name(scope)}: head {head.name!r} has {channels} channels, "
                                     f"expected {a} anchors x (5 + classes), classes >= 1")
    k = channels // a
    cells = gh * gw
    with net.scope(scope):
        t = net.add_shuffle(head, reshape_dims=(n, a, k, cells), second_transpose=(0, 1, 3, 2),
                            name="to_rows").output                                     # (N, A, cells, k)

        def part(begin, size, name):
            return net.add_slice(t, (0, 0, 0, begin), (n, a, cells, size), (1, 1, 1, 1), name=name).output

        grid, cell = _grid_and_cell(net, gh, gw, cells, images, head)
        xy = net.add_activation(part(0, 2, "txy"), ActivationType.SIGMOID, name="sigmoid_xy").output
        cxy = _binary(net, _binary(net, xy, grid, "SUM", "add_grid"), cell, "PROD", "to_pixels")
        anchor_wh = np.asarray(anchors, np.float32).reshape(1, a, 1, 2)
        anchor_wh = net.add_constant(anchor_wh.shape, anchor_wh, name="anchors").output
        wh = net.add_unary(part(2, 2, "twh"), UnaryOperation.EXP, name="exp_wh").output
        wh = _binary(net, _binary(net, wh, anchor_wh, "PROD", "anchor_wh"), cell, "PROD", "wh_pixels")
        boxes = _corners(net, cxy, wh, n, a * cells)
        obj = net.add_activation(part(4, 1, "tobj"), ActivationType.SIGMOID, name="sigmoid_obj").output
        cls = net.add_softmax(part(5, k - 5, "tcls"), axes=(3,), name="softmax_cls").output
        scores = _binary(net, obj, cls, "PROD", "class_scores")
        scores = net.add_shuffle(scores, reshape_dims=(n, a * cells, k - 5), name="scores").output
    return boxes, scores


def _grid_and_cell(net, gh, gw, cells, images, head):
    """Grid offsets (1, 1, cells, 2) as (column, row) and the cell size (1, 1, 1, 2) as (W / G_w, H / G_h)."""
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
    return grid, cell


def _corners(net, cxy, wh, n, rows):
    """Centre (N, A, cells, 2) and size -> corners x1, y1, x2, y2 as (N, rows, 4)."""
    half = _binary(net, wh, _scalar(net, 0.5, "half"), "PROD", "half_wh")
    x1y1 = _binary(net, cxy, half, "SUB", "x1y1")
    x2y2 = _binary(net, cxy, half, "SUM", "x2y2")
    boxes = net.add_concatenation([x1y1, x2y2], axis=3, name="corners").output
    return net.add_shuffle(boxes, reshape_dims=(n, rows, 4), name="boxes").output


def _scalar(net, value, name):
    """A (1, 1, 1, 1) FLOAT constant."""
    return net.add_constant((1, 1, 1, 1), np.full((1, 1, 1, 1), value, np.float32), name=name).output


# -- routing, pooling and reshaping blocks (darknet route, shortcut, maxpool, SPP, reorg) ------------------------

def route(net: Network, inputs, *, name: str, groups: int = 1, group_id: int = 0) -> Tensor:
    """Darknet ``[route]``: the ``group_id``-th of ``groups`` channel slices of each input, concatenated.

    Semantics: darknet src/route_layer.c forward_route_layer: each input
    (N, C_i, H, W) contributes channels ``[group_id * C_i / groups, (group_id
    + 1) * C_i / groups)``; the parts are concatenated along C in the order
    given. One input without groups is that tensor itself (no layer);
    otherwise the slices are ``<name>.split{i}`` and the concatenation
    ``<name>`` (a single sliced input: the slice is ``<name>``).

    Args:
        inputs: NCHW tensors of equal N, H, W.
        name: layer name, e.g. ``route17``.
        groups, group_id: darknet's CSP split (YOLOv4-tiny: groups=2 group_id=1).
    Returns:
        NCHW tensor (N, sum(C_i) / groups, H, W).
    Raises:
        NetworkDefinitionError: a channel count not divisible by ``groups``,
            ``group_id`` outside [0, groups), or inputs of different H, W.
    """
    from netdsl.graph.errors import NetworkDefinitionError
    if groups < 1 or not 0 <= group_id < groups:
        raise NetworkDefinitionError(f"{net.scoped_name(name)}: groups={groups}, group_id={group_id}: expected "
                                     f"groups >= 1 and 0 <= group_id < groups")
    parts = []
    for i, x in enumerate(inputs):
        if groups == 1:
            parts.append(x)
            continue
        c = x.shape[1]
        if not isinstance(c, int) or c % groups:
            raise NetworkDefinitionError(f"{net.scoped_name(name)}: input {x.name!r} has {c} channels, not "
                                         f"divisible by groups={groups}")
        part = c // groups
        n, _, h, w = x.shape
        parts.append(net.add_slice(x, (0, group_id * part, 0, 0), (n, part, h, w), (1, 1, 1, 1),
                                   name=name if len(inputs) == 1 else f"{name}.split{i}").output)
    if len(parts) == 1:
        return parts[0]
    return net.add_concatenation(parts, axis=1, name=name).output


def shortcut(net: Network, x: Tensor, others, *, name: str, activation_type: str = "linear") -> Tensor:
    """Darknet ``[shortcut]``: ``x`` plus each tensor of ``others`` (residual), then an activation.

    Semantics: darknet src/shortcut_layer.c forward_shortcut_layer and
    src/blas.c shortcut_multilayer_cpu without weights (``weights_type=none``):
    the output has x's shape; each other tensor of the same H, W is added to
    the channels both have (``out[:, :c] += other[:, :c]``, c = min of the two
    channel counts: the partial residual of yolov3-tiny-prn). Layers:
    elementwise SUM ``<name>`` (``<name>.add{i}`` for a third input on; with
    fewer channels, slices ``<name>.part{i}``/``<name>.rest{i}`` and a
    concatenation), then :func:`activation` named ``<name>.<activation>``.

    Args:
        x: NCHW tensor (N, C, H, W), the previous layer's output.
        others: NCHW tensors (N, C_i, H, W) (darknet's ``from=`` layers).
        name: e.g. ``shortcut4``.
        activation_type: a name of :func:`activation` (darknet's default ``linear``).
    Returns:
        NCHW tensor (N, C, H, W).
    Raises:
        NetworkDefinitionError: N, H or W that differ (the elementwise layer's error).
    """
    for i, other in enumerate(others):
        label = name if i == 0 else f"{name}.add{i}"
        n, c, h, w = x.shape
        co = other.shape[1]
        if co == c:
            x = net.add_elementwise(x, other, ElementWiseOperation.SUM, name=label).output
        elif co > c:
            part = net.add_slice(other, (0, 0, 0, 0), (n, c, h, w), (1, 1, 1, 1), name=f"{name}.part{i}").output
            x = net.add_elementwise(x, part, ElementWiseOperation.SUM, name=label).output
        else:
            head = net.add_slice(x, (0, 0, 0, 0), (n, co, h, w), (1, 1, 1, 1), name=f"{name}.part{i}").output
            rest = net.add_slice(x, (0, co, 0, 0), (n, c - co, h, w), (1, 1, 1, 1), name=f"{name}.rest{i}").output
            head = net.add_elementwise(head, other, ElementWiseOperation.SUM, name=f"{label}.sum").output
            x = net.add_concatenation([head, rest], axis=1, name=label).output
    if activation_type != "linear":
        x = activation(net, x, activation_type, name=f"{name}.{activation_type}")
    return x


def darknet_maxpool(net: Network, x: Tensor, size: int, stride: int, *, name: str,
                    padding: int | None = None) -> Tensor:
    """Darknet ``[maxpool]``: max over ``size`` x ``size`` windows, padded cells never win.

    Semantics: darknet src/maxpool_layer.c make_maxpool_layer / forward_maxpool_layer
    and src/parser.c parse_maxpool: ``padding`` defaults to ``size - 1``; the
    window offset is ``-padding / 2`` (C integer division), so the padding is
    ``padding // 2`` before and the rest after; output
    ``(H + padding - size) // stride + 1``. So ``size=2 stride=2`` gives
    ceil(H / 2), ``size=2 stride=1`` keeps H (one padded column at the right),
    and the SPP sizes 5 / 9 / 13 with stride 1 keep H (centred windows).

    Args:
        x: NCHW FLOAT tensor.
        size, stride: window size and stride (square).
        name: e.g. ``maxpool1``.
        padding: darknet's ``padding=`` (total per axis), default ``size - 1``.
    Returns:
        NCHW tensor (N, C, (H + padding - size) // stride + 1, (W + padding - size) // stride + 1).
    Raises:
        NetworkDefinitionError: an empty output, or a window with no input cell.
    """
    padding = size - 1 if padding is None else padding
    pre = padding // 2
    post = padding - pre
    return net.add_pooling_nd(x, PoolingType.MAX, (size, size), stride_nd=stride, pre_padding=(pre, pre),
                              post_padding=(post, post), name=name).output


def spp(net: Network, x: Tensor, sizes=(5, 9, 13), *, scope: str) -> Tensor:
    """Spatial pyramid pooling as YOLOv4's cfg writes it: stride-1 maxpools, then a concatenation.

    Semantics: yolov4.cfg layers 107-113 (darknet src/maxpool_layer.c,
    src/route_layer.c): ``[maxpool] stride=1 size=s`` for each s of ``sizes``
    on ``x`` (:func:`darknet_maxpool`, padding ``s - 1`` centred), then
    ``[route]`` of the pools from the largest size down, then ``x``:
    ``concat(pool13, pool9, pool5, x)``.

    Args:
        x: NCHW FLOAT tensor (N, C, H, W).
        sizes: odd window sizes.
        scope: name scope; the pools are ``<scope>.maxpool{s}``, the concatenation ``<scope>.concat``.
    Returns:
        NCHW tensor (N, (len(sizes) + 1) * C, H, W).
    Raises:
        NetworkDefinitionError: from the layers.
    """
    with net.scope(scope):
        pools = {s: darknet_maxpool(net, x, s, 1, name=f"maxpool{s}") for s in sizes}
        return net.add_concatenation([pools[s] for s in sorted(sizes, reverse=True)] + [x], axis=1,
                                     name="concat").output


def reorg(net: Network, x: Tensor, stride: int, *, name: str) -> Tensor:
    """Darknet ``[reorg]`` (YOLOv2's passthrough layer), with darknet's own memory layout.

    Semantics: AlexeyAB/darknet src/parser.c maps ``[reorg]`` to REORG_OLD
    (``[reorg3d]`` is the other, plain space-to-depth); src/reorg_old_layer.c
    forward_reorg_old_layer calls src/blas.c ``reorg_cpu(input, w, h, c,
    batch, stride, forward=0, output)`` with the *input's* sizes, as
    pjreddie/darknet's reorg does. Worked out, with s = stride and C' = C / s²:
    the input (C, H, W) read as (C', H*s, W*s), space-to-depth by s into
    (C, H, W) with channel ``(dy * s + dx) * C' + c'``, then read as
    (C*s², H/s, W/s)::

        out.flat[((dy*s + dx)*C' + c', j, i) in (C, H, W)] = in.flat[(c', j*s + dy, i*s + dx) in (C', H*s, W*s)]

    Built as two shuffles: reshape (N, C', H, s, W, s) + transpose
    (0, 3, 5, 1, 2, 4) (``<name>.split``), reshape (N, s*s*C, H/s, W/s) (``<name>``).

    Args:
        x: NCHW tensor (N, C, H, W); C a multiple of s², H and W multiples of s.
        stride: s >= 1.
        name: e.g. ``reorg27``.
    Returns:
        NCHW tensor (N, s * s * C, H / s, W / s).
    Raises:
        NetworkDefinitionError: C not a multiple of s², or H or W not a
            multiple of s (when static; else checked per profile and when run).
    """
    from netdsl.graph.errors import NetworkDefinitionError
    n, c, h, w = x.shape
    s = stride
    if not isinstance(c, int) or c % (s * s):
        raise NetworkDefinitionError(f"{net.scoped_name(name)}: input {x.name!r} has {c} channels, not a "
                                     f"multiple of stride * stride = {s * s} (darknet reorg_cpu)")
    for axis, what in ((2, "height"), (3, "width")):
        require(net, net.scoped_name(name), lambda d: d % s == 0, (x.shape[axis],),
                f"the input {what} to be a multiple of the reorg stride {s}",
                error=lambda v, what=what: f"input {what} {v[0]} is not a multiple of the reorg stride {s}")
    t = net.add_shuffle(x, reshape_dims=(n, c // (s * s), h, s, w, s), second_transpose=(0, 3, 5, 1, 2, 4),
                        name=f"{name}.split").output
    return net.add_shuffle(t, reshape_dims=(n, s * s * c, h // s, w // s), name=name).output


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
