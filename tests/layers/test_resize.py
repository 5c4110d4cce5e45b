"""add_resize (IResizeLayer) against ONNX Resize (onnx.reference, onnxruntime) and torch interpolate.

TensorRT -> ONNX attributes: ALIGN_CORNERS / ASYMMETRIC / HALF_PIXEL ->
coordinate_transformation_mode align_corners / asymmetric / half_pixel
(HALF_PIXEL with selector UPPER -> pytorch_half_pixel, for NEAREST and
LINEAR); HALF_UP / HALF_DOWN / FLOOR / CEIL -> nearest_mode
round_prefer_ceil / round_prefer_floor / floor / ceil; cubic_coeff ->
cubic_coeff_a; exclude_outside as is. ONNX gets ``sizes`` (TensorRT maps by
lengths), or ``scales`` where ``in * scale`` is whole. ONNX computes
coordinates in floating point, which at exact integer or half coordinates
may round to the other side once a length exceeds 8; the hypothesis tests
stay within 8, and NEAREST is also checked against exact fractions.
"""
from fractions import Fraction

import numpy as np
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from netdsl.graph.dtypes import DataType
from netdsl.graph.enums import InterpolationMode, ResizeCoordinateTransformation, ResizeRoundMode, ResizeSelector
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from layer_run import run_layer

NEAREST, LINEAR, CUBIC = InterpolationMode.NEAREST, InterpolationMode.LINEAR, InterpolationMode.CUBIC
ALIGN, ASYM, HALF = (ResizeCoordinateTransformation.ALIGN_CORNERS, ResizeCoordinateTransformation.ASYMMETRIC,
                     ResizeCoordinateTransformation.HALF_PIXEL)
ONNX_TRANSFORM = {ALIGN: "align_corners", ASYM: "asymmetric", HALF: "half_pixel"}
ONNX_ROUNDING = {ResizeRoundMode.HALF_UP: "round_prefer_ceil", ResizeRoundMode.HALF_DOWN: "round_prefer_floor",
                 ResizeRoundMode.FLOOR: "floor", ResizeRoundMode.CEIL: "ceil"}


def resized(x, cast=None, **kwargs):
    """input x -> [cast] -> add_resize(**kwargs); returns (layer, reference output)."""
    return run_layer("add_resize", x, cast, name="rs", **kwargs)


def onnx_attributes(mode=NEAREST, coordinate_transformation=ASYM, nearest_rounding=ResizeRoundMode.FLOOR,
                    selector_for_single_pixel=ResizeSelector.FORMULA, cubic_coeff=-0.75, exclude_outside=False):
    transform = ONNX_TRANSFORM[coordinate_transformation]
    if selector_for_single_pixel is ResizeSelector.UPPER and coordinate_transformation is HALF:
        assert mode is not CUBIC, "pytorch_half_pixel reads -0.5 for a single pixel, UPPER reads 0"
        transform = "pytorch_half_pixel"
    return dict(mode=mode.name.lower(), coordinate_transformation_mode=transform,
                nearest_mode=ONNX_ROUNDING[nearest_rounding], cubic_coeff_a=cubic_coeff,
                exclude_outside=int(exclude_outside))


def onnx_resize(x, sizes=None, scales=None, runtime="reference", **attrs):
    """ONNX Resize (opset 19) on float32 ``x`` by ``sizes`` or ``scales``, with onnx.reference or onnxruntime."""
    by, value = ("sizes", np.array(sizes, np.int64)) if sizes is not None else ("scales", np.array(scales, np.float32))
    node = helper.make_node("Resize", ["x", "", "scales"] if by == "scales" else ["x", "", "", "sizes"], ["y"],
                            **onnx_attributes(**attrs))
    kind = TensorProto.FLOAT if by == "scales" else TensorProto.INT64
    graph = helper.make_graph([node], "resize", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape),
                                                 helper.make_tensor_value_info(by, kind, [x.ndim])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)])
    model.ir_version = 9
    feeds = {"x": x.astype(np.float32), by: value}
    if runtime == "reference":
        return ReferenceEvaluator(model).run(None, feeds)[0]
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


