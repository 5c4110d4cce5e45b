"""Helpers for comparing cfg-built netdsl networks with OpenCV DNN's darknet importer (the oracle).

* :func:`write_random_darknet_weights` — a seeded darknet ``.weights`` file (format 0.2) for any cfg the
  converter walks: He-scaled kernels, batch-norm scales near 1, small means and biases, positive variances;
* :func:`opencv_net` / :func:`opencv_forward` — OpenCV's network (Winograd off) and its raw heads and
  decoded [yolo]/[region] rows for one blob;
* :func:`opencv_rows_as_ours` — OpenCV's rows (cell-major, anchor-minor) reordered to netdsl's anchor-major
  rows, as (cx, cy, w, h) fractions of the input, objectness, class scores;
* :func:`relative_error` — max |a - b| / max |b|.
"""
from __future__ import annotations

import numpy as np

from netdsl.frameworks.darknet import conv_parameter_shapes, parse_cfg


def write_random_darknet_weights(cfg, path, seed: int = 0, head_scale: float = 1.0) -> int:
    """Write random weights for ``cfg`` in darknet's ``.weights`` format 0.2; return the float count.

    ``head_scale`` multiplies the kernels of the convolutions without batch norm (the detection heads), so
    that class logits spread out and some scores pass the detection thresholds.
    """
    rng = np.random.default_rng(seed)
    chunks = []
    for conv in conv_parameter_shapes(parse_cfg(cfg)):
        k = conv.filters
        for role, shape in conv.params:
            if role == "weights":
                fan_in = shape[1] * shape[2] * shape[3]
                scale = 1.0 if conv.batch_normalize else head_scale
                chunks.append(rng.normal(0.0, scale / np.sqrt(fan_in), shape))
            elif role == "biases":
                chunks.append(rng.uniform(-0.1, 0.1, k))
            elif role == "scales":
                chunks.append(rng.uniform(0.8, 1.2, k))
            elif role == "rolling_mean":
                chunks.append(rng.uniform(-0.1, 0.1, k))
            elif role == "rolling_variance":
                chunks.append(rng.uniform(0.5, 1.5, k))
    body = np.concatenate([c.ravel() for c in chunks]).astype("<f4")
    header = np.array([0, 2, 5], "<i4").tobytes() + np.array([0], "<u8").tobytes()
    with open(path, "wb") as f:
        f.write(header + body.tobytes())
    return body.size


def opencv_net(cfg, weights):
    import cv2
    net = cv2.dnn.readNetFromDarknet(str(cfg), str(weights))
    net.enableWinograd(False)
    return net


def opencv_forward(net, blob, raw_heads):
    """(raw heads as OpenCV computes them, decoded rows per detection layer) for one NCHW blob.

    ``raw_heads`` are netdsl's names of the tensors feeding the heads (``conv15.conv``): OpenCV calls the
    output of darknet convolution i ``conv_i`` (no batch norm there, linear activation).
    """
    names = [f"conv_{name.split('.')[0][4:]}" for name in raw_heads]
    net.setInput(blob)
    outs = net.forward(names + list(net.getUnconnectedOutLayersNames()))
    return outs[:len(names)], outs[len(names):]


def opencv_rows_as_ours(rows, anchors: int, gh: int, gw: int):
    """OpenCV rows ((y * gw + x) * A + a) -> netdsl order (a * gh * gw + y * gw + x)."""
    k = rows.shape[-1]
    return rows.reshape(gh, gw, anchors, k).transpose(2, 0, 1, 3).reshape(-1, k)


def relative_error(ours, theirs) -> float:
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


def assert_rows_match(boxes, scores, rows, size, thresh=None, tol=1e-4):
    """netdsl's decoded rows (boxes (R, 4) corners in input pixels, scores (R, classes)) against OpenCV's
    (``rows`` in netdsl order: cx, cy, w, h as input fractions, objectness, class scores).

    Boxes: corners within ``tol`` x the input size (or ``tol`` relative for huge random-weight boxes).
    Scores: equal within ``tol`` wherever OpenCV kept one (> 0); where OpenCV zeroed one, ours is at most
    ``thresh`` (OpenCV's threshold; for [region] OpenCV also zeroes NMS-suppressed scores: pass None).
    Returns the number of scores OpenCV kept.
    """
    height, width = size
    scale = np.array([width, height, width, height], np.float64)
    centre, half = rows[:, 0:2].astype(np.float64), rows[:, 2:4].astype(np.float64) / 2
    theirs = np.concatenate([centre - half, centre + half], axis=1) * scale
    np.testing.assert_allclose(boxes, theirs, rtol=tol, atol=tol * max(height, width))
    kept = rows[:, 5:] > 0
    np.testing.assert_allclose(scores[kept], rows[:, 5:][kept], rtol=0, atol=tol)
    if thresh is not None and (~kept).any():
        assert scores[~kept].max() <= thresh + tol
    return int(kept.sum())
