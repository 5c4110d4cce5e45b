"""docs/porting_pytorch.md, "torch modules and their netdsl layers": every row against torch.

Each test builds the torch module (seeded weights, eval, fp32) and the netdsl network the table gives,
runs netdsl's reference executor on the same input and requires every element within 1e-5 of the largest
torch output. Where the table warns that a netdsl (TensorRT) default differs from torch, the call with
that default is run too and must give other numbers (or another shape), so the warning is shown, not
assumed. Shapes are small and odd.
"""
import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from netdsl import DataType, ElementWiseOperation, Network, NetworkDefinitionError, PoolingType
from netdsl.frameworks.recurrent import from_torch
from netdsl.graph.enums import ReduceOperation, RNNDirection, RNNOperation
from netdsl.models.blocks import add_linear, add_pool1d
from netdsl.reference import execute

RNG = np.random.default_rng(0)
NCHW = (2, 3, 7, 9)


def randn(*shape, scale=1.0):
    return (scale * RNG.standard_normal(shape)).astype(np.float32)


def netdsl_run(build, x, dims=None):
    """Run ``build(net, input) -> Tensor`` on ``x`` in the reference executor (input dims ``dims`` or x's)."""
    net = Network("row")
    inp = net.add_input("x", DataType.FLOAT, x.shape if dims is None else dims)
    out = build(net, inp)
    net.mark_output(out)
    return execute(net, {"x": x})[out.name]


def torch_run(module, x):
    with torch.no_grad():
        return module.eval()(torch.from_numpy(x)).numpy()


def array(t):
    return t.detach().numpy()


def assert_matches(got, want):
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.abs(want).max()))


def assert_differs(got, want):
    """The naive call gives another shape, or values off by more than 1 % of the largest output."""
    assert got.shape != want.shape or np.abs(got - want).max() > 1e-2 * np.abs(want).max()


# -- defaults that differ ------------------------------------------------------------------------------
@pytest.mark.parametrize("kernel, stride, padding", [(3, 1, 1), (3, 2, 1), (2, None, 1), (3, None, 0)])
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool(kernel, stride, padding, count_include_pad):
    x = randn(*NCHW)
    want = torch_run(nn.AvgPool2d(kernel, stride, padding, count_include_pad=count_include_pad), x)

    def pool(**kw):
        return lambda net, t: net.add_pooling_nd(t, PoolingType.AVERAGE, (kernel, kernel), padding_nd=(padding,) * 2,
                                                 **kw).output
    assert_matches(netdsl_run(pool(stride_nd=stride or kernel, average_count_excludes_padding=not count_include_pad),
                              x), want)
    if stride is None:
        assert_differs(netdsl_run(pool(average_count_excludes_padding=not count_include_pad), x), want)
    if count_include_pad and padding:  # TensorRT's default excludes the padding from the divisor
        assert_differs(netdsl_run(pool(stride_nd=stride or kernel), x), want)


@pytest.mark.parametrize("kernel, stride, padding", [(3, 1, 1), (2, None, 1)])
def test_avg_pool1d(kernel, stride, padding):
    x = randn(2, 3, 9)
    want = torch_run(nn.AvgPool1d(kernel, stride, padding), x)

    def pool(**kw):
        return lambda net, t: add_pool1d(net, t, "AVERAGE", kernel, stride=stride, padding=padding, name="pool", **kw)
    assert_matches(netdsl_run(pool(count_include_pad=True), x), want)
    assert_differs(netdsl_run(pool(), x), want)  # add_pool1d's default is ONNX's count_include_pad=0


@pytest.mark.parametrize("kwargs", [dict(kernel_size=2), dict(kernel_size=3, padding=1), dict(kernel_size=3, stride=2),
                                    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)], ids=str)
def test_max_pool(kwargs):
    x = randn(*NCHW)
    want = torch_run(nn.MaxPool2d(**kwargs), x)
    k, p = kwargs["kernel_size"], kwargs.get("padding", 0)
    mode = "EXPLICIT_ROUND_UP" if kwargs.get("ceil_mode") else "EXPLICIT_ROUND_DOWN"

    def pool(**kw):
        return lambda net, t: net.add_pooling_nd(t, PoolingType.MAX, (k, k), padding_nd=(p, p), padding_mode=mode,
                                                 **kw).output
    assert_matches(netdsl_run(pool(stride_nd=kwargs.get("stride", k)), x), want)
    assert_differs(netdsl_run(pool(), x), want)  # TensorRT's stride 1


