"""FLOP cost model: one rule per LayerType, a function of the layer's shapes and attributes.

Conventions (the usual ones of fvcore, ptflops and
``torch.utils.flop_counter.FlopCounterMode``):

* a multiply-add counts as **two** FLOPs (convolution, deconvolution,
  matrix multiply, einsum contractions, recurrent gates), as darknet's
  ``l.bflops = 2 * nweights * out_h * out_w`` and FlopCounterMode's
  ``2 * M * N * K``;
* pointwise arithmetic counts one FLOP per output element per operation
  (elementwise, unary, activations, scale coefficients), as ptflops counts
  ReLU/LeakyReLU/PReLU and batch norm;
* window and reduction passes count one FLOP per input cell visited (one
  compare or accumulate), as darknet's maxpool ``size * size * c * out_h *
  out_w``;
* data movement (shuffle, slice, concatenation, gather, scatter, padding,
  squeeze, cast, constant, one-hot, nearest resize) is 0 FLOPs.

FLOPs are counted in every dtype alike (an INT32 SUM is one "FLOP"), and
per batch: dims before the channel dim multiply the count.

A rule is ``fn(inputs, outputs, attrs, weights) -> int``: ``inputs`` and
``outputs`` the tensors' shapes (tuples of ints, NCHW for images),
``attrs`` the layer's attributes (``layer.attrs``), ``weights`` its weights
by role (used only for which coefficients exist). Rules never read a
Tensor, so they can later be evaluated with concrete dims of a dynamic
shape. Each rule's docstring states its formula and where the operation's
semantics come from.
"""
from __future__ import annotations

import math
from typing import Callable, Mapping, Sequence

from ..graph.enums import LayerType
from ..graph.errors import NetdslError
from ..graph.network import DerivedWeights
from ..graph.shapes import dmax

Shape = tuple
Rule = Callable[[Sequence[Shape], Sequence[Shape], Mapping, Mapping], int]

RULES: dict = {}
"""LayerType -> FLOP rule (see the module docstring)."""


class CostModelError(NetdslError, LookupError):
    """A layer whose LayerType has no FLOP rule (names the layer and its type)."""


def rule(*layer_types):
    """Decorator registering ``fn`` as the FLOP rule of ``layer_types``."""
    def register(fn):
        for t in layer_types:
            if t in RULES:
                raise RuntimeError(f"two FLOP rules for {t.name}")
            RULES[t] = fn
        return fn
    return register


def layer_flops(layer, inputs: Sequence[Shape] | None = None, outputs: Sequence[Shape] | None = None) -> int:
    """FLOPs of one layer (multiply-add = 2), by the rule of its LayerType.

    Args:
        layer: a netdsl Layer.
        inputs, outputs: the shapes to evaluate with (default: the layer's
            tensors' static shapes), one per input / output tensor.
    Returns:
        FLOPs as a Python int (exact, no overflow); if the shapes hold
        runtime (symbolic) dimensions, the expression in them the rule
        computes, as those dimensions' own arithmetic gives it.
    Raises:
        CostModelError: no rule for ``layer.type``.
    """
    try:
        fn = RULES[layer.type]
    except KeyError:
        raise CostModelError(f"{layer.name}: no FLOP rule for layer type {layer.type.name}") from None
    if inputs is None:
        inputs = [t.shape for t in layer.inputs]
    if outputs is None:
        outputs = [t.shape for t in layer.outputs]
    return exact(fn(tuple(map(tuple, inputs)), tuple(map(tuple, outputs)), layer.attrs, layer.weights))


def exact(value):
    """``value`` as a Python int when it has one; a symbolic expression (runtime dims) is returned as is."""
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _numel(shape) -> int:
    return math.prod(shape)


def _is_identity(w) -> bool:
    """A coefficient netdsl made up as the identity (``add_normalization(scale=False)``): no sources."""
    return isinstance(w, DerivedWeights) and not w.sources


# -- multiply-add layers --------------------------------------------------------------------------

