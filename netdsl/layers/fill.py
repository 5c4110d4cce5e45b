"""fill: ``Network.add_fill`` (TensorRT IFillLayer): a tensor filled by LINSPACE or a random distribution.

Semantics: TensorRT API reference, IFillLayer / FillOperation:

* LINSPACE: ``out[i_0, ..., i_{r-1}] = alpha + sum_k beta[k] * i_k``
  (alpha a scalar, beta one step per output dimension);
* RANDOM_UNIFORM: uniform in [alpha, beta] (alpha = minimum, beta = maximum);
* RANDOM_NORMAL: normal with mean alpha and standard deviation beta.

The shape may hold runtime dimensions (the engine then reads it from a shape
tensor). Random values are not reproducible across backends: the reference
executor draws them from NumPy's ``Generator(PCG64(seed))`` (``seed``, default
0), TensorRT from its own generator.
"""
from __future__ import annotations

import math

from ..graph.dtypes import DataType
from ..graph.enums import FillOperation, LayerType
from ..graph.network import network_method
from ..graph.shapes import format_shape, is_static, require_at_least
from ._checks import as_datatype_arg, as_enum, dims, fail

FILL_TYPES = {"LINSPACE": (DataType.FLOAT, DataType.HALF, DataType.INT32, DataType.INT64),
              "RANDOM_UNIFORM": (DataType.FLOAT, DataType.HALF),
              "RANDOM_NORMAL": (DataType.FLOAT, DataType.HALF)}


@network_method
def add_fill(self, shape, op: FillOperation, alpha=0.0, beta=1.0, *, dtype=DataType.FLOAT, seed: int = 0,
             name=None):
    """Add a filled tensor of ``shape``.

    Args:
        shape: output dims (ints and runtime Dims, e.g. ``(gh, gw)`` taken
            from another tensor's shape), rank >= 1.
        op: FillOperation LINSPACE, RANDOM_UNIFORM or RANDOM_NORMAL.
        alpha: LINSPACE start value / uniform minimum / normal mean (a number).
        beta: LINSPACE step per output dimension (a sequence of rank numbers,
            or one number for a rank-1 output) / uniform maximum / normal
            standard deviation (a number).
        dtype: output DataType: FLOAT, HALF, INT32, INT64 for LINSPACE (with
            integer alpha and beta for integer types); FLOAT, HALF for random.
        seed: the reference executor's random seed (random fills only).
    Returns:
        Layer with one output of ``shape`` and ``dtype``; attributes
        ``operation``, ``shape``, ``alpha``, ``beta`` (a tuple for LINSPACE),
        ``seed``.
    Raises:
        NetworkDefinitionError: an empty or negative shape, a dtype the
            operation does not produce, a beta of the wrong length,
            non-finite or non-integral (for integer outputs) alpha/beta, or
            ``beta < alpha`` for uniform / ``beta < 0`` for normal.
    """
    name = self.begin_layer(LayerType.FILL, name, [])
    op = as_enum(name, FillOperation, op, "op")
    if not hasattr(shape, "__len__") or len(shape) == 0:
        fail(name, f"shape must have rank >= 1, found {shape!r}")
    shape = dims(shape, len(shape), "shape", name, runtime=True)
    for axis, d in enumerate(shape):
        if is_static(d) and d < 0:
            fail(name, f"shape must be >= 0, found {format_shape(shape)}")
        if not is_static(d):
            require_at_least(self, name, d, 0, f"fill dimension {axis}")
    dtype = as_datatype_arg(name, dtype, "dtype")
    if dtype not in FILL_TYPES[op.name]:
        fail(name, f"{op.name} makes {', '.join(t.name for t in FILL_TYPES[op.name])}, found dtype {dtype.name}")
    if op is FillOperation.LINSPACE:
        steps = tuple(beta) if hasattr(beta, "__len__") else (beta,) * (1 if len(shape) == 1 else -1)
        if len(steps) != len(shape):
            fail(name, f"LINSPACE beta needs one step per output dimension ({len(shape)}), found {beta!r}")
        values = (alpha, *steps)
    else:
        values = (alpha, beta)
    for v in values:
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            fail(name, f"alpha and beta must be finite numbers, found alpha={alpha!r}, beta={beta!r}")
        if not dtype.is_float and float(v) != int(v):
            fail(name, f"{dtype.name} LINSPACE needs integer alpha and beta, found alpha={alpha!r}, beta={beta!r}")
    if op is FillOperation.RANDOM_UNIFORM and beta < alpha:
        fail(name, f"RANDOM_UNIFORM needs alpha (minimum) <= beta (maximum), found {alpha} > {beta}")
    if op is FillOperation.RANDOM_NORMAL and beta < 0:
        fail(name, f"RANDOM_NORMAL needs beta (standard deviation) >= 0, found {beta}")
    cast = float if dtype.is_float else int
    attrs = dict(operation=op, shape=shape, alpha=cast(values[0]),
                 beta=tuple(cast(v) for v in values[1:]) if op is FillOperation.LINSPACE else float(beta),
                 seed=int(seed))
    return self.append_layer(LayerType.FILL, name, [], [(shape, dtype)], attrs)
