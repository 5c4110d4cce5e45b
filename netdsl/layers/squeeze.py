"""squeeze and unsqueeze: ``Network.add_squeeze`` / ``add_unsqueeze``
(TensorRT ISqueezeLayer / IUnsqueezeLayer, TensorRT >= 10.8; older versions
get an equivalent IShuffleLayer reshape from the lowering).

Semantics: TensorRT API reference, ``INetworkDefinition.add_squeeze`` /
``add_unsqueeze`` (as ONNX Squeeze / Unsqueeze): squeeze removes the listed
dims, each of size 1; unsqueeze inserts a dim of size 1 at each listed
position of the output. Axes are unique after resolving negatives, which
count from the end of the input (squeeze) or of the output (unsqueeze).

``axes`` keeps TensorRT's meaning here: TensorRT takes it as a 1-D tensor of
axis *indices* (not the bitmask of reduce, top-k, softmax and
normalization), so netdsl takes a tuple or list of indices and refuses a
bare int, which elsewhere in netdsl would be a bitmask.

Runtime dimensions: a squeezed dim that is a runtime dim is required to be
1 (checked per optimization profile and against the executor's feeds).
Shape tensors: squeezing a (1,) shape tensor to 0-D, or unsqueezing a 0-D
or 1-D one, keeps its known value (``Tensor.shape_value``).
"""
from __future__ import annotations

from ..graph.enums import LayerType
from ..graph.network import network_method
from ..graph.shapes import format_shape, is_static, require
from ._checks import axis_indices, fail


def _value(input, rank: int):
    """The input's known shape-tensor value when the output is a 0-D or 1-D tensor, else None."""
    return input.shape_value if rank <= 1 else None


@network_method
def add_squeeze(self, input, axes, *, name=None):
    """Remove size-1 dimensions.

    Args:
        input: any tensor.
        axes: a tuple or list of axis indices in [-rank, rank), each naming a
            dim of size 1 (TensorRT's axes tensor; a bare int is refused).
    Returns:
        Layer with one output: the input's dims without ``axes``, same dtype
        (and the input's ``shape_value`` for a 0-D or 1-D output).
    Raises:
        NetworkDefinitionError: axes not a tuple/list, empty, or an axis out of
            range, repeated or (static) not of size 1. A squeezed runtime dim
            other than 1 raises ShapeError at an optimization profile or
            ExecutionError at the executor's feeds.
    """
    name = self.begin_layer(LayerType.SQUEEZE, name, [input])
    axes = axis_indices(name, axes, input.ndim, "axes")
    wide = [a for a in axes if is_static(input.shape[a]) and input.shape[a] != 1]
    if wide:
        fail(name, f"cannot squeeze dimension(s) {wide} of input {input.name!r} {format_shape(input.shape)}: "
                   f"size is not 1")
    for a in axes:
        if not is_static(input.shape[a]):
            require(self, name, lambda d: d == 1, (input.shape[a],),
                    f"squeezed dimension {a} of input {input.name!r} {format_shape(input.shape)} to be 1",
                    error=lambda v, a=a: f"cannot squeeze dimension {a} of input {input.name!r}: size {v[0]} is not 1")
    shape = tuple(d for i, d in enumerate(input.shape) if i not in axes)
    return self.append_layer(LayerType.SQUEEZE, name, [input], [(shape, input.dtype)], dict(axes=axes),
                             shape_values=[_value(input, len(shape))])


@network_method
def add_unsqueeze(self, input, axes, *, name=None):
    """Insert size-1 dimensions.

    Args:
        input: any tensor.
        axes: a tuple or list of axis indices: positions in the output, in [-R, R) with
            R = rank + len(axes) (TensorRT's axes tensor; a bare int is refused).
    Returns:
        Layer with one output of rank R, same dtype (and the input's
        ``shape_value`` for a 1-D output).
    Raises:
        NetworkDefinitionError: axes not a tuple/list, empty, or an axis out of
            range or repeated.
    """
    name = self.begin_layer(LayerType.UNSQUEEZE, name, [input])
    count = len(axes) if isinstance(axes, (tuple, list, range)) else 0
    axes = axis_indices(name, axes, input.ndim + count, "axes (positions in the output)")
    dims = iter(input.shape)
    shape = tuple(1 if i in axes else next(dims) for i in range(input.ndim + len(axes)))
    return self.append_layer(LayerType.UNSQUEEZE, name, [input], [(shape, input.dtype)], dict(axes=axes),
                             shape_values=[_value(input, len(shape))])
