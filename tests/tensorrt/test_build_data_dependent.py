"""NonZero and NMS on TensorRT-RTX: its network API has them, its builder has no runner for them. netdsl
refuses the build in one line before TensorRT builds; with the refusal bypassed, TensorRT-RTX itself
fails with "has no runners that implement it" (so the refusal is still needed), after accepting the
lowered network (netdsl's shapes and dtypes, the INT64 cast of NonZero's output)."""
import numpy as np
import pytest

from netdsl import DataType, LayerType, Network
from netdsl.tensorrt import build_engine
from netdsl.tensorrt.builder import to_trt_network
from netdsl.tensorrt.compat import TensorRTModule
from netdsl.tensorrt.errors import EngineBuildError, UnsupportedLayerError


def non_zero_net():
    net = Network("nz")
    x = net.add_input("x", DataType.FLOAT, ("n", 3))
    net.mark_output(net.add_non_zero(x, name="where").output)
    return net


def nms_net():
    net = Network("nms")
    boxes = net.add_input("boxes", DataType.FLOAT, ("b", "n", 4))
    scores = net.add_input("scores", DataType.FLOAT, ("b", "n", 2))
    layer = net.add_nms(boxes, scores, 3, iou_threshold=0.5, score_threshold=0.1, name="suppress")
    net.mark_output(layer.get_output(0))
    net.mark_output(layer.get_output(1))
    return net


PROFILES = {"nz": [{"x": ((1, 3), (2, 3), (4, 3))}],
            "nms": [{"boxes": ((1, 1, 4), (1, 8, 4), (2, 16, 4)), "scores": ((1, 1, 2), (1, 8, 2), (2, 16, 2))}]}


def test_has_runner_is_a_flavor_question(rtx):
    assert not rtx.has_runner(LayerType.NON_ZERO) and not rtx.has_runner(LayerType.NMS)
    assert rtx.has_runner(LayerType.CONVOLUTION) and rtx.has_runner(LayerType.TOPK)
    full = TensorRTModule(rtx.trt, "tensorrt", "tensorrt")  # the same question asked of full TensorRT
    assert full.has_runner(LayerType.NON_ZERO) and full.has_runner(LayerType.NMS)


@pytest.mark.parametrize("make, layer, kind", [(non_zero_net, "where", "NON_ZERO"), (nms_net, "suppress", "NMS")])
def test_refused_before_tensorrt_builds(make, layer, kind, rtx, monkeypatch):
    net = make()
    monkeypatch.setattr(rtx.trt.Builder, "build_serialized_network",
                        lambda *a: pytest.fail("TensorRT was asked to build"))
    with pytest.raises(UnsupportedLayerError) as info:
        build_engine(net, tensorrt=rtx, targets=("sm86",), profiles=PROFILES[net.name])
    message = str(info.value)
    assert message.startswith(f"{layer}: TensorRT-RTX 1.7") and f"has no runner for LayerType.{kind}" in message
    assert "\n" not in message


@pytest.mark.parametrize("make, layer", [(non_zero_net, "where"), (nms_net, "suppress")])
def test_tensorrt_rtx_really_has_no_runner(make, layer, rtx, monkeypatch):
    monkeypatch.setattr(TensorRTModule, "has_runner", lambda self, layer_type: True)
    net = make()
    _, trt_net, ctx = to_trt_network(net, rtx)  # the lowering is accepted, shapes and dtypes as netdsl's
    out = ctx.tensors[net.outputs[0]]
    assert out.dtype == (rtx.trt.int64 if layer == "where" else rtx.trt.int32)
    assert tuple(out.shape) == ((2, -1) if layer == "where" else (-1, 3))
    with pytest.raises(EngineBuildError, match="has no runners that implement it"):
        build_engine(net, tensorrt=rtx, targets=("sm86",), profiles=PROFILES[net.name])
