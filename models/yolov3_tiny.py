"""YOLOv3-tiny (COCO), written by hand in netdsl's DSL, for any batch and input size.

Layer for layer the darknet cfg ``yolov3-tiny.cfg`` (Redmon & Farhadi,
"YOLOv3: An Incremental Improvement", 2018); scopes are named by darknet
layer index (``conv13``), matching ``netdsl convert darknet`` output.

Input ``images``: (N, 3, H, W) float32 NCHW, RGB in [0, 1]; by default N, H
and W are runtime dimensions (``batch``, ``height``, ``width``; H and W
multiples of 32, as darknet requires), or fixed by ``build_network(batch=1,
height=416, width=416)``. Outputs: ``boxes`` (N, 3 * (H/32 * W/32 + H/16 *
W/16), 4) x1, y1, x2, y2 in input pixels (2535 rows at 416 x 416); ``scores``
(N, same rows, 80) = objectness x class probability. Non-maximum
suppression runs on the host (``netdsl.detection``). The raw heads are
tensors ``conv15.conv`` (N, 255, H/32, W/32) and ``conv22.conv`` (N, 255,
H/16, W/16).
"""
from __future__ import annotations

from netdsl import DataType, Network, PoolingType
from netdsl.frameworks.darknet.model import coco_names
from netdsl.graph.shapes import require
from netdsl.models.blocks import conv_bn_act, yolo_decode

ANCHORS = [(10, 14), (23, 27), (37, 58), (81, 82), (135, 169), (344, 319)]
CLASS_NAMES = coco_names()
INPUT_SIZE = (416, 416)
STRIDE = 32  # input sizes must be multiples of it
DETECTION = dict(input="images", boxes="boxes", scores="scores", input_size=INPUT_SIZE, stride=STRIDE,
                 class_names=CLASS_NAMES, raw_heads=("conv15.conv", "conv22.conv"))
# Default optimization profile of the runtime-size network (trtexec's --minShapes/--optShapes/--maxShapes).
PROFILES = [{"images": ((1, 3, 320, 320), (1, 3, 416, 416), (8, 3, 608, 608))}]


def maxpool(net: Network, x, stride: int, name: str):
    """Darknet ``[maxpool] size=2``: output ceil(H / stride); padding (size - 1) only at the
    right/bottom (darknet maxpool_layer.c: offset -pad/2 = 0), and a padded cell never wins."""
    return net.add_pooling_nd(x, PoolingType.MAX, (2, 2), stride_nd=stride, pre_padding=(0, 0),
                              post_padding=(1, 1) if stride == 1 else (0, 0), name=name).output


def build_network(batch: int | None = None, height: int | None = None, width: int | None = None,
                  fold_batch_norm: bool = True) -> Network:
    """Build the YOLOv3-tiny Network (weights declared, unbound).

    Args:
        batch: N of the NCHW input, or None for a runtime dimension ``batch``.
        height, width: input size in pixels (multiples of 32), or None for
            runtime dimensions ``height`` / ``width``.
        fold_batch_norm: fold each batch norm into its convolution (as
            TensorRT's builder would; about 10% faster on the reference
            executor), or keep it as a separate scale layer ``conv{i}.bn``.
            The weight names are the same either way.
    Returns:
        Network with input ``images`` (batch, 3, height, width) FLOAT and
        outputs ``boxes`` and ``scores`` (see the module docstring).
    Raises:
        NetworkDefinitionError: a static height or width not a multiple of 32.
    """
    net = Network("yolov3-tiny")
    dims = ("batch" if batch is None else batch, 3, "height" if height is None else height,
            "width" if width is None else width)
    images = net.add_input("images", DataType.FLOAT, dims)
    for axis, what in ((2, "height"), (3, "width")):
        require(net, "images", lambda d: d % STRIDE == 0, (images.shape[axis],),
                f"the input {what} to be a multiple of {STRIDE}",
                error=lambda v, what=what: f"the input {what} must be a multiple of {STRIDE}, found {v[0]}")
    x = images
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
    boxes1, scores1 = yolo_decode(net, head1, ANCHORS[3:6], images, scope="yolo16")
    boxes2, scores2 = yolo_decode(net, head2, ANCHORS[0:3], images, scope="yolo23")
    boxes = net.add_concatenation([boxes1, boxes2], axis=1, name="boxes").output
    scores = net.add_concatenation([scores1, scores2], axis=1, name="scores").output
    net.mark_output(boxes)
    net.mark_output(scores)
    return net
