"""Reference kernel for MATRIX_MULTIPLY (TensorRT IMatrixMultiplyLayer).

A VECTOR operand becomes a one-row (input0) or one-column (input1) matrix,
NumPy's matmul broadcasts the batch dims, and the unit dim is dropped again.
Accumulation is in float32 (float16 inputs arrive as float32); the executor
rounds the output to its dtype. Constant operands (``add_fully_connected``'s
kernel and bias) are FLOAT constants cast to the input's dtype by a cast
layer, so they arrive already rounded, as in the engine.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from .registry import kernel
from .threads import matmul


def _as_matrix(x, op, which):
    if op.name == "TRANSPOSE":
        return np.swapaxes(x, -1, -2)
    if op.name == "VECTOR":
        return x[..., None, :] if which == 0 else x[..., :, None]
    return x


@kernel(LayerType.MATRIX_MULTIPLY)
def matrix_multiply(layer, a, b):
    a = _as_matrix(a.astype(np.float32, copy=False), layer.op0, 0)
    b = _as_matrix(b.astype(np.float32, copy=False), layer.op1, 1)
    out = matmul(a, b)
    if layer.op1.name == "VECTOR":
        out = out[..., 0]
    if layer.op0.name == "VECTOR":
        out = out[..., 0, :] if layer.op1.name != "VECTOR" else out[..., 0]
    return out
