"""Definition-time behaviour of Network: scoped names, shape inference, errors, weight binding."""
import numpy as np
import pytest

from netdsl import ActivationType, DataType, ElementWiseOperation, Network, NetworkDefinitionError, PoolingType, WeightsError
from netdsl.reference import execute


def small():
    net = Network("small")
    x = net.add_input("x", DataType.FLOAT, (1, 3, 8, 8))
    return net, x


def test_scoped_names_and_declared_weights():
    net, x = small()
    with net.scope("backbone"), net.scope("conv3"):
        c = net.add_convolution_nd(x, 4, (3, 3), padding_nd=1, bias=False, name="conv")
        b = net.add_batch_norm(c.output, name="bn")
    assert c.name == "backbone.conv3.conv" and b.name == "backbone.conv3.bn"
    assert list(net.weights()) == ["backbone.conv3.conv.kernel", "backbone.conv3.bn.scale",
                                   "backbone.conv3.bn.bias", "backbone.conv3.bn.mean",
                                   "backbone.conv3.bn.variance"]
    assert net.weights()["backbone.conv3.conv.kernel"].shape == (4, 3, 3, 3)


def test_default_names_are_unique():
    net, x = small()
    a = net.add_activation(x, ActivationType.RELU)
    b = net.add_activation(a.output, ActivationType.RELU)
    assert a.name != b.name


def test_duplicate_layer_name_raises():
    net, x = small()
    net.add_activation(x, ActivationType.RELU, name="act")
    with pytest.raises(NetworkDefinitionError, match="act: a layer of that name already exists"):
        net.add_activation(x, ActivationType.RELU, name="act")


def test_bad_convolution_names_layer_and_shapes():
    net, x = small()
    with net.scope("head"):
        with pytest.raises(NetworkDefinitionError, match=r"head\.conv: .*rank 4.*\(1, 3, 8\)"):
            net.add_convolution_nd(net.add_input("v", DataType.FLOAT, (1, 3, 8)), 4, (3, 3), name="conv")
        with pytest.raises(NetworkDefinitionError, match=r"head\.k: kernel weights must have shape \(4, 3, 3, 3\), "
                                                         r"found \(4, 3, 1, 1\)"):
            net.add_convolution_nd(x, 4, (3, 3), np.zeros((4, 3, 1, 1), np.float32), name="k")
        with pytest.raises(NetworkDefinitionError, match=r"head\.big: .*too small"):
            net.add_convolution_nd(x, 4, (9, 9), name="big")


def test_elementwise_rank_and_dtype_errors():
    net, x = small()
    y = net.add_input("y", DataType.FLOAT, (1, 3, 8))
    with pytest.raises(NetworkDefinitionError, match=r"add: inputs must have equal rank"):
        net.add_elementwise(x, y, ElementWiseOperation.SUM, name="add")
    h = net.add_cast(x, DataType.HALF, name="half").output
    with pytest.raises(NetworkDefinitionError, match=r"mix: .*same dtype.*FLOAT.*HALF"):
        net.add_elementwise(x, h, ElementWiseOperation.SUM, name="mix")


def test_concatenation_axis_out_of_range_and_mismatch():
    net, x = small()
    with pytest.raises(NetworkDefinitionError, match=r"cat: axis 4 is out of range for rank 4"):
        net.add_concatenation([x, x], axis=4, name="cat")
    z = net.add_input("z", DataType.FLOAT, (1, 3, 4, 8))
    with pytest.raises(NetworkDefinitionError, match=r"cat2: input 'z' has shape \(1, 3, 4, 8\)"):
        net.add_concatenation([x, z], axis=1, name="cat2")


def test_layer_attributes_are_read_only():
    net, x = small()
    layer = net.add_pooling_nd(x, PoolingType.MAX, (2, 2), stride_nd=2)
    assert layer.stride_nd == (2, 2) and layer.pooling_type is PoolingType.MAX
    with pytest.raises(AttributeError, match="pass stride_nd="):
        layer.stride_nd = (1, 1)


def test_bind_weights_reports_everything_at_once():
    net, x = small()
    net.add_convolution_nd(x, 4, (3, 3), name="c1")
    net.add_convolution_nd(x, 4, (1, 1), name="c2")
    arrays = {"c1.kernel": np.zeros((4, 3, 1, 1), np.float32), "c1.bias": np.zeros(4, np.float64),
              "c2.kernel": np.zeros((4, 3, 1, 1), np.float32), "c9.kernel": np.zeros(1, np.float32)}
    with pytest.raises(WeightsError) as err:
        net.bind_weights(arrays, source="w.h5")
    msg = str(err.value)
    for fragment in ("w.h5", "missing", "c2.bias", "unexpected", "c9.kernel",
                     "c1.kernel: expected shape (4, 3, 3, 3), found (4, 3, 1, 1)",
                     "c1.bias: expected dtype float32, found float64"):
        assert fragment in msg, fragment
    assert not any(w.is_bound for w in net.weights().values())  # nothing half-bound


