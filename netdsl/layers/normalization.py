"""normalization: ``Network.add_normalization`` (TensorRT INormalizationLayer) and
the layer-, instance- and group-norm helpers.

Semantics: TensorRT API reference, INormalizationLayer and
INetworkDefinition.add_normalization_v2, and the TensorRT operator
reference "Normalization"::

    y = (x - mean(x, axes)) / sqrt(var(x, axes) + epsilon) * scale + bias

with the biased variance ``mean((x - mean(x, axes)) ** 2, axes)``. scale and
bias have the input's rank and broadcast to it (each dim 1 or equal).

* Layer norm: ``axes`` = the trailing dims; scale/bias ``(1, ..., 1, D_k, ..., D_n)``.
* Instance norm: input (N, C, D1, ...), ``axes`` = (2, ..., rank - 1),
  scale/bias ``(1, C, 1, ...)``.
* Group norm: as instance norm with ``num_groups`` G > 1: the channels are
  split into G groups of C / G and the statistics are taken over each
  group's channels and the spatial dims. TensorRT then requires ``axes``
  to be exactly (2, ..., rank - 1). scale/bias are per channel, (1, C, 1, ...),
  as in ``add_normalization_v2`` (TensorRT >= 10.15 / RTX), ONNX
  GroupNormalization-21 and torch.nn.GroupNorm. (The older
  ``add_normalization`` takes per-group (1, G, 1, ...) coefficients; the
  TensorRT lowering rebuilds per-channel coefficients on it with two
  elementwise layers.) ``add_group_norm`` with G = 1 (one group of all
  channels, torch's meaning) is axes (1, ..., rank - 1) with num_groups 1.

In TensorRT, scale and bias are tensors; netdsl holds them as weights and
the lowering turns them into constants of the input's dtype.

Runtime dimensions: the normalized axes may be runtime dims (statistics are
taken over whatever size the input has). Weights need static shapes, so a
coefficient dim facing a runtime input dim is 1 (it broadcasts) or a size
the input dim is then required to have at run time (checked per
optimization profile and against the executor's feeds); declared default
coefficients (``None``) therefore need static dims on ``axes``, and
per-channel coefficients (instance / group norm) a static C. ``False``
(identity) coefficients are 1 on runtime dims.
"""
from __future__ import annotations

import numpy as np

from ..graph.enums import LayerType
from ..graph.network import DerivedWeights, network_method
from ..graph.shapes import format_shape, is_static, is_static_shape, require_equal
from ._checks import FLOAT_TYPES, axes_arg, axes_mask, check_dtype, fail, weights_arg


def reshaped(weights, shape):
    """``weights`` seen with another shape of the same size (a DerivedWeights when it differs)."""
    shape = tuple(shape)
    if weights.shape == shape:
        return weights
    return DerivedWeights(f"{weights.name}(reshaped)", shape, (weights,), lambda v: v.reshape(shape),
                          dtype=weights.dtype)


def _coefficient(net, name, role, arg, shape, stored_shape):
    """Resolve the scale or bias argument to weights of ``shape`` (the input's rank).

    ``None``/``True`` declares ``<name>.<role>`` of ``stored_shape``; an array
    or Weights must have ``stored_shape``; ``False`` is the identity (scale
    1, bias 0), never stored.
    """
    if arg is False:
        value = 1.0 if role == "scale" else 0.0
        return DerivedWeights(f"{name}.{role}(identity)", shape, (),
                              lambda: np.full(shape, value, np.float32))
    w = weights_arg(net, name, role, arg, stored_shape)
    return reshaped(w, shape)


