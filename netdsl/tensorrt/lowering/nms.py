"""NMS -> INMSLayer (TensorRT API reference, INMSLayer / ``add_nms``).

Inputs 0-2 (boxes, scores, max_output_boxes_per_class) go to ``add_nms``;
the optional IoU and score thresholds are inputs 3 and 4 (``set_input``).
``bounding_box_format`` and ``topk_box_limit`` are layer attributes. Both
outputs are INT32 (TensorRT's default indices type). TensorRT-RTX has no
runner for NMS: refused before anything is added (``TensorRTModule.has_runner``).
"""
from __future__ import annotations

from ...graph.dtypes import DataType
from ...graph.enums import LayerType
from .non_zero import refuse_without_runner, register_count
from .registry import lowering


@lowering(LayerType.NMS)
def lower_nms(ctx, layer, inputs):
    refuse_without_runner(ctx, layer)
    boxes, scores, limit = inputs[:3]
    nms = ctx.named(ctx.network.add_nms(boxes, scores, limit), layer)
    for index, tensor in enumerate(inputs[3:], 3):
        nms.set_input(index, tensor)
    nms.bounding_box_format = ctx.tm.enum(layer.bounding_box_format)
    nms.topk_box_limit = int(layer.topk_box_limit)
    outputs = [nms.get_output(0), nms.get_output(1)]
    int32 = ctx.tm.datatype(DataType.INT32)
    for i, out in enumerate(outputs):
        if out.dtype != int32:
            outputs[i] = ctx.named(ctx.network.add_cast(out, int32), layer, f"int32_{i}").get_output(0)
    register_count(ctx, layer, outputs[0], 0)
    return outputs
