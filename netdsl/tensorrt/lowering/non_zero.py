"""NON_ZERO -> INonZeroLayer (TensorRT API reference, INonZeroLayer), cast to netdsl's INT64 where needed.

TensorRT-RTX has no runner for NonZero (``TensorRTModule.has_runner``): the
lowering refuses it there with UnsupportedLayerError before adding anything,
instead of TensorRT failing late in the build.
"""
from __future__ import annotations

from ...graph.dtypes import DataType
from ...graph.enums import LayerType
from ..errors import UnsupportedLayerError
from .registry import lowering


def refuse_without_runner(ctx, layer) -> None:
    """Raise UnsupportedLayerError when this TensorRT cannot build ``layer``'s type (one line, naming it)."""
    if not ctx.tm.has_runner(layer.type):
        raise UnsupportedLayerError(
            f"{layer.name}: {ctx.tm.label} has no runner for LayerType.{layer.type.name} (its builder fails "
            f"with 'has no runners that implement it'); run this network with the reference executor or build "
            f"it with full TensorRT")


def register_count(ctx, layer, trt_tensor, axis: int) -> None:
    """Make the layer's data-dependent dimension ``layer.count`` readable as a shape by later layers."""
    ctx.dim_sources.setdefault(next(iter(layer.count.names())), (trt_tensor, axis))


@lowering(LayerType.NON_ZERO)
def lower_non_zero(ctx, layer, inputs):
    """``add_non_zero(input)``; a cast to INT64 when the version's output is INT32 (TensorRT-RTX 1.7, 8.6)."""
    refuse_without_runner(ctx, layer)
    (x,) = inputs
    out = ctx.named(ctx.network.add_non_zero(x), layer).get_output(0)
    int64 = ctx.tm.datatype(DataType.INT64)
    if out.dtype != int64:
        cast = ctx.network.add_cast(out, int64)
        out = ctx.named(cast, layer, "int64").get_output(0)
    register_count(ctx, layer, out, 1)
    return [out]
