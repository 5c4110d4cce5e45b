"""Registry of reference kernels: LayerType -> NumPy function.

A kernel is ``fn(layer, *inputs) -> np.ndarray | list[np.ndarray]``. Inputs
arrive as NumPy arrays; float16/bfloat16 tensors arrive upcast to float32
and the executor rounds outputs back to each output's DataType.
"""
from __future__ import annotations

from ..graph.errors import ExecutionError

KERNELS = {}


def kernel(*layer_types):
    """Decorator registering ``fn`` as the reference kernel of ``layer_types``."""
    def register(fn):
        for t in layer_types:
            if t in KERNELS:
                raise RuntimeError(f"two reference kernels for {t.name}")
            KERNELS[t] = fn
        return fn
    return register


def lookup(layer):
    try:
        return KERNELS[layer.type]
    except KeyError:
        raise ExecutionError(f"{layer.name}: the reference executor has no kernel for {layer.type.name}") from None
