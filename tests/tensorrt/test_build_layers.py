"""Every lowered layer family builds a real TensorRT-RTX engine (AOT, sm86).

Each network is small; lowering also checks that TensorRT infers the same
output shapes (and, strongly typed, dtypes) as netdsl.
"""
import numpy as np
import pytest

import netdsl as nd
from netdsl import (ActivationType, DataType, ElementWiseOperation, InterpolationMode, PaddingMode, PoolingType,
                    ResizeCoordinateTransformation, ResizeRoundMode, SampleMode, ScaleMode, UnaryOperation)
from netdsl.graph.errors import BackendUnavailableError
from netdsl.tensorrt import to_trt_network


def image_input(net, shape=(1, 4, 9, 9), half=False):
    """A FLOAT input, cast to HALF when ``half`` (RTX networks are strongly typed)."""
    x = net.add_input("images", DataType.FLOAT, shape)
    return net.add_cast(x, DataType.HALF, name="to_half").output if half else x


def output(net, tensor):
    """Mark ``tensor`` as output, cast back to FLOAT if needed (a FLOAT output as deployed)."""
    if tensor.dtype is DataType.HALF:
        tensor = net.add_cast(tensor, DataType.FLOAT, name="to_float").output
    net.mark_output(tensor, name="out")


# -- convolution ------------------------------------------------------------------
@pytest.mark.parametrize("half", [False, True], ids=["fp32", "fp16"])
@pytest.mark.parametrize("kwargs", [
    dict(padding_nd=1),
    dict(stride_nd=2, pre_padding=(0, 1), post_padding=(1, 0)),
    dict(dilation_nd=2, num_groups=2, padding_mode=PaddingMode.SAME_UPPER),
    dict(stride_nd=2, padding_mode=PaddingMode.EXPLICIT_ROUND_UP),
], ids=["pad1", "asym", "dilated-grouped-same", "round-up"])
def test_convolution(build, rng, half, kwargs):
    net = nd.Network("conv")
    x = image_input(net, half=half)
    groups = kwargs.get("num_groups", 1)
    kernel = rng.standard_normal((6, 4 // groups, 3, 3)).astype(np.float32)
    with net.scope("block"):
        y = net.add_convolution_nd(x, 6, (3, 3), kernel, rng.standard_normal(6).astype(np.float32), name="conv",
                                   **kwargs).output
    output(net, y)
    build(net)


def test_convolution_without_bias_3d(build, rng):
    net = nd.Network("conv3d")
    x = net.add_input("x", DataType.FLOAT, (1, 2, 5, 6, 6))
    y = net.add_convolution_nd(x, 3, (3, 3, 3), rng.standard_normal((3, 2, 3, 3, 3)).astype(np.float32),
                               bias=False).output
    output(net, y)
    build(net)


def test_fp16_weights_are_float16(rtx, rng):
    """Strongly typed: a HALF input needs HALF kernel/bias; the lowering converts float32 arrays."""
    net = nd.Network("w16")
    x = image_input(net, half=True)
    y = net.add_convolution_nd(x, 2, (1, 1), rng.standard_normal((2, 4, 1, 1)).astype(np.float32),
                               np.zeros(2, np.float32), name="conv")
    y = net.add_scale_nd(y.output, ScaleMode.CHANNEL, scale=np.ones(2, np.float32), name="scale").output
    output(net, y)
    _, trt_net, keep = to_trt_network(net, rtx)
    layers = {trt_layer.name: trt_layer for trt_layer, _ in keep.layers}
    assert layers["conv"].kernel.dtype == np.float16
    assert layers["conv"].bias.dtype == np.float16
    assert layers["scale"].scale.dtype == np.float16
    assert any(a.dtype == np.float16 for a in keep.arrays)


def test_bf16_weights(build, rtx, rng):
    """BF16 inputs get bfloat16 weights (bit patterns through trt.Weights(BF16, ptr, count))."""
    net = nd.Network("bf16")
    x = net.add_cast(net.add_input("x", DataType.FLOAT, (1, 4, 6, 6)), DataType.BF16).output
    y = net.add_convolution_nd(x, 2, (3, 3), rng.standard_normal((2, 4, 3, 3)).astype(np.float32),
                               np.zeros(2, np.float32), name="conv").output
    y = net.add_scale_nd(y, ScaleMode.CHANNEL, shift=np.ones(2, np.float32), name="scale").output
    net.mark_output(net.add_cast(y, DataType.FLOAT).output, name="out")
    build(net)


# -- pooling ------------------------------------------------------------------------
@pytest.mark.parametrize("half", [False, True], ids=["fp32", "fp16"])
@pytest.mark.parametrize("kind,kwargs", [
    (PoolingType.MAX, dict(stride_nd=1, pre_padding=(0, 0), post_padding=(1, 1))),  # darknet maxpool size 2 stride 1
    (PoolingType.MAX, dict(stride_nd=2, padding_mode=PaddingMode.SAME_LOWER)),
    (PoolingType.AVERAGE, dict(stride_nd=2, padding_nd=1, average_count_excludes_padding=False)),
    (PoolingType.AVERAGE, dict(stride_nd=2, padding_mode=PaddingMode.EXPLICIT_ROUND_UP)),
    (PoolingType.MAX, dict(stride_nd=2, padding_nd=1, padding_mode=PaddingMode.CAFFE_ROUND_UP)),
    (PoolingType.AVERAGE, dict(stride_nd=2, padding_nd=1, padding_mode=PaddingMode.CAFFE_ROUND_DOWN,
                               average_count_excludes_padding=False)),
    (PoolingType.MAX_AVERAGE_BLEND, dict(stride_nd=2, blend_factor=0.25)),
], ids=["max-asym", "max-same-lower", "avg-incl-pad", "avg-round-up", "max-caffe-up", "avg-caffe-down",
        "blend"])
def test_pooling(build, half, kind, kwargs):
    net = nd.Network("pool")
    x = image_input(net, half=half)
    output(net, net.add_pooling_nd(x, kind, (2, 2), **kwargs).output)
    build(net)


def test_caffe_padding_on_rtx(build, rtx, rng):
    """RTX lacks CAFFE_* modes: emulated with explicit padding where exact, refused where not."""
    net = nd.Network("caffe")
    x = net.add_input("x", DataType.FLOAT, (1, 2, 8, 8))
    y = net.add_convolution_nd(x, 2, (3, 3), rng.standard_normal((2, 2, 3, 3)).astype(np.float32),
                               np.zeros(2, np.float32), stride_nd=2, padding_mode=PaddingMode.CAFFE_ROUND_UP).output
    output(net, net.add_pooling_nd(y, PoolingType.MAX, (3, 3), stride_nd=2,
                                   padding_mode=PaddingMode.CAFFE_ROUND_UP).output)
    build(net)
    if hasattr(rtx.trt.PaddingMode, "CAFFE_ROUND_UP"):
        return
    net = nd.Network("caffe-avg")
    x = net.add_input("x", DataType.FLOAT, (1, 2, 8, 8))
    pool = net.add_pooling_nd(x, PoolingType.AVERAGE, (3, 3), stride_nd=2, padding_mode=PaddingMode.CAFFE_ROUND_UP,
                              average_count_excludes_padding=False)
    assert pool.post_padding == (1, 1)  # grown past the Caffe padding: counting it would change the average
    output(net, pool.output)
    with pytest.raises(BackendUnavailableError, match="CAFFE_ROUND_UP"):
        build(net)


# -- activation ---------------------------------------------------------------------
_ALPHA_BETA = {ActivationType.LEAKY_RELU: (0.1, 0.0), ActivationType.CLIP: (0.0, 6.0),
               ActivationType.HARD_SIGMOID: (0.2, 0.5), ActivationType.SCALED_TANH: (1.7, 0.66),
               ActivationType.SELU: (1.67, 1.05), ActivationType.SOFTPLUS: (1.0, 1.0),
               ActivationType.ELU: (1.0, 0.0), ActivationType.THRESHOLDED_RELU: (0.5, 0.0)}


def test_activation_all_types(build):
    """One network with every ActivationType (one build keeps the test fast)."""
    net = nd.Network("act")
    x = image_input(net, (1, 2, 4, 4))
    outs = []
    for t in ActivationType:
        alpha, beta = _ALPHA_BETA.get(t, (0.0, 0.0))
        outs.append(net.add_activation(x, t, alpha, beta, name=t.name.lower()).output)
    output(net, net.add_concatenation(outs, axis=1).output)
    build(net)


@pytest.mark.parametrize("kind", [ActivationType.LEAKY_RELU, ActivationType.SIGMOID, ActivationType.GELU_TANH])
def test_activation_fp16(build, kind):
    net = nd.Network("act16")
    x = image_input(net, half=True)
    output(net, net.add_activation(x, kind, *_ALPHA_BETA.get(kind, (0.0, 0.0))).output)
    build(net)


# -- scale ----------------------------------------------------------------------------
@pytest.mark.parametrize("half", [False, True], ids=["fp32", "fp16"])
@pytest.mark.parametrize("mode,roles", [
    (ScaleMode.CHANNEL, ("shift", "scale")),
    (ScaleMode.UNIFORM, ("scale",)),
    (ScaleMode.ELEMENTWISE, ("shift", "scale", "power")),
], ids=["channel", "uniform", "elementwise"])
def test_scale(build, rng, half, mode, roles):
    net = nd.Network("scale")
    x = image_input(net, (1, 3, 4, 5), half=half)
    shape = {"CHANNEL": (3,), "UNIFORM": (1,), "ELEMENTWISE": (3, 4, 5)}[mode.name]
    coeffs = {r: (np.ones(shape, np.float32) if r == "power" else rng.random(shape).astype(np.float32) + 0.5)
              for r in roles}
    output(net, net.add_scale_nd(x, mode, channel_axis=1, **coeffs).output)
    build(net)


def test_batch_norm_bound_from_store(build, rng):
    """add_batch_norm declares weights; bound later, the folded DerivedWeights are lowered."""
    net = nd.Network("bn")
    x = image_input(net, (1, 4, 6, 6), half=True)
    with net.scope("conv0"):
        y = net.add_convolution_nd(x, 4, (3, 3), padding_nd=1, bias=False, name="conv").output
        y = net.add_batch_norm(y, name="bn").output
        y = net.add_activation(y, ActivationType.LEAKY_RELU, 0.1, name="act").output
    output(net, y)
    arrays = {"conv0.conv.kernel": rng.standard_normal((4, 4, 3, 3)).astype(np.float32),
              "conv0.bn.scale": rng.random(4).astype(np.float32), "conv0.bn.bias": rng.random(4).astype(np.float32),
              "conv0.bn.mean": rng.random(4).astype(np.float32),
              "conv0.bn.variance": rng.random(4).astype(np.float32) + 0.1}
    net.bind_weights(arrays)
    build(net)


# -- elementwise and unary ------------------------------------------------------------------
def test_elementwise_and_unary(build):
    net = nd.Network("ew")
    a = net.add_input("a", DataType.FLOAT, (1, 3, 4, 4))
    b = net.add_input("b", DataType.FLOAT, (1, 3, 1, 4))  # broadcast over H
    outs = [net.add_elementwise(a, b, op).output for op in
            (ElementWiseOperation.SUM, ElementWiseOperation.PROD, ElementWiseOperation.MAX, ElementWiseOperation.MIN,
             ElementWiseOperation.SUB, ElementWiseOperation.DIV, ElementWiseOperation.POW,
             ElementWiseOperation.FLOOR_DIV)]
    outs += [net.add_unary(a, op).output for op in
             (UnaryOperation.EXP, UnaryOperation.ABS, UnaryOperation.NEG, UnaryOperation.SQRT,
              UnaryOperation.FLOOR, UnaryOperation.ROUND, UnaryOperation.SIGN, UnaryOperation.ERF)]
    net.mark_output(net.add_concatenation(outs, axis=1).output, name="numeric")
    greater = net.add_elementwise(a, b, ElementWiseOperation.GREATER).output
    less = net.add_elementwise(a, b, ElementWiseOperation.LESS).output
    both = net.add_elementwise(greater, less, ElementWiseOperation.OR).output
    nan = net.add_unary(a, UnaryOperation.ISNAN).output
    inf = net.add_unary(a, UnaryOperation.ISINF).output
    flags = net.add_elementwise(net.add_unary(both, UnaryOperation.NOT).output,
                                net.add_elementwise(nan, inf, ElementWiseOperation.XOR).output,
                                ElementWiseOperation.AND).output
    assert flags.dtype is DataType.BOOL
    net.mark_output(flags, name="flags")
    build(net)


def test_elementwise_int32_and_fp16(build):
    net = nd.Network("ew2")
    i = net.add_input("i", DataType.INT32, (2, 3))
    net.mark_output(net.add_elementwise(i, i, ElementWiseOperation.SUM).output, name="isum")
    h = net.add_cast(net.add_input("f", DataType.FLOAT, (2, 3)), DataType.HALF).output
    output(net, net.add_unary(net.add_elementwise(h, h, ElementWiseOperation.PROD).output, UnaryOperation.EXP).output)
    build(net)


# -- shuffle --------------------------------------------------------------------------------
def test_shuffle(build):
    """YOLO-head style: (1, 255, 13, 13) -> (1, 3, 85, 13, 13) -> (1, 3, 13, 13, 85)."""
    net = nd.Network("shuffle")
    x = net.add_input("x", DataType.FLOAT, (1, 255, 13, 13))
    y = net.add_shuffle(x, reshape_dims=(0, 3, -1, 13, 13), second_transpose=(0, 1, 3, 4, 2)).output
    assert y.shape == (1, 3, 13, 13, 85)
    z = net.add_shuffle(y, first_transpose=(0, 1, 4, 2, 3), reshape_dims=(1, -1)).output
    net.mark_output(z, name="flat")
    net.mark_output(net.add_shuffle(x, first_transpose=(0, 2, 3, 1)).output, name="nhwc")
    build(net)


# -- concatenation ------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [1, 3, -1])
def test_concatenation(build, axis):
    net = nd.Network("concat")
    shapes = [(1, 2, 4, 4), (1, 2, 4, 4)]
    ax = axis % 4
    shapes[1] = tuple(d + 1 if i == ax else d for i, d in enumerate(shapes[1]))
    ins = [net.add_input(f"x{i}", DataType.FLOAT, s) for i, s in enumerate(shapes)]
    output(net, net.add_concatenation(ins, axis=axis).output)
    build(net)


# -- slice ----------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", list(SampleMode), ids=lambda m: m.name)
def test_slice_modes(build, mode):
    net = nd.Network("slice")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 8, 8))
    if mode is SampleMode.STRICT_BOUNDS:
        y = net.add_slice(x, (0, 1, 0, 1), (1, 2, 4, 4), (1, 1, 2, 2), mode=mode).output
    else:  # reads one row/column outside on each side
        y = net.add_slice(x, (0, 0, -1, -1), (1, 3, 10, 10), (1, 1, 1, 1), mode=mode, fill_value=-3.0).output
    output(net, y)
    build(net)