def test_executor_refuses_unbound_weights_and_bad_feeds():
    net, x = small()
    net.mark_output(net.add_convolution_nd(x, 4, (3, 3), name="c").output)
    with pytest.raises(WeightsError, match="unbound weights: c.kernel, c.bias"):
        execute(net, {"x": np.zeros((1, 3, 8, 8), np.float32)})
    net.bind_weights({"c.kernel": np.ones((4, 3, 3, 3), np.float32), "c.bias": np.arange(4, dtype=np.float32)})
    with pytest.raises(Exception, match=r"input 'x': expected shape \(1, 3, 8, 8\), found \(1, 3, 8, 7\)"):
        execute(net, {"x": np.zeros((1, 3, 8, 7), np.float32)})
    out = execute(net, {"x": np.ones((1, 3, 8, 8), np.float32)})["c"]
    np.testing.assert_array_equal(out[0, :, 0, 0], 27 + np.arange(4))  # 3x3x3 ones + bias


def test_batch_norm_derived_scale_matches_formula():
    net, x = small()
    bn = net.add_batch_norm(x, eps=1e-3, name="bn")
    net.mark_output(bn.output)
    g, b, m, v = (np.array(a, np.float32) for a in ([1, 2, 3], [0.5, 0, -1], [0.1, 0.2, 0.3], [4, 1, 0.25]))
    net.bind_weights({"bn.scale": g, "bn.bias": b, "bn.mean": m, "bn.variance": v})
    data = np.random.default_rng(0).normal(size=(1, 3, 8, 8)).astype(np.float32)
    want = g[:, None, None] * (data[0] - m[:, None, None]) / np.sqrt(v[:, None, None] + 1e-3) + b[:, None, None]
    np.testing.assert_allclose(execute(net, {"x": data})["bn"][0], want, rtol=1e-6, atol=1e-6)


def test_tensor_shape_and_dtype_are_fixed_and_renames_stay_unique():
    """Was: ``x.dtype = HALF`` on a used input was accepted and ignored downstream (execute still gave FLOAT),
    and ``y.name = "x"`` gave two tensors one name."""
    net, x = small()
    y = net.add_activation(x, ActivationType.RELU, name="relu").output
    for key, value in (("dtype", DataType.HALF), ("shape", (1, 3, 4, 4))):
        with pytest.raises(AttributeError) as err:
            setattr(x, key, value)
        assert str(err.value) == (f"tensor 'x': {key} is fixed when the tensor is created (every layer after it was "
                                  "inferred from it); give it to add_input, or add a layer (add_cast for a dtype, "
                                  "add_shuffle for a shape)")
    assert x.dtype is DataType.FLOAT and x.shape == (1, 3, 8, 8)
    with pytest.raises(NetworkDefinitionError, match="cannot rename it 'x', a tensor of that name already exists"):
        y.name = "x"
    y.name = "features"                      # ITensor.name = ...: a rename
    net.mark_output(y)
    out = execute(net, {"x": np.ones((1, 3, 8, 8), np.float32)})
    assert list(out) == ["features"] and out["features"].dtype == np.float32
    with pytest.raises(NetworkDefinitionError, match="a tensor named 'x' already exists"):
        net.mark_output(y, "x")


def test_setting_a_layer_attribute_says_what_to_do():
    net, x = small()
    act = net.add_activation(x, ActivationType.LEAKY_RELU, name="leaky")
    with pytest.raises(AttributeError) as err:
        act.alpha = 0.2
    assert str(err.value) == ("layer 'leaky': alpha is fixed when the layer is added (its outputs were inferred from "
                              "it); pass alpha=... to the add_* call")
    with pytest.raises(AttributeError, match="strongly typed.*add_cast changes it"):
        act.precision = DataType.HALF
    with pytest.raises(AttributeError, match="lowering sets each layer's metadata to its netdsl name"):
        act.metadata = "x"
    with pytest.raises(AttributeError) as err:
        act.foo = 1
    assert str(err.value) == ("ACTIVATION layer 'leaky' has no attribute 'foo' to set; its attributes: "
                              "activation_type, alpha, beta")
    assert act.alpha == 0.01   # TensorRT's default, untouched


def test_tensorrt_network_accessors_and_tensorrt_datatypes():
    trt = pytest.importorskip("tensorrt_rtx_bindings")
    net = Network("io")
    a = net.add_input("a", trt.DataType.FLOAT, (1, 2))   # the binding's own enum member, by name
    b = net.add_input("b", trt.float16, (1, 2))
    assert (a.dtype, b.dtype) == (DataType.FLOAT, DataType.HALF)
    net.mark_output(net.add_activation(a, "RELU", name="r").output)
    assert (net.num_inputs, net.num_outputs, net.num_layers) == (2, 1, 1)
    assert net.get_input(1) is b and net.get_output(0).name == "r" and net.get_layer(0).name == "r"
