"""Convolution, deconvolution and pooling build real TensorRT-RTX engines (AOT, sm86): 2-D and 3-D, every
PaddingMode, groups, every pooling type, global pooling; fp32, fp16 (and bf16).

Lowering also checks that TensorRT infers netdsl's output shapes and dtypes.
"""
import numpy as np
import pytest

import netdsl as nd
from netdsl import DataType, PaddingMode, PoolingType
from netdsl.reference import execute
from netdsl.tensorrt import to_trt_network
from netdsl.tensorrt.lowering.deconvolution import dilate_kernel

DTYPES = [DataType.FLOAT, DataType.HALF]
IDS = ["fp32", "fp16"]


def source(net, shape, dtype):
    """A FLOAT input, cast to ``dtype`` (RTX networks are strongly typed)."""
    x = net.add_input("x", DataType.FLOAT, shape)
    return x if dtype is DataType.FLOAT else net.add_cast(x, dtype, name="to_low").output


def finish(net, *tensors):
    """Mark each tensor as an output, cast back to FLOAT (a FLOAT output as deployed)."""
    for i, t in enumerate(tensors):
        if t.dtype is not DataType.FLOAT:
            t = net.add_cast(t, DataType.FLOAT, name=f"to_float{i}").output
        net.mark_output(t, name=f"out{i}")
    return net


def trt_layers(rtx, net):
    _, _, ctx = to_trt_network(net, rtx)
    return {trt_layer.name: trt_layer for trt_layer, _ in ctx.layers}