@st.composite
def resize_case(draw):
    mode = draw(st.sampled_from([NEAREST, LINEAR, CUBIC]))
    rank = draw(st.integers(1, 4))
    changed = draw(st.integers(1, min(rank, 2 if mode is CUBIC else 3)))
    in_shape = draw(st.lists(st.integers(1, 3), min_size=rank - changed, max_size=rank - changed))
    in_shape += draw(st.lists(st.integers(1, 8), min_size=changed, max_size=changed))
    out_shape = in_shape[:rank - changed] + draw(st.lists(st.integers(1, 8), min_size=changed, max_size=changed))
    transform = draw(st.sampled_from([ALIGN, ASYM, HALF]))
    selector = ResizeSelector.FORMULA if mode is CUBIC else draw(st.sampled_from(list(ResizeSelector)))
    attrs = dict(coordinate_transformation=transform, selector_for_single_pixel=selector,
                 nearest_rounding=draw(st.sampled_from(list(ResizeRoundMode))),
                 cubic_coeff=draw(st.sampled_from([-0.75, -0.5, -0.6])),
                 exclude_outside=mode is CUBIC and draw(st.booleans()))  # ONNX's reference applies it to all
    return tuple(in_shape), tuple(out_shape), mode, attrs


@settings(max_examples=25, deadline=None)
@given(resize_case(), st.sampled_from([None, DataType.HALF, DataType.BF16]))
def test_matches_onnx_reference(case, cast):
    in_shape, out_shape, mode, attrs = case
    x = np.random.default_rng(1).standard_normal(in_shape).astype(np.float32)
    layer, out = resized(x, cast, shape=out_shape, resize_mode=mode, **attrs)
    rounded = {None: x, DataType.HALF: x.astype(np.float16).astype(np.float32),
               DataType.BF16: torch.from_numpy(x).bfloat16().float().numpy()}[cast]
    ref = onnx_resize(rounded, sizes=out_shape, mode=mode, **attrs)
    assert layer.output.shape == ref.shape == out.shape
    tol = {None: 1e-5, DataType.HALF: 4e-3, DataType.BF16: 3e-2}[cast]
    np.testing.assert_allclose(out.astype(np.float32), ref, rtol=tol, atol=tol)


@pytest.mark.parametrize("mode", [NEAREST, LINEAR, CUBIC])
@pytest.mark.parametrize("transform", [ALIGN, ASYM, HALF])
@pytest.mark.parametrize("out_hw", [(10, 9), (3, 2)], ids=["up", "down"])
def test_matches_onnxruntime(mode, transform, out_hw):
    x = np.random.default_rng(2).standard_normal((1, 2, 5, 6)).astype(np.float32)
    for rounding in ONNX_ROUNDING if mode is NEAREST else [ResizeRoundMode.FLOOR]:
        for exclude in [False, True] if mode is CUBIC else [False]:
            attrs = dict(coordinate_transformation=transform, nearest_rounding=rounding, exclude_outside=exclude)
            _, out = resized(x, shape=(1, 2) + out_hw, resize_mode=mode, **attrs)
            ref = onnx_resize(x, sizes=(1, 2) + out_hw, runtime="onnxruntime", mode=mode, **attrs)
            np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size", [(7, 9), (3, 4), (2, 13)])
@pytest.mark.parametrize("torch_mode,align_corners,kwargs", [
    ("nearest-exact", None, dict(resize_mode=NEAREST, coordinate_transformation=HALF,
                                 nearest_rounding=ResizeRoundMode.HALF_UP)),
    ("bilinear", False, dict(resize_mode=LINEAR, coordinate_transformation=HALF)),
    ("bilinear", True, dict(resize_mode=LINEAR, coordinate_transformation=ALIGN)),
    ("bicubic", False, dict(resize_mode=CUBIC, coordinate_transformation=HALF)),
    ("bicubic", True, dict(resize_mode=CUBIC, coordinate_transformation=ALIGN)),
])
def test_matches_torch_interpolate(size, torch_mode, align_corners, kwargs):
    x = np.random.default_rng(3).standard_normal((2, 3, 5, 6)).astype(np.float32)
    _, out = resized(x, shape=(2, 3) + size, **kwargs)
    ref = F.interpolate(torch.from_numpy(x), size=size, mode=torch_mode, align_corners=align_corners)
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape,torch_mode", [((2, 3, 6), "linear"), ((1, 2, 3, 4, 5), "trilinear")])
def test_linear_and_trilinear_match_torch(shape, torch_mode):
    x = np.random.default_rng(4).standard_normal(shape).astype(np.float32)
    size = tuple(2 * d - 1 for d in shape[2:])
    _, out = resized(x, shape=shape[:2] + size, resize_mode=LINEAR, coordinate_transformation=HALF)
    ref = F.interpolate(torch.from_numpy(x), size=size, mode=torch_mode, align_corners=False)
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-5, atol=1e-5)


