"""add_lrn: reference executor vs torch.nn.functional.local_response_norm and the TensorRT doc example."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.graph.dtypes import DataType
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute


def lrn_net(shape, window, alpha, beta, k, dtype=DataType.FLOAT, in_dtype=DataType.FLOAT):
    net = Network("lrn")
    x = net.add_input("x", in_dtype, shape)
    if dtype is not in_dtype:
        x = net.add_cast(x, dtype).output
    net.mark_output(net.add_lrn(x, window, alpha, beta, k, name="norm").output)
    return net


def torch_lrn(x, window, alpha, beta, k):
    return torch.nn.functional.local_response_norm(torch.from_numpy(x).double(), window, alpha, beta, k).numpy()


def test_tensorrt_operator_doc_example():
    """TensorRT operator reference "LRN": window 3, alpha 1, beta 1, k 0.1 on channels 0..4 (values from the page)."""
    x = np.repeat(np.arange(5, dtype=np.float32), 4).reshape(1, 5, 2, 2)
    got = execute(lrn_net((1, 5, 2, 2), 3, 1.0, 1.0, 0.1), {"x": x})["norm"]
    expected = np.array([0.0, 0.56603765, 0.4195804, 0.3071672, 0.47430828], np.float32)
    np.testing.assert_allclose(got, np.broadcast_to(expected[None, :, None, None], x.shape), rtol=1e-6)


@pytest.mark.parametrize("shape, window, alpha, beta, k", [
    ((2, 16, 5, 5), 5, 1e-4, 0.75, 2.0),        # AlexNet / Caffe defaults
    ((1, 3, 4, 4), 15, 0.5, 0.5, 1.0),          # window wider than the channels
    ((2, 4, 3, 2), 1, 2.0, 1.5, 1e-5),          # window 1: only the element itself
    ((1, 6, 2, 2), 3, -0.05, 0.01, 1e10),       # negative alpha, range limits
])
def test_matches_torch(shape, window, alpha, beta, k):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32) * 2
    got = execute(lrn_net(shape, window, alpha, beta, k), {"x": x})["norm"]
    np.testing.assert_allclose(got, torch_lrn(x, window, alpha, beta, k), rtol=1e-5, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(c=st.integers(1, 9), window=st.sampled_from([1, 3, 5, 7, 9, 11, 13, 15]),
       alpha=st.floats(1e-4, 2.0), beta=st.floats(0.01, 2.0), k=st.floats(0.5, 4.0), half=st.booleans())
def test_random_parameters_fp32_fp16(c, window, alpha, beta, k, half):
    x = np.random.default_rng(c).standard_normal((2, c, 3, 2)).astype(np.float32)
    dtype = DataType.HALF if half else DataType.FLOAT
    got = execute(lrn_net(x.shape, window, alpha, beta, k, dtype), {"x": x})["norm"]
    assert got.dtype == dtype.to_numpy()
    xin = x.astype(np.float16).astype(np.float32) if half else x
    tol = dict(rtol=2e-3, atol=2e-3) if half else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got, torch_lrn(xin, window, alpha, beta, k), **tol)


@pytest.mark.parametrize("shape, window, alpha, beta, k, message", [
    ((4, 3, 3), 3, 1e-4, 0.75, 1.0, r"input 'x' must have rank 4, found shape \(4, 3, 3\)"),
    ((1, 4, 3, 3), 4, 1e-4, 0.75, 1.0, r"window must be odd and in \[1, 15\].*found 4"),
    ((1, 4, 3, 3), 17, 1e-4, 0.75, 1.0, r"window .*found 17"),
    ((1, 4, 3, 3), 3, 1e21, 0.75, 1.0, r"alpha must be in \[-1e\+20, 1e\+20\]"),
    ((1, 4, 3, 3), 3, 1e-4, 0.001, 1.0, r"beta must be in \[0.01, 100000\]"),
    ((1, 4, 3, 3), 3, 1e-4, 0.75, 0.0, r"k must be in \[1e-05, 1e\+10\]"),
])
def test_invalid_parameters_raise_naming_layer(shape, window, alpha, beta, k, message):
    with pytest.raises(NetworkDefinitionError, match=rf"^norm: {message}"):
        lrn_net(shape, window, alpha, beta, k)


def test_integer_input_raises():
    with pytest.raises(NetworkDefinitionError, match=r"^norm: input 'x' must be FLOAT, HALF, BF16, found INT32"):
        lrn_net((1, 3, 2, 2), 3, 1.0, 1.0, 1.0, DataType.INT32, DataType.INT32)