@pytest.mark.parametrize("dtype", [DataType.HALF, DataType.INT32])
def test_slice_fill_typed(build, dtype):
    """The fill value is a constant of the input's dtype (float16, int32)."""
    net = nd.Network("slicefill")
    x = net.add_cast(net.add_input("x", DataType.FLOAT, (2, 5)), dtype).output
    y = net.add_slice(x, (0, -2), (2, 9), (1, 1), mode=SampleMode.FILL, fill_value=7).output
    net.mark_output(net.add_cast(y, DataType.FLOAT).output, name="out")
    build(net)


# -- resize ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    dict(scales=(1, 1, 2, 2)),
    dict(scales=(1, 1, 1.5, 1.5), resize_mode=InterpolationMode.LINEAR,
         coordinate_transformation=ResizeCoordinateTransformation.HALF_PIXEL),
    dict(shape=(1, 3, 11, 7), resize_mode=InterpolationMode.CUBIC, cubic_coeff=-0.5, exclude_outside=True),
    dict(shape=(1, 3, 16, 16), coordinate_transformation=ResizeCoordinateTransformation.ALIGN_CORNERS,
         nearest_rounding=ResizeRoundMode.HALF_UP),
], ids=["nearest-x2", "linear-x1.5", "cubic-shape", "align-corners"])
def test_resize(build, kwargs):
    net = nd.Network("resize")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 5, 5))
    output(net, net.add_resize(x, **kwargs).output)
    build(net)


