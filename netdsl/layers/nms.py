"""nms: ``Network.add_nms`` (TensorRT INMSLayer): non-maximum suppression per batch item and class.

Semantics: TensorRT API reference, INMSLayer / ``INetworkDefinition.add_nms``,
whose selection rule is ONNX NonMaxSuppression's:

* inputs: ``boxes`` (B, N, 4) and ``scores`` (B, N, C) (TensorRT's layout;
  ONNX's scores are (B, C, N)); ``max_output_boxes_per_class`` a 0-D INT32
  shape tensor; optional 0-D FLOAT ``iou_threshold`` (default 0.0) and
  ``score_threshold`` (default 0.0);
* per batch item b and class c, the boxes whose score *exceeds*
  ``score_threshold`` are visited in decreasing score order (equal scores:
  lower box index first, ONNX's rule) and selected unless their IoU with a
  box already selected for (b, c) is greater than ``iou_threshold``, until
  ``max_output_boxes_per_class`` are selected;
* IoU of boxes with no overlap or a zero area is 0 (ONNX reference);
  ``bounding_box_format`` CORNER_PAIRS is (x1, y1, x2, y2), any two
  diagonal corners (ONNX ``center_point_box=0``, which names them
  (y1, x1, y2, x2): IoU is the same), CENTER_SIZES (x_center, y_center,
  width, height) (ONNX ``center_point_box=1``);
* ``topk_box_limit``: per batch item only the ``topk_box_limit`` highest
  scored (box, class) candidates that pass the score threshold are
  considered (TensorRT: "the maximum number of filtered boxes considered for
  selection per batch item"; at most 5000, TensorRT's default, 2000 on
  SM 5.3 / 6.2); ONNX has no such limit;
* outputs: ``SelectedIndices`` (count, 3) INT32, rows (batch, class, box),
  "sorted in order of increasing batchIndex and then in order of decreasing
  score within each batchIndex" (TensorRT; equal scores, which TensorRT
  leaves unspecified, come by class, then selection order); and
  ``NumOutputBoxes``, a 0-D INT32 tensor holding count.

Differences from ONNX: no score threshold means 0.0 here (TensorRT's default:
a score must exceed 0), where ONNX keeps every score; ONNX orders rows by
batch, class, then score.

count depends on the data: it is a fresh runtime dimension named
``<layer>.count`` that the reference executor learns when the kernel runs;
NumOutputBoxes is a shape tensor whose ``shape_value`` is ``(count,)``.
TensorRT-RTX (1.7.1) has no runner for NMS: such a network runs in the
reference executor and builds with full TensorRT, and netdsl refuses a
TensorRT-RTX build before calling TensorRT (``TensorRTModule.has_runner``).
"""
from __future__ import annotations

import math

import numpy as np

from ..graph.dtypes import DataType
from ..graph.enums import BoundingBoxFormat, LayerType
from ..graph.network import Tensor, network_method
from ..graph.shapes import dim, format_shape, is_static, require_equal
from ._checks import as_enum, check_dtype, fail

NMS_TYPES = (DataType.FLOAT, DataType.HALF)
MAX_TOPK_BOX_LIMIT = 5000  # TensorRT's default and upper bound (2000 on SM 5.3 / 6.2 devices)


def _unscoped(net, full: str) -> str:
    return full[len(net.scoped_name("")):]


def _scalar_input(net, full, value, what, dtype, check):
    """A 0-D tensor for an NMS scalar input: a Tensor as it is (checked), a number as a named constant."""
    if isinstance(value, Tensor):
        net._check_own(value, f"{full} {what}")
        if value.ndim != 0 or value.dtype is not dtype:
            fail(full, f"{what} {value.name!r} must be a 0-D {dtype.name} tensor, found "
                       f"{format_shape(value.shape)} {value.dtype.name}")
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        fail(full, f"{what} must be a number or a 0-D {dtype.name} tensor, found {type(value).__name__} {value!r}")
    check(value)
    array = np.array(value, dtype=dtype.to_numpy())
    return net.add_constant((), array, name=f"{_unscoped(net, full)}.{what}").output


