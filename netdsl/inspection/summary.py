"""One pass over a Network: per-layer output shapes, parameters, constants and FLOPs, and the totals."""
from __future__ import annotations

from dataclasses import dataclass

from .cost import layer_flops
from .params import constant_weights, count_parameters, file_weights


@dataclass(frozen=True)
class LayerSummary:
    """One layer's line.

    Attributes:
        layer: the netdsl Layer (name, type, inputs, outputs, attrs).
        parameters: weight-file elements first used by this layer.
        constants: constant elements first used by this layer.
        flops: FLOPs of the layer (multiply-add = 2; ``netdsl.inspection.cost``): an int,
            or an expression in the runtime dimensions of the layer's shapes.
    """

    layer: object
    parameters: int
    constants: int
    flops: int

    @property
    def name(self) -> str:
        return self.layer.name


@dataclass(frozen=True)
class NetworkSummary:
    """What ``netdsl inspect`` reports about a network.

    Attributes:
        network: the Network.
        layers: LayerSummary per layer, in network (topological) order.
        weights: Weights the weight file must supply, in declaration order.
        constants: Weights given as arrays at definition time.
        parameters, constant_elements, flops: totals (elements, elements, FLOPs).
    """

    network: object
    layers: tuple
    weights: tuple
    constants: tuple
    parameters: int
    constant_elements: int
    flops: int


def summarize(net) -> NetworkSummary:
    """Count parameters, constants and FLOPs of every layer of ``net`` and in total.

    Args:
        net: a Network as built, its weight file not loaded (see
            ``netdsl.inspection.params`` for why).
    Returns:
        NetworkSummary.
    Raises:
        CostModelError: a layer type without a FLOP rule.
    """
    counts = count_parameters(net)
    layers = tuple(LayerSummary(layer, *counts.per_layer[layer.name], layer_flops(layer)) for layer in net.layers)
    return NetworkSummary(net, layers, tuple(file_weights(net)), tuple(constant_weights(net)), counts.parameters,
                          counts.constants, sum(s.flops for s in layers))


def format_flops(flops: int) -> str:
    """``5570672640`` -> ``"5.57 GFLOPs"`` (3 significant digits, SI prefixes up to T).

    A symbolic count (runtime dimensions) is printed as its expression: ``"1728*N FLOPs"``.
    """
    if not isinstance(flops, int):
        return f"{flops} FLOPs"
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if flops >= scale:
            return f"{flops / scale:.3g} {prefix}FLOPs"
    return f"{flops} FLOPs"
