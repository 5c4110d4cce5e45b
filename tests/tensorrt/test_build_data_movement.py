"""Shuffle, concatenation, slice and resize build real TensorRT-RTX engines (AOT, sm86) in every variant.

Lowering checks that TensorRT infers netdsl's output shapes and dtypes; these
tests also read back the attributes set on the TensorRT layers.
"""
import pytest

import netdsl as nd
from netdsl import (DataType, InterpolationMode, ResizeCoordinateTransformation, ResizeRoundMode, ResizeSelector,
                    SampleMode)
from netdsl.tensorrt import to_trt_network

HALF_IDS = dict(argvalues=[DataType.FLOAT, DataType.HALF], ids=["fp32", "fp16"])
OTHER_TYPES = [DataType.BF16, DataType.INT8, DataType.INT32, DataType.INT64, DataType.BOOL]


def source(net, shape, dtype):
    """An input of ``dtype``; HALF and BF16 come from a FLOAT input through a cast, as deployed."""
    if dtype in (DataType.HALF, DataType.BF16):
        return net.add_cast(net.add_input("x", DataType.FLOAT, shape), dtype, name="to_" + dtype.name.lower()).output
    return net.add_input("x", dtype, shape)


def trt_layers(rtx, net):
    """TensorRT layers by netdsl layer name, from lowering ``net`` (no build)."""
    _, _, ctx = to_trt_network(net, rtx)
    return {layer.name: trt_layer for trt_layer, layer in ctx.layers}


# -- shuffle ----------------------------------------------------------------------------------------
SHUFFLES = {
    "reshape-0-minus1": dict(first_transpose=(0, 2, 3, 1), reshape_dims=(0, -1, 3), second_transpose=(1, 0, 2)),
    "transpose-only": dict(first_transpose=(3, 1, 0, 2)),
    "second-only": dict(reshape_dims=(2, 3, 12), second_transpose=(2, 0, 1)),
    "to-scalar-rank": dict(reshape_dims=(-1,)),
}


@pytest.mark.parametrize("dtype", **HALF_IDS)
@pytest.mark.parametrize("variant", list(SHUFFLES))
def test_shuffle_variants(build, rtx, dtype, variant):
    net = nd.Network("shuffle")
    layer = net.add_shuffle(source(net, (2, 3, 4, 3), dtype), name="sh", **SHUFFLES[variant])
    net.mark_output(layer.output)
    build(net)
    sh = trt_layers(rtx, net)["sh"]
    assert tuple(sh.first_transpose)[:4] == layer.first_transpose
    if layer.resolved_dims is not None:
        assert tuple(sh.reshape_dims) == layer.resolved_dims and sh.zero_is_placeholder is False


@pytest.mark.parametrize("dtype", OTHER_TYPES, ids=lambda d: d.name)
def test_shuffle_other_dtypes(build, dtype):
    net = nd.Network("shuffle")
    net.mark_output(net.add_shuffle(source(net, (2, 6, 5), dtype), first_transpose=(2, 0, 1),
                                    reshape_dims=(0, 3, -1)).output)
    build(net)


def test_shuffle_zero_size_dims(build):
    """zero_is_placeholder=False: the 0 is a zero-size dim of an empty tensor."""
    net = nd.Network("empty")
    x = net.add_input("x", DataType.FLOAT, (2, 3, 4))
    empty = net.add_slice(x, (0, 0, 0), (2, 0, 4), (1, 1, 1)).output
    y = net.add_shuffle(empty, reshape_dims=(4, 0, 2), zero_is_placeholder=False).output
    z = net.add_shuffle(empty, reshape_dims=(4, -1), zero_is_placeholder=False).output
    assert y.shape == (4, 0, 2) and z.shape == (4, 0)
    net.mark_output(y)
    net.mark_output(z)
    build(net)


# -- concatenation ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", **HALF_IDS)
@pytest.mark.parametrize("axis", [0, 1, 2, 3, -1, -3])
def test_concatenation_axes(build, rtx, dtype, axis):
    net = nd.Network("concat")
    x = source(net, (1, 2, 3, 4), dtype)
    part = net.add_slice(x, 0, tuple(1 if i == axis % 4 else d for i, d in enumerate(x.shape)), 1).output
    layer = net.add_concatenation([x, part, x], axis=axis, name="cat")
    net.mark_output(layer.output)
    build(net)
    assert trt_layers(rtx, net)["cat"].axis == axis % 4


