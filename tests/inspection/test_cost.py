"""The FLOP cost model against oracles: torch's FlopCounterMode (2 * MACs for convolution, deconvolution,
matmul, einsum and recurrent gate matmuls), darknet's own BFLOPs for YOLOv3-tiny, and hand counts of the
formulas the rules document."""
import math
import warnings

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from netdsl import ActivationType, DataType, ElementWiseOperation, InterpolationMode, LayerType, Network, PoolingType
from netdsl.graph.enums import (CumulativeOperation, GatherMode, MatrixOperation, ReduceOperation, RNNDirection,
                                RNNOperation, ScaleMode, ScatterMode, TopKOperation, UnaryOperation)
from netdsl.inspection import summarize
from netdsl.inspection.cost import RULES, CostModelError, layer_flops
from netdsl.models import yolov3_tiny


def torch_flops(fn, *args) -> int:
    """Total FLOPs FlopCounterMode counts for ``fn(*args)``."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn(*args)
    return counter.get_total_flops()


def torch_rnn_flops(module, x) -> int:
    """FlopCounterMode's count for a torch recurrent module, with oneDNN off so it decomposes to addmm / mm
    (oneDNN's fused LSTM is not counted at all). The TF32 warning oneDNN's flag switch emits is irrelevant."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with torch.backends.mkldnn.flags(enabled=False):
            return torch_flops(module, x)


def test_every_layer_type_has_a_rule():
    assert set(LayerType) == set(RULES), sorted(t.name for t in set(LayerType) - set(RULES))


def test_a_layer_without_rule_is_a_one_line_error(monkeypatch):
    net = Network("t")
    x = net.add_input("x", DataType.FLOAT, (1, 2))
    layer = net.add_identity(x, name="copy")
    monkeypatch.delitem(RULES, LayerType.IDENTITY)
    with pytest.raises(CostModelError, match="copy: no FLOP rule for layer type IDENTITY"):
        layer_flops(layer)


@pytest.mark.parametrize("n,c,h,w,k,kernel,stride,pad,dilation,groups", [
    (1, 3, 416, 416, 16, (3, 3), 1, 1, 1, 1),
    (2, 8, 17, 13, 12, (3, 5), 2, (1, 2), 1, 4),
    (1, 6, 20, 20, 6, (3, 3), 1, 2, 2, 6),  # depthwise, dilated
])
def test_convolution_matches_flop_counter(n, c, h, w, k, kernel, stride, pad, dilation, groups):
    net = Network("t")
    x = net.add_input("x", DataType.FLOAT, (n, c, h, w))
    no_bias = net.add_convolution_nd(x, k, kernel, bias=False, stride_nd=stride, padding_nd=pad,
                                     dilation_nd=dilation, num_groups=groups, name="a")
    with_bias = net.add_convolution_nd(x, k, kernel, stride_nd=stride, padding_nd=pad, dilation_nd=dilation,
                                       num_groups=groups, name="b")
    conv = torch.nn.Conv2d(c, k, kernel, stride=stride, padding=pad, dilation=dilation, groups=groups, bias=False)
    out = conv(torch.zeros(n, c, h, w))
    assert tuple(out.shape) == no_bias.output.shape
    expected = torch_flops(conv, torch.zeros(n, c, h, w))
    assert layer_flops(no_bias) == expected
    assert layer_flops(with_bias) == expected + out.numel()  # one add per output element


def test_convolution_3d_matches_flop_counter():
    net = Network("t")
    x = net.add_input("x", DataType.FLOAT, (1, 4, 6, 7, 8))
    layer = net.add_convolution_nd(x, 5, (3, 3, 3), bias=False, stride_nd=(1, 2, 2), padding_nd=1, name="c")
    conv = torch.nn.Conv3d(4, 5, 3, stride=(1, 2, 2), padding=1, bias=False)
    assert layer_flops(layer) == torch_flops(conv, torch.zeros(1, 4, 6, 7, 8))


@pytest.mark.parametrize("c,k,kernel,stride,pad,groups", [(4, 6, (3, 3), 2, 0, 2), (8, 3, (4, 2), (2, 1), 1, 1)])
def test_deconvolution_matches_flop_counter(c, k, kernel, stride, pad, groups):
    net = Network("t")
    x = net.add_input("x", DataType.FLOAT, (2, c, 5, 6))
    layer = net.add_deconvolution_nd(x, k, kernel, bias=False, stride_nd=stride, padding_nd=pad, num_groups=groups,
                                     name="d")
    biased = net.add_deconvolution_nd(x, k, kernel, stride_nd=stride, padding_nd=pad, num_groups=groups, name="e")
    deconv = torch.nn.ConvTranspose2d(c, k, kernel, stride=stride, padding=pad, groups=groups, bias=False)
    out = deconv(torch.zeros(2, c, 5, 6))
    assert tuple(out.shape) == layer.output.shape
    assert layer_flops(layer) == torch_flops(deconv, torch.zeros(2, c, 5, 6))
    assert layer_flops(biased) == layer_flops(layer) + out.numel()


@pytest.mark.parametrize("a_shape,op0,b_shape,op1,torch_fn", [
    ((3, 1, 4, 5), "NONE", (1, 2, 5, 6), "NONE", lambda a, b: a @ b),
    ((2, 5, 4), "TRANSPOSE", (2, 6, 5), "TRANSPOSE", lambda a, b: a.transpose(-1, -2) @ b.transpose(-1, -2)),
    ((7, 9), "NONE", (9,), "VECTOR", lambda a, b: a @ b.unsqueeze(-1)),  # FlopCounterMode does not count mv
    ((2, 9), "VECTOR", (2, 9), "VECTOR", lambda a, b: (a.unsqueeze(1) @ b.unsqueeze(2)).squeeze()),
])
def test_matrix_multiply_matches_flop_counter(a_shape, op0, b_shape, op1, torch_fn):
    net = Network("t")
    a = net.add_input("a", DataType.FLOAT, a_shape)
    b = net.add_input("b", DataType.FLOAT, b_shape)
    layer = net.add_matrix_multiply(a, MatrixOperation[op0], b, MatrixOperation[op1], name="mm")
    assert layer_flops(layer) == torch_flops(torch_fn, torch.zeros(a_shape), torch.zeros(b_shape))


def test_fully_connected_matches_torch_linear():
    net = Network("t")
    x = net.add_input("x", DataType.FLOAT, (3, 4, 2, 2))
    net.add_fully_connected(x, 7, name="fc")
    flops = {row.name: row.flops for row in summarize(net).layers}
    linear = torch.nn.Linear(16, 7)
    assert flops["fc.matmul"] == torch_flops(linear, torch.zeros(3, 16))  # the addmm's 2 * M * N * K
    assert flops["fc.bias_add"] == 3 * 7  # one add per output element
    assert flops["fc.flatten"] == flops["fc.kernel"] == flops["fc.bias"] == flops["fc"] == 0


@pytest.mark.parametrize("equation,shapes", [
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij,jk", [(6, 7), (7, 3)]),
    ("bhqd,bhkd->bhqk", [(2, 3, 5, 8), (2, 3, 6, 8)]),
])
def test_einsum_contraction_matches_flop_counter(equation, shapes):
    net = Network("t")
    inputs = [net.add_input(f"x{i}", DataType.FLOAT, s) for i, s in enumerate(shapes)]
    layer = net.add_einsum(inputs, equation, name="e")
    assert layer_flops(layer) == torch_flops(torch.einsum, equation, *[torch.zeros(s) for s in shapes])


def test_einsum_single_input():
    net = Network("t")
    x = net.add_input("x", DataType.FLOAT, (3, 4))
    assert layer_flops(net.add_einsum([x], "ij->ji", name="t")) == 0  # a permutation
    assert layer_flops(net.add_einsum([x], "ij->i", name="s")) == 12  # one accumulate per element


@pytest.mark.parametrize("op,layers,bidirectional,bias", [
    ("LSTM", 2, True, True), ("GRU", 2, True, True), ("TANH", 1, False, True), ("RELU", 3, False, False),
    ("LSTM", 1, False, False),
])
def test_rnn_gate_matmuls_match_flop_counter(op, layers, bidirectional, bias):
    steps, batch, features, hidden = 5, 2, 3, 4
    net = Network("t")
    x = net.add_input("x", DataType.FLOAT, (steps, batch, features))
    layer = net.add_rnn(x, layers, hidden, RNNOperation[op], bias=bias,
                        direction=RNNDirection.BIDIRECTION if bidirectional else RNNDirection.UNIDIRECTION, name="r")
    if op in ("LSTM", "GRU"):
        module = getattr(torch.nn, op)(features, hidden, layers, bias=bias, bidirectional=bidirectional)
    else:
        module = torch.nn.RNN(features, hidden, layers, nonlinearity=op.lower(), bias=bias,
                              bidirectional=bidirectional)
    matmuls = torch_rnn_flops(module, torch.zeros(steps, batch, features))  # the addmm / mm of W x and R h
    dirs = 2 if bidirectional else 1
    gates = {"LSTM": 4, "GRU": 3}.get(op, 1) * hidden
    # Pointwise, per step, layer and direction, from the gate equations (netdsl.layers.rnn):
    # the two biases, W x + R h, the gate activation; LSTM c' = f*c + i*g, tanh(c'), o*tanh(c');
    # GRU r*(R_n h + Rb_n), 1 - z, (1 - z)*n, z*h and their sum.
    per_step = batch * ((2 if bias else 0) * gates + 2 * gates + (5 * hidden if op in ("LSTM", "GRU") else 0))
    assert layer_flops(layer) == matmuls + steps * dirs * layers * per_step


def test_yolov3_tiny_convolutions_match_darknet():
    """Darknet (pjreddie) prints these BFLOPs per convolutional layer of yolov3-tiny.cfg at 416 x 416, from
    ``l.bflops = 2 * nweights * out_h * out_w``; they add up to the 5.56 Bn FLOPs of the YOLOv3 paper's
    website table. The folded convolutions also add their bias: one add per output element."""
    darknet_bflops = {"conv0": 0.150, "conv2": 0.399, "conv4": 0.399, "conv6": 0.399, "conv8": 0.399,
                      "conv10": 0.399, "conv12": 1.595, "conv13": 0.089, "conv14": 0.399, "conv15": 0.044,
                      "conv18": 0.011, "conv21": 1.196, "conv22": 0.088}
    summary = summarize(yolov3_tiny.build_network(batch=1, height=416, width=416))
    convs = {row.name.split(".")[0]: row for row in summary.layers if row.layer.type is LayerType.CONVOLUTION}
    assert set(convs) == set(darknet_bflops)
    macs2 = {}
    for scope, row in convs.items():
        macs2[scope] = row.flops - math.prod(row.layer.output.shape)  # every conv here has a (folded) bias
        assert round(macs2[scope] / 1e9, 3) == darknet_bflops[scope], scope
    assert sum(macs2.values()) == 5_564_961_792  # 5.56 GFLOPs


def test_yolov3_tiny_matches_darknet_total_bflops():
    """AlexeyAB darknet prints "Total BFLOPS 5.571" for yolov3-tiny.cfg: convolutions (2 * MACs) plus
    maxpool ``size * size * c * out_h * out_w`` (maxpool_layer.c); its maxpools print 0.003, 0.001, 0.001,
    0.000, 0.000, 0.000 BF. The unfolded network's convolutions carry no bias except the two heads."""
    summary = summarize(yolov3_tiny.build_network(batch=1, height=416, width=416, fold_batch_norm=False))
    pools = [row.flops for row in summary.layers if row.layer.type is LayerType.POOLING]
    assert [round(f / 1e9, 3) for f in pools] == [0.003, 0.001, 0.001, 0.0, 0.0, 0.0]
    heads = 255 * 13 * 13 + 255 * 26 * 26  # bias adds of conv15 and conv22
    convs = sum(row.flops for row in summary.layers if row.layer.type is LayerType.CONVOLUTION) - heads
    assert convs == 5_564_961_792
    assert round((convs + sum(pools)) / 1e9, 3) == 5.571


def test_folded_and_unfolded_batch_norm():
    """Folded: the batch norm is the convolution's bias (1 add per output); unfolded: a scale layer,
    scale and shift (2 per output)."""
    outputs = 16 * 416 * 416
    folded = summarize(yolov3_tiny.build_network(batch=1, height=416, width=416, fold_batch_norm=True))
    unfolded = summarize(yolov3_tiny.build_network(batch=1, height=416, width=416, fold_batch_norm=False))
    f = {row.name: row.flops for row in folded.layers}
    u = {row.name: row.flops for row in unfolded.layers}
    assert f["conv0.conv"] == 149_520_384 + outputs
    assert u["conv0.conv"] == 149_520_384 and u["conv0.bn"] == 2 * outputs


def _net(shape=(2, 3, 8, 10)):
    net = Network("t")
    return net, net.add_input("x", DataType.FLOAT, shape)


def test_pooling_window_cells_per_output():
    net, x = _net()
    assert layer_flops(net.add_pooling_nd(x, PoolingType.MAX, (2, 2), stride_nd=2, name="m")) == 4 * 2 * 3 * 4 * 5
    assert layer_flops(net.add_pooling_nd(x, PoolingType.AVERAGE, (3, 3), name="a")) == 9 * 2 * 3 * 6 * 8
    blend = net.add_pooling_nd(x, PoolingType.MAX_AVERAGE_BLEND, (2, 2), stride_nd=2, blend_factor=0.5, name="b")
    assert layer_flops(blend) == 2 * 4 * 120 + 3 * 120


def test_pointwise_rules():
    net, x = _net()
    n = 2 * 3 * 8 * 10
    assert layer_flops(net.add_activation(x, ActivationType.LEAKY_RELU, alpha=0.1, name="a")) == n
    assert layer_flops(net.add_unary(x, UnaryOperation.EXP, name="u")) == n
    assert layer_flops(net.add_parametric_relu(x, np.ones((1, 3, 1, 1), np.float32), name="p")) == n
    c = net.add_constant((1, 3, 1, 1), np.ones((1, 3, 1, 1), np.float32), name="c").output
    assert layer_flops(net.add_elementwise(x, c, ElementWiseOperation.SUM, name="e")) == n  # broadcast output
    assert layer_flops(net.add_batch_norm(x, name="bn")) == 2 * n  # scale and shift
    assert layer_flops(net.add_scale(x, ScaleMode.UNIFORM, shift=1.0, scale=2.0, power=3.0, name="s")) == 3 * n
    cond = net.add_elementwise(x, x, ElementWiseOperation.GREATER, name="g").output
    assert layer_flops(net.add_select(cond, x, x, name="sel")) == n


def test_normalization_softmax_lrn_reduce_cumulative_topk():
    net, x = _net()
    n = 2 * 3 * 8 * 10
    assert layer_flops(net.add_instance_norm(x, name="in")) == 7 * n  # 5 passes + scale + bias
    assert layer_flops(net.add_instance_norm(x, scale=False, bias=False, name="plain")) == 5 * n
    assert layer_flops(net.add_softmax(x, axes=1, name="sm")) == 5 * n
    assert layer_flops(net.add_lrn(x, 3, 1e-4, 0.75, 1.0, name="lrn")) == (2 * 3 + 4) * n
    assert layer_flops(net.add_reduce(x, ReduceOperation.SUM, (2, 3), True, name="sum")) == n
    assert layer_flops(net.add_reduce(x, ReduceOperation.AVG, (2, 3), False, name="avg")) == n + 2 * 3
    assert layer_flops(net.add_cumulative(x, 3, CumulativeOperation.SUM, name="cs")) == n
    assert layer_flops(net.add_topk(x, TopKOperation.MAX, 2, 1 << 3, name="k")) == n


def test_resize():
    net, x = _net((1, 2, 3, 4))
    assert layer_flops(net.add_resize(x, scales=(1, 1, 2, 2), name="nearest")) == 0
    bilinear = net.add_resize(x, scales=(1, 1, 2, 2), resize_mode=InterpolationMode.LINEAR, name="bilinear")
    assert layer_flops(bilinear) == 2 * 4 * (2 * 6 * 8)  # 4 taps, one multiply-add each
    linear_w = net.add_resize(x, shape=(1, 2, 3, 9), resize_mode=InterpolationMode.LINEAR, name="linear_w")
    assert layer_flops(linear_w) == 2 * 2 * (2 * 3 * 9)
    cubic = net.add_resize(x, scales=(1, 1, 2, 2), resize_mode=InterpolationMode.CUBIC, name="cubic")
    assert layer_flops(cubic) == 2 * 16 * (2 * 6 * 8)


def test_data_movement_is_zero():
    net, x = _net()
    unsqueeze = net.add_unsqueeze(x, (0,), name="unsq")
    layers = [
        unsqueeze,
        net.add_squeeze(unsqueeze.output, (0,), name="sq"),
        net.add_shuffle(x, reshape_dims=(2, 240), name="sh"),
        net.add_concatenation([x, x], axis=1, name="cat"),
        net.add_slice(x, (0, 0, 0, 0), (2, 3, 4, 5), (1, 1, 2, 2), name="sl"),
        net.add_padding_nd(x, (1, 1), (1, 1), name="pad"),
        net.add_identity(x, name="id"),
        net.add_cast(x, DataType.HALF, name="cast"),
    ]
    idx = net.add_constant((2,), np.array([0, 2], np.int32), name="idx").output
    layers.append(net.add_gather(x, idx, 1, mode=GatherMode.DEFAULT, name="ga"))
    layers.append(net.add_one_hot(idx, net.add_constant((2,), np.array([0, 1], np.float32), name="v").output, 4, -1,
                                  name="oh"))
    layers.append(net.layer("idx"))
    element_idx = net.add_constant((2, 3, 8, 10), np.zeros((2, 3, 8, 10), np.int32), name="eidx").output
    layers.append(net.add_scatter(x, element_idx, x, ScatterMode.ELEMENT, axis=1, name="sc"))
    assert [layer_flops(layer) for layer in layers] == [0] * len(layers)
    assert {layer.type for layer in layers} >= {LayerType.SHUFFLE, LayerType.CONCATENATION, LayerType.SLICE,
                                                 LayerType.PADDING, LayerType.SQUEEZE, LayerType.UNSQUEEZE,
                                                 LayerType.IDENTITY, LayerType.CAST, LayerType.GATHER,
                                                 LayerType.ONE_HOT, LayerType.CONSTANT, LayerType.SCATTER}


def test_rules_take_shapes_not_tensors():
    """A rule evaluates with other shapes than the layer's (the hook for dynamic shapes later)."""
    net, x = _net((1, 3, 8, 8))
    conv = net.add_convolution_nd(x, 4, (3, 3), bias=False, padding_nd=1, name="c")
    assert layer_flops(conv, inputs=[(2, 3, 16, 16)], outputs=[(2, 4, 16, 16)]) == 2 * 2 * 4 * 3 * 9 * 16 * 16


def test_rules_evaluate_symbolic_dims():
    """With a runtime batch dim (a sympy symbol standing in for one) a rule gives the expression in it."""
    import sympy
    n = sympy.Symbol("N", positive=True, integer=True)
    net, x = _net((1, 3, 8, 8))
    conv = net.add_convolution_nd(x, 4, (3, 3), padding_nd=1, name="c")
    flops = layer_flops(conv, inputs=[(n, 3, 8, 8)], outputs=[(n, 4, 8, 8)])
    assert sympy.simplify(flops - (2 * 4 * 3 * 9 * 64 + 4 * 64) * n) == 0
    assert layer_flops(conv, inputs=[(n, 3, 8, 8)], outputs=[(n, 4, 8, 8)]) != 0
    assert layer_flops(conv) == 2 * 4 * 3 * 9 * 64 + 4 * 64  # static shapes: a plain int
    assert type(layer_flops(conv)) is int
