"""Runtime requirements of the ported layer families: what a layer needs of dims known only at run time is
recorded when it is added and then refused, in one line naming the layer and the dims, both at the
executor's feeds (ExecutionError) and at an optimization profile (ShapeError, before TensorRT is called);
what can be decided when the network is defined is refused at once (NetworkDefinitionError)."""
import numpy as np
import pytest

from netdsl import DataType, Network, ScaleMode
from netdsl.graph.enums import GatherMode, MatrixOperation, ScatterMode, TopKOperation
from netdsl.graph.errors import ExecutionError, NetworkDefinitionError
from netdsl.graph.profiles import OptimizationProfile, resolve_profiles
from netdsl.graph.shapes import ShapeError
from netdsl.reference import execute

F, I = DataType.FLOAT, DataType.INT32


def _const(net, value, dtype=np.float32):
    value = np.asarray(value, dtype)
    return net.add_constant(value.shape, value).output


def _gt0(net, x):
    return net.add_elementwise(x, _const(net, np.zeros((1,) * x.ndim)), "GREATER").output


# case -> (inputs {name: (dtype, dims)}, builder(net, *inputs) -> output, good shapes, bad shapes, words in the message)
CASES = {
    "gather_default_elementwise": (
        {"x": (F, ("n", 5, 3)), "i": (I, ("b", 2))},
        lambda net, x, i: net.add_gather(x, i, 1, num_elementwise_dims=1, name="L").output,
        {"x": (2, 5, 3), "i": (1, 2)}, {"x": (2, 5, 3), "i": (3, 2)}, ("elementwise dimension 0", "n = 2", "b = 3")),
    "gather_element": (
        {"x": (F, ("n", 5)), "i": (I, ("m", 5))},
        lambda net, x, i: net.add_gather(x, i, 1, mode=GatherMode.ELEMENT, name="L").output,
        {"x": (2, 5), "i": (1, 5)}, {"x": (1, 5), "i": (2, 5)}, ("dimension 0 of indices 'i' at most", "m <= n")),
    "gather_nd_batch": (
        {"x": (F, ("n", 4)), "i": (I, ("m", 1))},
        lambda net, x, i: net.add_gather(x, i, 0, mode=GatherMode.ND, num_elementwise_dims=1, name="L").output,
        {"x": (2, 4), "i": (2, 1)}, {"x": (2, 4), "i": (3, 1)}, ("batch dim 0 of indices 'i' and data 'x'", "m == n")),
    "scatter_element": (
        {"x": (F, ("n", 4)), "i": (I, ("m", 4)), "u": (F, ("k", 4))},
        lambda net, x, i, u: net.add_scatter(x, i, u, ScatterMode.ELEMENT, axis=1, name="L").output,
        {"x": (2, 4), "i": (1, 4), "u": (1, 4)}, {"x": (2, 4), "i": (1, 4), "u": (2, 4)},
        ("dimension 0 of updates 'u' and indices 'i'", "k = 2", "m = 1")),
    "select": (
        {"x": (F, ("n", 3)), "y": (F, ("m", 3))},
        lambda net, x, y: net.add_select(_gt0(net, x), x, y, name="L").output,
        {"x": (2, 3), "y": (1, 3)}, {"x": (2, 3), "y": (3, 3)}, ("broadcast (equal, or one is 1)", "m = 3")),
    "squeeze": (
        {"x": (F, ("n", "w"))}, lambda net, x: net.add_squeeze(x, (1,), name="L").output,
        {"x": (2, 1)}, {"x": (2, 2)}, ("squeezed dimension 1 of input 'x' (n, w) to be 1", "w = 2")),
    "topk": (
        {"x": (F, ("n", "w"))}, lambda net, x: net.add_topk(x, TopKOperation.MAX, 3, (1,), name="L").get_output(0),
        {"x": (2, 3)}, {"x": (2, 2)}, ("k = 3 at most dimension 1 of input 'x' (n, w)", "w = 2")),
    "matmul_k": (
        {"x": (F, ("n", "k"))},
        lambda net, x: net.add_matrix_multiply(x, MatrixOperation.NONE, _const(net, np.ones((3, 4))),
                                               MatrixOperation.NONE, name="L").output,
        {"x": (2, 3)}, {"x": (2, 4)}, ("contracted dims K of op0('x' (n, k), NONE)", "k = 4")),
    "matmul_batch": (
        {"x": (F, ("b", 2, 3)), "y": (F, ("c", 3, 2))},
        lambda net, x, y: net.add_matrix_multiply(x, MatrixOperation.NONE, y, MatrixOperation.NONE, name="L").output,
        {"x": (2, 2, 3), "y": (1, 3, 2)}, {"x": (2, 2, 3), "y": (3, 3, 2)}, ("batch dim 0 of 'x' and 'y'", "c = 3")),
    "einsum": (
        {"x": (F, ("a", 3)), "y": (F, ("b", 3))},
        lambda net, x, y: net.add_einsum([x, y], "ij,ij->ij", name="L").output,
        {"x": (2, 3), "y": (2, 3)}, {"x": (2, 3), "y": (3, 3)}, ("einsum letter 'i'", "a = 2", "b = 3")),
    "one_hot": (
        {"v": (F, ("m",))},
        lambda net, v: net.add_one_hot(_const(net, [0, 2], np.int32), v, 3, -1, name="L").output,
        {"v": (2,)}, {"v": (3,)}, ("the length of values 'v' ([off_value, on_value]): m == 2", "m = 3")),
    "layer_norm": (
        {"x": (F, ("n", "c"))}, lambda net, x: net.add_layer_norm(x, 4, np.ones(4, np.float32), np.zeros(4, np.float32),
                                                 name="L").output,
        {"x": (2, 4)}, {"x": (2, 5)}, ("dimension 1 of input 'x' and of scale (1, 4)", "c = 5")),
    "normalization_coefficient": (
        {"x": (F, ("n", "c", "w"))},
        lambda net, x: net.add_normalization(x, np.ones((1, 3, 1), np.float32), np.zeros((1, 3, 1), np.float32),
                                             (2,), name="L").output,
        {"x": (2, 3, 4)}, {"x": (2, 2, 4)}, ("dimension 1 of input 'x' and of scale (1, 3, 1)", "c = 2")),
    "parametric_relu_slopes": (
        {"x": (F, ("n", 3)), "s": (F, ("m", 3))},
        lambda net, x, s: net.add_parametric_relu(x, s, name="L").output,
        {"x": (2, 3), "s": (1, 3)}, {"x": (2, 3), "s": (3, 3)},
        ("dimension 0 of slopes tensor 's' (m) broadcasts to input 'x' (n)", "m = 3")),
    "scale_elementwise": (
        {"x": (F, ("n", 3, "h", "w"))},
        lambda net, x: net.add_scale(x, ScaleMode.ELEMENTWISE, scale=np.ones((3, 2, 2), np.float32), name="L").output,
        {"x": (1, 3, 2, 2)}, {"x": (1, 3, 3, 2)}, ("dimension 2 of input 'x' and of the ELEMENTWISE scale", "h = 3")),
    "nms": (
        {"boxes": (F, ("b", "n", 4)), "scores": (F, ("b", "m", 2))},
        lambda net, b, s: net.add_nms(b, s, 2, name="L").get_output(0),
        {"boxes": (1, 3, 4), "scores": (1, 3, 2)}, {"boxes": (1, 3, 4), "scores": (1, 4, 2)},
        ("the box count (dim 1) of boxes 'boxes' and scores 'scores'", "m = 4", "n = 3")),
}


