"""add_parametric_relu: slopes broadcast to the input, against torch F.prelu and a real MTCNN PNet PReLU."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl import DataType, Network, Weights
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.reference import execute


def prelu_net(shape, slopes=None, dtype=DataType.FLOAT, **kw):
    net = Network("prelu")
    x = net.add_input("x", DataType.FLOAT, shape)
    if dtype is not DataType.FLOAT:
        x = net.add_cast(x, dtype, name="cast").output
    layer = net.add_parametric_relu(x, slopes, name="prelu", **kw)
    net.mark_output(layer.output)
    return net, layer


def data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 3


def test_per_channel_matches_torch_prelu():
    x, w = data((2, 5, 4, 6)), np.linspace(-0.5, 1.5, 5).astype(np.float32)
    net, layer = prelu_net(x.shape, w.reshape(1, 5, 1, 1))
    assert list(net.weights()) == ["prelu.slopes"] and layer.weights["slopes"].shape == (1, 5, 1, 1)
    got = execute(net, {"x": x})["prelu"]
    want = F.prelu(torch.from_numpy(x).double(), torch.from_numpy(w).double()).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_tensorrt_operator_example():
    """The example of TensorRT's ParametricReLU operator page: slopes of the input's full shape."""
    x = np.array([[-3.0, -2.0, -1.0], [0.0, 1.0, 2.0]], np.float32)
    slopes = np.array([[-1.0, 1.0, 0.0], [0.0, 1.0, 2.0]], np.float32)
    got = execute(prelu_net(x.shape, slopes)[0], {"x": x})["prelu"]
    np.testing.assert_array_equal(got, [[3.0, -2.0, 0.0], [0.0, 1.0, 2.0]])


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=5), data_=st.data())
def test_random_broadcast_slopes_tensor(shape, data_):
    """Slopes as a second network input, each dimension the input's or 1 (TensorRT's broadcast rule)."""
    slope_shape = tuple(data_.draw(st.sampled_from([d, 1])) for d in shape)
    net = Network("prelu2")
    x = net.add_input("x", DataType.FLOAT, shape)
    s = net.add_input("s", DataType.FLOAT, slope_shape)
    net.mark_output(net.add_parametric_relu(x, s, name="prelu").output)
    xv, sv = data(shape, 1), data(slope_shape, 2)
    got = execute(net, {"x": xv, "s": sv})["prelu"]
    xt, st_ = torch.from_numpy(xv).double(), torch.from_numpy(sv).double()
    np.testing.assert_allclose(got, torch.where(xt >= 0, xt, st_ * xt).numpy(), rtol=1e-6, atol=1e-7)


def test_fp16_rounds_constant_slopes_to_half():
    x, w = data((1, 3, 5, 5), 3), np.array([0.1, 0.2, 0.3], np.float32).reshape(1, 3, 1, 1)
    got = execute(prelu_net(x.shape, w, DataType.HALF)[0], {"x": x})["prelu"]
    assert got.dtype == np.float16
    xh, wh = torch.from_numpy(x).half(), torch.from_numpy(w.reshape(3)).half()
    want = F.prelu(xh.double(), wh.double()).half().numpy()
    np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), rtol=1e-3, atol=1e-3)


def test_bf16():
    x, w = data((1, 2, 3, 3), 4), np.array([0.25, -0.75], np.float32).reshape(1, 2, 1, 1)
    got = execute(prelu_net(x.shape, w, DataType.BF16)[0], {"x": x})["prelu"]
    xb = torch.from_numpy(x).to(torch.bfloat16)
    want = F.prelu(xb.double(), torch.tensor([0.25, -0.75], dtype=torch.float64)).to(torch.bfloat16).float()
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-2, atol=1e-2)


def test_declared_slopes_default_per_channel_then_bound():
    net, layer = prelu_net((1, 4, 2, 2))
    w = net.weights()["prelu.slopes"]
    assert isinstance(w, Weights) and w.shape == (1, 4, 1, 1) and not w.is_bound
    net.bind_weights({"prelu.slopes": np.full((1, 4, 1, 1), 0.5, np.float32)})
    x = -np.ones((1, 4, 2, 2), np.float32)
    np.testing.assert_array_equal(execute(net, {"x": x})["prelu"], np.full_like(x, -0.5))
    assert prelu_net((3, 4), slopes_shape=(1, 4))[0].weights()["prelu.slopes"].shape == (1, 4)


def test_mtcnn_pnet_prelu(data):
    """MTCNN PNet conv1 + prelu1 with its trained weights (facenet-pytorch state dict) against torch."""
    state = torch.load(data / "torch" / "mtcnn" / "pnet.pt", map_location="cpu", weights_only=True)
    kernel, bias, slopes = (state[k].numpy() for k in ("conv1.weight", "conv1.bias", "prelu1.weight"))
    assert slopes.shape == (10,) and (slopes < 0).any()  # trained slopes, some negative
    net = Network("pnet")
    x = net.add_input("image", DataType.FLOAT, (1, 3, 24, 24))
    y = net.add_convolution_nd(x, 10, (3, 3), kernel, bias, name="conv1").output
    net.mark_output(net.add_parametric_relu(y, slopes.reshape(1, 10, 1, 1), name="prelu1").output)
    image = np.random.default_rng(5).uniform(-1, 1, (1, 3, 24, 24)).astype(np.float32)
    got = execute(net, {"image": image})["prelu1"]
    t = F.conv2d(torch.from_numpy(image), state["conv1.weight"], state["conv1.bias"])
    want = F.prelu(t, state["prelu1.weight"]).numpy()
    assert (want < 0).any()  # the negative side is exercised
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("slopes, message", [
    (np.ones(4, np.float32), r"slopes weights of shape \(4,\) do not broadcast to input 'x' \(2, 4, 3, 3\)"),
    (np.ones((1, 3, 1, 1), np.float32), r"slopes weights of shape \(1, 3, 1, 1\) do not broadcast"),
    (np.ones((2, 4, 3, 3, 1), np.float32), r"slopes weights of shape \(2, 4, 3, 3, 1\) .*: expected rank 4"),
])
def test_slopes_not_broadcastable_raise(slopes, message):
    with pytest.raises(NetworkDefinitionError, match=rf"^prelu: {message}"):
        prelu_net((2, 4, 3, 3), slopes)


def test_slopes_tensor_errors_name_layer():
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, (2, 4))
    with pytest.raises(NetworkDefinitionError, match=r"^prelu: slopes 's16' must have the input's dtype FLOAT, "
                                                     r"found HALF"):
        net.add_parametric_relu(x, net.add_input("s16", DataType.HALF, (1, 4)), name="prelu")
    with pytest.raises(NetworkDefinitionError, match=r"^prelu: slopes tensor 's3' of shape \(2, 3\) do not"):
        net.add_parametric_relu(x, net.add_input("s3", DataType.FLOAT, (2, 3)), name="prelu")
    i = net.add_input("i", DataType.INT32, (2, 4))
    with pytest.raises(NetworkDefinitionError, match=r"^prelu: input 'i' must be FLOAT, HALF, BF16, found INT32"):
        net.add_parametric_relu(i, np.ones((1, 4), np.float32), name="prelu")
    with pytest.raises(NetworkDefinitionError, match=r"^prelu: per-channel slopes need rank >= 2"):
        net.add_parametric_relu(net.add_input("v", DataType.FLOAT, (5,)), name="prelu")