@pytest.mark.parametrize("dtype", [DataType.FLOAT, DataType.HALF] + OTHER_TYPES, ids=lambda d: d.name)
def test_concatenation_many_inputs(build, dtype):
    net = nd.Network("concat")
    x = source(net, (2, 3), dtype)
    net.mark_output(net.add_concatenation([x] * 12, axis=-1).output)
    build(net)


# -- slice ----------------------------------------------------------------------------------------------------
SLICES = {  # start, shape, stride on (1, 3, 6, 5); "outside" reads outside the input
    "strided": ((0, 0, 1, 0), (1, 3, 3, 3), (1, 1, 2, 2)),
    "reversed": ((0, 2, 5, 4), (1, 3, 6, 2), (1, -1, -1, -3)),
    "stride0": ((0, 1, 2, 0), (1, 4, 2, 5), (0, 0, 2, 1)),
    "outside": ((0, -2, -3, 6), (1, 7, 9, 4), (1, 1, 1, -2)),
}


@pytest.mark.parametrize("dtype", **HALF_IDS)
@pytest.mark.parametrize("mode,variant", [(m, v) for m in SampleMode for v in SLICES
                                          if (m, v) != (SampleMode.STRICT_BOUNDS, "outside")],
                         ids=lambda v: getattr(v, "name", v))
def test_slice_modes(build, rtx, dtype, mode, variant):
    start, shape, stride = SLICES[variant]
    net = nd.Network("slice")
    layer = net.add_slice(source(net, (1, 3, 6, 5), dtype), start, shape, stride, mode=mode, fill_value=-1.5,
                          name="sl")
    net.mark_output(layer.output)
    build(net)
    sl = trt_layers(rtx, net)["sl"]
    assert sl.mode == rtx.enum(mode) and tuple(sl.stride) == stride and tuple(sl.start) == start


@pytest.mark.parametrize("dtype,fill", [(DataType.BF16, 0.1), (DataType.INT8, -128), (DataType.INT32, 7),
                                        (DataType.INT64, 2 ** 40), (DataType.BOOL, True)], ids=lambda v: str(v))
def test_slice_fill_other_dtypes(build, dtype, fill):
    net = nd.Network("fill")
    y = net.add_slice(source(net, (2, 5), dtype), (-1, -2), (4, 9), (1, 1), mode=SampleMode.FILL, fill_value=fill)
    net.mark_output(y.output)
    build(net)


# -- resize -----------------------------------------------------------------------------------------------------
CT, RM = ResizeCoordinateTransformation, ResizeRoundMode


def resize_net(dtype, in_shape, name="rs", **kwargs):
    net = nd.Network("resize")
    layer = net.add_resize(source(net, in_shape, dtype), name=name, **kwargs)
    net.mark_output(layer.output)
    return net, layer


@pytest.mark.parametrize("dtype", **HALF_IDS)
@pytest.mark.parametrize("mode", list(InterpolationMode), ids=lambda m: m.name)
@pytest.mark.parametrize("transform", list(CT), ids=lambda t: t.name)
def test_resize_modes_and_transforms(build, rtx, dtype, mode, transform):
    """Up in H, down in W, with the mode's other attributes away from their defaults."""
    net, layer = resize_net(dtype, (1, 3, 5, 9), shape=(1, 3, 8, 4), resize_mode=mode,
                            coordinate_transformation=transform, nearest_rounding=RM.HALF_DOWN,
                            cubic_coeff=-0.5, exclude_outside=mode is InterpolationMode.CUBIC)
    build(net)
    rs = trt_layers(rtx, net)["rs"]
    assert rs.resize_mode == rtx.enum(mode) and rs.coordinate_transformation == rtx.enum(transform)
    assert rs.nearest_rounding == rtx.trt.ResizeRoundMode.HALF_DOWN and rs.cubic_coeff == -0.5
    assert rs.exclude_outside == (mode is InterpolationMode.CUBIC)


@pytest.mark.parametrize("rounding", list(RM), ids=lambda r: r.name)
def test_resize_nearest_rounding(build, rtx, rounding):
    net, _ = resize_net(DataType.FLOAT, (2, 7), shape=(2, 9), coordinate_transformation=CT.HALF_PIXEL,
                        nearest_rounding=rounding)
    build(net)
    assert trt_layers(rtx, net)["rs"].nearest_rounding == rtx.enum(rounding)