def exact_nearest(in_len, out_len, transform, rounding):
    """Input index per output index from the documented formula, in exact fractions."""
    def coordinate(o):
        if transform is ALIGN:
            return Fraction(o * (in_len - 1), out_len - 1) if out_len > 1 else Fraction(0)
        if transform is HALF:
            return (o + Fraction(1, 2)) * Fraction(in_len, out_len) - Fraction(1, 2)
        return o * Fraction(in_len, out_len)
    rules = {ResizeRoundMode.FLOOR: lambda c: c.__floor__(), ResizeRoundMode.CEIL: lambda c: c.__ceil__(),
             ResizeRoundMode.HALF_UP: lambda c: (c + Fraction(1, 2)).__floor__(),
             ResizeRoundMode.HALF_DOWN: lambda c: (c - Fraction(1, 2)).__ceil__()}
    return [min(max(rules[rounding](coordinate(o)), 0), in_len - 1) for o in range(out_len)]


@pytest.mark.parametrize("transform", [ALIGN, ASYM, HALF])
@pytest.mark.parametrize("rounding", list(ResizeRoundMode))
def test_nearest_rounds_exact_coordinates(transform, rounding):
    """Every length pair up to 24: the gathered index is the exactly rounded coordinate (7 -> 9 HALF_PIXEL
    maps output 4 to exactly 3, where ONNX's floating point computes 2.999...)."""
    for in_len in range(1, 25):
        x = np.arange(in_len, dtype=np.float32)
        for out_len in range(1, 25):
            _, out = resized(x, shape=(out_len,), coordinate_transformation=transform, nearest_rounding=rounding)
            assert out.tolist() == exact_nearest(in_len, out_len, transform, rounding), (in_len, out_len)


@pytest.mark.parametrize("mode", [NEAREST, LINEAR, CUBIC])
def test_single_pixel_selector(mode):
    """UPPER reads the first element; FORMULA with HALF_PIXEL reads the centre, as ONNX half_pixel."""
    x = np.random.default_rng(5).standard_normal((1, 2, 4, 6)).astype(np.float32)
    _, upper = resized(x, shape=(1, 2, 1, 1), resize_mode=mode, coordinate_transformation=HALF,
                       selector_for_single_pixel=ResizeSelector.UPPER)
    np.testing.assert_array_equal(upper, x[:, :, :1, :1])
    _, formula = resized(x, shape=(1, 2, 1, 1), resize_mode=mode, coordinate_transformation=HALF)
    np.testing.assert_allclose(formula, onnx_resize(x, sizes=(1, 2, 1, 1), mode=mode, coordinate_transformation=HALF),
                               rtol=1e-6)


