"""add_scale_nd / add_scale: (x * scale + shift) ** power per tensor, channel or element (formula written here)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl import DataType, Network, ScaleMode
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.reference import execute

ROLES = ("shift", "scale", "power")


def coefficient_shape(mode, shape, axis):
    return {"UNIFORM": (1,), "CHANNEL": (shape[axis],), "ELEMENTWISE": tuple(shape[axis:])}[mode.name]


def formula(x, mode, axis, coeffs):
    """IScaleLayer: output = (input * scale + shift) ** power, coefficients broadcast from ``axis`` on."""
    out = x.astype(np.float64)

    def view(c):
        c = np.asarray(c, np.float64)
        return c.reshape(()) if mode is ScaleMode.UNIFORM else c.reshape(c.shape + (1,) * (x.ndim - axis - c.ndim))

    if "scale" in coeffs:
        out = out * view(coeffs["scale"])
    if "shift" in coeffs:
        out = out + view(coeffs["shift"])
    if "power" in coeffs:
        out = out ** view(coeffs["power"])
    return out


def scale_net(shape, mode, coeffs, axis=1, dtype=DataType.FLOAT):
    net = Network("scale")
    x = net.add_input("x", DataType.FLOAT, shape)
    if dtype is not DataType.FLOAT:
        x = net.add_cast(x, dtype, name="cast").output
    layer = net.add_scale_nd(x, mode, channel_axis=axis, name="s", **coeffs)
    net.mark_output(layer.output)
    return net, layer


def make_coeffs(rng, shape, roles):
    """With a power, positive input and coefficients in [0.5, 2] keep the result real; else in [-2, 2]."""
    low = 0.5 if "power" in roles else -2.0
    return {r: rng.uniform(low, 2.0, shape).astype(np.float32) for r in roles}


@pytest.mark.parametrize("mode", list(ScaleMode), ids=lambda m: m.name)
@pytest.mark.parametrize("roles", [("scale",), ("shift",), ("power",), ("scale", "shift"), ROLES], ids="+".join)
def test_modes_and_optional_coefficients(mode, roles):
    rng = np.random.default_rng(0)
    shape = (2, 3, 4, 5)
    coeffs = make_coeffs(rng, coefficient_shape(mode, shape, 1), roles)
    x = rng.uniform(0.5, 2.0, shape).astype(np.float32)
    net, layer = scale_net(shape, mode, coeffs)
    assert sorted(layer.weights) == sorted(roles) and layer.mode is mode and layer.channel_axis == 1
    got = execute(net, {"x": x})["s"]
    np.testing.assert_allclose(got, formula(x, mode, 1, coeffs), rtol=2e-6, atol=1e-6)  # float32 arithmetic, as TensorRT: cancellation near 0


def test_no_coefficients_is_identity():
    x = np.random.default_rng(1).standard_normal((1, 2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(execute(scale_net(x.shape, ScaleMode.CHANNEL, {})[0], {"x": x})["s"], x)


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=4, max_size=6), mode=st.sampled_from(list(ScaleMode)),
       data=st.data())
def test_random_channel_axis(shape, mode, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(len(shape))
    coeffs = make_coeffs(rng, coefficient_shape(mode, shape, axis % len(shape)), ("scale", "shift"))
    x = rng.standard_normal(shape).astype(np.float32)
    net, layer = scale_net(tuple(shape), mode, coeffs, axis)
    assert layer.channel_axis == axis % len(shape)
    np.testing.assert_allclose(execute(net, {"x": x})["s"], formula(x, mode, axis % len(shape), coeffs),
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype, tol", [(DataType.HALF, 2e-3), (DataType.BF16, 1.6e-2)], ids=["fp16", "bf16"])
def test_reduced_precision_rounds_coefficients(dtype, tol):
    """Coefficients are lowered in the input's dtype: the formula uses them rounded the same way."""
    rng = np.random.default_rng(2)
    shape = (1, 3, 4, 4)
    coeffs = make_coeffs(rng, (3,), ("scale", "shift"))
    x = rng.standard_normal(shape).astype(np.float32)
    got = execute(scale_net(shape, ScaleMode.CHANNEL, coeffs, dtype=dtype)[0], {"x": x})["s"]
    assert got.dtype == dtype.to_numpy()
    if dtype is DataType.HALF:
        rounded = {k: v.astype(np.float16) for k, v in coeffs.items()}
        want = formula(x.astype(np.float16), ScaleMode.CHANNEL, 1, rounded).astype(np.float16)
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol)
    else:
        np.testing.assert_allclose(got, formula(x, ScaleMode.CHANNEL, 1, coeffs), rtol=tol, atol=tol)


