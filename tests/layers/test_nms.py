"""add_nms (TensorRT INMSLayer) against ONNX NonMaxSuppression (onnx.reference and onnxruntime).

ONNX takes scores (B, C, N) and orders its rows by batch, class, then score; TensorRT takes scores
(B, N, C) and documents rows sorted by batch, then decreasing score. The oracle runs ONNX on the
transposed scores and then sorts its rows by (batch, -score), stably, which keeps ONNX's class and
selection order among equal scores (netdsl's documented tie rule).
"""
import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from netdsl import DataType, Network
from netdsl.graph.enums import BoundingBoxFormat
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.shapes import dim
from netdsl.reference import execute


def onnx_nms(boxes, scores, limit, iou, score_threshold, center):
    """Selected (batch, class, box) rows of ONNX NonMaxSuppression, in TensorRT's documented order."""
    onnx_boxes = boxes if center else boxes[..., [1, 0, 3, 2]]  # ONNX names corners (y1, x1, y2, x2)
    feeds = {"boxes": onnx_boxes.astype(np.float32), "scores": scores.transpose(0, 2, 1).astype(np.float32),
             "limit": np.array([limit], np.int64), "iou": np.array([iou], np.float32),
             "score": np.array([score_threshold], np.float32)}
    node = helper.make_node("NonMaxSuppression", list(feeds), ["selected"], center_point_box=int(center))
    graph = helper.make_graph([node], "nms", [helper.make_tensor_value_info(k, TensorProto.FLOAT if v.dtype ==
                                                                           np.float32 else TensorProto.INT64, v.shape)
                                              for k, v in feeds.items()],
                              [helper.make_tensor_value_info("selected", TensorProto.INT64, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    rows = ReferenceEvaluator(model).run(None, feeds)[0]
    by_ort = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    np.testing.assert_array_equal(by_ort, rows)  # the two oracles agree
    keys = [(b, -float(scores[b, i, c])) for b, c, i in rows]
    order = sorted(range(len(rows)), key=lambda r: keys[r])  # stable: ties keep ONNX's class, selection order
    return rows[order].astype(np.int32).reshape(-1, 3)


def nms(boxes, scores, limit, dtype=DataType.FLOAT, **kw):
    net = Network("nms")
    b = net.add_input("boxes", dtype, ("b", "n", 4))
    s = net.add_input("scores", dtype, ("b", "n", scores.shape[2]))
    layer = net.add_nms(b, s, limit, **kw)
    net.mark_output(layer.get_output(0))
    net.mark_output(layer.get_output(1))
    np_type = dtype.to_numpy()
    out = execute(net, {"boxes": boxes.astype(np_type), "scores": scores.astype(np_type)})
    return layer, out["nms"], out["nms:1"]


def random_case(seed, b=2, n=12, c=3, center=False):
    rng = np.random.default_rng(seed)
    xy, wh = rng.uniform(0, 10, (b, n, 2)), rng.uniform(1, 6, (b, n, 2))
    boxes = np.concatenate([xy, wh], -1) if center else np.concatenate([xy, xy + wh], -1)
    if not center:  # corners in either diagonal order
        swap = rng.random((b, n)) < 0.5
        boxes[swap] = boxes[swap][:, [2, 3, 0, 1]]
    return boxes.astype(np.float32), rng.uniform(0, 1, (b, n, c)).astype(np.float32)


@pytest.mark.parametrize("seed, limit, iou, score, center", [
    (0, 3, 0.5, 0.2, False),
    (1, 100, 0.3, 0.0, False),
    (2, 2, 0.0, 0.5, False),
    (3, 4, 0.7, 0.1, True),
    (4, 1, 1.0, 0.3, True),
    (5, 0, 0.5, 0.0, False),  # max_output_boxes_per_class 0: nothing selected
    (6, 5, 0.5, 0.99, False),  # no score above the threshold: nothing selected
])
def test_matches_onnx_non_max_suppression(seed, limit, iou, score, center):
    boxes, scores = random_case(seed, center=center)
    fmt = BoundingBoxFormat.CENTER_SIZES if center else BoundingBoxFormat.CORNER_PAIRS
    layer, selected, count = nms(boxes, scores, limit, iou_threshold=iou, score_threshold=score,
                                 bounding_box_format=fmt)
    want = onnx_nms(boxes, scores, limit, iou, score, center)
    assert selected.dtype == np.int32 and count.dtype == np.int32 and count.shape == ()
    np.testing.assert_array_equal(selected, want)
    assert int(count) == len(want)


def test_ties_degenerate_boxes_and_default_thresholds():
    """Equal scores (lower box first), zero-area boxes (never suppress), no thresholds given: TensorRT's
    defaults 0.0 (a score must exceed 0; any overlap suppresses)."""
    boxes = np.array([[[0, 0, 2, 2], [0, 0, 2, 2], [1, 1, 3, 3], [5, 5, 5, 7], [5, 5, 6, 6], [8, 8, 9, 9]]],
                     np.float32)
    scores = np.array([[[0.9], [0.9], [0.8], [0.7], [0.7], [0.0]]], np.float32)
    _, selected, count = nms(boxes, scores, 10)
    np.testing.assert_array_equal(selected, onnx_nms(boxes, scores, 10, 0.0, 0.0, False))
    np.testing.assert_array_equal(selected[:, 2], [0, 3, 4])  # box 1 and 2 overlap box 0; box 5 scores 0
    assert int(count) == 3


def test_half_inputs():
    boxes, scores = random_case(7)
    boxes, scores = boxes.astype(np.float16), scores.astype(np.float16)
    _, selected, _ = nms(boxes, scores, 3, dtype=DataType.HALF, iou_threshold=0.4, score_threshold=0.1)
    np.testing.assert_array_equal(selected, onnx_nms(boxes.astype(np.float32), scores.astype(np.float32), 3, 0.4,
                                                     0.1, False))


def test_topk_box_limit_keeps_the_best_candidates_per_batch_item():
    """With topk_box_limit L only the L best (box, class) candidates of each batch item are considered: the
    oracle is ONNX on scores where every other candidate is pushed below the score threshold (our reading of
    TensorRT's "maximum number of filtered boxes considered for selection per batch item")."""
    boxes, scores = random_case(8, b=2, n=10, c=2)
    limit_k = 7
    masked = scores.copy()
    for b in range(scores.shape[0]):
        flat = scores[b].reshape(-1)
        order = np.lexsort((np.tile(np.arange(2), 10), np.repeat(np.arange(10), 2), -flat))  # score, box, class
        keep = np.zeros(flat.shape, bool)
        keep[order[:limit_k]] = True
        masked[b][~keep.reshape(10, 2)] = -1.0
    _, selected, _ = nms(boxes, scores, 10, iou_threshold=0.5, score_threshold=0.0, topk_box_limit=limit_k)
    np.testing.assert_array_equal(selected, onnx_nms(boxes, masked, 10, 0.5, 0.0, False))


def test_outputs_and_inputs_of_the_layer():
    net = Network("n")
    b = net.add_input("boxes", DataType.FLOAT, ("b", "n", 4))
    s = net.add_input("scores", DataType.FLOAT, ("b", "n", 3))
    with net.scope("head"):
        layer = net.add_nms(b, s, 4, score_threshold=0.25)
    assert layer.name == "head.nms" and layer.count == dim("head.nms.count")
    assert [t.name for t in layer.inputs] == ["boxes", "scores", "head.nms.max_output_boxes_per_class",
                                              "head.nms.iou_threshold", "head.nms.score_threshold"]
    assert layer.get_output(0).shape == (dim("head.nms.count"), 3) and layer.get_output(1).shape == ()
    assert layer.bounding_box_format is BoundingBoxFormat.CORNER_PAIRS and layer.topk_box_limit == 5000


@pytest.mark.parametrize("kwargs, message", [
    (dict(boxes=(1, 5, 5)), "L: boxes 'boxes' must be (batch, boxes, 4), found (1, 5, 5)"),
    (dict(scores=(1, 6, 2)), "L: scores 'scores' (1, 6, 2) must be (batch, boxes, classes) for boxes 'boxes' "
                             "(1, 5, 4): box count 6 != 5"),
    (dict(dtype=DataType.BF16), "L: boxes 'boxes' must be FLOAT, HALF, found BF16"),
    (dict(limit=2.5), "L: max_output_boxes_per_class must be an int >= 0, found 2.5"),
    (dict(iou_threshold=1.5), "L: iou_threshold must be in [0, 1], found 1.5"),
    (dict(score_threshold=float("nan")), "L: score_threshold must be finite, found nan"),
    (dict(topk_box_limit=5001), "L: topk_box_limit must be an int in [1, 5000]"),
    (dict(bounding_box_format="corners"), "L: bounding_box_format must be a BoundingBoxFormat member"),
    (dict(limit="tensor64"), "L: max_output_boxes_per_class 'l' must be a 0-D INT32 tensor, found () INT64"),
])
def test_refused(kwargs, message):
    kwargs = dict(kwargs)
    net = Network("bad")
    dtype = kwargs.pop("dtype", DataType.FLOAT)
    b = net.add_input("boxes", dtype, kwargs.pop("boxes", (1, 5, 4)))
    s = net.add_input("scores", dtype, kwargs.pop("scores", (1, 5, 2)))
    limit = kwargs.pop("limit", 3)
    if limit == "tensor64":
        limit = net.add_input("l", DataType.INT64, ())
    with pytest.raises(NetworkDefinitionError) as info:
        net.add_nms(b, s, limit, name="L", **kwargs)
    assert str(info.value).startswith(message) and "\n" not in str(info.value), str(info.value)
