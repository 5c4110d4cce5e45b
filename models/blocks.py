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