# (torch interpolate kwargs, add_resize kwargs reproducing them); the default add_resize is NEAREST, ASYMMETRIC,
# FLOOR: torch's "nearest", wrong for every other mode
RESIZE_ROWS = {
    "nearest": (dict(mode="nearest"), dict()),
    "bilinear": (dict(mode="bilinear", align_corners=False),
                 dict(resize_mode="LINEAR", coordinate_transformation="HALF_PIXEL")),
    "bilinear-align_corners": (dict(mode="bilinear", align_corners=True),
                               dict(resize_mode="LINEAR", coordinate_transformation="ALIGN_CORNERS")),
    "bicubic": (dict(mode="bicubic", align_corners=False),
                dict(resize_mode="CUBIC", coordinate_transformation="HALF_PIXEL")),
    "bicubic-align_corners": (dict(mode="bicubic", align_corners=True),
                              dict(resize_mode="CUBIC", coordinate_transformation="ALIGN_CORNERS")),
    "nearest-exact": (dict(mode="nearest-exact"),
                      dict(coordinate_transformation="HALF_PIXEL", nearest_rounding="HALF_UP")),
}
SIZES = [dict(scale_factor=2), dict(scale_factor=3), dict(size=(8, 4)), dict(size=(1, 5)), dict(size=(3, 1))]


@pytest.mark.parametrize("row", list(RESIZE_ROWS))
def test_upsample(row):
    torch_kw, netdsl_kw = RESIZE_ROWS[row]
    x = randn(2, 3, 5, 7)
    naive_differs = False
    for size in SIZES:
        want = F.interpolate(torch.from_numpy(x), **torch_kw, **size).numpy()
        shape = {"shape": want.shape} if "size" in size else {"scales": (1, 1) + (size["scale_factor"],) * 2}

        def resize(**kw):
            return lambda net, t: net.add_resize(t, **shape, **kw).output  # noqa: B023 (run at once)
        assert_matches(netdsl_run(resize(**netdsl_kw), x), want)
        default = netdsl_run(resize(), x)
        naive_differs |= bool(np.abs(default - want).max() > 1e-2 * np.abs(want).max())
        if "size" in size and 1 in size["size"] and "HALF_PIXEL" in netdsl_kw.values():
            # ONNX's pytorch_half_pixel (HALF_PIXEL + UPPER) reads pixel 0 for an output dim of 1; torch does not
            assert_differs(netdsl_run(resize(**netdsl_kw, selector_for_single_pixel="UPPER"), x), want)
    assert naive_differs == (row != "nearest")


def test_upsample_by_a_module():
    x = randn(1, 2, 4, 5)
    want = torch_run(nn.Upsample(scale_factor=2, mode="bilinear"), x)
    assert_matches(netdsl_run(lambda net, t: net.add_resize(t, scales=(1, 1, 2, 2), resize_mode="LINEAR",
                                                            coordinate_transformation="HALF_PIXEL").output, x), want)


@pytest.mark.parametrize("row, length, scale", [("bilinear", 7, 1.5), ("bilinear", 7, 0.5), ("nearest", 5, 0.75),
                                                ("nearest", 5, 1.7)])
def test_fractional_scale_factor(row, length, scale):
    """torch maps output to input with 1 / scale_factor, netdsl (TensorRT) with in / out: equal only when in * s is
    whole, or with torch's recompute_scale_factor=True (which maps with in / out)."""
    torch_kw, netdsl_kw = RESIZE_ROWS[row]
    x = randn(1, 2, length, length)
    got = netdsl_run(lambda net, t: net.add_resize(t, scales=(1, 1, scale, scale), **netdsl_kw).output, x)
    default = F.interpolate(torch.from_numpy(x), scale_factor=scale, **torch_kw).numpy()
    assert_differs(got, default)
    recomputed = F.interpolate(torch.from_numpy(x), scale_factor=scale, recompute_scale_factor=True, **torch_kw)
    assert_matches(got, recomputed.numpy())
    size = F.interpolate(torch.from_numpy(x), size=got.shape[2:], **torch_kw)
    assert_matches(got, size.numpy())