def test_uniform_accepts_a_number_and_negative_base_power_is_nan():
    x = np.array([[[[-8.0, 8.0, 0.0]]]], np.float32)
    net, layer = scale_net(x.shape, ScaleMode.UNIFORM, dict(scale=2.0, shift=0.5, power=1 / 3))
    assert layer.weights["scale"].shape == (1,)
    got = execute(net, {"x": x})["s"][0, 0, 0]
    assert np.isnan(got[0])  # powf of a negative base with a non-integer exponent
    np.testing.assert_allclose(got[1:], [16.5 ** (1 / 3), 0.5 ** (1 / 3)], rtol=1e-6)


def test_declared_coefficients_bound_later():
    net = Network("declared")
    x = net.add_input("x", DataType.FLOAT, (1, 2, 2, 2))
    with net.scope("norm"):
        net.mark_output(net.add_scale_nd(x, ScaleMode.CHANNEL, shift=True, scale=True, name="affine").output)
    assert net.unbound_weights() == ["norm.affine.shift", "norm.affine.scale"]
    net.bind_weights({"norm.affine.shift": np.array([1, 2], np.float32),
                      "norm.affine.scale": np.array([10, 100], np.float32)})
    got = execute(net, {"x": np.ones((1, 2, 2, 2), np.float32)})["norm.affine"]
    np.testing.assert_array_equal(got[0, :, 0, 0], [11, 102])


def test_add_scale_uses_channel_at_rank_minus_3():
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5)).astype(np.float32)
    net = Network("legacy")
    t = net.add_input("x", DataType.FLOAT, x.shape)
    layer = net.add_scale(t, ScaleMode.CHANNEL, scale=np.array([1, 2, 3], np.float32), name="s")
    net.mark_output(layer.output)
    assert layer.channel_axis == 1
    np.testing.assert_allclose(execute(net, {"x": x})["s"], x * np.array([1, 2, 3]).reshape(3, 1, 1), rtol=1e-7)


@pytest.mark.parametrize("shape, mode, axis, coeffs, message", [
    ((2, 3, 4, 5), ScaleMode.CHANNEL, 4, {}, r"channel_axis 4 is out of range for rank 4"),
    ((2, 3, 4, 5), ScaleMode.CHANNEL, -5, {}, r"channel_axis -5 is out of range"),
    ((2, 3, 4, 5), ScaleMode.CHANNEL, 1, dict(scale=np.ones(4, np.float32)),
     r"scale weights must have shape \(3,\), found \(4,\)"),
    ((2, 3, 4, 5), ScaleMode.ELEMENTWISE, 2, dict(shift=np.ones((3, 4, 5), np.float32)),
     r"shift weights must have shape \(4, 5\), found \(3, 4, 5\)"),
    ((2, 3, 4, 5), ScaleMode.UNIFORM, 1, dict(power=np.ones(3, np.float32)), r"power weights must have shape \(1,\)"),
    ((2, 3, 4), ScaleMode.CHANNEL, 1, {}, r"input 'x' must have rank >= 4 \(TensorRT IScaleLayer\), found "
                                         r"shape \(2, 3, 4\)"),
])
def test_invalid_definitions_name_the_layer(shape, mode, axis, coeffs, message):
    with pytest.raises(NetworkDefinitionError, match=rf"^s: {message}"):
        scale_net(shape, mode, coeffs, axis)


@pytest.mark.parametrize("dtype", [DataType.INT32, DataType.INT8, DataType.BOOL])
def test_non_float_input_raises(dtype):
    net = Network("int")
    x = net.add_input("x", dtype, (1, 2, 2, 2))
    with pytest.raises(NetworkDefinitionError, match=rf"^s: input 'x' must be FLOAT, HALF, BF16, found {dtype.name}"):
        net.add_scale_nd(x, ScaleMode.UNIFORM, scale=np.ones(1, np.float32), name="s")
