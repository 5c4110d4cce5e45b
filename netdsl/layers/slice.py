"""slice: ``Network.add_slice`` (TensorRT ISliceLayer).

Semantics: TensorRT API reference, ISliceLayer: output[i] = input[start + i *
stride] per dim (stride may be negative); out-of-bounds reads follow
SampleMode: STRICT_BOUNDS (an error), WRAP (modulo), CLAMP (nearest edge),
FILL (``fill_value``), REFLECT (mirror without repeating the edge).
"""
from __future__ import annotations

from ..graph.enums import LayerType, SampleMode
from ..graph.network import network_method
from ._checks import dims, fail


@network_method
def add_slice(self, input, start, shape, stride, *, mode: SampleMode = SampleMode.STRICT_BOUNDS,
              fill_value: float = 0.0, name=None):
    """Add a strided slice.

    Args:
        input: any tensor.
        start, shape, stride: per-dim tuples (ints), length = input rank.
        mode: SampleMode for out-of-bounds coordinates.
        fill_value: value for SampleMode.FILL.
    Returns:
        Layer with one output of ``shape``, the input's dtype.
    Raises:
        NetworkDefinitionError: wrong lengths, or STRICT_BOUNDS reads out of bounds.
    """
    name = self.begin_layer(LayerType.SLICE, name, [input])
    n = input.ndim
    start, shape, stride = (dims(v, n, w, name) for v, w in ((start, "start"), (shape, "shape"), (stride, "stride")))
    if any(s < 0 for s in shape):
        fail(name, f"shape must be non-negative, found {shape}")
    mode = SampleMode[mode.name]
    if mode.name == "STRICT_BOUNDS":
        for i, (b, s, st, d) in enumerate(zip(start, shape, stride, input.shape)):
            last = b + (s - 1) * st
            if s and not (0 <= b < d and 0 <= last < d):
                fail(name, f"dimension {i}: start {b}, size {s}, stride {st} reads index {last} outside "
                           f"[0, {d}) of input {input.name!r} {input.shape} (use a SampleMode other than STRICT_BOUNDS)")
    attrs = dict(start=start, shape=shape, stride=stride, mode=mode, fill_value=float(fill_value))
    return self.append_layer(LayerType.SLICE, name, [input], [(shape, input.dtype)], attrs)
