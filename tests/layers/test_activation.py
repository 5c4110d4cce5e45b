"""add_activation: every ActivationType, alpha/beta as TensorRT defines them, against PyTorch (float64)."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl import ActivationType, DataType, Network
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.reference import execute

A = ActivationType
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805

# (type, alpha, beta, torch oracle on a float64 tensor)
CASES = [
    (A.RELU, 0.0, 0.0, torch.relu),
    (A.SIGMOID, 0.0, 0.0, torch.sigmoid),
    (A.TANH, 0.0, 0.0, torch.tanh),
    (A.LEAKY_RELU, 0.1, 0.0, lambda t: F.leaky_relu(t, 0.1)),
    (A.LEAKY_RELU, -0.5, 0.0, lambda t: F.leaky_relu(t, -0.5)),
    (A.LEAKY_RELU, 2.0, 0.0, lambda t: F.leaky_relu(t, 2.0)),
    (A.ELU, 1.0, 0.0, F.elu),
    (A.ELU, 0.3, 0.0, lambda t: F.elu(t, 0.3)),
    (A.SELU, SELU_ALPHA, SELU_SCALE, F.selu),
    (A.SELU, 0.7, 2.0, lambda t: 2.0 * F.elu(t, 0.7)),
    (A.SOFTSIGN, 0.0, 0.0, F.softsign),
    (A.SOFTPLUS, 1.0, 1.0, lambda t: F.softplus(t, threshold=1e9)),
    (A.SOFTPLUS, 0.5, 2.0, lambda t: F.softplus(t, beta=2.0, threshold=1e9)),  # alpha = 1 / beta: torch's form
    (A.SOFTPLUS, 3.0, 0.5, lambda t: 3.0 * 0.5 * F.softplus(t, beta=0.5, threshold=1e9)),
    (A.CLIP, 0.0, 6.0, F.relu6),
    (A.CLIP, -1.5, 0.25, lambda t: F.hardtanh(t, -1.5, 0.25)),
    (A.HARD_SIGMOID, 1 / 6, 0.5, F.hardsigmoid),
    (A.HARD_SIGMOID, 0.2, 0.5, lambda t: torch.clamp(0.2 * t + 0.5, 0, 1)),  # ONNX HardSigmoid defaults
    (A.SCALED_TANH, 1.7159, 2 / 3, lambda t: 1.7159 * torch.tanh(2 / 3 * t)),  # LeCun's tanh
    (A.THRESHOLDED_RELU, 1.0, 0.0, lambda t: F.threshold(t, 1.0, 0.0)),
    (A.THRESHOLDED_RELU, -0.5, 0.0, lambda t: F.threshold(t, -0.5, 0.0)),
    (A.GELU_ERF, 0.0, 0.0, lambda t: F.gelu(t, approximate="none")),
    (A.GELU_TANH, 0.0, 0.0, lambda t: F.gelu(t, approximate="tanh")),
]
IDS = [f"{t.name}-{a:g}-{b:g}" for t, a, b, _ in CASES]


def activation_net(shape, kind, alpha=0.0, beta=0.0, dtype=DataType.FLOAT):
    net = Network("act")
    x = net.add_input("x", DataType.FLOAT, shape)
    if dtype is not DataType.FLOAT:
        x = net.add_cast(x, dtype, name="cast").output
    net.mark_output(net.add_activation(x, kind, alpha, beta, name="act").output)
    return net


def sample(shape=(2, 3, 5, 7), scale=4.0, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * scale
    x.flat[:6] = [0.0, -0.0, 1.0, -1.0, 0.5, 6.0]  # kinks and thresholds
    return x


def oracle(fn, x):
    return fn(torch.from_numpy(np.asarray(x, np.float64))).numpy()


@pytest.mark.parametrize("kind, alpha, beta, fn", CASES, ids=IDS)
def test_fp32_matches_torch(kind, alpha, beta, fn):
    x = sample()
    got = execute(activation_net(x.shape, kind, alpha, beta), {"x": x})["act"]
    assert got.dtype == np.float32
    # TensorRT holds alpha/beta as float32; the float64 constants of the oracle differ by < 1e-7 relative.
    np.testing.assert_allclose(got, oracle(fn, x), rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("kind, alpha, beta, fn", CASES, ids=IDS)
def test_fp16_matches_torch(kind, alpha, beta, fn):
    x = sample(seed=1)
    got = execute(activation_net(x.shape, kind, alpha, beta, DataType.HALF), {"x": x})["act"]
    assert got.dtype == np.float16
    want = oracle(fn, x.astype(np.float16)).astype(np.float16)
    np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), rtol=2e-3, atol=2e-3)


@pytest.mark.parametrize("kind, alpha, beta, fn", CASES[::3], ids=IDS[::3])
def test_bf16_matches_torch(kind, alpha, beta, fn):
    x = sample(seed=2)
    got = execute(activation_net(x.shape, kind, alpha, beta, DataType.BF16), {"x": x})["act"]
    xb = torch.from_numpy(x).to(torch.bfloat16).double()
    want = fn(xb).to(torch.bfloat16).float().numpy()
    np.testing.assert_allclose(got, want, rtol=1.6e-2, atol=1.6e-2)


def test_formulas_at_the_edges():
    """TensorRT's definitions where frameworks differ: SELU at 0, CLIP with alpha > beta, large SOFTPLUS."""
    x = np.array([[-1e4, -30.0, -1e-30, 0.0, 1e-30, 30.0, 1e4, 90.0]], np.float32)

    def run(kind, alpha=0.0, beta=0.0):
        return execute(activation_net(x.shape, kind, alpha, beta), {"x": x})["act"][0]

    np.testing.assert_array_equal(run(A.CLIP, 2.0, 1.0), np.full(8, 2.0, np.float32))  # max(alpha, min(beta, x))
    np.testing.assert_allclose(run(A.SOFTPLUS, 1.0, 1.0), np.logaddexp(0, x[0].astype(np.float64)), rtol=1e-7)
    np.testing.assert_array_equal(run(A.THRESHOLDED_RELU, 30.0), [0, 0, 0, 0, 0, 0, 1e4, 90.0])  # x > alpha
    assert np.all(np.isfinite(run(A.ELU, 1.0))) and run(A.ELU, 1.0)[0] == -1.0
    np.testing.assert_array_equal(run(A.SIGMOID)[[0, 6]], [0.0, 1.0])
    assert run(A.LEAKY_RELU)[1] == 0.0  # TensorRT's default alpha is 0