@network_method
def add_nms(self, boxes, scores, max_output_boxes_per_class, *, iou_threshold=None, score_threshold=None,
            bounding_box_format: BoundingBoxFormat = BoundingBoxFormat.CORNER_PAIRS,
            topk_box_limit: int = MAX_TOPK_BOX_LIMIT, name=None):
    """Add non-maximum suppression of ``boxes`` by ``scores``, per batch item and class.

    Args:
        boxes: FLOAT or HALF tensor (B, N, 4) in ``bounding_box_format``.
        scores: tensor (B, N, C) of boxes' dtype (TensorRT's layout).
        max_output_boxes_per_class: a 0-D INT32 tensor (a shape tensor, e.g.
            a constant) or an int >= 0, which becomes the INT32 constant
            ``<name>.max_output_boxes_per_class``.
        iou_threshold: None (TensorRT's default 0.0), a number in [0, 1]
            (the FLOAT constant ``<name>.iou_threshold``) or a 0-D FLOAT
            tensor: a box is suppressed when its IoU with a selected box is
            greater. With only a score threshold given, the IoU threshold
            input is the constant 0.0 (TensorRT's optional inputs are 3 then 4).
        score_threshold: None (TensorRT's default 0.0), a number (the FLOAT
            constant ``<name>.score_threshold``) or a 0-D FLOAT tensor: a box
            is a candidate when its score is greater.
        bounding_box_format: BoundingBoxFormat CORNER_PAIRS (default) or
            CENTER_SIZES, or its name.
        topk_box_limit: candidates considered per batch item, 1..5000
            (TensorRT's default 5000).
        name: layer name (scoped); default ``nms``, ``nms1`` ...
    Returns:
        Layer with two INT32 outputs: 0 ``SelectedIndices`` (count, 3), rows
        (batch, class, box); 1 ``NumOutputBoxes``, 0-D, holding count (its
        ``shape_value`` is ``(count,)``). count is the runtime dimension
        ``<layer>.count`` (``layer.count``). B, N and C may be runtime dims.
    Raises:
        NetworkDefinitionError: a wrong rank, dtype or box size; scores not
            (B, N, C) for boxes (B, N, 4) (runtime B or N are required equal:
            ShapeError at an optimization profile, ExecutionError at the
            executor's feeds); a negative or non-int max_output_boxes_per_class,
            an IoU threshold outside [0, 1], a non-finite score threshold, a
            0-D tensor of another dtype, an unknown bounding_box_format or a
            topk_box_limit outside [1, 5000].
    """
    full = self.begin_layer(LayerType.NMS, name, [boxes, scores])
    check_dtype(full, boxes, NMS_TYPES, "boxes")
    if scores.dtype is not boxes.dtype:
        fail(full, f"scores {scores.name!r} is {scores.dtype.name}, expected {boxes.dtype.name} like boxes "
                   f"{boxes.name!r}")
    if boxes.ndim != 3 or not is_static(boxes.shape[2]) or boxes.shape[2] != 4:
        fail(full, f"boxes {boxes.name!r} must be (batch, boxes, 4), found {format_shape(boxes.shape)}")
    if scores.ndim != 3:
        fail(full, f"scores {scores.name!r} must be (batch, boxes, classes), found {format_shape(scores.shape)}")
    for axis, what in ((0, "batch"), (1, "box count")):
        require_equal(self, full, boxes.shape[axis], scores.shape[axis],
                      f"the {what} (dim {axis}) of boxes {boxes.name!r} and scores {scores.name!r}",
                      error=lambda v, what=what: f"scores {scores.name!r} {format_shape(scores.shape)} must be (batch, "
                                                 f"boxes, classes) for boxes {boxes.name!r} "
                                                 f"{format_shape(boxes.shape)}: {what} {v[1]} != {v[0]}")
    box_format = as_enum(full, BoundingBoxFormat, bounding_box_format, "bounding_box_format")
    if isinstance(topk_box_limit, bool) or not isinstance(topk_box_limit, (int, np.integer)) \
            or not 1 <= topk_box_limit <= MAX_TOPK_BOX_LIMIT:
        fail(full, f"topk_box_limit must be an int in [1, {MAX_TOPK_BOX_LIMIT}] (TensorRT's limit), found "
                   f"{topk_box_limit!r}")

    def count_ok(v):
        if isinstance(v, (float, np.floating)) or v < 0:
            fail(full, f"max_output_boxes_per_class must be an int >= 0, found {v!r}")

    def iou_ok(v):
        if not 0.0 <= float(v) <= 1.0:
            fail(full, f"iou_threshold must be in [0, 1], found {v!r}")

    def score_ok(v):
        if not math.isfinite(float(v)):
            fail(full, f"score_threshold must be finite, found {v!r}")

    limit = _scalar_input(self, full, max_output_boxes_per_class, "max_output_boxes_per_class", DataType.INT32,
                          count_ok)
    if limit.shape_value is not None and is_static(limit.shape_value[0]) and limit.shape_value[0] < 0:
        fail(full, f"max_output_boxes_per_class {limit.name!r} is {limit.shape_value[0]}, expected >= 0")
    inputs = [boxes, scores, limit]
    if iou_threshold is not None or score_threshold is not None:
        inputs.append(_scalar_input(self, full, 0.0 if iou_threshold is None else iou_threshold, "iou_threshold",
                                    DataType.FLOAT, iou_ok))
    if score_threshold is not None:
        inputs.append(_scalar_input(self, full, score_threshold, "score_threshold", DataType.FLOAT, score_ok))
    count = dim(f"{full}.count")
    attrs = dict(bounding_box_format=box_format, topk_box_limit=int(topk_box_limit), count=count)
    return self.append_layer(LayerType.NMS, full, inputs, [((count, 3), DataType.INT32), ((), DataType.INT32)],
                             attrs, shape_values=[None, (count,)])