def _add(net, input, scale, bias, axes, epsilon, num_groups, name, layout=None):
    """Validate and append a NORMALIZATION layer (see :func:`add_normalization`).

    ``layout``: a helper's (stored shape, shape in the input's rank) of its
    coefficients, e.g. ((C,), (1, C, 1, 1)); None for add_normalization.
    """
    name = net.begin_layer(LayerType.NORMALIZATION, name, [input])
    check_dtype(name, input, FLOAT_TYPES)
    if input.ndim == 0:
        fail(name, f"input {input.name!r} must have rank >= 1, found a scalar")
    axes = axes_arg(name, axes, input)
    num_groups = int(num_groups)
    if num_groups < 1:
        fail(name, f"num_groups must be >= 1, found {num_groups}")
    if num_groups > 1:
        if input.ndim < 3:
            fail(name, f"group norm needs an (N, C, D1, ...) input of rank >= 3, found {input.name!r} "
                       f"{input.shape}")
        channels = input.shape[1]
        if not is_static(channels):
            fail(name, f"group norm needs the channel dim of {input.name!r} {format_shape(input.shape)} known when "
                       f"the network is defined (per-channel scale/bias, groups of C / {num_groups}), found the "
                       f"runtime dimension {channels}")
        if channels % num_groups:
            fail(name, f"num_groups {num_groups} must divide the {channels} channels of {input.name!r} "
                       f"{input.shape}")
        if axes != tuple(range(2, input.ndim)):
            want = tuple(range(2, input.ndim))
            fail(name, f"with num_groups > 1 TensorRT needs axes {want} (bitmask {axes_mask(want):#b}: all dims "
                       f"after C), found {axes} (bitmask {axes_mask(axes):#b})")
        shape = (1, channels) + (1,) * (input.ndim - 2)
    else:
        shape = tuple(d if i in axes else 1 for i, d in enumerate(input.shape))
    if float(epsilon) < 0:
        fail(name, f"epsilon must be >= 0, found {epsilon}")
    coefficients = {}
    for role, arg in (("scale", scale), ("bias", bias)):
        if layout is not None:  # a helper: stored in torch's layout, seen in the input's rank
            w = _coefficient(net, name, role, arg, layout[1], layout[0])
        else:
            if arg is False:
                own = tuple(d if is_static(d) else 1 for d in shape)
            elif arg is None or arg is True:
                if not is_static_shape(shape):
                    fail(name, f"the default {role} shape {format_shape(shape)} (the input's dims on axes "
                               f"{axes}) holds runtime dims; give {role} as an array whose dims are 1 on the "
                               f"runtime axes of {input.name!r} {format_shape(input.shape)} (it broadcasts), "
                               f"or False")
                own = shape
            else:
                own = tuple(getattr(arg, "shape", np.shape(arg)))
            w = _coefficient(net, name, role, arg, own, own)
        _check_coefficient(net, name, role, w, input, num_groups)
        coefficients[role] = w
    attrs = dict(axes=axes_mask(axes), axis_indices=axes, epsilon=float(epsilon), num_groups=num_groups)
    return net.append_layer(LayerType.NORMALIZATION, name, [input], [(input.shape, input.dtype)], attrs,
                            coefficients)


def _check_coefficient(net, name, role, w, input, num_groups):
    shape = w.shape
    if num_groups > 1 and shape != (1, input.shape[1]) + (1,) * (input.ndim - 2):
        fail(name, f"with num_groups > 1 {role} must be per channel, shape "
                   f"{(1, input.shape[1]) + (1,) * (input.ndim - 2)}, found {shape}")
    if len(shape) != input.ndim or any(is_static(d) and s not in (1, d) for s, d in zip(shape, input.shape)):
        fail(name, f"{role} must have the input's rank and broadcast to it (each dim 1 or equal): input "
                   f"{input.name!r} {format_shape(input.shape)}, {role} {shape}")
    for i, (s, d) in enumerate(zip(shape, input.shape)):
        if not is_static(d) and s != 1:
            require_equal(net, name, d, s, f"dimension {i} of input {input.name!r} and of {role} {shape} "
                                           f"(which does not broadcast otherwise)")


@network_method
def add_normalization(self, input, scale, bias, axes, *, epsilon: float = 1e-5, num_groups: int = 1, name=None):
    """Add ``(x - mean) / sqrt(var + epsilon) * scale + bias`` over ``axes``.

    Args:
        input: FLOAT/HALF/BF16 tensor, rank >= 1 ((N, C, D1, ...) when num_groups > 1).
        scale, bias: arrays or Weights with the input's rank, each dim 1 or
            equal to the input's; ``None`` declares ``<name>.scale`` /
            ``<name>.bias`` (float32) of the default shape: the input's dims
            on ``axes`` and 1 elsewhere (TensorRT's layer-norm shape), or
            (1, C, 1, ...) when num_groups > 1; ``False`` is the identity
            (scale 1, bias 0). Lowered as constants of the input's dtype.
        axes: TensorRT's ``axesMask`` bitmask as an ``int``, bit i = axis i (e.g.
            ``0b1100`` for axes 2 and 3 of NCHW: instance norm), at least one
            bit and none at or past the rank; or a tuple/list of axis indices
            (negative count from the end), e.g. ``(2, 3)`` or ``(-1,)``.
        epsilon: added to the variance (TensorRT's default 1e-5).
        num_groups: channel groups (group norm); axes must then be (2, ..., rank - 1).
    Returns:
        Layer with one output of the input's shape and dtype; attributes
        ``axes`` (TensorRT's bitmask), ``axis_indices`` (sorted tuple),
        ``epsilon``, ``num_groups``; weights
        ``layer.weights["scale"]`` / ``["bias"]`` in the input's rank.
    Raises:
        NetworkDefinitionError: non-float dtype, bad axes (a bool, negative,
            empty or too-wide bitmask; an empty, repeated or out-of-range
            index sequence), num_groups that
            does not divide C or comes with other axes, scale/bias that do
            not broadcast (per channel for group norm), negative epsilon,
            default (``None``) coefficients over runtime dims, a runtime C
            with num_groups > 1. A runtime dim that must equal a coefficient
            dim raises ShapeError at an optimization profile or
            ExecutionError at the executor's feeds.
    """
    return _add(self, input, scale, bias, axes, epsilon, num_groups, name)


