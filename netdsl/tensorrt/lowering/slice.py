"""SLICE -> ISliceLayer (TensorRT API reference, ISliceLayer / SampleMode)."""
from __future__ import annotations

import numpy as np

from ...graph.enums import LayerType
from ...graph.shapes import is_static_shape
from .registry import lowering

FILL_INPUT = 4  # ISliceLayer input index of the fill value (SampleMode.FILL)


@lowering(LayerType.SLICE)
def lower_slice(ctx, layer, inputs):
    """Static start/shape/stride; for FILL a scalar constant of the input's dtype at input 4."""
    x = inputs[0]
    given = dict(zip(layer.tensor_args, inputs[1:]))  # parameters the user gave as shape tensors
    start, shape, stride = tuple(layer.start), tuple(layer.shape), tuple(layer.stride)
    static = [tuple(d if is_static_shape(v) and k not in given else 0 for d in v)
              for k, v in (("start", start), ("shape", shape), ("stride", stride))]
    sl = ctx.named(ctx.network.add_slice(x, *static), layer)
    for index, (what, value) in enumerate((("start", start), ("shape", shape), ("stride", stride)), 1):
        if what in given:
            sl.set_input(index, given[what])
        elif not is_static_shape(value):  # runtime dimensions: this parameter comes from a shape tensor
            sl.set_input(index, ctx.shape_tensor(layer, value, what))
    sl.mode = ctx.tm.enum(layer.mode)
    if layer.mode.name == "FILL":
        fill = ctx.constant(layer, "fill_value", np.array(layer.fill_value), layer.inputs[0].dtype)
        sl.set_input(FILL_INPUT, fill)
    return [sl.get_output(0)]