def weights(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


# -- convolution and deconvolution -------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("family", ["convolution", "deconvolution"])
def test_every_padding_mode(build, rng, family, n, dtype):
    """One network per family, rank and dtype: a layer per PaddingMode, strided, dilated and asymmetric."""
    net = nd.Network(f"{family}{n}d")
    x = source(net, (1, 4) + (9, 8, 7)[:n], dtype)
    add = getattr(net, f"add_{family}_nd")
    kernel = weights(rng, 3, 4, *(3,) * n) if family == "convolution" else weights(rng, 4, 3, *(3,) * n)
    outs = []
    for mode in PaddingMode:
        caffe = mode.name.startswith("CAFFE")
        outs.append(add(x, 3, (3,) * n, kernel, weights(rng, 3), stride_nd=(2,) + (1,) * (n - 1),
                        dilation_nd=(1,) * (n - 1) + (2,), pre_padding=(1,) * n,
                        post_padding=None if caffe else (0,) * (n - 1) + (2,), padding_mode=mode,
                        name=mode.name.lower()).output)
    build(finish(net, *outs))


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("groups, k", [(2, 6), (4, 4), (4, 8)], ids=["grouped", "depthwise", "depthwise-x2"])
def test_convolution_groups(build, rng, groups, k, dtype):
    net = nd.Network("groups")
    x = source(net, (1, 4, 8, 8), dtype)
    y = net.add_convolution_nd(x, k, (3, 3), weights(rng, k, 4 // groups, 3, 3), False, num_groups=groups,
                               padding_nd=1)
    build(finish(net, y.output))


def test_convolution_bf16_3d_and_batch_dims(build, rng):
    """BF16 3-D convolution; a 2-D convolution over a rank-5 input (N, N2, C, H, W: leading batch dims)."""
    net = nd.Network("conv-bf16")
    x = source(net, (1, 3, 5, 6, 6), DataType.BF16)
    y = net.add_convolution_nd(x, 4, (3, 3, 3), weights(rng, 4, 3, 3, 3, 3), weights(rng, 4),
                               padding_mode=PaddingMode.SAME_UPPER).output
    z = net.add_convolution_nd(y, 2, (3, 3), weights(rng, 2, 5, 3, 3), False).output
    assert z.shape == (1, 4, 2, 4, 4)
    build(finish(net, z))


def test_convolution_passes_declared_padding(rtx, rng):
    """EXPLICIT_ROUND_UP: TensorRT gets the declared post padding and computes the overhang itself."""
    net = nd.Network("roundup")
    x = source(net, (1, 1, 6, 6), DataType.FLOAT)
    layer = net.add_convolution_nd(x, 1, (3, 3), weights(rng, 1, 1, 3, 3), False, stride_nd=2, pre_padding=(1, 0),
                                   post_padding=(1, 0), padding_mode=PaddingMode.EXPLICIT_ROUND_UP, name="conv")
    assert layer.post_padding == (2, 1)
    conv = trt_layers(rtx, finish(net, layer.output))["conv"]
    assert tuple(conv.post_padding) == (1, 0) and tuple(conv.pre_padding) == (1, 0)
    assert conv.padding_mode == rtx.trt.PaddingMode.EXPLICIT_ROUND_UP


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_deconvolution_grouped_dilated_strided(build, rtx, rng, dtype):
    """RTX refuses strided + dilated deconvolution: the lowering dilates the kernel with zeros instead."""
    net = nd.Network("deconv-dilated")
    x = source(net, (1, 4, 5, 5), dtype)
    layer = net.add_deconvolution_nd(x, 6, (3, 2), weights(rng, 4, 3, 3, 2), weights(rng, 6), num_groups=2,
                                     stride_nd=2, dilation_nd=(2, 3), padding_nd=1, name="up")
    finish(net, layer.output)
    up = trt_layers(rtx, net)["up"]
    assert tuple(up.kernel_size_nd) == (5, 4) and tuple(up.dilation_nd) == (1, 1)
    assert up.kernel.dtype == dtype.to_numpy() and up.kernel.size == 4 * 3 * 5 * 4
    build(net)


def test_dilated_kernel_is_exact(rng):
    """The zero-dilated kernel with dilation 1 gives the same deconvolution (reference executor)."""
    x = rng.standard_normal((1, 2, 4, 5)).astype(np.float32)
    w = weights(rng, 2, 3, 3, 2)
    outs = []
    for kernel, ksize, dilation in ((w, (3, 2), (2, 3)), (dilate_kernel(w, (2, 3)), (5, 4), (1, 1))):
        net = nd.Network("d")
        net.mark_output(net.add_deconvolution_nd(net.add_input("x", DataType.FLOAT, x.shape), 3, ksize, kernel,
                                                 False, stride_nd=2, dilation_nd=dilation, name="up").output)
        outs.append(execute(net, {"x": x})["up"])
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-6, atol=1e-6)


# -- pooling --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
@pytest.mark.parametrize("n", [2, 3])
def test_pooling_every_type_and_padding_mode(build, n, dtype):
    """One network per rank and dtype: every PoolingType x PaddingMode x average_count_excludes_padding.

    On RTX (no CAFFE_* modes) an AVERAGE that counts padding under CAFFE_ROUND_UP would be refused where
    the last window overhangs; these shapes give no overhang, so each such layer is emulated exactly.
    """
    net = nd.Network(f"pool{n}d")
    x = source(net, (1, 2) + (9, 7, 5)[:n], dtype)
    outs = []
    for kind in PoolingType:
        for mode in PaddingMode:
            for excludes in (True, False):
                caffe = mode.name.startswith("CAFFE")
                layer = net.add_pooling_nd(x, kind, (3,) * n, stride_nd=2, pre_padding=(1,) * n,
                                           post_padding=None if caffe else (1,) + (0,) * (n - 1), padding_mode=mode,
                                           average_count_excludes_padding=excludes, blend_factor=0.25,
                                           name=f"{kind.name}_{mode.name}_{excludes}".lower())
                outs.append(layer.output)
    build(finish(net, *outs))


def test_pooling_bf16_and_batch_dims(build):
    net = nd.Network("pool-bf16")
    x = source(net, (1, 2, 3, 6, 6), DataType.BF16)
    y = net.add_pooling_nd(x, PoolingType.AVERAGE, (2, 2), stride_nd=2, average_count_excludes_padding=False,
                           padding_mode=PaddingMode.EXPLICIT_ROUND_UP, post_padding=1)
    build(finish(net, y.output))


def test_pooling_round_up_passes_declared_padding(rtx):
    """AVERAGE counting padding with EXPLICIT_ROUND_UP: TensorRT gets the declared padding, so the
    overhang stays uncounted (TensorRT: "the overlap between the pooling window and the padded input")."""
    net = nd.Network("pool-up")
    layer = net.add_pooling_nd(source(net, (1, 1, 8, 9), DataType.FLOAT), PoolingType.AVERAGE, (3, 3), stride_nd=2,
                               padding_nd=1, padding_mode=PaddingMode.EXPLICIT_ROUND_UP,
                               average_count_excludes_padding=False, name="pool")
    assert layer.overhang == (1, 0)
    pool = trt_layers(rtx, finish(net, layer.output))["pool"]
    assert tuple(pool.post_padding) == (1, 1) and pool.average_count_excludes_padding is False


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_darknet_maxpool(build, dtype):
    """YOLOv3-tiny's maxpool: size 2, stride 1, post padding 1 only."""
    net = nd.Network("darknet-maxpool")
    x = source(net, (1, 8, 13, 13), dtype)
    y = net.add_pooling_nd(x, PoolingType.MAX, (2, 2), stride_nd=1, pre_padding=(0, 0), post_padding=(1, 1))
    build(finish(net, y.output))


@pytest.mark.parametrize("dtype", DTYPES, ids=IDS)
def test_global_pooling(build, rtx, dtype):
    """Small windows lower to IPoolingLayer; one past TensorRT's 2-D window limit to IReduceLayer."""
    net = nd.Network("global")
    x = source(net, (1, 2, 7, 9), dtype)
    outs = [net.add_global_pooling(x, kind, blend_factor=0.5, name=f"g_{kind.name.lower()}").output
            for kind in PoolingType]
    wide = net.add_input("wide", DataType.FLOAT, (1, 2, 320, 320))
    if dtype is not DataType.FLOAT:
        wide = net.add_cast(wide, dtype, name="wide_low").output
    outs += [net.add_global_pooling(wide, kind, blend_factor=0.5, name=f"w_{kind.name.lower()}").output
             for kind in PoolingType]
    finish(net, *outs)
    layers = trt_layers(rtx, net)
    assert isinstance(layers["g_max"], rtx.trt.IPoolingLayer)
    assert isinstance(layers["w_max"], rtx.trt.IReduceLayer)
    assert isinstance(layers["w_max_average_blend"], rtx.trt.IElementWiseLayer)
    build(net)


def test_global_pooling_3d(build):
    net = nd.Network("global3d")
    y = net.add_global_pooling(source(net, (2, 3, 4, 5, 6), DataType.HALF), PoolingType.AVERAGE)
    build(finish(net, y.output))
