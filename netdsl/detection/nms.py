"""Confidence threshold and class-wise greedy non-maximum suppression.

Semantics: darknet src/box.c do_nms_sort (per class: sort by score, drop a
box whose IoU with a kept box exceeds the threshold), and OpenCV
``cv2.dnn.NMSBoxes`` (same greedy rule, IoU > threshold suppresses).

Boxes are clipped to the image *after* NMS, as darknet does (src/image.c
draw_detections clamps left/right/top/bottom to the image; NMS ran on the
unclipped boxes), so the kept set equals darknet's and OpenCV's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detection:
    """One detected object; ``box`` is (x1, y1, x2, y2) in pixels of the image it refers to."""

    class_id: int
    class_name: str
    confidence: float
    box: tuple[float, float, float, float]

    def as_dict(self, image: str) -> dict:
        return {"image": image, "class_id": self.class_id, "class_name": self.class_name,
                "confidence": round(float(self.confidence), 6), "box": [round(float(v), 2) for v in self.box]}


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one (4,) x1y1x2y2 box with (M, 4) boxes."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Greedy NMS of (M, 4) x1y1x2y2 boxes; returns kept indices by descending score."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        order = rest[iou(boxes[i], boxes[rest]) <= iou_threshold]
    return keep


def clip_box(box, width: float, height: float) -> tuple[float, float, float, float]:
    """Clamp an (x1, y1, x2, y2) box to the image rectangle [0, width] x [0, height] (pixel edges)."""
    x1, y1, x2, y2 = box
    return (min(max(x1, 0.0), width), min(max(y1, 0.0), height),
            min(max(x2, 0.0), width), min(max(y2, 0.0), height))


def detect_from_outputs(boxes: np.ndarray, scores: np.ndarray, class_names, conf: float = 0.25,
                        iou_threshold: float = 0.45, scale=(1.0, 1.0), image_size=None) -> list[Detection]:
    """Threshold and suppress one image's candidates.

    Args:
        boxes: (M, 4) float x1, y1, x2, y2 in network-input pixels.
        scores: (M, classes) float class confidences in [0, 1].
        class_names: names indexed by class id.
        conf: keep (candidate, class) pairs with score > conf.
        iou_threshold: NMS IoU threshold, per class.
        scale: (sx, sy) multiplying x and y coordinates (input -> original pixels).
        image_size: (width, height) of the original image in pixels; if given, kept
            boxes are clipped to [0, width] x [0, height] after NMS, and a box left
            with no area is dropped. None keeps boxes unclipped (raw network output).
    Returns:
        Detections sorted by descending confidence.
    """
    sx, sy = scale
    factors = np.array([sx, sy, sx, sy], np.float64)
    found = []
    rows, classes = np.nonzero(scores > conf)
    for c in np.unique(classes):
        idx = rows[classes == c]
        b = boxes[idx].astype(np.float64) * factors
        s = scores[idx, c].astype(np.float64)
        for k in nms(b, s, iou_threshold):
            name = class_names[c] if c < len(class_names) else str(c)
            box = tuple(float(v) for v in b[k])
            if image_size is not None:
                box = clip_box(box, float(image_size[0]), float(image_size[1]))
                if box[2] <= box[0] or box[3] <= box[1]:
                    continue
            found.append(Detection(int(c), name, float(s[k]), box))
    return sorted(found, key=lambda d: -d.confidence)