@rule(LayerType.CONVOLUTION)
def convolution(inputs, outputs, attrs, weights) -> int:
    """``2 * N * K * (C / G) * prod(kernel) * prod(out spatial)`` (+ ``N * K * prod(out spatial)`` with a bias).

    Input (N..., C, *spatial), output (N..., K, *out spatial), N the product
    of the batch dims. Every kernel tap is a multiply-add, padded taps
    included (darknet ``convolutional_layer.c``: ``2 * nweights * out_h *
    out_w``; fvcore ``conv_flop_jit`` and FlopCounterMode ``conv_flop`` give
    the MACs, times 2). The bias is one add per output element (FlopCounterMode
    leaves it out). A batch norm folded into the kernel costs nothing extra
    beyond its bias. Semantics: TensorRT IConvolutionLayer.
    """
    n = len(attrs["kernel_size_nd"])
    x, y = inputs[0], outputs[0]
    channels, groups = x[-n - 1], attrs["num_groups"]
    outputs_per_map = _numel(y[:-n - 1]) * _numel(y[-n:])
    macs = outputs_per_map * y[-n - 1] * (channels // groups) * _numel(attrs["kernel_size_nd"])
    bias = _numel(y) if "bias" in weights else 0
    return 2 * macs + bias


@rule(LayerType.DECONVOLUTION)
def deconvolution(inputs, outputs, attrs, weights) -> int:
    """``2 * N * C * (K / G) * prod(kernel) * prod(in spatial)`` (+ one add per output element with a bias).

    Each input cell scatters ``x * kernel`` into K / G output maps: one
    multiply-add per input cell, kernel tap and output map of its group
    (FlopCounterMode ``conv_flop`` with ``transposed=True``; fvcore
    ``conv_flop_jit``). Semantics: TensorRT IDeconvolutionLayer, as
    torch ``conv_transpose2d``.
    """
    n = len(attrs["kernel_size_nd"])
    x, y = inputs[0], outputs[0]
    k, groups = y[-n - 1], attrs["num_groups"]
    macs = _numel(x[:-n - 1]) * x[-n - 1] * (k // groups) * _numel(attrs["kernel_size_nd"]) * _numel(x[-n:])
    bias = _numel(y) if "bias" in weights else 0
    return 2 * macs + bias


def contracted_dim(shape, op, which: int) -> int:
    """K of one MatrixMultiply operand read through MatrixOperation ``op`` (``which`` 0 or 1)."""
    if op.name == "VECTOR":
        return shape[-1]
    rows, cols = shape[-2:]
    if op.name == "TRANSPOSE":
        rows, cols = cols, rows
    return cols if which == 0 else rows


@rule(LayerType.MATRIX_MULTIPLY)
def matrix_multiply(inputs, outputs, attrs, weights) -> int:
    """``2 * numel(output) * K``: one multiply-add per output element and contracted index.

    For (B, M, K) x (B, K, N) that is ``2 * B * M * N * K`` (FlopCounterMode
    ``mm_flop`` / ``bmm_flop``; batch dims broadcast first). A fully
    connected layer (``add_fully_connected``) is this plus one bias add per
    output element. Semantics: TensorRT IMatrixMultiplyLayer, MatrixOperation
    NONE / TRANSPOSE / VECTOR.
    """
    return 2 * _numel(outputs[0]) * contracted_dim(inputs[0], attrs["op0"], 0)


def einsum_sizes(equation: str, inputs) -> dict:
    """Size of every letter of an explicit einsum ``equation`` (a dim of 1 broadcasts; runtime dims as their
    broadcast, ``max``)."""
    sizes: dict = {}
    for term, shape in zip(equation.split("->")[0].split(","), inputs):
        for letter, dim in zip(term, shape):
            sizes[letter] = dmax(sizes.get(letter, 1), dim)
    return sizes


@rule(LayerType.EINSUM)
def einsum(inputs, outputs, attrs, weights) -> int:
    """``P * (n - 1)`` multiplies, plus ``P`` accumulates if some letter is summed; P = product of all letter sizes.

    P is the number of terms of the full product space. With two inputs and
    a contraction that is ``2 * P``, the multiply-add convention:
    ``bij,bjk->bik`` gives ``2 * b * i * j * k`` as a batched matmul
    (FlopCounterMode counts ``torch.einsum`` through its ``bmm``). One input
    with a summed letter is ``P`` adds; a pure permutation is 0.
    Semantics: TensorRT IEinsumLayer.
    """
    equation = attrs["equation"]
    lhs, out = equation.split("->")
    sizes = einsum_sizes(equation, inputs)
    total = _numel(sizes.values())
    summed = any(c not in out for c in sizes)
    return total * (len(lhs.split(",")) - 1) + (total if summed else 0)


def _rnn_step_flops(attrs, batch: int, in_features: int) -> int:
    """FLOPs of one layer, one direction, one time step of ``add_rnn`` (see :func:`rnn`)."""
    op = attrs["op"].name
    hidden = attrs["hidden_size"]
    gates = {"RELU": 1, "TANH": 1, "LSTM": 4, "GRU": 3}[op] * hidden
    matmul = 2 * batch * gates * (in_features + hidden)
    biases = 2 * batch * gates if attrs["has_bias"] else 0
    pointwise = 2 * batch * gates  # W x + R h, then the gate activation
    cell = {"RELU": 0, "TANH": 0, "LSTM": 5, "GRU": 5}[op] * batch * hidden
    return matmul + biases + pointwise + cell


@rule(LayerType.RNN)
def rnn(inputs, outputs, attrs, weights) -> int:
    """Per time step, layer and direction, for G gates of H, batch N, layer input width C_k:

    * ``2 * N * G * H * (C_k + H)``: the gate matmuls ``W x`` and ``R h``
      (multiply-add = 2; FlopCounterMode counts exactly these ``addmm`` for
      torch.nn.RNN / LSTM / GRU);
    * ``2 * N * G * H`` for the biases ``Wb`` and ``Rb`` (with ``has_bias``);
    * ``2 * N * G * H``: the sum ``W x + R h`` and the gate activation (σ / tanh);
    * the cell update: LSTM ``5 * N * H`` (``f ⊙ c``, ``i ⊙ g``, their sum,
      ``tanh(c')``, ``o ⊙ ·``), GRU ``5 * N * H`` (``r ⊙ ·``, ``1 - z``,
      two products, the sum), RELU / TANH 0.

    G = 1 (RELU, TANH), 4 (LSTM), 3 (GRU); C_0 = input features, C_k = D * H
    above; times T steps and D directions. Semantics: the gate equations of
    ``netdsl.layers.rnn`` (TensorRT 8 IRNNv2Layer, torch.nn.LSTM / GRU).
    """
    x = inputs[0]
    steps, batch = (x[1], x[0]) if attrs["batch_first"] else (x[0], x[1])
    dirs, hidden = attrs["num_directions"], attrs["hidden_size"]
    total = 0
    for k in range(attrs["num_layers"]):
        width = x[2] if k == 0 else dirs * hidden
        total += steps * dirs * _rnn_step_flops(attrs, batch, width)
    return total


# -- window and reduction layers --------------------------------------------------------------------

@rule(LayerType.POOLING)
def pooling(inputs, outputs, attrs, weights) -> int:
    """``prod(window) * numel(output)``: one compare (MAX) or accumulate (AVERAGE) per window cell.

    MAX_AVERAGE_BLEND runs both and blends: ``2 * prod(window) * numel(output)
    + 3 * numel(output)``. Source: darknet ``maxpool_layer.c`` (``l.bflops =
    size * size * c * out_h * out_w``, the count in darknet's "Total
    BFLOPS"). Semantics: TensorRT IPoolingLayer.
    """
    cells = _numel(attrs["window_size_nd"]) * _numel(outputs[0])
    if attrs["pooling_type"].name == "MAX_AVERAGE_BLEND":
        return 2 * cells + 3 * _numel(outputs[0])
    return cells


@rule(LayerType.REDUCE)
def reduce(inputs, outputs, attrs, weights) -> int:
    """``numel(input)``: one accumulate / compare per input element; AVG adds one divide per output element.

    Semantics: TensorRT IReduceLayer (SUM, PROD, MAX, MIN, AVG over ``axes``).
    """
    extra = _numel(outputs[0]) if attrs["op"].name == "AVG" else 0
    return _numel(inputs[0]) + extra


@rule(LayerType.SOFTMAX)
def softmax(inputs, outputs, attrs, weights) -> int:
    """``5 * numel``: per element one op in each pass of ``exp(x - max(x)) / sum(exp(x - max(x)))``.

    The passes are max, subtract, exp, sum, divide. Semantics and formula:
    TensorRT ISoftMaxLayer.
    """
    return 5 * _numel(outputs[0])


@rule(LayerType.LRN)
def lrn(inputs, outputs, attrs, weights) -> int:
    """``(2 * w + 4) * numel``: per output w squares and w accumulates over the channel
    window, then ``k + alpha / w * S`` (2), the power and the divide.

    Formula: ``y = x / (k + alpha / w * S) ** beta``, S the sum of squares
    over the window (TensorRT ILRNLayer, operator page's worked example).
    """
    return (2 * attrs["window_size"] + 4) * _numel(outputs[0])


@rule(LayerType.NORMALIZATION)
def normalization(inputs, outputs, attrs, weights) -> int:
    """``5 * numel``, ``+ numel`` each for a real scale and bias (7 for a layer norm with both).

    The passes of ``(x - mean) / sqrt(var + eps) * scale + bias``: the sum
    for the mean, the subtraction, the square, the sum for the variance,
    the multiply by ``1 / sqrt(var + eps)`` (O(groups) square roots are not
    counted); then the scale and the bias, unless netdsl made them up as the
    identity (``scale=False`` / ``bias=False``). fvcore's ``norm_flop_counter``
    counts 5 (4 + affine) per element in its multiply-add units. Semantics:
    TensorRT INormalizationLayer.
    """
    affine = sum(1 for role in ("scale", "bias") if role in weights and not _is_identity(weights[role]))
    return (5 + affine) * _numel(outputs[0])


@rule(LayerType.CUMULATIVE)
def cumulative(inputs, outputs, attrs, weights) -> int:
    """``numel``: one add per element of the running sum (exclusive or reverse alike).

    Semantics: TensorRT ICumulativeLayer (SUM along one axis).
    """
    return _numel(outputs[0])


@rule(LayerType.TOPK)
def topk(inputs, outputs, attrs, weights) -> int:
    """``numel(input)``: one compare per input element, a single selection pass (a lower bound).

    The ordering of the k winners is not counted. Semantics: TensorRT
    ITopKLayer (k largest / smallest along one axis).
    """
    return _numel(inputs[0])


# -- pointwise layers -------------------------------------------------------------------------------

@rule(LayerType.ACTIVATION)
def activation(inputs, outputs, attrs, weights) -> int:
    """``numel``: one FLOP per output element, whatever the ActivationType.

    ptflops counts ReLU, LeakyReLU, ELU, ReLU6, PReLU this way; fvcore counts
    activations as 0. Semantics: TensorRT IActivationLayer.
    """
    return _numel(outputs[0])


@rule(LayerType.PARAMETRIC_RELU)
def parametric_relu(inputs, outputs, attrs, weights) -> int:
    """``numel``: one FLOP per output element (ptflops' PReLU). Semantics: TensorRT IParametricReLULayer."""
    return _numel(outputs[0])


@rule(LayerType.ELEMENTWISE)
def elementwise(inputs, outputs, attrs, weights) -> int:
    """``numel(output)``: one FLOP per output element after broadcasting. Semantics: TensorRT IElementWiseLayer."""
    return _numel(outputs[0])


@rule(LayerType.UNARY)
def unary(inputs, outputs, attrs, weights) -> int:
    """``numel``: one FLOP per element, whatever the UnaryOperation. Semantics: TensorRT IUnaryLayer."""
    return _numel(outputs[0])


@rule(LayerType.SELECT)
def select(inputs, outputs, attrs, weights) -> int:
    """``numel(output)``: one conditional pick per output element (as elementwise MAX / MIN).

    Semantics: TensorRT ISelectLayer, ``condition ? then : else`` with broadcasting.
    """
    return _numel(outputs[0])


@rule(LayerType.SCALE)
def scale(inputs, outputs, attrs, weights) -> int:
    """``c * numel``, c the coefficients present among scale, shift and power (batch norm: 2).

    ``(x * scale + shift) ** power``, each present coefficient one FLOP per
    element (ptflops counts an affine batch norm as 2 per element).
    Semantics: TensorRT IScaleLayer.
    """
    present = sum(1 for role in ("scale", "shift", "power") if role in weights)
    return present * _numel(outputs[0])


@rule(LayerType.RESIZE)
def resize(inputs, outputs, attrs, weights) -> int:
    """NEAREST 0 (an indexed copy); LINEAR ``2 * 2**d * numel(output)``; CUBIC ``2 * 4**d * numel(output)``.

    d is the number of dims whose size changes: each output element is a
    weighted sum of 2 (linear) or 4 (cubic) taps per resized dim, one
    multiply-add per tap (fvcore counts ``upsample_bilinear2d`` as 4
    multiply-adds per output). Coordinate arithmetic is not counted.
    Semantics: TensorRT IResizeLayer, InterpolationMode.
    """
    mode = attrs["resize_mode"].name
    if mode == "NEAREST":
        return 0
    d = sum(1 for a, b in zip(inputs[0], outputs[0]) if a != b)
    if d == 0:
        return 0
    taps = (2 if mode == "LINEAR" else 4) ** d
    return 2 * taps * _numel(outputs[0])


@rule(LayerType.FILL)
def fill(inputs, outputs, attrs, weights) -> int:
    """LINSPACE: ``alpha + sum_k beta[k] * i_k`` is a multiply-add per output dimension per element
    (2 * rank per element); RANDOM_*: 1 per element (one draw)."""
    if attrs["operation"].name == "LINSPACE":
        return 2 * len(outputs[0]) * _numel(outputs[0])
    return _numel(outputs[0])


@rule(LayerType.NON_ZERO)
def non_zero(inputs, outputs, attrs, weights) -> int:
    """``numel(input)``: one compare with zero per input element (writing the coordinates is data movement).

    Semantics: TensorRT INonZeroLayer (ONNX NonZero).
    """
    return _numel(inputs[0])


@rule(LayerType.NMS)
def nms(inputs, outputs, attrs, weights) -> int:
    """``B * N * C + 16 * B * C * N * (N - 1) / 2``: score compares, then the worst case of the IoU tests.

    Per batch item and class, each of the N scores is compared with the
    score threshold; in the worst case (nothing suppressed, no output limit)
    every pair of the N boxes gets one IoU test of 16 FLOPs, as ONNX's
    reference computes it: 4 max/min for the intersection, 3 for its area
    (2 subtractions, a product), 3 for each box's area, 2 for the union and
    the divide. Sorting and the final compare are not counted; the count
    depends on the data, so this is an upper bound. Semantics: TensorRT
    INMSLayer (ONNX NonMaxSuppression).
    """
    b, n, _ = inputs[0]
    c = inputs[1][2]
    return b * n * c + 16 * b * c * (n * (n - 1) // 2)


# -- data movement ----------------------------------------------------------------------------------

@rule(LayerType.SHUFFLE, LayerType.CONCATENATION, LayerType.SLICE, LayerType.PADDING, LayerType.GATHER,
      LayerType.SCATTER, LayerType.SQUEEZE, LayerType.UNSQUEEZE, LayerType.CONSTANT, LayerType.IDENTITY,
      LayerType.CAST, LayerType.ONE_HOT, LayerType.SHAPE)
def data_movement(inputs, outputs, attrs, weights) -> int:
    """0: the layer moves, copies or converts values and does no arithmetic.

    Shuffle, concatenation, slice, padding, gather, scatter, squeeze,
    unsqueeze, constant, identity, one-hot and cast (a type conversion)
    (fvcore and FlopCounterMode count none of these).
    """
    return 0


# -- quantization -----------------------------------------------------------------------------------

@rule(LayerType.QUANTIZE, LayerType.DEQUANTIZE)
def quantize(inputs, outputs, attrs, weights) -> int:
    """``numel``: one scaling per element (a divide for quantize, a multiply for dequantize); the
    rounding and saturation are conversions, not counted (as cast).

    Semantics: TensorRT IQuantizeLayer / IDequantizeLayer ("Quantization Schemes":
    ``clip(round(x / s))``, ``x_q * s``).
    """
    return _numel(outputs[0])


@rule(LayerType.DYNAMIC_QUANTIZE)
def dynamic_quantize(inputs, outputs, attrs, weights) -> int:
    """``2 * numel(input) + 2 * numel(scales)``: per element one compare (the block amax) and one
    divide; per block the scale division and its double-quantization divide.

    Semantics: TensorRT IDynamicQuantizeLayer (block scales computed at run time).
    """
    return 2 * _numel(inputs[0]) + 2 * _numel(outputs[1])