@settings(max_examples=20, deadline=None)
@given(kind=st.sampled_from(list(ActivationType)), alpha=st.floats(-3, 3), beta=st.floats(-3, 3),
       shape=st.lists(st.integers(1, 4), min_size=1, max_size=4))
def test_random_parameters_follow_tensorrt_formulas(kind, alpha, beta, shape):
    """Every type with arbitrary alpha/beta against the ActivationType formulas written out here."""
    x = np.random.default_rng(len(shape)).standard_normal(shape).astype(np.float64) * 3
    a, b = float(np.float32(alpha)), float(np.float32(beta))
    erf = np.vectorize(math.erf)
    formula = {
        "RELU": lambda: np.maximum(x, 0), "SIGMOID": lambda: 1 / (1 + np.exp(-x)), "TANH": lambda: np.tanh(x),
        "LEAKY_RELU": lambda: np.where(x >= 0, x, a * x), "ELU": lambda: np.where(x >= 0, x, a * (np.exp(x) - 1)),
        "SELU": lambda: np.where(x > 0, b * x, b * (a * np.exp(x) - a)), "SOFTSIGN": lambda: x / (1 + abs(x)),
        "SOFTPLUS": lambda: a * np.log(np.exp(b * x) + 1), "CLIP": lambda: np.maximum(a, np.minimum(b, x)),
        "HARD_SIGMOID": lambda: np.maximum(0, np.minimum(1, a * x + b)), "SCALED_TANH": lambda: a * np.tanh(b * x),
        "THRESHOLDED_RELU": lambda: np.where(x > a, x, 0), "GELU_ERF": lambda: 0.5 * x * (1 + erf(x / math.sqrt(2))),
        "GELU_TANH": lambda: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (0.044715 * x ** 3 + x))),
    }[kind.name]()
    got = execute(activation_net(tuple(shape), kind, alpha, beta), {"x": x.astype(np.float32)})["act"]
    np.testing.assert_allclose(got, formula, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [DataType.INT32, DataType.INT64])
def test_relu_on_integers(dtype):
    x = np.array([[-(2 ** 31), -3, 0, 7, 2 ** 31 - 1]], dtype.to_numpy())
    net = Network("irelu")
    t = net.add_input("x", dtype, x.shape)
    layer = net.add_activation(t, ActivationType.RELU, name="act")
    assert layer.output.dtype is dtype
    net.mark_output(layer.output)
    got = execute(net, {"x": x})["act"]
    assert got.dtype == dtype.to_numpy()
    np.testing.assert_array_equal(got, torch.relu(torch.from_numpy(x)).numpy())


def test_attributes_and_layer_type():
    layer = activation_net((2, 3), A.LEAKY_RELU, 0.1).layer("act")
    assert layer.activation_type is A.LEAKY_RELU and layer.alpha == 0.1 and layer.beta == 0.0
    assert layer.type.name == "ACTIVATION"


def test_dtypes_accepted_and_rejected_per_type():
    """Floats for every type, INT32/INT64 for RELU only (operator reference); errors name the scoped layer."""
    net = Network("dtypes")
    for dtype in DataType:
        x = net.add_input(dtype.name.lower(), dtype, (2, 3))
        for kind in ActivationType:
            if dtype.is_float or (kind is A.RELU and dtype in (DataType.INT32, DataType.INT64)):
                assert net.add_activation(x, kind).output.dtype is dtype
            else:
                with pytest.raises(NetworkDefinitionError, match=rf"^block\.act: input '{x.name}' must be "
                                                                 rf".*found {dtype.name}"), net.scope("block"):
                    net.add_activation(x, kind, name="act")


@pytest.mark.parametrize("alpha, beta", [(math.inf, 0.0), (0.0, math.nan)])
def test_non_finite_parameters_raise(alpha, beta):
    with pytest.raises(NetworkDefinitionError, match=r"^act: (alpha|beta) must be finite"):
        activation_net((2, 3), A.CLIP, alpha, beta)