def test_resize_fp16(build):
    net = nd.Network("resize16")
    x = image_input(net, (1, 2, 4, 4), half=True)
    output(net, net.add_resize(x, scales=(1, 1, 2, 2)).output)
    build(net)


# -- constant, identity, cast -------------------------------------------------------------------
@pytest.mark.parametrize("values", [
    np.arange(6, dtype=np.float32).reshape(2, 3),
    np.arange(6, dtype=np.float16).reshape(2, 3),
    np.arange(6, dtype=np.int32).reshape(2, 3),
    np.arange(6, dtype=np.int64).reshape(2, 3),
    np.arange(6, dtype=np.int8).reshape(2, 3),
    np.array([[True, False, True], [False, True, False]]),
], ids=lambda v: v.dtype.name)
def test_constant_identity_cast(build, values):
    net = nd.Network("const")
    x = net.add_input("x", DataType.FLOAT, (2, 3))
    c = net.add_constant(values.shape, values, name="c").output
    assert c.dtype is DataType.from_numpy(values.dtype)
    as_float = net.add_cast(net.add_identity(c).output, DataType.FLOAT).output
    output(net, net.add_elementwise(x, as_float, ElementWiseOperation.SUM).output)
    build(net)


def test_uint8_constant_only_as_network_output(build):
    """TensorRT allows UINT8 only for network I/O: a UINT8 constant output builds (INT32 constant + cast)."""
    net = nd.Network("u8")
    x = net.add_input("x", DataType.UINT8, (2, 3))
    net.mark_output(net.add_cast(x, DataType.FLOAT).output, name="f")
    net.mark_output(net.add_constant((2, 3), np.arange(6, dtype=np.uint8).reshape(2, 3)).output, name="c")
    build(net)