@pytest.mark.parametrize("shape, dim", [((3, 10), 1), ((3, 10), -1), (NCHW, 1), (NCHW, -1)])
def test_softmax(shape, dim):
    x = randn(*shape, scale=3.0)
    want = torch_run(nn.Softmax(dim=dim), x)
    axis = dim % len(shape)
    assert_matches(netdsl_run(lambda net, t: net.add_softmax(t, axes=1 << axis).output, x), want)
    assert_matches(netdsl_run(lambda net, t: net.add_softmax(t, axes=(dim,)).output, x), want)
    # an int is TensorRT's bitmask: axes=1 is axis 0 (the batch), silently; axes=3 names axes 0 and 1: refused
    if axis == 1:
        assert_differs(netdsl_run(lambda net, t: net.add_softmax(t, axes=1).output, x), want)
    if axis == 3:
        with pytest.raises(NetworkDefinitionError, match="exactly 1 axis"):
            netdsl_run(lambda net, t: net.add_softmax(t, axes=3).output, x)


# (torch module, the netdsl builder, the naive builder whose TensorRT defaults differ, or None)
ACTIVATIONS = {
    "ReLU": (nn.ReLU(), lambda n, t: n.add_activation(t, "RELU"), None),
    "Sigmoid": (nn.Sigmoid(), lambda n, t: n.add_activation(t, "SIGMOID"), None),
    "Tanh": (nn.Tanh(), lambda n, t: n.add_activation(t, "TANH"), None),
    "GELU": (nn.GELU(), lambda n, t: n.add_activation(t, "GELU_ERF"), None),
    "GELU-tanh": (nn.GELU("tanh"), lambda n, t: n.add_activation(t, "GELU_TANH"), None),
    # TensorRT's own defaults (netdsl.layers.activation.DEFAULTS) are torch's for these
    "LeakyReLU": (nn.LeakyReLU(), lambda n, t: n.add_activation(t, "LEAKY_RELU"), None),
    "SELU": (nn.SELU(), lambda n, t: n.add_activation(t, "SELU"), None),
    "LeakyReLU-0.2": (nn.LeakyReLU(0.2), lambda n, t: n.add_activation(t, "LEAKY_RELU", 0.2), None),
    "ReLU6": (nn.ReLU6(), lambda n, t: n.add_activation(t, "CLIP", 0.0, 6.0), lambda n, t: n.add_activation(t, "CLIP")),
    "ELU": (nn.ELU(), lambda n, t: n.add_activation(t, "ELU"), None),
    "Softplus": (nn.Softplus(), lambda n, t: n.add_activation(t, "SOFTPLUS"), None),
    "Softplus-beta2": (nn.Softplus(beta=2.0), lambda n, t: n.add_activation(t, "SOFTPLUS", 0.5, 2.0), None),
    "Hardsigmoid": (nn.Hardsigmoid(), lambda n, t: n.add_activation(t, "HARD_SIGMOID", 1 / 6, 0.5),
                    lambda n, t: n.add_activation(t, "HARD_SIGMOID")),
    "SiLU": (nn.SiLU(), lambda n, t: n.add_silu(t), None),
    "Hardswish": (nn.Hardswish(), lambda n, t: n.add_hard_swish(t), None),
    "Mish": (nn.Mish(), lambda n, t: n.add_mish(t), None),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation(name):
    module, build, naive = ACTIVATIONS[name]
    x = randn(*NCHW, scale=4.0)  # spans the clips of ReLU6 and the hard activations
    want = torch_run(module, x)
    assert_matches(netdsl_run(lambda n, t: build(n, t).output, x), want)
    if naive is not None:
        assert_differs(netdsl_run(lambda n, t: naive(n, t).output, x), want)


@pytest.mark.parametrize("kwargs", [dict(kernel_size=3, stride=2, padding=1, output_padding=1),
                                    dict(kernel_size=4, stride=2, padding=1), dict(kernel_size=2, stride=2),
                                    dict(kernel_size=3, stride=3, padding=2, output_padding=1, groups=2, dilation=2)],
                         ids=str)
def test_conv_transpose(kwargs):
    torch.manual_seed(1)
    module = nn.ConvTranspose2d(4, 6, **kwargs)
    x = randn(2, 4, 5, 7)
    want = torch_run(module, x)
    k, s, p, op = kwargs["kernel_size"], kwargs["stride"], kwargs.get("padding", 0), kwargs.get("output_padding", 0)

    def deconv(**padding):  # the kernel as torch holds it: (in, out / groups, kH, kW) is TensorRT's CKRS
        return lambda net, t: net.add_deconvolution_nd(t, 6, (k, k), array(module.weight), array(module.bias),
                                                       stride_nd=s, dilation_nd=kwargs.get("dilation", 1),
                                                       num_groups=kwargs.get("groups", 1), **padding).output
    assert_matches(netdsl_run(deconv(pre_padding=(p, p), post_padding=(p - op, p - op)), x), want)
    if op:
        assert_differs(netdsl_run(deconv(padding_nd=(p, p)), x), want)  # output_padding dropped


def test_conv_transpose_output_padding_above_padding():
    torch.manual_seed(2)
    module = nn.ConvTranspose2d(4, 6, 3, stride=2, output_padding=1)
    x = randn(2, 4, 5, 7)
    want = torch_run(module, x)
    with pytest.raises(NetworkDefinitionError, match="padding"):  # post_padding p - op = -1
        netdsl_run(lambda net, t: net.add_deconvolution_nd(t, 6, (3, 3), array(module.weight), array(module.bias),
                                                           stride_nd=2, post_padding=(-1, -1),
                                                           pre_padding=(0, 0)).output, x)

    def build(net, t):
        y = net.add_deconvolution_nd(t, 6, (3, 3), array(module.weight), bias=False, stride_nd=2).output
        y = net.add_padding_nd(y, (0, 0), (1, 1)).output
        bias = net.add_constant((1, 6, 1, 1), array(module.bias).reshape(1, 6, 1, 1)).output
        return net.add_elementwise(y, bias, ElementWiseOperation.SUM).output
    assert_matches(netdsl_run(build, x), want)


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("kernel, dilation", [(4, 1), (2, 3), (3, 2)])
def test_conv_padding_same(kernel, dilation):
    torch.manual_seed(3)
    module = nn.Conv2d(3, 4, kernel, padding="same", dilation=dilation)
    x = randn(*NCHW)
    want = torch_run(module, x)

    def conv(mode):
        return lambda net, t: net.add_convolution_nd(t, 4, (kernel, kernel), array(module.weight), array(module.bias),
                                                     dilation_nd=dilation, padding_mode=mode).output
    assert_matches(netdsl_run(conv("SAME_UPPER"), x), want)
    if dilation * (kernel - 1) % 2:  # odd total padding: SAME_LOWER puts the extra cell first
        assert_differs(netdsl_run(conv("SAME_LOWER"), x), want)
    else:
        assert_matches(netdsl_run(conv("SAME_LOWER"), x), want)


# -- modules without a differing default ---------------------------------------------------------------
@pytest.mark.parametrize("multiplier, stride", [(1, 1), (2, 2)])
def test_depthwise_conv(multiplier, stride):
    torch.manual_seed(4)
    module = nn.Conv2d(3, 3 * multiplier, 3, stride=stride, padding=1, groups=3)
    x = randn(*NCHW)
    got = netdsl_run(lambda net, t: net.add_convolution_nd(t, 3 * multiplier, (3, 3), array(module.weight),
                                                           array(module.bias), stride_nd=stride, padding_nd=(1, 1),
                                                           num_groups=3).output, x)
    assert_matches(got, torch_run(module, x))


@pytest.mark.parametrize("row", ["AdaptiveAvgPool2d(1)", "AdaptiveMaxPool2d(1)", "mean-keepdim", "mean",
                                 "AdaptiveAvgPool2d((3, 2))"])
def test_global_and_adaptive_pooling(row):
    x = randn(2, 3, 9, 8)
    tx = torch.from_numpy(x)
    want, build = {
        "AdaptiveAvgPool2d(1)": (nn.AdaptiveAvgPool2d(1)(tx), lambda n, t: n.add_global_pooling(t, "AVERAGE")),
        "AdaptiveMaxPool2d(1)": (nn.AdaptiveMaxPool2d(1)(tx), lambda n, t: n.add_global_pooling(t, "MAX")),
        "mean-keepdim": (tx.mean((2, 3), keepdim=True),
                         lambda n, t: n.add_reduce(t, ReduceOperation.AVG, (2, 3), True)),
        "mean": (tx.mean((2, 3)), lambda n, t: n.add_reduce(t, ReduceOperation.AVG, (2, 3), False)),
        "AdaptiveAvgPool2d((3, 2))": (nn.AdaptiveAvgPool2d((3, 2))(tx),  # 9 x 8 -> windows 3 x 4, no overlap
                                      lambda n, t: n.add_pooling_nd(t, "AVERAGE", (3, 4), stride_nd=(3, 4))),
    }[row]
    assert_matches(netdsl_run(lambda n, t: build(n, t).output, x), want.numpy())


def test_cat_and_residual_add():
    torch.manual_seed(5)
    conv = nn.Conv2d(3, 3, 3, padding=1)
    x, y = randn(*NCHW), randn(2, 5, 7, 9)
    tx = torch.from_numpy(x)
    with torch.no_grad():
        want = torch.cat([tx + conv(tx), torch.from_numpy(y)], dim=1).numpy()
    net = Network("row")
    a, b = net.add_input("x", DataType.FLOAT, x.shape), net.add_input("y", DataType.FLOAT, y.shape)
    c = net.add_convolution_nd(a, 3, (3, 3), array(conv.weight), array(conv.bias), padding_nd=(1, 1)).output
    out = net.add_concatenation([net.add_elementwise(a, c, ElementWiseOperation.SUM).output, b], axis=1).output
    net.mark_output(out)
    assert_matches(execute(net, {"x": x, "y": y})[out.name], want)


def test_broadcast_add_needs_equal_ranks():
    x, bias = randn(*NCHW), randn(3)
    want = (torch.from_numpy(x) + torch.from_numpy(bias)[:, None, None]).numpy()
    with pytest.raises(NetworkDefinitionError, match="equal rank"):
        netdsl_run(lambda net, t: net.add_elementwise(t, net.add_constant((3, 1, 1), bias.reshape(3, 1, 1)).output,
                                                      ElementWiseOperation.SUM).output, x)
    got = netdsl_run(lambda net, t: net.add_elementwise(t, net.add_constant((1, 3, 1, 1), bias.reshape(1, 3, 1, 1))
                                                        .output, ElementWiseOperation.SUM).output, x)
    assert_matches(got, want)


@pytest.mark.parametrize("dims", [NCHW, ("batch", 3, 7, 9)], ids=["static", "runtime-batch"])
def test_flatten_linear(dims):
    torch.manual_seed(6)
    module = nn.Sequential(nn.Flatten(), nn.Linear(3 * 7 * 9, 5))
    x = randn(*NCHW)
    want = torch_run(module, x)
    linear = module[1]
    flat = netdsl_run(lambda net, t: net.add_shuffle(t, reshape_dims=(0, -1)).output, x, dims)
    assert_matches(flat, torch_run(nn.Flatten(), x))

    def flatten_then_linear(net, t):
        flat = net.add_shuffle(t, reshape_dims=(0, -1)).output
        return add_linear(net, flat, 5, name="fc", kernel=array(linear.weight), bias=array(linear.bias))
    assert_matches(netdsl_run(flatten_then_linear, x, dims), want)

    def fully_connected(net, t):  # (N, K, 1, 1)
        y = net.add_fully_connected(t, 5, array(linear.weight), array(linear.bias)).output
        return net.add_shuffle(y, reshape_dims=(0, -1)).output
    assert_matches(netdsl_run(fully_connected, x, dims), want)


def last_step_network(module):
    """The network for a batch-first ``module`` (nn.LSTM) with runtime batch and time: outputs ``out[:, -1]`` (a
    slice at T - 1, then a reshape) and ``h_n[-1]``."""
    bidirectional = module.bidirectional
    net = Network("last")
    x = net.add_input("x", DataType.FLOAT, ("batch", "time", module.input_size))
    layer = net.add_rnn(x, module.num_layers, module.hidden_size, RNNOperation.LSTM, batch_first=True, name="lstm",
                        direction=RNNDirection.BIDIRECTION if bidirectional else RNNDirection.UNIDIRECTION)
    seq, h_n = layer.get_output(0), layer.get_output(1)
    n, t, f = seq.shape
    last = net.add_slice(seq, (0, t - 1, 0), (n, 1, f), (1, 1, 1), name="last").output
    last = net.add_shuffle(last, reshape_dims=(0, -1), name="last_flat").output   # (N, D*H)
    rows, batch, hidden = h_n.shape
    final = net.add_slice(h_n, (rows - 1, 0, 0), (1, batch, hidden), (1, 1, 1), name="h_n_last").output
    final = net.add_shuffle(final, reshape_dims=(batch, hidden), name="h_n_flat").output   # h_n[-1]
    net.mark_output(last)
    net.mark_output(final)
    net.bind_weights(from_torch("lstm", module.state_dict(), "LSTM"))
    return net, last, final


def test_permute():
    x = randn(*NCHW)
    got = netdsl_run(lambda net, t: net.add_shuffle(t, first_transpose=(0, 3, 2, 1)).output, x)
    assert_matches(got, torch.from_numpy(x).permute(0, 3, 2, 1).numpy())


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_rnn_last_step(bidirectional):
    """``out[:, -1]`` of a batch-first LSTM with a runtime time dim, run at T = 1 and 6. Unidirectional, it is also
    the last layer's final state h_n[-1] (output 1); bidirectional, it is not."""
    torch.manual_seed(7)
    module = nn.LSTM(4, 5, num_layers=2, batch_first=True, bidirectional=bidirectional).eval()
    net, last, final = last_step_network(module)
    for steps in (1, 6):
        xs = randn(3, steps, 4)
        with torch.no_grad():
            out, (h, _) = module(torch.from_numpy(xs))
        got = execute(net, {"x": xs})
        assert_matches(got[last.name], out[:, -1].numpy())
        assert_matches(got[final.name], h[-1].numpy())
        if not bidirectional:
            assert_matches(got[final.name], out[:, -1].numpy())
        elif steps > 1:  # h_n[-1] is the last layer's backward state after all steps; out[:, -1]'s after one
            assert_differs(got[final.name], out[:, -1, 5:].numpy())


def test_rnn_last_step_builds_with_a_runtime_length(rtx_build):
    """The slice start T - 1 of a runtime T lowers to shape tensors: TensorRT-RTX builds it for T in 1..50."""
    torch.manual_seed(7)
    net, _, _ = last_step_network(nn.LSTM(4, 5, batch_first=True, bidirectional=True))
    rtx_build(net, profiles=[{"x": ((1, 1, 4), (2, 6, 4), (4, 50, 4))}])


def test_rnn_last_step_with_lengths():
    """With sequence_lengths, out[:, -1] is 0 for a shorter sequence (as torch's pad_packed_sequence); h_n holds
    each sequence's last valid state."""
    torch.manual_seed(8)
    module = nn.GRU(4, 5, batch_first=True).eval()
    net = Network("lengths")
    x = net.add_input("x", DataType.FLOAT, ("batch", "time", 4))
    lengths = net.add_input("lengths", DataType.INT32, ("batch",))
    layer = net.add_rnn(x, 1, 5, "GRU", batch_first=True, sequence_lengths=lengths, name="gru")
    seq, h_n = layer.get_output(0), layer.get_output(1)
    net.mark_output(seq)
    net.mark_output(h_n)
    net.bind_weights(from_torch("gru", module.state_dict(), "GRU"))
    xs, lens = randn(3, 6, 4), np.array([6, 2, 4], np.int32)
    got = execute(net, {"x": xs, "lengths": lens})
    assert np.all(got[seq.name][1:, -1] == 0)
    with torch.no_grad():
        full, _ = module(torch.from_numpy(xs))
    assert_matches(got[h_n.name][0], full[np.arange(3), lens - 1].numpy())
