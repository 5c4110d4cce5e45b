"""parametric_relu: ``Network.add_parametric_relu`` (TensorRT IParametricReLULayer).

Semantics: TensorRT operator reference, ParametricReLU: a leaky ReLU whose
negative slope is given per element, ``y = x >= 0 ? x : slopes * x``, with
``slopes`` a tensor of the input's rank and dtype broadcast to the input
(each slopes dimension equals the input's or is 1). As torch ``F.prelu`` and
ONNX PRelu; a per-channel PReLU (MTCNN, torch ``nn.PReLU(C)``) has slopes of
shape (1, C, 1, 1) for NCHW.

Runtime dimensions: input dims may be runtime dims. A slopes dim facing one
must be 1, the same runtime dim, or a size (or other runtime dim) the input
dim is then required to equal at run time (checked per optimization profile
and against the executor's feeds); declared per-channel slopes need a
static C.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from ..graph.network import DerivedWeights, Tensor, Weights, network_method
from ..graph.shapes import format_shape, is_static, require
from ._checks import FLOAT_TYPES, check_dtype, fail, weights_arg


def _check_slopes_shape(net, name, input, shape, what):
    bad = len(shape) != input.ndim or any(is_static(s) and is_static(d) and s not in (1, d)
                                          for s, d in zip(shape, input.shape))
    if bad:
        fail(name, f"slopes {what} of shape {format_shape(shape)} do not broadcast to input {input.name!r} "
                   f"{format_shape(input.shape)}: expected rank {input.ndim} with each dimension equal to the "
                   f"input's or 1")
    for i, (s, d) in enumerate(zip(shape, input.shape)):
        if (is_static(s) and is_static(d)) or s == d or (is_static(s) and s == 1):
            continue
        require(net, name, lambda s_, d_: s_ in (1, d_), (s, d),
                f"dimension {i} of slopes {what} ({s}) broadcasts to input {input.name!r} ({d}): equal, or 1",
                error=lambda v, i=i: f"slopes {what} dimension {i} ({v[0]}) does not broadcast to input "
                                     f"{input.name!r} ({v[1]})")


@network_method
def add_parametric_relu(self, input, slopes=None, *, slopes_shape=None, name=None):
    """Add ``y = x >= 0 ? x : slopes * x`` with slopes broadcast to the input.

    Args:
        input: tensor of any rank >= 1, FLOAT, HALF or BF16 (e.g. NCHW).
        slopes: one of
            - a Tensor of this network (same dtype and rank as ``input``, each
              dimension equal to the input's or 1): TensorRT's second input;
            - an array or Weights/DerivedWeights of such a shape: constant
              slopes, lowered as a constant tensor of the input's dtype;
            - None (or True): declare ``<name>.slopes`` (float32) for a weight
              store, of ``slopes_shape`` or, by default, per channel
              (1, C, 1, ..., 1) with C = ``input.shape[1]``.
        slopes_shape: shape of the declared slopes (only with slopes None/True).
    Returns:
        Layer with one output of the input's shape and dtype; constant slopes
        are ``layer.weights["slopes"]``.
    Raises:
        NetworkDefinitionError: input dtype not float, slopes of another dtype,
            or a slopes shape that does not broadcast to the input (runtime
            dims: a requirement, ShapeError at an optimization profile or
            ExecutionError at the executor's feeds).
    """
    inputs = [input] + ([slopes] if isinstance(slopes, Tensor) else [])
    name = self.begin_layer(LayerType.PARAMETRIC_RELU, name, inputs)
    check_dtype(name, input, FLOAT_TYPES)
    if input.ndim == 0:
        fail(name, f"input {input.name!r} must have rank >= 1, found a scalar")
    weights = {}
    if isinstance(slopes, Tensor):
        if slopes.dtype != input.dtype:
            fail(name, f"slopes {slopes.name!r} must have the input's dtype {input.dtype.name}, "
                       f"found {slopes.dtype.name}")
        _check_slopes_shape(self, name, input, slopes.shape, f"tensor {slopes.name!r}")
    else:
        if slopes is None or slopes is True:
            if slopes_shape is None:
                if input.ndim < 2:
                    fail(name, f"per-channel slopes need rank >= 2 (channel at axis 1), input {input.name!r} "
                               f"has shape {input.shape}; give slopes_shape")
                if not is_static(input.shape[1]):
                    fail(name, f"per-channel slopes need the channel dim of input {input.name!r} "
                               f"{format_shape(input.shape)} known when the network is defined; give slopes_shape "
                               f"or slopes")
                slopes_shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
            shape = tuple(int(d) for d in slopes_shape)
            _check_slopes_shape(self, name, input, shape, "weights")
        elif slopes_shape is not None:
            fail(name, "slopes_shape is only for declared slopes (slopes=None)")
        else:
            if not isinstance(slopes, (Weights, DerivedWeights)):
                slopes = np.asarray(slopes, dtype=np.float32)
            shape = tuple(slopes.shape)
            _check_slopes_shape(self, name, input, shape, "weights")
        weights["slopes"] = weights_arg(self, name, "slopes", slopes, shape)
    return self.append_layer(LayerType.PARAMETRIC_RELU, name, inputs, [(input.shape, input.dtype)], {}, weights)
