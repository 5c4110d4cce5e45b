"""Shape tensors: add_shape, shape arithmetic (elementwise, slice, concatenation), and layers taking their
parameters from shape tensors (shuffle reshape dims, slice start/size/stride, resize output shape).

Oracles: NumPy's reshape / slicing and the same layers with static parameters; TensorRT-RTX builds
with profiles prove the lowering (each parameter becomes the layer's tensor input)."""
import numpy as np
import pytest

from netdsl import DataType, ElementWiseOperation, Network
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.shapes import dim
from netdsl.reference import execute


def _shape_arith_net():
    """x (n, c, h, w) reshaped to (n, c, h*w) with the dims computed in the graph from add_shape(x)."""
    net = Network("shape-arith")
    x = net.add_input("x", DataType.FLOAT, ("n", 6, "h", "w"))
    s = net.add_shape(x, name="s").output
    head = net.add_slice(s, (0,), (2,), (1,), name="nc").output
    h = net.add_slice(s, (2,), (1,), (1,), name="h").output
    w = net.add_slice(s, (3,), (1,), (1,), name="w").output
    hw = net.add_elementwise(h, w, ElementWiseOperation.PROD, name="hw").output
    dims = net.add_concatenation([head, hw], axis=0, name="dims").output
    y = net.add_shuffle(x, reshape_dims=dims, name="flat").output
    net.mark_output(y)
    return net


def test_shape_values_are_symbolic():
    net = _shape_arith_net()
    n, h, w = dim("n"), dim("h"), dim("w")
    assert net.tensor("s").shape_value == (n, 6, h, w)
    assert net.tensor("hw").shape_value == (h * w,)
    assert net.tensor("dims").shape_value == (n, 6, h * w)
    assert net.tensor("flat").shape == (n, 6, h * w)


@pytest.mark.parametrize("shape", [(1, 6, 2, 3), (3, 6, 5, 1)])
def test_reshape_from_shape_arithmetic_matches_numpy(shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    out = execute(_shape_arith_net(), {"x": x})["flat"]
    np.testing.assert_array_equal(out, x.reshape(shape[0], shape[1], -1))


def test_reshape_dims_known_only_at_run_time():
    """A shape tensor fed as a network input: the output dims are runtime dims learned when the layer runs,
    with TensorRT's 0 (copy) and -1 (infer) rules applied to the fed values."""
    net = Network("fed-dims")
    x = net.add_input("x", DataType.FLOAT, (2, 3, 4))
    dims = net.add_input("dims", DataType.INT64, (2,))
    y = net.add_shuffle(x, reshape_dims=dims, name="y").output
    net.mark_output(y)
    assert str(y.shape[0]) == "y.reshape_dims[0]"
    x_value = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    for fed, expected in (((6, 4), (6, 4)), ((0, -1), (2, 12)), ((-1, 3), (8, 3))):
        out = execute(net, {"x": x_value, "dims": np.array(fed, np.int64)})["y"]
        np.testing.assert_array_equal(out, x_value.reshape(expected))


def test_slice_parameters_from_shape_tensors():
    """Crop x to the spatial size of y, centred: start = (x - y) // 2 computed in the graph."""
    net = Network("crop")
    x = net.add_input("x", DataType.FLOAT, (1, 2, "H", "W"))
    y = net.add_input("y", DataType.FLOAT, (1, 2, "h", "w"))
    sx, sy = net.add_shape(x).output, net.add_shape(y).output
    diff = net.add_elementwise(sx, sy, ElementWiseOperation.SUB).output
    two = net.add_elementwise(net.add_slice(sx, (1,), (4,), (0,)).output,  # (2, 2, 2, 2): the channel dim C = 2
                              net.add_slice(sx, (1,), (4,), (0,)).output, ElementWiseOperation.FLOOR_DIV).output
    start = net.add_elementwise(diff, net.add_elementwise(two, two, ElementWiseOperation.SUM).output,
                                ElementWiseOperation.FLOOR_DIV, name="start").output   # (x - y) // 2 per dim
    crop = net.add_slice(x, start, sy, (1, 1, 1, 1), name="crop").output
    net.mark_output(crop)
    assert crop.shape == (1, 2, dim("h"), dim("w"))
    xv = np.random.default_rng(1).standard_normal((1, 2, 9, 8)).astype(np.float32)
    yv = np.zeros((1, 2, 5, 4), np.float32)
    out = execute(net, {"x": xv, "y": yv})["crop"]
    np.testing.assert_array_equal(out, xv[:, :, 2:7, 2:6])


def test_resize_to_the_shape_of_another_tensor():
    net = Network("resize-like")
    x = net.add_input("x", DataType.FLOAT, (1, 1, "h", "w"))
    y = net.add_input("y", DataType.FLOAT, (1, 1, "H", "W"))
    up = net.add_resize(x, shape=net.add_shape(y).output, name="up").output
    net.mark_output(up)
    assert up.shape == (1, 1, dim("H"), dim("W"))
    xv = np.arange(6, dtype=np.float32).reshape(1, 1, 2, 3)
    out = execute(net, {"x": xv, "y": np.zeros((1, 1, 4, 6), np.float32)})["up"]
    np.testing.assert_array_equal(out, xv.repeat(2, axis=2).repeat(2, axis=3))  # NEAREST, ASYMMETRIC, FLOOR


def test_shape_tensor_argument_checks():
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, (2, 3))
    f = net.add_input("f", DataType.FLOAT, (2,))
    with pytest.raises(NetworkDefinitionError, match="reshape_dims tensor 'f' must be a 1-D INT32 or INT64 shape"):
        net.add_shuffle(x, reshape_dims=f)
    s3 = net.add_input("s3", DataType.INT32, (3,))
    with pytest.raises(NetworkDefinitionError, match="start tensor 's3' must have 2 values"):
        net.add_slice(x, s3, (1, 1), (1, 1))


def test_builds_with_profiles(rtx_build):
    rtx_build(_shape_arith_net(), [{"x": ((1, 6, 1, 1), (1, 6, 8, 8), (4, 6, 32, 32))}])


def test_slice_and_resize_from_shape_tensors_build(rtx_build):
    net = Network("both")
    x = net.add_input("x", DataType.FLOAT, (1, 1, "h", "w"))
    y = net.add_input("y", DataType.FLOAT, (1, 1, "H", "W"))
    up = net.add_resize(x, shape=net.add_shape(y).output).output
    back = net.add_slice(up, (0, 0, 0, 0), net.add_shape(x).output, (1, 1, 1, 1)).output
    net.mark_output(back)
    rtx_build(net, [{"x": ((1, 1, 2, 2), (1, 1, 4, 4), (1, 1, 8, 8)),
                     "y": ((1, 1, 8, 8), (1, 1, 16, 16), (1, 1, 32, 32))}])


@pytest.fixture
def rtx_build():
    from netdsl.tensorrt import build_engine, load_tensorrt

    def _build(net, profiles):
        engine = build_engine(net, tensorrt=load_tensorrt("rtx"), targets=("sm86",), workspace_bytes=1 << 28,
                              profiles=profiles)
        assert len(engine) > 1000
    return _build