@pytest.mark.parametrize("to", [DataType.HALF, DataType.INT32, DataType.BOOL, DataType.INT64, DataType.UINT8])
def test_cast(build, to):
    net = nd.Network("cast")
    x = net.add_input("x", DataType.FLOAT, (2, 3))
    net.mark_output(net.add_cast(x, to).output, name="out")
    build(net)


def test_constant_scalar(build):
    net = nd.Network("scalar")
    x = net.add_input("x", DataType.FLOAT, (1, 1))
    c = net.add_constant((1, 1), np.array([[2.0]], np.float32)).output
    output(net, net.add_elementwise(x, c, ElementWiseOperation.PROD).output)
    build(net)


# -- a small detector-like network ----------------------------------------------------------
def test_tiny_yolo_like(build, rng):
    """conv-bn-leaky, maxpool (stride 1, asymmetric), route (concat), upsample, shuffle head in fp16."""
    net = nd.Network("tiny")
    x = image_input(net, (1, 3, 32, 32), half=True)

    def cbl(t, k, size, name):
        with net.scope(name):
            t = net.add_convolution_nd(t, k, (size, size), padding_nd=size // 2, bias=False, name="conv").output
            t = net.add_batch_norm(t, name="bn").output
            return net.add_activation(t, ActivationType.LEAKY_RELU, 0.1, name="act").output

    a = cbl(x, 8, 3, "c0")
    b = net.add_pooling_nd(a, PoolingType.MAX, (2, 2), stride_nd=2, name="pool0").output
    c = net.add_pooling_nd(b, PoolingType.MAX, (2, 2), stride_nd=1, post_padding=(1, 1), name="pool1").output
    d = cbl(c, 8, 1, "c1")
    up = net.add_resize(d, scales=(1, 1, 2, 2), name="up").output
    route = net.add_concatenation([up, a], axis=1, name="route").output
    head = net.add_convolution_nd(route, 3 * 7, (1, 1), rng.standard_normal((21, 16, 1, 1)).astype(np.float32),
                                  rng.standard_normal(21).astype(np.float32), name="head").output
    y = net.add_shuffle(head, reshape_dims=(0, 3, 7, 32 * 32), second_transpose=(0, 1, 3, 2), name="yolo").output
    output(net, y)
    arrays = {name: (rng.random(w.shape).astype(np.float32) + 0.1) for name, w in net.weights().items()
              if not w.is_bound}
    net.bind_weights(arrays)
    build(net, targets=("sm86", "sm89"))
