"""YOLOv3-tiny (COCO, 416 x 416), written by hand in netdsl's DSL.

Layer for layer the darknet cfg ``yolov3-tiny.cfg`` (Redmon & Farhadi,
"YOLOv3: An Incremental Improvement", 2018); scopes are named by darknet
layer index (``conv13``), matching ``netdsl convert darknet`` output.

Input ``images``: (1, 3, 416, 416) float32 NCHW, RGB in [0, 1].
Outputs: ``boxes`` (1, 2535, 4) x1, y1, x2, y2 in input pixels; ``scores``
(1, 2535, 80) = objectness x class probability. Non-maximum suppression runs
on the host (``netdsl.detection``). The raw heads are tensors ``conv15.conv``
(1, 255, 13, 13) and ``conv22.conv`` (1, 255, 26, 26).
"""
from __future__ import annotations

from pathlib import Path

from netdsl import DataType, Network, PoolingType

from .blocks import conv_bn_act, yolo_decode

ANCHORS = [(10, 14), (23, 27), (37, 58), (81, 82), (135, 169), (344, 319)]
CLASS_NAMES = Path(__file__).with_name("coco.names").read_text().split("\n")[:80]
INPUT_SIZE = (416, 416)
DETECTION = dict(input="images", boxes="boxes", scores="scores", input_size=INPUT_SIZE,
                 class_names=CLASS_NAMES, raw_heads=("conv15.conv", "conv22.conv"))


def maxpool(net: Network, x, stride: int, name: str):
    """Darknet ``[maxpool] size=2``: output ceil(H / stride); padding (size - 1) only at the
    right/bottom (darknet maxpool_layer.c: offset -pad/2 = 0), and a padded cell never wins."""
    return net.add_pooling_nd(x, PoolingType.MAX, (2, 2), stride_nd=stride, pre_padding=(0, 0),
                              post_padding=(1, 1) if stride == 1 else (0, 0), name=name).output


def build_network(batch: int = 1, fold_batch_norm: bool = True) -> Network:
    """Build the YOLOv3-tiny Network (weights declared, unbound).

    Args:
        batch: N of the NCHW input.
        fold_batch_norm: fold each batch norm into its convolution (as
            TensorRT's builder would; about 10% faster on the reference
            executor), or keep it as a separate scale layer ``conv{i}.bn``.
            The weight names are the same either way.
    Returns:
        Network with input ``images`` (batch, 3, 416, 416) FLOAT and outputs
        ``boxes`` (batch, 2535, 4) and ``scores`` (batch, 2535, 80).
    """
    net = Network("yolov3-tiny")
    x = net.add_input("images", DataType.FLOAT, (batch, 3, *INPUT_SIZE))
    filters = [16, 32, 64, 128, 256, 512]
    def conv(x, filters, size, scope, **kw):
        kw.setdefault("fold_batch_norm", fold_batch_norm)
        return conv_bn_act(net, x, filters, size, scope=scope, **kw)

    for i, f in enumerate(filters):  # darknet layers 0..11: conv, maxpool pairs
        x = conv(x, f, 3, f"conv{2 * i}")
        if i == 4:
            route8 = x  # layer 8, routed into the second head
        x = maxpool(net, x, stride=2 if i < 5 else 1, name=f"maxpool{2 * i + 1}")
    x = conv(x, 1024, 3, "conv12")
    route13 = conv(x, 256, 1, "conv13")
    x = conv(route13, 512, 3, "conv14")
    head1 = conv(x, 255, 1, "conv15", batch_normalize=False, activation="linear")
    x = conv(route13, 128, 1, "conv18")  # layer 17: route -4
    x = net.add_resize(x, scales=(1, 1, 2, 2), name="upsample19").output
    x = net.add_concatenation([x, route8], axis=1, name="route20").output
    x = conv(x, 256, 3, "conv21")
    head2 = conv(x, 255, 1, "conv22", batch_normalize=False, activation="linear")
    boxes1, scores1 = yolo_decode(net, head1, ANCHORS[3:6], INPUT_SIZE, scope="yolo16")
    boxes2, scores2 = yolo_decode(net, head2, ANCHORS[0:3], INPUT_SIZE, scope="yolo23")
    boxes = net.add_concatenation([boxes1, boxes2], axis=1, name="boxes").output
    scores = net.add_concatenation([scores1, scores2], axis=1, name="scores").output
    net.mark_output(boxes)
    net.mark_output(scores)
    return net
