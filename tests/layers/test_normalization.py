"""add_normalization and the layer/instance/group-norm helpers vs torch.nn.functional."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from netdsl.graph.dtypes import DataType
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute


def make(shape, build, dtype=DataType.FLOAT, in_dtype=DataType.FLOAT):
    """A network ``x -> [cast] -> build(net, x)`` whose output is marked."""
    net = Network("norm")
    x = net.add_input("x", in_dtype, shape)
    if dtype is not in_dtype:
        x = net.add_cast(x, dtype).output
    layer = build(net, x)
    net.mark_output(layer.output)
    return net, layer


def bind_random(net, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {n: rng.uniform(0.5, 1.5, w.shape).astype(np.float32) for n, w in net.weights().items()}
    net.bind_weights(arrays)
    return {n: torch.from_numpy(a).double() for n, a in arrays.items()}


def run(net, x):
    return execute(net, {"x": x})[net.outputs[0].name]


FP32_TOL = dict(rtol=1e-5, atol=1e-5)


def sample(shape, seed=1):
    return (np.random.default_rng(seed).standard_normal(shape) * 3 + 1).astype(np.float32)


@pytest.mark.parametrize("shape, normalized", [((2, 5, 8), 8), ((2, 3, 4, 4), (4, 4)), ((6,), (6,)),
                                               ((3, 2, 5), (2, 5))])
def test_layer_norm_matches_torch(shape, normalized):
    net, layer = make(shape, lambda n, x: n.add_layer_norm(x, normalized, epsilon=1e-3, name="ln"))
    norm_shape = (normalized,) if isinstance(normalized, int) else normalized
    assert {n: w.shape for n, w in net.weights().items()} == {"ln.scale": norm_shape, "ln.bias": norm_shape}
    axes = tuple(range(len(shape) - len(norm_shape), len(shape)))
    assert layer.axis_indices == axes and layer.axes == sum(1 << a for a in axes) and layer.num_groups == 1
    w = bind_random(net)
    x = sample(shape)
    want = F.layer_norm(torch.from_numpy(x).double(), norm_shape, w["ln.scale"], w["ln.bias"], eps=1e-3)
    np.testing.assert_allclose(run(net, x), want.numpy(), rtol=1e-5, atol=1e-5)


def test_layer_norm_without_affine_fp16():
    net, _ = make((4, 16), lambda n, x: n.add_layer_norm(x, 16, False, False), DataType.HALF)
    assert net.weights() == {}
    x = sample((4, 16))
    got = run(net, x)
    assert got.dtype == np.float16
    want = F.layer_norm(torch.from_numpy(x.astype(np.float16)).double(), (16,), eps=1e-5).numpy()
    np.testing.assert_allclose(got, want, rtol=3e-3, atol=3e-3)


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (1, 4, 6), (2, 2, 2, 3, 3)])
@pytest.mark.parametrize("half", [False, True])
def test_instance_norm_matches_torch(shape, half):
    dtype = DataType.HALF if half else DataType.FLOAT
    net, layer = make(shape, lambda n, x: n.add_instance_norm(x, name="in"), dtype)
    assert net.weights()["in.scale"].shape == (shape[1],) and layer.axis_indices == tuple(range(2, len(shape)))
    w = bind_random(net)
    x = sample(shape)
    xin = x.astype(np.float16) if half else x
    want = F.instance_norm(torch.from_numpy(xin).double(), weight=w["in.scale"], bias=w["in.bias"], eps=1e-5)
    got = run(net, x)
    assert got.dtype == dtype.to_numpy()
    np.testing.assert_allclose(got, want.numpy(), **(dict(rtol=3e-3, atol=5e-3) if half else FP32_TOL))


@pytest.mark.parametrize("shape, groups", [((2, 6, 4, 4), 3), ((2, 6, 4, 4), 1), ((2, 6, 4, 4), 6), ((3, 8, 5), 2),
                                          ((1, 4, 2, 3, 2), 2)])
def test_group_norm_matches_torch(shape, groups):
    net, layer = make(shape, lambda n, x: n.add_group_norm(x, groups, epsilon=1e-4, name="gn"))
    assert layer.num_groups == groups and net.weights()["gn.bias"].shape == (shape[1],)
    assert layer.axis_indices == tuple(range(1 if groups == 1 else 2, len(shape)))
    assert layer.weights["scale"].shape == (1, shape[1]) + (1,) * (len(shape) - 2)
    w = bind_random(net)
    x = sample(shape)
    want = F.group_norm(torch.from_numpy(x).double(), groups, w["gn.scale"], w["gn.bias"], eps=1e-4)
    np.testing.assert_allclose(run(net, x), want.numpy(), rtol=1e-5, atol=1e-5)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 2), groups=st.integers(1, 3), per_group=st.integers(1, 3),
       spatial=st.lists(st.integers(1, 4), min_size=1, max_size=2), eps=st.sampled_from([1e-5, 1e-2, 0.5]),
       half=st.booleans())
def test_group_norm_random(n, groups, per_group, spatial, eps, half):
    shape = (n, groups * per_group, *spatial)
    assume(per_group * int(np.prod(spatial)) > 1)  # torch.group_norm rejects one-element groups
    scale = np.linspace(0.5, 2.0, shape[1]).astype(np.float32)
    bias = np.linspace(-1.0, 1.0, shape[1]).astype(np.float32)
    dtype = DataType.HALF if half else DataType.FLOAT
    net, _ = make(shape, lambda nt, x: nt.add_group_norm(x, groups, scale, bias, epsilon=eps), dtype)
    x = sample(shape, seed=len(spatial))
    xin = x.astype(np.float16) if half else x
    want = F.group_norm(torch.from_numpy(xin).double(), groups, torch.from_numpy(scale).double(),
                        torch.from_numpy(bias).double(), eps=eps).numpy()
    np.testing.assert_allclose(run(net, x), want, **(dict(rtol=3e-3, atol=6e-3) if half else FP32_TOL))


def test_generic_normalization_formula():
    """add_normalization over axis 1 of NCHW (TensorRT's bitmask 1 << 1) with per-channel scale: the TensorRT
    formula written in torch."""
    shape = (2, 4, 3, 3)
    scale = np.arange(1, 5, dtype=np.float32).reshape(1, 4, 1, 1)
    bias = np.full((1, 4, 1, 1), 0.5, np.float32)
    net, layer = make(shape, lambda n, x: n.add_normalization(x, scale, bias, 1 << 1, epsilon=1e-2, name="nrm"))
    assert set(net.weights()) == {"nrm.scale", "nrm.bias"} and net.unbound_weights() == []
    x = sample(shape)
    t = torch.from_numpy(x).double()
    mean = t.mean(dim=1, keepdim=True)
    var = ((t - mean) ** 2).mean(dim=1, keepdim=True)
    want = (t - mean) / torch.sqrt(var + 1e-2) * torch.from_numpy(scale).double() + 0.5
    np.testing.assert_allclose(run(net, x), want.numpy(), rtol=1e-5, atol=1e-5)


def test_generic_normalization_default_weights_shape():
    net, layer = make((2, 4, 3, 5), lambda n, x: n.add_normalization(x, None, None, (-2, -1), name="nrm"))
    assert layer.axis_indices == (2, 3) and layer.axes == 0b1100
    assert {n: w.shape for n, w in net.weights().items()} == {"nrm.scale": (1, 1, 3, 5), "nrm.bias": (1, 1, 3, 5)}
    net, layer = make((2, 4, 3), lambda n, x: n.add_normalization(x, True, False, (2,), num_groups=2, name="g"))
    assert {n: w.shape for n, w in net.weights().items()} == {"g.scale": (1, 4, 1)}
    np.testing.assert_array_equal(layer.weights["bias"].value, np.zeros((1, 4, 1), np.float32))


def test_constant_input_gives_bias():
    """Zero variance: (x - mean) is 0, so the output is the bias (epsilon keeps it finite)."""
    net, _ = make((1, 2, 3, 3), lambda n, x: n.add_instance_norm(x, np.ones(2, np.float32),
                                                                   np.array([0.25, -2.0], np.float32)))
    got = run(net, np.full((1, 2, 3, 3), 7.0, np.float32))
    np.testing.assert_array_equal(got, np.broadcast_to(np.array([0.25, -2.0], np.float32)[None, :, None, None],
                                                       (1, 2, 3, 3)))


@pytest.mark.parametrize("shape, build, message", [
    ((2, 6, 4), lambda n, x: n.add_group_norm(x, 4, name="bad"), r"num_groups 4 must divide the 6 channels"),
    ((2, 6, 4, 4), lambda n, x: n.add_normalization(x, None, None, (1, 2, 3), num_groups=2, name="bad"),
     r"num_groups > 1 TensorRT needs axes \(2, 3\) \(bitmask 0b1100: all dims after C\), "
     r"found \(1, 2, 3\) \(bitmask 0b1110\)"),
    ((2, 6, 4, 4), lambda n, x: n.add_normalization(x, np.ones((1, 2, 1, 1)), np.zeros((1, 2, 1, 1)), (2, 3),
                                                    num_groups=2, name="bad"),
     r"num_groups > 1 scale must be per channel, shape \(1, 6, 1, 1\), found \(1, 2, 1, 1\)"),
    ((2, 6, 4), lambda n, x: n.add_normalization(x, np.ones((6,)), np.zeros((1, 6, 1)), 1 << 2, name="bad"),
     r"scale must have the input's rank and broadcast to it.*\(2, 6, 4\), scale \(6,\)"),
    ((2, 6, 4), lambda n, x: n.add_normalization(x, np.ones((1, 5, 1)), np.zeros((1, 6, 1)), (2,), name="bad"),
     r"scale must have the input's rank"),
    ((2, 6, 4), lambda n, x: n.add_layer_norm(x, (6,), name="bad"), r"normalized_shape \(6,\) must be the trailing"),
    ((2, 6), lambda n, x: n.add_instance_norm(x, name="bad"), r"must be \(N, C, D1, ...\) of rank >= 3"),
    ((2, 6, 4), lambda n, x: n.add_instance_norm(x, np.ones(4, np.float32), name="bad"),
     r"scale weights must have shape \(6,\), found \(4,\)"),
    ((2, 6, 4), lambda n, x: n.add_normalization(x, None, None, (), name="bad"), r"axes must name at least one"),
    ((2, 6, 4), lambda n, x: n.add_normalization(x, None, None, (3,), name="bad"), r"axes index 3 is out of range"),
    ((2, 6, 4), lambda n, x: n.add_normalization(x, None, None, 1 << 3, name="bad"),
     r"axes bitmask 8 \(0b1000\) sets bit\(s\) \[3\], past the last axis of input 'x' \(2, 6, 4\)"),
    ((2, 6, 4), lambda n, x: n.add_group_norm(x, 0, name="bad"), r"num_groups must be >= 1"),
    ((2, 6, 4), lambda n, x: n.add_layer_norm(x, 4, epsilon=-1.0, name="bad"), r"epsilon must be >= 0"),
])
def test_invalid_use_raises_naming_layer(shape, build, message):
    with pytest.raises(NetworkDefinitionError, match=rf"^bad: .*{message}"):
        make(shape, build)


def test_integer_input_raises():
    with pytest.raises(NetworkDefinitionError, match=r"^bad: input 'x' must be FLOAT, HALF, BF16, found INT32"):
        make((2, 3, 4), lambda n, x: n.add_instance_norm(x, name="bad"), DataType.INT32, DataType.INT32)
