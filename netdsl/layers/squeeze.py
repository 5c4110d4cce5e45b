"""squeeze and unsqueeze: ``Network.add_squeeze`` / ``add_unsqueeze``
(TensorRT ISqueezeLayer / IUnsqueezeLayer, TensorRT >= 10.8; older versions
get an equivalent IShuffleLayer reshape from the lowering).

Semantics: TensorRT API reference, ``INetworkDefinition.add_squeeze`` /
``add_unsqueeze`` (as ONNX Squeeze / Unsqueeze): squeeze removes the listed
dims, each of size 1; unsqueeze inserts a dim of size 1 at each listed
position of the output. Axes are unique after resolving negatives, which
count from the end of the input (squeeze) or of the output (unsqueeze).
"""
from __future__ import annotations

from ..graph.enums import LayerType
from ..graph.network import network_method
from ._checks import check_axis, fail


def _resolve_axes(name, axes, rank, what):
    axes = [axes] if isinstance(axes, int) else list(axes)
    if not axes:
        fail(name, "axes must name at least one dimension")
    resolved = [check_axis(name, int(a), rank, f"{what} axis") for a in axes]
    if len(set(resolved)) != len(resolved):
        fail(name, f"axes {tuple(axes)} name a dimension twice (rank {rank})")
    return tuple(sorted(resolved))


@network_method
def add_squeeze(self, input, axes, *, name=None):
    """Remove size-1 dimensions.

    Args:
        input: any tensor.
        axes: int or ints in [-rank, rank), each naming a dim of size 1.
    Returns:
        Layer with one output: the input's dims without ``axes``, same dtype.
    Raises:
        NetworkDefinitionError: an axis out of range, repeated or not of size 1.
    """
    name = self.begin_layer(LayerType.SQUEEZE, name, [input])
    axes = _resolve_axes(name, axes, input.ndim, "squeeze")
    wide = [a for a in axes if input.shape[a] != 1]
    if wide:
        fail(name, f"cannot squeeze dimension(s) {wide} of input {input.name!r} {input.shape}: size is not 1")
    shape = tuple(d for i, d in enumerate(input.shape) if i not in axes)
    return self.append_layer(LayerType.SQUEEZE, name, [input], [(shape, input.dtype)], dict(axes=axes))


@network_method
def add_unsqueeze(self, input, axes, *, name=None):
    """Insert size-1 dimensions.

    Args:
        input: any tensor.
        axes: int or ints, positions in the output, in [-R, R) with
            R = rank + len(axes).
    Returns:
        Layer with one output of rank R, same dtype.
    Raises:
        NetworkDefinitionError: an axis out of range or repeated.
    """
    name = self.begin_layer(LayerType.UNSQUEEZE, name, [input])
    count = 1 if isinstance(axes, int) else len(list(axes))
    axes = _resolve_axes(name, axes, input.ndim + count, "unsqueeze (output)")
    dims = iter(input.shape)
    shape = tuple(1 if i in axes else next(dims) for i in range(input.ndim + len(axes)))
    return self.append_layer(LayerType.UNSQUEEZE, name, [input], [(shape, input.dtype)], dict(axes=axes))