def _net(case):
    inputs, builder, _, _, _ = CASES[case]
    net = Network(case)
    tensors = [net.add_input(name, dtype, dims) for name, (dtype, dims) in inputs.items()]
    net.mark_output(builder(net, *tensors))
    return net


def _feeds(net, shapes):
    return {t.name: np.zeros(shapes[t.name], t.dtype.to_numpy()) for t in net.inputs}


@pytest.mark.parametrize("case", sorted(CASES))
def test_requirement_refused_at_the_feeds(case):
    net = _net(case)
    _, _, good, bad, words = CASES[case]
    execute(net, _feeds(net, good))  # the good shapes run
    with pytest.raises(ExecutionError) as info:
        execute(net, _feeds(net, bad))
    message = str(info.value)
    assert message.startswith("L: needs ") and "at the feed " in message and "\n" not in message, message
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("case", sorted(CASES))
def test_requirement_refused_at_a_profile(case):
    net = _net(case)
    _, _, good, bad, words = CASES[case]
    resolve_profiles(net, [OptimizationProfile.fixed(good)])
    with pytest.raises(ShapeError) as info:
        resolve_profiles(net, [OptimizationProfile.fixed(bad)])
    message = str(info.value)
    assert message.startswith("L: needs ") and "profile 0 min" in message and "\n" not in message, message
    for word in words:
        assert word in message, (word, message)


