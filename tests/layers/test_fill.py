"""add_fill (IFillLayer) and add_shape (IShapeLayer): oracles at several concrete shapes, and RTX builds with
profiles where the fill's shape is a runtime dimension."""
import numpy as np
import pytest

from netdsl import DataType, Network
from netdsl.graph.enums import FillOperation
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.reference import execute


def _fill_like(shape_dims, op, alpha, beta, dtype=DataType.FLOAT, seed=0):
    """x of runtime shape; a fill of x's (runtime) shape."""
    net = Network("fill")
    x = net.add_input("x", DataType.FLOAT, shape_dims)
    f = net.add_fill(x.shape, op, alpha, beta, dtype=dtype, seed=seed, name="f").output
    net.mark_output(f)
    net.mark_output(net.add_shape(x, name="s").output)
    return net


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (7, 2)])
def test_linspace_at_several_shapes(shape):
    net = _fill_like(("h", "w"), FillOperation.LINSPACE, 1.5, (10.0, -0.25))
    out = execute(net, {"x": np.zeros(shape, np.float32)})
    i, j = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    np.testing.assert_array_equal(out["f"], (1.5 + 10.0 * i - 0.25 * j).astype(np.float32))  # the TensorRT formula
    np.testing.assert_array_equal(out["s"], np.array(shape, np.int64))
    assert out["s"].dtype == np.int64


def test_integer_linspace_and_rank_one():
    net = Network("fill-int")
    f = net.add_fill((5,), "LINSPACE", 3, 2, dtype=DataType.INT32).output
    net.mark_output(f)
    out = execute(net, {})[f.name]
    assert out.dtype == np.int32 and out.tolist() == [3, 5, 7, 9, 11]


@pytest.mark.parametrize("op, alpha, beta, check", [
    ("RANDOM_UNIFORM", -2.0, 3.0, lambda v: v.min() >= -2.0 and v.max() <= 3.0 and abs(v.mean() - 0.5) < 0.05),
    ("RANDOM_NORMAL", 1.0, 0.5, lambda v: abs(v.mean() - 1.0) < 0.02 and abs(v.std() - 0.5) < 0.02),
])
def test_random_fills_have_the_distribution(op, alpha, beta, check):
    net = _fill_like(("n", 100), op, alpha, beta, seed=7)
    values = execute(net, {"x": np.zeros((200, 100), np.float32)})["f"]
    assert values.shape == (200, 100) and check(values)
    again = execute(net, {"x": np.zeros((200, 100), np.float32)})["f"]
    np.testing.assert_array_equal(values, again)  # the reference draws from Generator(PCG64(seed))


@pytest.mark.parametrize("kwargs, message", [
    (dict(shape=(), op="LINSPACE"), "shape must have rank >= 1"),
    (dict(shape=(2, 3), op="LINSPACE", beta=(1.0,)), "beta needs one step per output dimension (2)"),
    (dict(shape=(2,), op="LINSPACE", alpha=0.5, dtype=DataType.INT32), "INT32 LINSPACE needs integer alpha"),
    (dict(shape=(2,), op="RANDOM_UNIFORM", alpha=1.0, beta=0.0), "alpha (minimum) <= beta (maximum)"),
    (dict(shape=(2,), op="RANDOM_NORMAL", beta=-1.0), "beta (standard deviation) >= 0"),
    (dict(shape=(2,), op="RANDOM_NORMAL", dtype=DataType.INT32), "makes FLOAT, HALF, found dtype INT32"),
    (dict(shape=(2,), op="LINSPACE", alpha=float("nan")), "must be finite numbers"),
])
def test_bad_fills(kwargs, message):
    net = Network("bad")
    shape = kwargs.pop("shape")
    op = kwargs.pop("op")
    kwargs.setdefault("beta", 1.0)
    with pytest.raises(NetworkDefinitionError) as info:
        net.add_fill(shape, op, **kwargs)
    assert message in str(info.value)


def test_fill_and_shape_build_with_a_profile():
    from netdsl.tensorrt import build_engine, load_tensorrt
    net = _fill_like(("h", "w"), FillOperation.LINSPACE, 0.0, (1.0, 0.5))
    engine = build_engine(net, tensorrt=load_tensorrt("rtx"), targets=("sm86",), workspace_bytes=1 << 28,
                          profiles=[{"x": ((1, 1), (8, 8), (64, 64))}])
    assert len(engine) > 1000
