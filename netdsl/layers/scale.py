"""scale: ``Network.add_scale_nd`` / ``add_scale`` (TensorRT IScaleLayer) and batch normalisation.

Semantics: TensorRT API reference, IScaleLayer and the Scale operator page:
``output = (input * scale + shift) ** power``, the coefficients applied per
tensor (UNIFORM, shape (1,)), per channel (CHANNEL, shape (C,) along
``channel_axis``) or per element (ELEMENTWISE, shape
``input.shape[channel_axis:]``). An absent coefficient is the identity
(scale 1, shift 0, power 1). "The input tensor is required to have at least
4 dimensions"; input and output dtype FLOAT, HALF or BF16 (INT8, TensorRT's
quantized type, is not accepted).

Batch normalisation (inference), as torch ``F.batch_norm`` and darknet's
convolutional layer: ``y = scale * (x - mean) / sqrt(variance + eps) + bias``.
``add_batch_norm`` makes it one CHANNEL scale layer; ``add_conv_batch_norm``
adds a convolution followed by it, or (``fold=True``) folds it into the
convolution's kernel and bias. Either way the weights are declared under
the same names, ``<conv>.kernel`` and ``<bn>.scale/bias/mean/variance``, so
one weight file (e.g. the darknet converter's ``conv{i}.conv.kernel``,
``conv{i}.bn.*``) serves both.

Runtime dimensions: coefficients are weights of a static shape. CHANNEL
needs a static channel dim; the dims before it (batch) and, for CHANNEL and
UNIFORM, after it (spatial) may be runtime dims. ELEMENTWISE coefficients
cover ``input.shape[channel_axis:]``: given as an array (or Weights) of a
static shape, each runtime input dim there is required to equal the
coefficients' dim (checked per optimization profile and against the
executor's feeds; TensorRT-RTX builds such a layer when the profile fixes
those dims); declared (``True``) they need static dims.
"""
from __future__ import annotations

import math

import numpy as np