@network_method
def add_layer_norm(self, input, normalized_shape, scale=None, bias=None, *, epsilon: float = 1e-5, name=None):
    """Layer normalization over the trailing dims, as torch.nn.functional.layer_norm.

    Args:
        input: FLOAT/HALF/BF16 tensor, e.g. (N, L, C).
        normalized_shape: an int or a tuple equal to the input's trailing dims
            (torch's ``normalized_shape``); those dims are the ``axes``.
        scale, bias: None to declare ``<name>.scale`` / ``<name>.bias`` of
            ``normalized_shape`` (the layout of torch.nn.LayerNorm's weight
            and bias), an array or Weights of that shape, or False for none
            (torch's ``elementwise_affine=False``).
        epsilon: torch's ``eps``.
    Returns:
        the NORMALIZATION Layer (see :func:`add_normalization`).
    Raises:
        NetworkDefinitionError: ``normalized_shape`` is not the input's trailing dims
            (a runtime trailing dim is required to equal it: ShapeError at an
            optimization profile, ExecutionError at the executor's feeds).
    """
    normalized = (int(normalized_shape),) if np.ndim(normalized_shape) == 0 else tuple(map(int, normalized_shape))
    k = len(normalized)
    trailing = input.shape[input.ndim - k:] if 1 <= k <= input.ndim else ()
    if len(trailing) != k or any(is_static(d) and d != n for d, n in zip(trailing, normalized)):
        fail(self.scoped_name(name or "normalization"),
             f"normalized_shape {normalized} must be the trailing dims of {input.name!r} {format_shape(input.shape)}")
    axes = tuple(range(input.ndim - k, input.ndim))
    layout = (normalized, (1,) * (input.ndim - k) + normalized)
    return _add(self, input, scale, bias, axes, epsilon, 1, name, layout)


@network_method
def add_instance_norm(self, input, scale=None, bias=None, *, epsilon: float = 1e-5, name=None):
    """Instance normalization of an (N, C, D1, ...) tensor, as torch.nn.functional.instance_norm
    (inference, no running statistics): per sample and channel over the spatial dims.

    Args:
        input: FLOAT/HALF/BF16 tensor of rank >= 3, e.g. NCHW.
        scale, bias: None to declare ``<name>.scale`` / ``<name>.bias`` (C,)
            (torch.nn.InstanceNorm2d(affine=True) layout), an array or
            Weights of shape (C,), or False for none.
        epsilon: torch's ``eps``.
    Returns:
        the NORMALIZATION Layer, axes (2, ..., rank - 1), num_groups 1.
    Raises:
        NetworkDefinitionError: rank < 3 and the errors of :func:`add_normalization`.
    """
    axes, layout = _channel_layout(self, input, name)
    return _add(self, input, scale, bias, axes, epsilon, 1, name, layout)


@network_method
def add_group_norm(self, input, num_groups: int, scale=None, bias=None, *, epsilon: float = 1e-5, name=None):
    """Group normalization of an (N, C, D1, ...) tensor, as torch.nn.functional.group_norm.

    Args:
        input: FLOAT/HALF/BF16 tensor of rank >= 3, e.g. NCHW.
        num_groups: G, dividing C; statistics over each group's C / G
            channels and the spatial dims.
        scale, bias: None to declare ``<name>.scale`` / ``<name>.bias`` (C,)
            (torch.nn.GroupNorm layout: per channel), an array or Weights
            of shape (C,), or False for none.
        epsilon: torch's ``eps``.
    Returns:
        the NORMALIZATION Layer: axes (2, ..., rank - 1) and ``num_groups`` G;
        for G = 1 (one group: all channels) axes (1, ..., rank - 1) and
        num_groups 1, since TensorRT's num_groups 1 with axes (2, ...) is
        instance norm.
    Raises:
        NetworkDefinitionError: rank < 3, G not dividing C, and the errors of
            :func:`add_normalization`.
    """
    axes, layout = _channel_layout(self, input, name)
    if int(num_groups) == 1:
        axes = (1,) + axes
    return _add(self, input, scale, bias, axes, epsilon, num_groups, name, layout)


def _channel_layout(net, input, name):
    """Axes (2, ..., rank - 1) and per-channel coefficients ((C,), (1, C, 1, ...)) of an (N, C, D1, ...) input."""
    if input.ndim < 3:
        fail(net.scoped_name(name or "normalization"),
             f"input {input.name!r} must be (N, C, D1, ...) of rank >= 3, found shape {input.shape}")
    c = input.shape[1]
    if not is_static(c):
        fail(net.scoped_name(name or "normalization"),
             f"the channel dim of input {input.name!r} {format_shape(input.shape)} must be known when the network "
             f"is defined (per-channel scale/bias of shape (C,)), found the runtime dimension {c}")
    return tuple(range(2, input.ndim)), ((c,), (1, c) + (1,) * (input.ndim - 2))
