"""add_slice (ISliceLayer) with every SampleMode.

Oracles: the per-element formulas of the TensorRT operator reference
("Slice"), written out here independently; ONNX Slice (onnx.reference) for
in-bounds strided and reversed slices; np.pad for the out-of-bounds modes
(WRAP = "wrap", CLAMP = "edge", REFLECT = "reflect", FILL = "constant").
"""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper
from onnx.reference import ReferenceEvaluator

from netdsl.graph.dtypes import DataType
from netdsl.graph.enums import SampleMode
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute


def sliced(x, start, shape, stride, cast=None, **kwargs):
    """input x -> [cast] -> add_slice; returns (layer, reference output)."""
    net = Network("slice")
    src = net.add_input("x", DataType.from_numpy(x.dtype), x.shape)
    if cast is not None:
        src = net.add_cast(src, cast).output
    layer = net.add_slice(src, start, shape, stride, name="sl", **kwargs)
    net.mark_output(layer.output)
    return layer, execute(net, {"x": x})[layer.output.name]


def documented_slice(x, start, shape, stride, mode, fill=0):
    """output[y] per the operator reference: x_i = y_i * stride_i + start_i, then the mode's rule."""
    out = np.empty(shape, x.dtype)
    for y in np.ndindex(*shape):
        coord, outside = [], False
        for yi, b, s, d in zip(y, start, stride, x.shape):
            xi = yi * s + b
            if not 0 <= xi < d:
                if mode is SampleMode.WRAP:
                    xi = xi % d
                elif mode is SampleMode.CLAMP:
                    xi = 0 if xi < 0 else d - 1
                elif mode is SampleMode.REFLECT:
                    c = abs(xi) % (2 * d - 2) if d > 1 else 0
                    xi = 2 * d - 2 - c if c >= d else c
                else:
                    outside = True
            coord.append(xi)
        out[y] = fill if outside else x[tuple(coord)]
    return out