from ..graph.enums import LayerType, ScaleMode
from ..graph.network import DerivedWeights, Weights, network_method
from ..graph.shapes import format_shape, is_static, is_static_shape, require_equal
from ._checks import FLOAT_TYPES, as_enum, check_axis, check_dtype, fail, weights_arg
from .convolution import add_convolution_nd


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
        input: tensor of rank >= 4 (NCHW, NCDHW ...), FLOAT, HALF or BF16.
        mode: ScaleMode (or its name): UNIFORM (coefficients of shape (1,); a Python number
            is accepted), CHANNEL ((C,), C = ``input.shape[channel_axis]``),
            ELEMENTWISE (``input.shape[channel_axis:]``).
        shift, scale, power: None for absent (identity), True to declare
            ``<name>.shift`` etc. (float32) for a weight store, an array, or
            Weights / DerivedWeights. Lowered as weights of the input's dtype.
        channel_axis: index of the channel dimension (1 for NCHW), as
            IScaleLayer's ``channel_axis``; negative counts from the end.
    Returns:
        Layer with one output of the input's shape and dtype; attributes
        ``mode`` and ``channel_axis`` (normalised to >= 0).
    Raises:
        NetworkDefinitionError: an unknown mode, dtype not float, rank < 4,
            channel axis a bool or out of range, a coefficient of the wrong
            shape, a runtime channel dim (CHANNEL), declared ELEMENTWISE
            coefficients over runtime dims. A runtime dim that must equal an
            ELEMENTWISE coefficient dim raises ShapeError at an optimization
            profile or ExecutionError at the executor's feeds.
    """
    name = self.begin_layer(LayerType.SCALE, name, [input])
    check_dtype(name, input, FLOAT_TYPES)
    if input.ndim < 4:
        fail(name, f"input {input.name!r} must have rank >= 4 (TensorRT IScaleLayer), found shape {input.shape}; "
                   f"reshape it with add_shuffle first")
    axis = check_axis(name, channel_axis, input.ndim, "channel_axis")
    mode = as_enum(name, ScaleMode, mode, "mode")
    shape = _coefficient_shape(mode, input.shape, axis)
    if mode.name == "CHANNEL" and not is_static(shape[0]):
        fail(name, f"CHANNEL coefficients (C,) need the channel dim {axis} of input {input.name!r} "
                   f"{format_shape(input.shape)} known when the network is defined, found the runtime dimension "
                   f"{shape[0]}")
    weights = {}
    for role, arg in (("shift", shift), ("scale", scale), ("power", power)):
        if mode.name == "UNIFORM" and isinstance(arg, (int, float)) and not isinstance(arg, bool):
            arg = np.full((1,), arg, np.float32)
        if arg is None or arg is False:
            continue
        if not is_static_shape(shape):
            if arg is True:
                fail(name, f"declared ELEMENTWISE {role} would have shape {format_shape(shape)} "
                           f"(input.shape[{axis}:]), which holds runtime dims; give {role} as an array of a static "
                           f"shape")
            found = tuple(arg.shape) if isinstance(arg, (Weights, DerivedWeights)) else np.shape(arg)
            if len(found) != len(shape) or any(is_static(d) and d != f for d, f in zip(shape, found)):
                fail(name, f"{role} weights must have shape {format_shape(shape)} (input.shape[{axis}:] of "
                           f"{input.name!r}), found {tuple(found)}")
            for i, (d, f) in enumerate(zip(shape, found)):
                if not is_static(d):
                    require_equal(self, name, d, f, f"dimension {axis + i} of input {input.name!r} and of the "
                                                    f"ELEMENTWISE {role} {tuple(found)}")
        w = weights_arg(self, name, role, arg, shape if is_static_shape(shape) else tuple(found), optional=True)
        if w is not None:
            weights[role] = w
    attrs = dict(mode=mode, channel_axis=axis)
    return self.append_layer(LayerType.SCALE, name, [input], [(input.shape, input.dtype)], attrs, weights)


@network_method
def add_scale(self, input, mode: ScaleMode, shift=None, scale=None, power=None, *, name=None):
    """``add_scale_nd`` with the channel axis at rank - 3 (1 for NCHW input).

    Returns:
        the SCALE Layer, output of the input's shape and dtype.
    Raises:
        NetworkDefinitionError: rank < 4 (as add_scale_nd), or as add_scale_nd.
    """
    if input.ndim < 4:
        fail(self.scoped_name(name or "scale"),
             f"input {input.name!r} must have rank >= 4 (TensorRT IScaleLayer), found shape {input.shape}")
    return add_scale_nd(self, input, mode, shift, scale, power, input.ndim - 3, name=name)


def _check_eps(full, eps) -> float:
    eps = float(eps)
    if not (math.isfinite(eps) and eps >= 0):
        fail(full, f"batch-norm eps must be finite and >= 0, found {eps}")
    return eps


def _declare_batch_norm(net, full, channels, eps):
    """Declare ``<full>.scale/bias/mean/variance`` ((C,) float32; a variance below 0 is refused when bound,
    as ``sqrt(variance + eps)`` needs it); return them and the folded per-channel scale."""
    gamma, beta, mean, var = (net.declare_weights(full, role, (channels,),
                                                  minimum=0.0 if role == "variance" else None)
                              for role in ("scale", "bias", "mean", "variance"))

    def bn_scale(g, v):
        return g.astype(np.float64) / np.sqrt(v.astype(np.float64) + eps)

    return gamma, beta, mean, var, bn_scale


@network_method
def add_batch_norm(self, input, eps: float = 1e-5, channel_axis: int = 1, *, name=None):
    """Batch normalisation (inference) as one CHANNEL scale layer.

    ``y = scale * (x - mean) / sqrt(variance + eps) + bias``, as in
    torch.nn.BatchNorm2d (eval) and darknet's convolutional layer. Declares
    ``<name>.scale``, ``<name>.bias``, ``<name>.mean``, ``<name>.variance``
    (each (C,) float32) for the weight store; the scale layer's ``scale`` and
    ``shift`` are DerivedWeights computed from them (in float64) when bound.

    Args:
        input: tensor of rank >= 4 (NCHW ...), FLOAT, HALF or BF16.
        eps: added to the variance (darknet and torch: 1e-5); finite, >= 0.
        channel_axis: index of the channel dimension (1 for NCHW), as
            IScaleLayer's ``channel_axis``; negative counts from the end.
    Returns:
        the SCALE Layer (attribute ``batch_norm_eps`` set).
    Raises:
        NetworkDefinitionError: as ``add_scale_nd``, or a bad eps.
    """
    full = self.scoped_name(name or "bn")
    axis = check_axis(full, channel_axis, input.ndim, "channel_axis")
    c = input.shape[axis]
    if not is_static(c):
        fail(full, f"batch norm needs the channel dim {axis} of input {input.name!r} {format_shape(input.shape)} "
                   f"known when the network is defined (scale/bias/mean/variance (C,)), found the runtime "
                   f"dimension {c}")
    eps = _check_eps(full, eps)
    gamma, beta, mean, var, bn_scale = _declare_batch_norm(self, full, c, eps)
    scale = DerivedWeights(f"{full}.scale(folded)", (c,), (gamma, var), bn_scale)
    shift = DerivedWeights(f"{full}.shift(folded)", (c,), (gamma, beta, mean, var),
                           lambda g, b, m, v: b - m * bn_scale(g, v))
    layer = add_scale_nd(self, input, ScaleMode.CHANNEL, shift=shift, scale=scale, channel_axis=axis,
                         name=name or "bn")
    layer.attrs["batch_norm_eps"] = eps
    return layer


@network_method
def add_conv_batch_norm(self, input, num_output_maps: int, kernel_shape, kernel=None, bias=False, *,
                        eps: float = 1e-5, fold: bool = False, conv_name: str = "conv", bn_name: str = "bn",
                        **conv_kwargs):
    """A convolution followed by inference batch norm, kept apart or folded into the convolution.

    Either way declares ``<conv_name>.kernel`` (and ``<conv_name>.bias`` if
    ``bias``) and ``<bn_name>.scale``, ``.bias``, ``.mean``, ``.variance``
    (each (K,) float32), so the same weight store binds both forms.

    * ``fold=False``: ``add_convolution_nd`` then ``add_batch_norm`` (a
      CHANNEL scale layer named ``bn_name``).
    * ``fold=True``: one convolution whose kernel and bias are DerivedWeights
      (computed in float64 once bound): with ``s = scale / sqrt(variance +
      eps)``, kernel ``W * s[k]`` per output map k and bias
      ``(b - mean) * s + bias_bn`` (b = 0 without a convolution bias). Equal
      to the unfolded pair within float32 rounding.

    Args:
        input: NCHW (or NCDHW) FLOAT, HALF or BF16 tensor.
        num_output_maps, kernel_shape, kernel, bias: as ``add_convolution_nd``
            (bias defaults to False: batch norm supplies the shift).
        eps: batch-norm epsilon (darknet, torch: 1e-5).
        fold: fold the batch norm into the convolution.
        conv_name, bn_name: names (in the current scope) of the convolution
            and of the batch norm (its layer, or only its weights when folded).
        conv_kwargs: stride_nd, padding_nd, num_groups ... of ``add_convolution_nd``.
    Returns:
        the last Layer: the SCALE layer, or the folded CONVOLUTION (attributes
        ``batch_norm`` = the batch norm's scoped name and ``batch_norm_eps``).
    Raises:
        NetworkDefinitionError: as ``add_convolution_nd`` / ``add_batch_norm``.
    """
    full = self.scoped_name(bn_name)
    eps = _check_eps(full, eps)
    conv = add_convolution_nd(self, input, num_output_maps, kernel_shape, kernel, bias, name=conv_name,
                              **conv_kwargs)
    if not fold:
        return add_batch_norm(self, conv.output, eps, name=bn_name)
    gamma, beta, mean, var, bn_scale = _declare_batch_norm(self, full, num_output_maps, eps)
    w = conv.weights["kernel"]
    b = conv.weights.get("bias")

    def folded_kernel(k, g, v):
        s = bn_scale(g, v)
        return k.astype(np.float64) * s.reshape((-1,) + (1,) * (k.ndim - 1))

    def folded_bias(g, bb, m, v, *conv_bias):
        offset = conv_bias[0].astype(np.float64) if conv_bias else 0.0
        return (offset - m) * bn_scale(g, v) + bb

    # The convolution keeps its declared <conv>.kernel (bound from the store) as the source
    # of the weights it actually uses.
    conv.weights["kernel"] = DerivedWeights(f"{conv.name}.kernel(folded)", w.shape, (w, gamma, var), folded_kernel)
    conv.weights["bias"] = DerivedWeights(f"{conv.name}.bias(folded)", (num_output_maps,),
                                          (gamma, beta, mean, var) + ((b,) if b is not None else ()), folded_bias)
    conv.attrs.update(batch_norm=full, batch_norm_eps=eps)
    return conv