@pytest.mark.parametrize("dtype", **HALF_IDS)
@pytest.mark.parametrize("mode", list(InterpolationMode), ids=lambda m: m.name)
def test_resize_single_pixel_upper(build, rtx, dtype, mode):
    net, _ = resize_net(dtype, (1, 2, 4, 6), shape=(1, 2, 1, 1), resize_mode=mode,
                        coordinate_transformation=CT.HALF_PIXEL, selector_for_single_pixel=ResizeSelector.UPPER)
    build(net)
    assert trt_layers(rtx, net)["rs"].selector_for_single_pixel == rtx.trt.ResizeSelector.UPPER


@pytest.mark.parametrize("dtype", **HALF_IDS)
@pytest.mark.parametrize("in_shape,out_shape,mode", [
    ((2, 3, 7), (2, 3, 12), InterpolationMode.LINEAR),
    ((2, 3, 7), (2, 3, 4), InterpolationMode.CUBIC),
    ((1, 2, 3, 4, 5), (1, 2, 6, 2, 9), InterpolationMode.LINEAR),
    ((1, 2, 3, 4, 5), (1, 2, 5, 3, 2), InterpolationMode.NEAREST),
    ((2, 3, 4, 5), (4, 6, 2, 10), InterpolationMode.NEAREST),
], ids=["1d-linear", "1d-cubic", "3d-linear", "3d-nearest", "4d-nearest"])
def test_resize_rank_and_resized_dims(build, dtype, in_shape, out_shape, mode):
    net, _ = resize_net(dtype, in_shape, shape=out_shape, resize_mode=mode,
                        coordinate_transformation=CT.ALIGN_CORNERS)
    build(net)


@pytest.mark.parametrize("dtype", **HALF_IDS)
def test_resize_scales(build, rtx, dtype):
    """Whole in * scale: the scales go to TensorRT; otherwise the output shape does."""
    net = nd.Network("scales")
    x = source(net, (1, 2, 4, 6), dtype)
    exact = net.add_resize(x, scales=(1, 1, 2, 0.5), name="exact", resize_mode=InterpolationMode.LINEAR).output
    ratio = net.add_resize(x, scales=(1, 1, 1.3, 1 / 3), name="ratio", resize_mode=InterpolationMode.CUBIC).output
    assert exact.shape == (1, 2, 8, 3) and ratio.shape == (1, 2, 5, 2)
    net.mark_output(exact)
    net.mark_output(ratio)
    build(net)
    layers = trt_layers(rtx, net)
    assert list(layers["exact"].scales) == [1.0, 1.0, 2.0, 0.5]
    assert tuple(layers["ratio"].shape) == (1, 2, 5, 2)


@pytest.mark.parametrize("dtype,mode", [(DataType.BF16, InterpolationMode.LINEAR),
                                        (DataType.BF16, InterpolationMode.CUBIC),
                                        (DataType.INT8, InterpolationMode.NEAREST)], ids=["bf16-linear", "bf16-cubic",
                                                                                        "int8-nearest"])
def test_resize_other_dtypes(build, dtype, mode):
    net, _ = resize_net(dtype, (1, 2, 3, 4), scales=(1, 1, 2, 2), resize_mode=mode)
    build(net)


def test_yolo_style_upsample_route(build):
    """The tiny-YOLO neck in fp16: upsample x2 (NEAREST), concatenate with a skip, shuffle a head, slice boxes."""
    net = nd.Network("neck")
    x = source(net, (1, 8, 6, 6), DataType.HALF)
    skip = net.add_slice(x, 0, (1, 4, 6, 6), 1, name="skip").output
    up = net.add_resize(net.add_slice(x, (0, 4, 0, 0), (1, 4, 3, 3), (1, 1, 2, 2)).output, scales=(1, 1, 2, 2)).output
    route = net.add_concatenation([up, skip], axis=1, name="route").output
    head = net.add_shuffle(route, reshape_dims=(1, 2, 4, 36), second_transpose=(0, 1, 3, 2), name="head").output
    boxes = net.add_slice(head, 0, (1, 2, 36, 2), 1, name="boxes").output
    net.mark_output(net.add_cast(boxes, DataType.FLOAT).output, name="boxes_out")
    build(net)
