"""SHAPE -> IShapeLayer (TensorRT API reference); cast to netdsl's INT64 where the version gives INT32 (8.6)."""
from __future__ import annotations

from ...graph.dtypes import DataType
from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.SHAPE)
def lower_shape(ctx, layer, inputs):
    (x,) = inputs
    out = ctx.named(ctx.network.add_shape(x), layer, None if ctx.tm.shape_dtype() is DataType.INT64 else "int32")
    if ctx.tm.shape_dtype() is DataType.INT64:
        return [out.get_output(0)]
    return [ctx.named(ctx.network.add_cast(out.get_output(0), ctx.tm.datatype(DataType.INT64)), layer).get_output(0)]
