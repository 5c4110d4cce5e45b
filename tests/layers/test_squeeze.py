"""add_squeeze / add_unsqueeze (ISqueezeLayer / IUnsqueezeLayer) against torch.squeeze and ONNX Unsqueeze."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper
from onnx.reference import ReferenceEvaluator

from netdsl.graph.dtypes import DataType
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute


def run(x, method, axes, half=False):
    net = Network("squeeze")
    src = net.add_input("x", DataType.from_numpy(x.dtype), x.shape)
    if half:
        src = net.add_cast(src, DataType.HALF).output
    layer = getattr(net, method)(src, axes)
    net.mark_output(layer.output)
    return layer, execute(net, {"x": x})[layer.output.name]


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=1, max_size=5), st.data(), st.booleans())
def test_squeeze_matches_torch(shape, draw, half):
    ones = [i for i, d in enumerate(shape) if d == 1]
    if not ones:
        shape, ones = [1] + shape, [0]
    picked = draw.draw(st.lists(st.sampled_from(ones), min_size=1, unique=True))
    axes = [a - len(shape) if draw.draw(st.booleans()) else a for a in picked]  # some negative
    x = np.random.default_rng(11).standard_normal(shape).astype(np.float32)
    layer, out = run(x, "add_squeeze", axes, half=half)
    ref = torch.from_numpy(x.astype(np.float16) if half else x).squeeze(tuple(axes)).numpy()
    assert layer.output.shape == ref.shape
    np.testing.assert_array_equal(out, ref)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(1, 3), max_size=3), st.data())
def test_unsqueeze_matches_onnx(shape, draw):
    rank = len(shape) + draw.draw(st.integers(1, 3))
    axes = draw.draw(st.lists(st.integers(-rank, rank - 1), min_size=rank - len(shape), max_size=rank - len(shape),
                              unique_by=lambda a: a % rank))
    x = np.asarray(np.random.default_rng(12).integers(-9, 9, shape), dtype=np.int32)
    layer, out = run(x, "add_unsqueeze", axes)
    node = helper.make_node("Unsqueeze", ["x", "axes"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_value_info(n, helper.TypeProto()) for n in ("x", "axes")],
                              [helper.make_value_info("y", helper.TypeProto())])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    ref = ReferenceEvaluator(model).run(None, {"x": x, "axes": np.array(axes, np.int64)})[0]
    assert layer.output.shape == ref.shape and out.dtype == np.int32
    np.testing.assert_array_equal(out, ref)


def test_round_trip_of_a_bool_scalar():
    net = Network("scalar")
    x = net.add_input("x", DataType.BOOL, ())
    up = net.add_unsqueeze(x, [0, -1])
    down = net.add_squeeze(up.output, (0, 1))
    net.mark_output(down.output)
    assert up.output.shape == (1, 1) and down.output.shape == ()
    assert execute(net, {"x": np.array(True)})[down.output.name] == np.array(True)


@pytest.mark.parametrize("method,axes,needle", [
    ("add_squeeze", [1], "cannot squeeze dimension(s) [1]"),
    ("add_squeeze", [3], "axes index 3 is out of range for rank 3"),
    ("add_squeeze", [0, -3], "repeats an axis"),
    ("add_squeeze", [], "at least one axis"),
    ("add_squeeze", 0, "axes must be a tuple or list of axis indices (TensorRT's axes tensor), such as (1,), "
                       "found int 0"),
    ("add_unsqueeze", [4], "axes (positions in the output) index 4 is out of range for rank 4"),
    ("add_unsqueeze", [0, -5], "repeats an axis"),
    ("add_unsqueeze", 1, "axes (positions in the output) must be a tuple or list of axis indices"),
])
def test_invalid_axes_name_the_layer(method, axes, needle):
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 1))
    with pytest.raises(NetworkDefinitionError, match="^reshape: ") as err:
        getattr(net, method)(x, axes, name="reshape")
    assert needle in str(err.value)
