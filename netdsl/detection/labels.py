"""Where to put each box's label so that no label covers another (pure geometry, no drawing).

Rectangles are integer pixel rectangles ``(x1, y1, x2, y2)`` covering
columns x1..x2-1 and rows y1..y2-1 (half-open, like NumPy slices); two
rectangles overlap when they share at least one pixel.

Placement is greedy in the order given (``netdsl detect`` passes detections
by descending confidence, so the strongest detection gets the best spot).
For each label the candidates, in order of preference, are:

1. above the box, left-aligned (darknet's and most viewers' place);
2. inside the box, top-left;
3. below the box, left-aligned;
4. inside the box, bottom-left;
5. the same four right-aligned;
6. shifted from "above" by whole label heights (up 1, down 1, up 2, ...) and
   by half label widths left and right, nearest first.

Every candidate is clamped to lie inside the image. The first candidate
overlapping no label placed so far is taken; if there is none (more labels
than fit), the candidate with the least overlapping area is taken.
"""
from __future__ import annotations

import numpy as np

Rect = tuple[int, int, int, int]


def overlaps(a: Rect, b: Rect) -> bool:
    """True when the half-open pixel rectangles ``a`` and ``b`` share a pixel."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _candidates(box, w: int, h: int, width: int, height: int, max_shift: int) -> np.ndarray:
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    anchors = [(x1, y1 - h), (x1, y1), (x1, y2), (x1, y2 - h),
               (x2 - w, y1 - h), (x2 - w, y1), (x2 - w, y2), (x2 - w, y2 - h)]
    shifts = []
    for step in range(1, max_shift + 1):
        for dy in (-step, step):
            shifts.append((0, dy))
    for step in range(1, max_shift + 1):
        for dx in (-step, step):
            for dy in range(-step, step + 1):
                shifts.append((dx, dy))
    anchors += [(x1 + dx * max(w // 2, 1), y1 - h + dy * h) for dx, dy in shifts]
    xy = np.array(anchors, np.int64)
    xy[:, 0] = np.clip(xy[:, 0], 0, max(width - w, 0))
    xy[:, 1] = np.clip(xy[:, 1], 0, max(height - h, 0))
    return np.concatenate([xy, xy + np.array([w, h])], axis=1)


def place_labels(boxes, sizes, image_size, max_shift: int = 12) -> list[Rect]:
    """Choose a rectangle for each label.

    Args:
        boxes: sequence of (x1, y1, x2, y2) boxes in image pixels, in priority order.
        sizes: sequence of (width, height) label sizes in pixels (padding included), one per box.
        image_size: (width, height) of the image in pixels.
        max_shift: how many label heights (and half widths) to search away from "above".
    Returns:
        One (x1, y1, x2, y2) int rectangle per box, inside the image when the
        label fits in it; no two overlap unless the image has no room left.
    """
    width, height = image_size
    placed = np.zeros((0, 4), np.int64)
    out: list[Rect] = []
    for box, (w, h) in zip(boxes, sizes):
        cands = _candidates(box, int(w), int(h), int(width), int(height), max_shift)
        if len(placed):
            ix = np.clip(np.minimum(cands[:, None, 2], placed[None, :, 2])
                         - np.maximum(cands[:, None, 0], placed[None, :, 0]), 0, None)
            iy = np.clip(np.minimum(cands[:, None, 3], placed[None, :, 3])
                         - np.maximum(cands[:, None, 1], placed[None, :, 1]), 0, None)
            overlap = (ix * iy).sum(axis=1)
            free = np.flatnonzero(overlap == 0)
            best = int(free[0]) if free.size else int(np.argmin(overlap))
        else:
            best = 0
        rect = tuple(int(v) for v in cands[best])
        out.append(rect)
        placed = np.vstack([placed, cands[best][None]])
    return out