def _x(net, dims, dtype=F):
    return net.add_input("x", dtype, dims)


@pytest.mark.parametrize("build, message", [
    (lambda n: n.add_fully_connected(_x(n, ("n", 3, "h", "w")), 4, name="L"),
     "L: the last three dims of input 'x' (n, 3, h, w) are flattened into the kernel's columns"),
    (lambda n: n.add_gather(_x(n, (4, 3)), n.add_input("i", I, (2, "k")), 0, mode=GatherMode.ND, name="L"),
     "L: the last dim of indices 'i' (2, k) (the index-tuple length) must be known"),
    (lambda n: n.add_normalization(_x(n, ("n", 3, "w")), None, None, (2,), name="L"),
     "L: the default scale shape (1, 1, w) (the input's dims on axes (2,)) holds runtime dims"),
    (lambda n: n.add_group_norm(_x(n, ("n", "c", 4)), 2, name="L"),
     "L: the channel dim of input 'x' (n, c, 4) must be known when the network is defined"),
    (lambda n: n.add_scale(_x(n, ("n", "c", 2, 2)), ScaleMode.CHANNEL, shift=True, name="L"),
     "L: CHANNEL coefficients (C,) need the channel dim 1 of input 'x' (n, c, 2, 2) known"),
    (lambda n: n.add_scale(_x(n, (1, 3, "h", 2)), ScaleMode.ELEMENTWISE, scale=True, name="L"),
     "L: declared ELEMENTWISE scale would have shape (3, h, 2)"),
    (lambda n: n.add_batch_norm(_x(n, ("n", "c", 2, 2)), name="L"),
     "L: batch norm needs the channel dim 1 of input 'x' (n, c, 2, 2) known"),
    (lambda n: n.add_parametric_relu(_x(n, ("n", "c", 2)), name="L"),
     "L: per-channel slopes need the channel dim of input 'x' (n, c, 2) known"),
    (lambda n: n.add_topk(_x(n, ("n", "w")), TopKOperation.MAX, 4000, (1,), name="L"),
     "L: k must be in [1, 3840]"),
    (lambda n: n.add_squeeze(_x(n, ("n", 2)), (1,), name="L"), "L: cannot squeeze dimension(s) [1] of input 'x' (n, 2)"),
    (lambda n: n.add_matrix_multiply(_x(n, ("n", 3)), "NONE", n.add_input("y", F, (4, 2)), "NONE", name="L"),
     "L: contracted dims differ"),
    (lambda n: n.add_nms(_x(n, ("b", "n", 4)), n.add_input("s", F, ("b", "n", 2)), -1, name="L"),
     "L: max_output_boxes_per_class must be an int >= 0, found -1"),
])
def test_decided_at_definition(build, message):
    with pytest.raises(NetworkDefinitionError) as info:
        build(Network("d"))
    assert str(info.value).startswith(message) and "\n" not in str(info.value), str(info.value)
