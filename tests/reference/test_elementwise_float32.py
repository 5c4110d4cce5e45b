"""SUM/SUB/PROD/DIV/MAX/MIN of two float32 tensors are computed in float32 (netdsl.reference.elementwise):
the same bits as the float64 computation rounded to float32, for ordinary, huge, tiny and subnormal values
and for every output dtype the executor rounds to."""
import numpy as np
import pytest

from netdsl.graph.dtypes import DataType
from netdsl.graph.enums import ElementWiseOperation
from netdsl.graph.network import Network
from netdsl.reference import execute


def values(rng, n):
    parts = [rng.standard_normal(n), rng.standard_normal(n) * 1e30, rng.standard_normal(n) * 1e-30,
             rng.standard_normal(n) * 1e-40, np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, 3.0])]
    return np.concatenate(parts).astype(np.float32)


@pytest.mark.parametrize("op", ["SUM", "SUB", "PROD", "DIV", "MAX", "MIN"])
@pytest.mark.parametrize("dtype", [DataType.FLOAT, DataType.HALF, DataType.BF16])
def test_float32_result_equals_float64_result_rounded(op, dtype):
    rng = np.random.default_rng(0)
    a = values(rng, 2000)
    b = rng.permutation(values(rng, 2000))
    net = Network("ew")
    x = net.add_input("a", DataType.FLOAT, a.shape)
    y = net.add_input("b", DataType.FLOAT, b.shape)
    if dtype is not DataType.FLOAT:
        x, y = net.add_cast(x, dtype).output, net.add_cast(y, dtype).output
    layer = net.add_elementwise(x, y, ElementWiseOperation[op])
    net.mark_output(layer.output)
    got = execute(net, {"a": a, "b": b}, outputs="all")
    ins = [got[t.name].astype(np.float64) for t in layer.inputs]
    with np.errstate(all="ignore"):
        exact = {"SUM": np.add, "SUB": np.subtract, "PROD": np.multiply, "DIV": np.divide,
                 "MAX": np.maximum, "MIN": np.minimum}[op](*ins)
    from netdsl.reference.executor import to_dtype
    expected = to_dtype(exact, dtype)
    out = got[layer.output.name]
    assert out.dtype == expected.dtype
    nan = np.isnan(expected)
    assert np.array_equal(np.isnan(out), nan)
    assert np.array_equal(out[~nan].view(np.uint8), expected[~nan].view(np.uint8))  # bits: -0.0 is not 0.0