@st.composite
def slice_case(draw, modes=tuple(SampleMode), zero_stride=True):
    shape = draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))
    mode = draw(st.sampled_from(modes))
    strides = st.integers(-3, 3) if zero_stride else st.integers(1, 3).flatmap(lambda s: st.sampled_from([s, -s]))
    start, size, stride = [], [], []
    for d in shape:
        n, s = draw(st.integers(0, 5)), draw(strides)
        if mode is SampleMode.STRICT_BOUNDS:  # choose a first and last index inside the dim
            s = s if d > 1 or not zero_stride else 0
            n = draw(st.integers(1, (d - 1) // abs(s) + 1 if s else 4))
            lo, hi = (0, d - 1 - (n - 1) * s) if s >= 0 else (-(n - 1) * s, d - 1)
            b = draw(st.integers(lo, hi))
        else:
            b = draw(st.integers(-2 * d, 2 * d))
        start.append(b), size.append(n), stride.append(s)
    return tuple(shape), mode, tuple(start), tuple(size), tuple(stride)


@settings(max_examples=25, deadline=None)
@given(slice_case(), st.sampled_from([np.float32, np.int32, np.float16]))
def test_matches_documented_formula(case, dtype):
    shape, mode, start, size, stride = case
    x = (np.arange(np.prod(shape)).reshape(shape) * 3 - 7).astype(dtype)
    layer, out = sliced(x, start, size, stride, mode=mode, fill_value=-5)
    assert layer.output.shape == size and out.dtype == dtype
    np.testing.assert_array_equal(out, documented_slice(x, start, size, stride, mode, fill=-5))


def onnx_slice(x, start, shape, stride):
    """ONNX Slice for an in-bounds TensorRT slice: ends = start + size * stride (below 0: before index 0)."""
    ends = [b + n * s for b, n, s in zip(start, shape, stride)]
    ends = [e if e >= 0 else e - d for e, d in zip(ends, x.shape)]
    node = helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"])
    names = ["x", "starts", "ends", "axes", "steps"]
    graph = helper.make_graph([node], "g", [helper.make_value_info(n, helper.TypeProto()) for n in names],
                              [helper.make_value_info("y", helper.TypeProto())])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    feeds = dict(x=x, starts=np.array(start), ends=np.array(ends), axes=np.arange(x.ndim), steps=np.array(stride))
    return ReferenceEvaluator(model).run(None, feeds)[0]


@settings(max_examples=20, deadline=None)
@given(slice_case(modes=(SampleMode.STRICT_BOUNDS,), zero_stride=False))
def test_strict_strided_and_reversed_match_onnx_slice(case):
    shape, _, start, size, stride = case
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    _, out = sliced(x, start, size, stride)
    np.testing.assert_array_equal(out, onnx_slice(x, start, size, stride))


def test_reversal_and_step_match_torch():
    x = np.arange(2 * 9, dtype=np.float32).reshape(2, 9)
    _, out = sliced(x, (1, 8), (2, 5), (-1, -2))
    np.testing.assert_array_equal(out, torch.from_numpy(x).flip((0, 1))[:, ::2].numpy())
    _, out = sliced(x, (0, 1), (2, 3), (1, 3))
    np.testing.assert_array_equal(out, torch.from_numpy(x)[:, 1::3].numpy())


@pytest.mark.parametrize("mode,pad_mode", [(SampleMode.WRAP, "wrap"), (SampleMode.CLAMP, "edge"),
                                           (SampleMode.REFLECT, "reflect"), (SampleMode.FILL, "constant")])
@pytest.mark.parametrize("pads", [((1, 2), (0, 3)), ((4, 0), (6, 5)), ((0, 0), (2, 2))])
def test_out_of_bounds_modes_match_np_pad(mode, pad_mode, pads):
    x = np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32)
    shape = tuple(d + a + b for d, (a, b) in zip(x.shape, pads))
    kw = dict(constant_values=2.5) if pad_mode == "constant" else {}
    _, out = sliced(x, tuple(-a for a, _ in pads), shape, (1, 1), mode=mode, fill_value=2.5)
    np.testing.assert_array_equal(out, np.pad(x, pads, mode=pad_mode, **kw))


def test_reflect_repeats_a_single_element_and_stride_zero_repeats_start():
    x = np.array([[3.0, 1.0, 4.0]], np.float32)
    _, out = sliced(x, (-3, -1), (7, 5), (1, 1), mode=SampleMode.REFLECT)
    np.testing.assert_array_equal(out, np.tile([[1.0, 3.0, 1.0, 4.0, 1.0]], (7, 1)))
    _, out = sliced(x, (0, 2), (1, 4), (1, 0))
    np.testing.assert_array_equal(out, [[4.0] * 4])


@pytest.mark.parametrize("dtype,fill", [(np.int8, -128), (np.int64, 2 ** 40 + 1), (np.bool_, True),
                                        (np.int32, 7.0)])
def test_integer_and_bool_fill_values(dtype, fill):
    x = (np.arange(12).reshape(3, 4) % 5).astype(dtype)
    layer, out = sliced(x, (-1, 2), (5, 3), (1, 1), mode=SampleMode.FILL, fill_value=fill)
    ref = np.pad(x, ((1, 1), (0, 1)), constant_values=dtype(fill))[:, 2:]
    assert out.dtype == dtype and layer.fill_value == fill
    np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize("cast,torch_type", [(DataType.HALF, torch.float16), (DataType.BF16, torch.bfloat16)])
def test_half_and_bf16_round_the_fill_value(cast, torch_type):
    x = np.random.default_rng(5).standard_normal((2, 3)).astype(np.float32)
    _, out = sliced(x, (0, -1), (2, 5), (1, 1), cast=cast, mode=SampleMode.FILL, fill_value=0.1)
    ref = torch.nn.functional.pad(torch.from_numpy(x).to(torch_type), (1, 1), value=0.1).float().numpy()
    np.testing.assert_array_equal(out.astype(np.float32), ref)


def test_zero_size_output_and_fill_from_an_empty_dim():
    x = np.ones((2, 3), np.float32)
    layer, out = sliced(x, (0, 0), (2, 0), (1, 1))
    assert layer.output.shape == out.shape == (2, 0)
    net = Network("empty")
    t = net.add_input("x", DataType.FLOAT, (2, 3))
    empty = net.add_slice(t, (0, 0), (2, 0), (1, 1)).output
    filled = net.add_slice(empty, (0, 0), (2, 2), (1, 1), mode=SampleMode.FILL, fill_value=9, name="fill").output
    net.mark_output(filled)
    np.testing.assert_array_equal(execute(net, {"x": x})["fill"], np.full((2, 2), 9, np.float32))
    with pytest.raises(NetworkDefinitionError, match=r"wrap: dimension 1 of input 'slice' \(2, 0\) is empty: "
                                                     r"only SampleMode.FILL can read it, found WRAP"):
        net.add_slice(empty, 0, (2, 2), 1, mode=SampleMode.WRAP, name="wrap")


@pytest.mark.parametrize("args,kwargs,message", [
    (((0, 0), (1, 1, 1), (1, 1, 1)), {}, r"sl: start must have 3 values, found 2: \(0, 0\)"),
    (((0, 0, 0), (1, -1, 1), (1, 1, 1)), {}, r"sl: shape must be non-negative, found \(1, -1, 1\)"),
    (((0, 1, 0), (1, 3, 4), (1, 1, 1)), {}, r"sl: dimension 1: start 1, size 3, stride 1 reads index 3 outside "
                                            r"\[0, 3\) of input 'x' \(2, 3, 4\) \(use a SampleMode other"),
    (((0, 0, -1), (1, 1, 2), (1, 1, 1)), {}, r"sl: dimension 2: start -1, .* reads index -1 outside \[0, 4\)"),
    (((1, 0, 0), (3, 1, 1), (-1, 1, 1)), {}, r"sl: dimension 0: start 1, size 3, stride -1 reads index -1"),
    (((0, 0, 0), (2, 3, 4), (1, 1, 1)), dict(mode=SampleMode.FILL, fill_value=0.5),
     r"sl: fill_value 0.5 is not a INT32 value \(integers in \[-2147483648, 2147483647\]\)"),
    (((0, 0, 0), (2, 3, 4), (1, 1, 1)), dict(mode=SampleMode.FILL, fill_value=2 ** 31),
     r"sl: fill_value 2147483648 is not a INT32 value"),
])
def test_definition_errors_name_the_layer(args, kwargs, message):
    with pytest.raises(NetworkDefinitionError, match=message):
        sliced(np.zeros((2, 3, 4), np.int32), *args, **kwargs)


def test_bool_fill_and_uint8_errors():
    with pytest.raises(NetworkDefinitionError, match=r"sl: fill_value 2 for the BOOL input 'x' must be 0, 1"):
        sliced(np.zeros((2, 2), bool), 0, 3, 1, mode=SampleMode.FILL, fill_value=2)
    with pytest.raises(NetworkDefinitionError, match=r"sl: input 'x' is UINT8"):
        sliced(np.zeros((2, 2), np.uint8), 0, 2, 1)
    layer, _ = sliced(np.zeros((2, 2), np.int32), 0, 3, 1, mode=SampleMode.CLAMP, fill_value=0.5)
    assert layer.fill_value == 0.5  # not used outside FILL, so not checked
