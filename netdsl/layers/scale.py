"""scale: ``Network.add_scale_nd`` / ``add_scale`` (TensorRT IScaleLayer), and the batch-norm helper.

Semantics: TensorRT API reference, IScaleLayer:
``output = (input * scale + shift) ** power`` with the coefficients applied
per tensor (UNIFORM), per channel (CHANNEL, along ``channel_axis``) or per
element (ELEMENTWISE, over the dims from ``channel_axis`` on). A missing
coefficient is the identity (scale 1, shift 0, power 1).
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType, ScaleMode
from ..graph.network import DerivedWeights, network_method
from ._checks import FLOAT_TYPES, check_axis, check_dtype, fail, weights_arg


def _coefficient_shape(mode, shape, axis):
    if mode.name == "UNIFORM":
        return (1,)
    if mode.name == "CHANNEL":
        return (shape[axis],)
    return tuple(shape[axis:])


@network_method
def add_scale_nd(self, input, mode: ScaleMode, shift=None, scale=None, power=None, channel_axis: int = 1, *,
                 name=None):
    """Add ``(input * scale + shift) ** power``.

    Args:
        input: NCHW (any rank >= channel_axis + 1) FLOAT/HALF/BF16 tensor.
        mode: ScaleMode.UNIFORM (coefficients of shape (1,)), CHANNEL ((C,)),
            ELEMENTWISE (input.shape[channel_axis:]).
        shift, scale, power: None for absent, True to declare
            ``<name>.shift`` etc. for a weight store, an array, or Weights.
        channel_axis: the channel dimension (1 for NCHW).
    Returns:
        Layer with one output of the input's shape and dtype.
    Raises:
        NetworkDefinitionError: bad dtype or axis, coefficient of wrong shape.
    """
    name = self.begin_layer(LayerType.SCALE, name, [input])
    check_dtype(name, input, FLOAT_TYPES)
    axis = check_axis(name, channel_axis, input.ndim, "channel_axis")
    mode = ScaleMode[mode.name]
    shape = _coefficient_shape(mode, input.shape, axis)
    weights = {}
    for role, arg in (("shift", shift), ("scale", scale), ("power", power)):
        w = weights_arg(self, name, role, arg, shape, optional=True)
        if w is not None:
            weights[role] = w
    attrs = dict(mode=mode, channel_axis=axis)
    return self.append_layer(LayerType.SCALE, name, [input], [(input.shape, input.dtype)], attrs, weights)


@network_method
def add_scale(self, input, mode: ScaleMode, shift=None, scale=None, power=None, *, name=None):
    """``add_scale_nd`` with TensorRT's implicit channel axis (rank - 3: 1 for NCHW)."""
    if input.ndim < 3:
        fail(self.scoped_name(name or "scale"),
             f"add_scale needs rank >= 3 (channel at rank - 3), found shape {input.shape}; use add_scale_nd")
    return add_scale_nd(self, input, mode, shift, scale, power, input.ndim - 3, name=name)


@network_method
def add_batch_norm(self, input, eps: float = 1e-5, channel_axis: int = 1, *, name=None):
    """Batch normalisation (inference) as one CHANNEL scale layer.

    ``y = scale * (x - mean) / sqrt(variance + eps) + bias``, as in
    torch.nn.BatchNorm2d and darknet's convolutional layer. Declares
    ``<name>.scale``, ``<name>.bias``, ``<name>.mean``, ``<name>.variance``
    (each (C,) float32) for the weight store; the scale layer's ``scale`` and
    ``shift`` are derived from them when bound.

    Args:
        input: NCHW FLOAT/HALF/BF16 tensor.
        eps: added to the variance (darknet and torch: 1e-5).
        channel_axis: channel dimension (1 for NCHW).
    Returns:
        the SCALE Layer (attribute ``batch_norm_eps`` set).
    """
    full = self.scoped_name(name or "bn")
    axis = check_axis(full, channel_axis, input.ndim, "channel_axis")
    c = input.shape[axis]
    gamma, beta, mean, var = (self.declare_weights(full, role, (c,))
                              for role in ("scale", "bias", "mean", "variance"))
    eps = float(eps)

    def _scale(g, v):
        return g / np.sqrt(v.astype(np.float64) + eps)

    scale = DerivedWeights(f"{full}.scale(folded)", (c,), (gamma, var), _scale)
    shift = DerivedWeights(f"{full}.shift(folded)", (c,), (gamma, beta, mean, var),
                           lambda g, b, m, v: b - m * _scale(g, v))
    layer = add_scale_nd(self, input, ScaleMode.CHANNEL, shift=shift, scale=scale, channel_axis=axis,
                         name=name or "bn")
    layer.attrs["batch_norm_eps"] = eps
    return layer
