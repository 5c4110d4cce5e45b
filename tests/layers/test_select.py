"""add_select (ISelectLayer) against torch.where."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.graph.dtypes import DataType
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute


def select(cond, then_value, else_value, half=False):
    net = Network("select")
    feeds = {"c": cond, "t": then_value, "e": else_value}
    c, t, e = (net.add_input(n, DataType.from_numpy(v.dtype), v.shape) for n, v in feeds.items())
    if half:
        t, e = net.add_cast(t, DataType.HALF).output, net.add_cast(e, DataType.HALF).output
    layer = net.add_select(c, t, e)
    net.mark_output(layer.output)
    return layer, execute(net, feeds)[layer.output.name]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 4), max_size=4), st.data())
def test_matches_torch_where_with_broadcasting(shape, draw):
    shapes = [tuple(d if draw.draw(st.booleans()) else 1 for d in shape) for _ in range(3)]
    kind = draw.draw(st.sampled_from(["float32", "half", "int32", "int64", "bool"]))
    rng = np.random.default_rng(10)
    cond = np.asarray(rng.random(shapes[0]) < 0.5)
    make = {"bool": lambda s: np.asarray(rng.random(s) < 0.5)}.get(
        kind, lambda s: np.asarray(rng.standard_normal(s) * 10).astype(np.float32 if kind == "half" else kind))
    then_value, else_value = make(shapes[1]), make(shapes[2])
    layer, out = select(cond, then_value, else_value, half=kind == "half")
    cast = (lambda a: a.astype(np.float16)) if kind == "half" else (lambda a: a)
    ref = torch.where(torch.from_numpy(cond), torch.from_numpy(cast(then_value)), torch.from_numpy(cast(else_value)))
    assert layer.output.shape == tuple(ref.shape) and out.dtype == cast(then_value).dtype
    np.testing.assert_array_equal(out, ref.numpy())


@pytest.mark.parametrize("shapes,dtypes,needle", [
    (((2, 3), (2, 3), (2, 3)), (DataType.INT32, DataType.FLOAT, DataType.FLOAT), "condition 'c' must be BOOL"),
    (((2, 3), (2, 3), (2, 3)), (DataType.BOOL, DataType.FLOAT, DataType.HALF), "else_input 'e' is HALF; add a cast"),
    (((2, 3), (2, 3), (2, 3)), (DataType.BOOL, DataType.INT8, DataType.INT8), "then_input 't' must be FLOAT"),
    (((2, 3), (3,), (2, 3)), (DataType.BOOL, DataType.FLOAT, DataType.FLOAT), "equal rank"),
    (((2, 3), (2, 1), (4, 3)), (DataType.BOOL, DataType.FLOAT, DataType.FLOAT), "dimension 0 does not broadcast"),
])
def test_invalid_select_names_the_layer(shapes, dtypes, needle):
    net = Network("bad")
    c, t, e = (net.add_input(n, d, s) for n, d, s in zip("cte", dtypes, shapes))
    with net.scope("mask"), pytest.raises(NetworkDefinitionError, match="^mask.where: ") as err:
        net.add_select(c, t, e, name="where")
    assert needle in str(err.value)
