"""padding_nd: ``Network.add_padding_nd`` (TensorRT IPaddingLayer).

Semantics: TensorRT API reference, IPaddingLayer and the Padding operator
page: zero padding (negative values crop) at the start (``pre_padding``)
and end (``post_padding``) of the innermost dims; dims before them are
unchanged. TensorRT pads exactly the last 2 dims of a tensor of rank >= 4;
netdsl also takes 3 values for the last 3 dims of a rank >= 5 tensor, which
the lowering builds as an ISliceLayer with SampleMode.FILL (TensorRT's own
advice for padding other dims). Output dim = input dim + pre + post.
Source for values: ``out[..., i] = in[..., i - pre]`` where that index is
inside the input, else 0 (as ``torch.nn.functional.pad`` with zeros).
"""
from __future__ import annotations

from ..graph.dtypes import DataType
from ..graph.enums import LayerType
from ..graph.network import network_method
from ..graph.shapes import is_static, require_at_least
from ._checks import FLOAT_TYPES, check_dtype, fail

PADDING_TYPES = FLOAT_TYPES + (DataType.INT8,)


@network_method
def add_padding_nd(self, input, pre_padding, post_padding, *, name=None):
    """Zero-pad (or, with negative values, crop) the last 2 or 3 dimensions.

    Args:
        input: FLOAT, HALF, BF16 or INT8 tensor, e.g. NCHW (rank >= 4 for 2
            padded dims, >= 5 for 3).
        pre_padding: ints for the start of each padded dim, e.g. (top, left).
        post_padding: ints for the end of each padded dim, e.g. (bottom, right).
    Returns:
        Layer with one output of the input's dtype; padded dims grow by
        pre + post.
    Raises:
        NetworkDefinitionError: dtype, rank, mismatched lengths, or a
            padded dim that would be negative.
    """
    name = self.begin_layer(LayerType.PADDING, name, [input])
    pre, post = tuple(int(p) for p in pre_padding), tuple(int(p) for p in post_padding)
    check_dtype(name, input, PADDING_TYPES)
    if len(pre) != len(post) or len(pre) not in (2, 3):
        fail(name, f"pre_padding {pre} and post_padding {post} must both have 2 (or 3) values")
    n = len(pre)
    if input.ndim < n + 2:
        fail(name, f"input {input.name!r} {input.shape} must have rank >= {n + 2} to pad its last {n} dims")
    lead = input.ndim - n
    shape = input.shape[:lead] + tuple(d + a + b for d, a, b in zip(input.shape[lead:], pre, post))
    for axis, d in enumerate(shape):
        if not is_static(d):
            require_at_least(self, name, d, 0, f"output dimension {axis} (input {input.name!r} padded {pre}/{post})")
        elif d < 0:
            fail(name, f"padding {pre}/{post} crops input {input.name!r} {input.shape} to negative dims {shape}")
    attrs = dict(pre_padding_nd=pre, post_padding_nd=post)
    return self.append_layer(LayerType.PADDING, name, [input], [(shape, input.dtype)], attrs)