@pytest.mark.parametrize("mode", [NEAREST, LINEAR, CUBIC])
def test_scales(mode):
    """Whole in * scale: the same as ONNX with those scales. Otherwise floor(in * scale) and the
    length ratio (ONNX ``sizes``), not the given scale."""
    x = np.random.default_rng(6).standard_normal((1, 1, 4, 6)).astype(np.float32)
    layer, out = resized(x, scales=(1, 1, 2, 0.5), resize_mode=mode, coordinate_transformation=HALF)
    assert layer.output.shape == (1, 1, 8, 3) and layer.scales == (1.0, 1.0, 2.0, 0.5)
    np.testing.assert_allclose(out, onnx_resize(x, scales=(1, 1, 2, 0.5), mode=mode, coordinate_transformation=HALF),
                               rtol=1e-5, atol=1e-6)
    layer, out = resized(x, scales=(1, 1, 1.3, 1.7), resize_mode=mode, coordinate_transformation=ALIGN)
    assert layer.output.shape == (1, 1, 5, 10)
    np.testing.assert_allclose(out, onnx_resize(x, sizes=(1, 1, 5, 10), mode=mode, coordinate_transformation=ALIGN),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", [NEAREST, LINEAR])
def test_exclude_outside_only_changes_cubic(mode):
    x = np.random.default_rng(7).standard_normal((3, 4)).astype(np.float32)
    for transform in (ALIGN, ASYM, HALF):
        outs = [resized(x, shape=(7, 2), resize_mode=mode, coordinate_transformation=transform,
                        nearest_rounding=ResizeRoundMode.CEIL, exclude_outside=e)[1] for e in (False, True)]
        np.testing.assert_array_equal(*outs)


def test_nearest_int8_is_exact_and_yolo_upsample():
    x = np.arange(-60, 60, 5, dtype=np.int8).reshape(1, 2, 3, 4)
    _, out = resized(x, scales=(1, 1, 2, 2))
    assert out.dtype == np.int8
    np.testing.assert_array_equal(out, x.repeat(2, axis=2).repeat(2, axis=3))


@pytest.mark.parametrize("kwargs,message", [
    (dict(), r"rs: give exactly one of shape= or scales="),
    (dict(shape=(1, 2, 3, 4), scales=(1, 1, 1, 1)), r"rs: give exactly one of shape= or scales="),
    (dict(shape=(1, 2, 3)), r"rs: shape must be 4 positive dims \(input 'x' \(1, 2, 3, 4\)\), found \(1, 2, 3\)"),
    (dict(shape=(1, 2, 0, 4)), r"rs: shape must be 4 positive dims"),
    (dict(scales=(1, 1, 2)), r"rs: scales must be 4 finite positive factors"),
    (dict(scales=(1, 1, -2, 2)), r"rs: scales must be 4 finite positive factors .* found \(1.0, 1.0, -2.0, 2.0\)"),
    (dict(scales=(1, 1, float("nan"), 2)), r"rs: scales must be 4 finite positive factors"),
    (dict(scales=(1, 1, 0.3, 1)), r"rs: scales \(1.0, 1.0, 0.3, 1.0\) make an empty output \(1, 2, 0, 4\)"),
    (dict(shape=(2, 2, 6, 8), resize_mode=LINEAR), r"rs: LINEAR resizes at most the 3 innermost dims, but "
                                                   r"\(1, 2, 3, 4\) -> \(2, 2, 6, 8\) resizes dim 0"),
    (dict(shape=(1, 4, 6, 8), resize_mode=CUBIC), r"rs: CUBIC resizes at most the 2 innermost dims, .* dim 1"),
    (dict(shape=(1, 2, 6, 8), resize_mode=CUBIC, cubic_coeff=float("inf")), r"rs: cubic_coeff must be finite"),
])
def test_definition_errors_name_the_layer(kwargs, message):
    with pytest.raises(NetworkDefinitionError, match=message):
        resized(np.zeros((1, 2, 3, 4), np.float32), **kwargs)


def test_dtype_errors():
    with pytest.raises(NetworkDefinitionError, match=r"rs: LINEAR resize input 'x' must be FLOAT, HALF, BF16, "
                                                     r"found INT8"):
        resized(np.zeros((1, 4), np.int8), shape=(1, 8), resize_mode=LINEAR)
    with pytest.raises(NetworkDefinitionError, match=r"rs: NEAREST resize input 'x' must be FLOAT, HALF, BF16, "
                                                     r"INT8, found INT32"):
        resized(np.zeros((1, 4), np.int32), shape=(1, 8))
    net = Network("empty")
    x = net.add_input("x", DataType.FLOAT, (2, 3))
    empty = net.add_slice(x, 0, (2, 0), 1).output
    with pytest.raises(NetworkDefinitionError, match=r"rs: input 'slice' must have rank >= 1 and no empty dim"):
        net.add_resize(empty, shape=(2, 2), name="rs")
