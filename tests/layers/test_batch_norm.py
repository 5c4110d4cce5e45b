"""Batch norm as a scale layer and folded into the convolution, against torch conv2d + batch_norm."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from netdsl.models.blocks import conv_bn_act
from netdsl import DataType, DerivedWeights, LayerType, Network, Weights
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.reference import execute
from netdsl.weights import load_weights_file
from tests.conftest import REPO

BN_ROLES = ("scale", "bias", "mean", "variance")


def bn_arrays(rng, k, prefix="bn"):
    return {f"{prefix}.scale": rng.uniform(0.2, 2, k).astype(np.float32),
            f"{prefix}.bias": rng.uniform(-1, 1, k).astype(np.float32),
            f"{prefix}.mean": rng.uniform(-1, 1, k).astype(np.float32),
            f"{prefix}.variance": rng.uniform(0.01, 3, k).astype(np.float32)}


def torch_bn(t, arrays, prefix="bn", eps=1e-5):
    g, b, m, v = (torch.from_numpy(arrays[f"{prefix}.{r}"]).double() for r in BN_ROLES)
    return F.batch_norm(t, m, v, g, b, training=False, eps=eps)


def conv_bn_net(fold, shape=(2, 4, 9, 9), k=6, eps=1e-5, dtype=DataType.FLOAT, **conv_kwargs):
    net = Network("cbn")
    x = net.add_input("x", DataType.FLOAT, shape)
    if dtype is not DataType.FLOAT:
        x = net.add_cast(x, dtype, name="cast").output
    last = net.add_conv_batch_norm(x, k, (3, 3), eps=eps, fold=fold, **conv_kwargs)
    net.mark_output(last.output, name="y")
    return net, last


def test_batch_norm_layer_matches_torch():
    rng = np.random.default_rng(0)
    net = Network("bn")
    x = net.add_input("x", DataType.FLOAT, (2, 5, 3, 4))
    layer = net.add_batch_norm(x, eps=1e-3, name="bn")
    net.mark_output(layer.output)
    assert layer.type is LayerType.SCALE and layer.batch_norm_eps == 1e-3
    arrays = bn_arrays(rng, 5)
    net.bind_weights(arrays)
    data = rng.standard_normal((2, 5, 3, 4)).astype(np.float32)
    want = torch_bn(torch.from_numpy(data).double(), arrays, eps=1e-3).numpy()
    np.testing.assert_allclose(execute(net, {"x": data})["bn"], want, rtol=1e-6, atol=1e-6)


def test_batch_norm_channel_last():
    rng = np.random.default_rng(1)
    net = Network("bn_nhwc")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 4, 5))
    net.mark_output(net.add_batch_norm(x, channel_axis=-1, name="bn").output)
    assert net.weights()["bn.mean"].shape == (5,)
    arrays = bn_arrays(rng, 5)
    net.bind_weights(arrays)
    data = rng.standard_normal((1, 3, 4, 5)).astype(np.float32)
    nchw = torch.from_numpy(data).double().permute(0, 3, 1, 2)
    want = torch_bn(nchw, arrays).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(execute(net, {"x": data})["bn"], want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("conv_kwargs", [dict(padding_nd=1), dict(stride_nd=2, num_groups=2, bias=True)],
                         ids=["pad1", "strided-grouped-bias"])
def test_conv_batch_norm_folded_equals_unfolded_equals_torch(conv_kwargs):
    rng = np.random.default_rng(2)
    data = rng.standard_normal((2, 4, 9, 9)).astype(np.float32)
    outs = {}
    for fold in (False, True):
        net, last = conv_bn_net(fold, **conv_kwargs)
        names = list(net.weights())
        arrays = bn_arrays(np.random.default_rng(3), 6)
        arrays["conv.kernel"] = np.random.default_rng(4).standard_normal(net.weights()["conv.kernel"].shape) \
            .astype(np.float32)
        if conv_kwargs.get("bias"):
            arrays["conv.bias"] = np.random.default_rng(5).standard_normal(6).astype(np.float32)
        net.bind_weights(arrays)
        outs[fold] = execute(net, {"x": data})["y"]
        assert sorted(names) == sorted(arrays)  # the same weight names either way
    groups, stride = conv_kwargs.get("num_groups", 1), conv_kwargs.get("stride_nd", 1)
    t = F.conv2d(torch.from_numpy(data).double(), torch.from_numpy(arrays["conv.kernel"]).double(),
                 torch.from_numpy(arrays["conv.bias"]).double() if "conv.bias" in arrays else None,
                 stride=stride, padding=conv_kwargs.get("padding_nd", 0), groups=groups)
    want = torch_bn(t, arrays).numpy()
    np.testing.assert_allclose(outs[False], want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(outs[True], want, rtol=1e-5, atol=1e-5)
    # Folded and unfolded differ only by float32 rounding of the folded weights and the sums.
    np.testing.assert_allclose(outs[True], outs[False], rtol=1e-5, atol=2e-6 * np.abs(want).max())


def test_folded_graph_is_one_convolution_with_derived_weights():
    net, conv = conv_bn_net(True)
    assert [layer.type for layer in net.layers] == [LayerType.CONVOLUTION]
    assert conv.name == "conv" and conv.batch_norm == "bn" and conv.batch_norm_eps == 1e-5
    assert isinstance(conv.weights["kernel"], DerivedWeights) and isinstance(conv.weights["bias"], DerivedWeights)
    assert list(net.weights()) == ["conv.kernel", "bn.scale", "bn.bias", "bn.mean", "bn.variance"]
    assert all(isinstance(w, Weights) and not w.is_bound for w in net.weights().values())
    assert conv.weights["kernel"].value is None  # until its sources are bound
    unfolded, scale = conv_bn_net(False)
    assert [layer.name for layer in unfolded.layers] == ["conv", "bn"] and scale.type is LayerType.SCALE
    assert list(unfolded.weights()) == list(net.weights())


def test_folded_fp16():
    rng = np.random.default_rng(6)
    net, _ = conv_bn_net(True, dtype=DataType.HALF, padding_nd=1)
    arrays = bn_arrays(rng, 6)
    arrays["conv.kernel"] = (rng.standard_normal((6, 4, 3, 3)) * 0.3).astype(np.float32)
    net.bind_weights(arrays)
    data = rng.standard_normal((2, 4, 9, 9)).astype(np.float32)
    got = execute(net, {"x": data})["y"]
    assert got.dtype == np.float16
    t = F.conv2d(torch.from_numpy(data.astype(np.float16)).double(), torch.from_numpy(arrays["conv.kernel"]).double(),
                 padding=1)
    np.testing.assert_allclose(got.astype(np.float64), torch_bn(t, arrays).numpy(), rtol=1e-2, atol=1e-2)


def test_darknet_weights_bind_to_folded_block():
    """conv_bn_act with the darknet converter's names (conv0.conv.kernel, conv0.bn.*), folded or not."""
    store = load_weights_file(REPO / "weights" / "yolov3-tiny.h5")
    image = np.random.default_rng(7).uniform(0, 1, (1, 3, 32, 32)).astype(np.float32)
    outs = {}
    for fold in (False, True):
        net = Network("block")
        x = net.add_input("images", DataType.FLOAT, image.shape)
        net.mark_output(conv_bn_act(net, x, 16, 3, scope="conv0", fold_batch_norm=fold), name="y")
        net.bind_weights({name: store[name] for name in net.weights()}, source="yolov3-tiny.h5")
        outs[fold] = execute(net, {"images": image})["y"]
    arrays = {k.replace("conv0.", ""): store[k] for k in store if k.startswith("conv0.bn.")}
    t = F.conv2d(torch.from_numpy(image).double(), torch.from_numpy(store["conv0.conv.kernel"]).double(), padding=1)
    want = F.leaky_relu(torch_bn(t, arrays), 0.1).numpy()
    np.testing.assert_allclose(outs[False], want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(outs[True], outs[False], rtol=1e-5, atol=1e-5)


def test_invalid_batch_norm_definitions():
    net = Network("bad")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 4, 4))
    with pytest.raises(NetworkDefinitionError, match=r"^bn: channel_axis 4 is out of range for rank 4"):
        net.add_batch_norm(x, channel_axis=4)
    with pytest.raises(NetworkDefinitionError, match=r"^bn: batch-norm eps must be finite and >= 0, found -0.1"):
        net.add_batch_norm(x, eps=-0.1)
    with pytest.raises(NetworkDefinitionError, match=r"^b1.bn: batch-norm eps must be finite"):
        with net.scope("b1"):
            net.add_conv_batch_norm(x, 2, (3, 3), eps=float("nan"), fold=True)
    with pytest.raises(NetworkDefinitionError, match=r"^b2.conv: input channels \(3\)"):
        with net.scope("b2"):
            net.add_conv_batch_norm(x, 2, (3, 3), num_groups=2, fold=True)
    with pytest.raises(NetworkDefinitionError, match=r"^bn: input 'v' must have rank >= 4"):
        net.add_batch_norm(net.add_input("v", DataType.FLOAT, (2, 3)))
