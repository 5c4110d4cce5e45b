"""Parameter counts: which weights a weight file must supply, which are constants, and per-layer counts.

What is counted (in elements, whatever the dtype):

* **parameters**: the declared Weights still unbound when the network is
  built, i.e. what the weight file supplies (``conv0.bn.scale``,
  ``fc.bias`` ...);
* **constants**: Weights given as arrays at definition time (bound when
  declared: ``add_constant(shape, array)``, a kernel passed as an array).

Derived weights (``DerivedWeights``: a batch norm folded into a convolution,
a bias reshaped for a broadcast, a normalization's identity scale) are
never counted themselves: each is resolved to the Weights it is computed
from, and each Weights object is counted once in the whole network, for
the first layer (in network order) that uses it. A folded batch norm thus
counts ``kernel + 4 * K`` for its convolution (kernel, then scale,
variance, bias and mean of the batch norm), exactly as the same convolution
and an unfolded batch-norm scale layer count together, and as darknet's
``.weights`` stores it.

The split between parameters and constants is by binding state, so count
a network as built, before its weight file is loaded (as ``netdsl
inspect`` does).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..graph.network import Weights


def source_weights(w) -> list:
    """The Weights ``w`` is made of: ``[w]`` for Weights, the sources (recursively, in order) for DerivedWeights.

    Returns:
        list of distinct Weights objects (an identity DerivedWeights, with no
        sources, gives ``[]``).
    """
    if isinstance(w, Weights):
        return [w]
    found, seen = [], set()
    for s in getattr(w, "sources", ()):
        for base in source_weights(s):
            if id(base) not in seen:
                seen.add(id(base))
                found.append(base)
    return found


def file_weights(net) -> list:
    """The weights a weight file must supply: the network's declared, unbound Weights in declaration order.

    Returns:
        list of Weights (name, shape, dtype); derived weights never appear.
    """
    return [w for w in net.weights().values() if not w.is_bound]


def constant_weights(net) -> list:
    """Weights given as arrays when the network was defined (declared and bound), in declaration order."""
    return [w for w in net.weights().values() if w.is_bound]


@dataclass
class ParameterCount:
    """Parameter and constant element counts.

    Attributes:
        per_layer: layer name -> (parameters, constants), every layer listed.
        unused_parameters, unused_constants: declared weights no layer uses
            (counted in the totals, attributed to no layer).
    """

    per_layer: dict = field(default_factory=dict)
    unused_parameters: int = 0
    unused_constants: int = 0

    @property
    def parameters(self) -> int:
        """Total parameter elements (what the weight file supplies)."""
        return sum(p for p, _ in self.per_layer.values()) + self.unused_parameters

    @property
    def constants(self) -> int:
        """Total constant elements."""
        return sum(c for _, c in self.per_layer.values()) + self.unused_constants


def count_parameters(net) -> ParameterCount:
    """Count parameters and constants per layer (see the module docstring for the rules).

    Args:
        net: a Network as built (weights from a file not yet loaded).
    Returns:
        ParameterCount; its ``parameters`` equals the total elements of
        :func:`file_weights`, its ``constants`` those of
        :func:`constant_weights`, plus any undeclared Weights a layer uses.
    """
    result = ParameterCount()
    seen: set = set()
    for layer in net.layers:
        params = consts = 0
        for w in layer.weights.values():
            for base in source_weights(w):
                if id(base) in seen:
                    continue
                seen.add(id(base))
                size = math.prod(base.shape)
                if base.is_bound:
                    consts += size
                else:
                    params += size
        result.per_layer[layer.name] = (params, consts)
    for w in net.weights().values():
        if id(w) not in seen:
            if w.is_bound:
                result.unused_constants += math.prod(w.shape)
            else:
                result.unused_parameters += math.prod(w.shape)
    return result
