"""The lowering registry: netdsl LayerType -> function adding TensorRT layers.

A lowering is ``fn(ctx, layer, inputs) -> list[trt.ITensor]``: ``ctx`` a
:class:`LoweringContext`, ``layer`` the netdsl Layer, ``inputs`` its input
ITensors. It adds layers through ``ctx.network`` (names them with
``ctx.named``) and returns one ITensor per netdsl output; :func:`lower_layer`
names those tensors after the netdsl tensors and checks their shapes and,
in a strongly typed network, their dtypes. Every TensorRT layer a lowering
adds gets the netdsl layer's name as its ``metadata``.
"""
from __future__ import annotations

from ...graph.shapes import format_shape, is_static
from ..errors import EngineBuildError, UnsupportedLayerError

LOWERINGS: dict = {}


def lowering(*layer_types):
    """Decorator registering a lowering for one or more netdsl LayerTypes."""
    def register(fn):
        for t in layer_types:
            if t in LOWERINGS:
                raise RuntimeError(f"two TensorRT lowerings for LayerType.{t.name}")
            LOWERINGS[t] = fn
        return fn
    return register


def _same_shape(trt_shape, shape) -> bool:
    """TensorRT's build-time shape (-1 for a runtime dimension) against netdsl's (ints and Dims).

    A netdsl runtime dimension matches -1 or any value TensorRT could
    resolve itself; a netdsl int must be TensorRT's value.
    """
    return len(trt_shape) == len(shape) and all(not is_static(d) or t == d for t, d in zip(trt_shape, shape))


def lower_layer(ctx, layer) -> list:
    """Lower one netdsl layer into ``ctx.network``; record its outputs in ``ctx.tensors``.

    Raises:
        UnsupportedLayerError: no lowering for the layer's type.
        EngineBuildError: TensorRT infers another shape (or dtype) than netdsl.
    """
    fn = LOWERINGS.get(layer.type)
    if fn is None:
        supported = ", ".join(sorted(t.name for t in LOWERINGS))
        raise UnsupportedLayerError(f"{layer.name}: LayerType.{layer.type.name} has no TensorRT lowering "
                                    f"(supported: {supported})")
    inputs = [None if t is None else ctx.tensors[t] for t in layer.inputs]
    first = ctx.network.num_layers
    outputs = list(fn(ctx, layer, inputs))
    # Every TensorRT layer this lowering added carries the netdsl layer's name as metadata
    # (ctx.named sets it; this catches any added without it): TensorRT's layer listing names,
    # for each fused kernel, the metadata of the layers it covers (netdsl.tensorrt.report).
    for i in range(first, ctx.network.num_layers):
        trt_layer = ctx.network.get_layer(i)
        if ctx.tm.layer_metadata(trt_layer) == "":
            ctx.tm.set_layer_metadata(trt_layer, layer.name)
    if len(outputs) != len(layer.outputs):
        raise EngineBuildError(f"{layer.name}: lowering returned {len(outputs)} outputs, netdsl has "
                               f"{len(layer.outputs)}")
    for i, (trt_tensor, tensor) in enumerate(zip(outputs, layer.outputs)):
        trt_tensor.name = tensor.name
        shape = tuple(trt_tensor.shape)
        if not _same_shape(shape, tensor.shape):
            raise EngineBuildError(f"{layer.name}: TensorRT infers output {i} shape {shape}, netdsl "
                                   f"{format_shape(tensor.shape)}")
        if ctx.strongly_typed and trt_tensor.dtype != ctx.tm.datatype(tensor.dtype):
            raise EngineBuildError(f"{layer.name}: TensorRT infers output {i} dtype {trt_tensor.dtype.name}, "
                                   f"netdsl {tensor.dtype.name}")
        ctx.tensors[tensor] = trt_tensor
    return outputs
