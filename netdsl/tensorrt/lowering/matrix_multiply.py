"""MATRIX_MULTIPLY -> IMatrixMultiplyLayer (TensorRT API reference, IMatrixMultiplyLayer).

``add_fully_connected`` needs no lowering of its own: netdsl builds it from
shuffle, constant, cast, matrix multiply and elementwise layers, which
TensorRT >= 10 (no IFullyConnectedLayer) and 8.6 both have.
"""
from __future__ import annotations

from ...graph.enums import LayerType
from .registry import lowering


@lowering(LayerType.MATRIX_MULTIPLY)
def lower_matrix_multiply(ctx, layer, inputs):
    """``add_matrix_multiply(input0, op0, input1, op1)``; netdsl has checked ranks, batch dims and K."""
    a, b = inputs
    mm = ctx.network.add_matrix_multiply(a, ctx.tm.enum(layer.op0), b, ctx.tm.enum(layer.op1))
    return [ctx.named(mm, layer).get_output(0)]
