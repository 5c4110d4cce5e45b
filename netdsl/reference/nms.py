"""Reference kernel for NMS (TensorRT INMSLayer; selection rule of ONNX NonMaxSuppression).

Rules in ``netdsl.layers.nms``. The IoU test is computed in float32 with the
operations of ONNX's reference implementation (``onnx.reference``
``op_non_max_suppression``: no overlap, or a box of zero area, never
suppresses; suppress when IoU > threshold), so ties at the threshold fall
the same way. Rows come sorted by batch, then decreasing score (equal
scores: by class, then selection order), as INMSLayer documents.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel


def _extents(boxes, center_sizes: bool):
    """(x_min, x_max, y_min, y_max) per box, float32; corners in any diagonal order."""
    b = boxes.astype(np.float32)
    if center_sizes:
        half_w, half_h = b[:, 2] / np.float32(2), b[:, 3] / np.float32(2)
        return b[:, 0] - half_w, b[:, 0] + half_w, b[:, 1] - half_h, b[:, 1] + half_h
    return (np.minimum(b[:, 0], b[:, 2]), np.maximum(b[:, 0], b[:, 2]),
            np.minimum(b[:, 1], b[:, 3]), np.maximum(b[:, 1], b[:, 3]))


def suppressed(ext, i: int, chosen, threshold) -> bool:
    """Whether box ``i`` overlaps a box of ``chosen`` by an IoU greater than ``threshold`` (ONNX's rule)."""
    if not chosen:
        return False
    x0, x1, y0, y1 = ext
    j = np.asarray(chosen)
    ix0, ix1 = np.maximum(x0[i], x0[j]), np.minimum(x1[i], x1[j])
    iy0, iy1 = np.maximum(y0[i], y0[j]), np.minimum(y1[i], y1[j])
    overlap = (ix1 > ix0) & (iy1 > iy0)
    inter = (ix1 - ix0) * (iy1 - iy0)
    area_i = (x1[i] - x0[i]) * (y1[i] - y0[i])
    area_j = (x1[j] - x0[j]) * (y1[j] - y0[j])
    union = area_i + area_j - inter
    valid = overlap & (inter > 0) & (area_i > 0) & (area_j > 0) & (union > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
    return bool(np.any(valid & (iou > threshold)))


@kernel(LayerType.NMS)
def nms(layer, boxes, scores, max_per_class, iou_threshold=None, score_threshold=None):
    limit = max(int(np.asarray(max_per_class).reshape(())), 0)
    iou = np.float32(0.0 if iou_threshold is None else np.asarray(iou_threshold).reshape(()))
    floor = np.float32(0.0 if score_threshold is None else np.asarray(score_threshold).reshape(()))
    center_sizes = layer.bounding_box_format.name == "CENTER_SIZES"
    scores = scores.astype(np.float32)
    rows, keys = [], []
    for b in range(boxes.shape[0]):
        ext = _extents(boxes[b], center_sizes)
        n, c = scores.shape[1], scores.shape[2]
        # candidates of this batch item: score above the threshold, the topk_box_limit best (score desc,
        # then class, then box index)
        box_idx, cls_idx = np.nonzero(scores[b] > floor)
        cand_scores = scores[b, box_idx, cls_idx]
        order = np.lexsort((box_idx, cls_idx, -cand_scores))[:layer.topk_box_limit]
        considered = np.zeros((n, c), bool)
        considered[box_idx[order], cls_idx[order]] = True
        for cls in range(c):
            boxes_here = np.nonzero(considered[:, cls])[0]
            visit = boxes_here[np.lexsort((boxes_here, -scores[b, boxes_here, cls]))]
            chosen = []
            for i in visit:
                if len(chosen) >= limit:
                    break
                if not suppressed(ext, int(i), chosen, iou):
                    chosen.append(int(i))
            for rank, i in enumerate(chosen):
                rows.append((b, cls, i))
                keys.append((b, -scores[b, i, cls], cls, rank))
    order = sorted(range(len(rows)), key=lambda r: keys[r])
    selected = np.array([rows[r] for r in order], np.int32).reshape(-1, 3)
    return [selected, np.array(len(rows), np.int32)]
