"""add_matrix_multiply / add_fully_connected: reference executor vs torch.matmul and torch.nn.functional.linear."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.graph.dtypes import DataType
from netdsl.graph.enums import MatrixOperation as MO
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute


def torch_matmul(a, op0, b, op1):
    """Oracle: op(A) x op(B) with torch, vectors as a one-row / one-column matrix."""
    a, b = torch.from_numpy(a).double(), torch.from_numpy(b).double()
    a = a.transpose(-1, -2) if op0 is MO.TRANSPOSE else a.unsqueeze(-2) if op0 is MO.VECTOR else a
    b = b.transpose(-1, -2) if op1 is MO.TRANSPOSE else b.unsqueeze(-1) if op1 is MO.VECTOR else b
    out = torch.matmul(a, b)
    if op1 is MO.VECTOR:
        out = out.squeeze(-1)
    if op0 is MO.VECTOR:
        out = out.squeeze(-1 if op1 is MO.VECTOR else -2)
    return out.numpy()


def matmul_net(shape0, op0, shape1, op1, dtype=DataType.FLOAT):
    net = Network("mm")
    a = net.add_input("a", DataType.FLOAT, shape0)
    b = net.add_input("b", DataType.FLOAT, shape1)
    if dtype is not DataType.FLOAT:
        a, b = net.add_cast(a, dtype).output, net.add_cast(b, dtype).output
    net.mark_output(net.add_matrix_multiply(a, op0, b, op1, name="mm").output)
    return net


CASES = [
    ((3, 4), MO.NONE, (4, 5), MO.NONE, (3, 5)),
    ((4, 3), MO.TRANSPOSE, (5, 4), MO.TRANSPOSE, (3, 5)),
    ((2, 1, 3, 4), MO.NONE, (1, 6, 4, 5), MO.NONE, (2, 6, 3, 5)),
    ((2, 3, 4), MO.NONE, (2, 4), MO.VECTOR, (2, 3)),
    ((2, 4), MO.VECTOR, (2, 4, 5), MO.NONE, (2, 5)),
    ((2, 4), MO.VECTOR, (1, 5, 4), MO.TRANSPOSE, (2, 5)),
    ((3, 4), MO.VECTOR, (3, 4), MO.VECTOR, (3,)),
    ((4,), MO.VECTOR, (4,), MO.VECTOR, ()),
    ((1, 1, 7), MO.NONE, (1, 7, 1), MO.NONE, (1, 1, 1)),
]


@pytest.mark.parametrize("shape0, op0, shape1, op1, out_shape", CASES)
def test_matches_torch_fp32(shape0, op0, shape1, op1, out_shape):
    rng = np.random.default_rng(1)
    a = rng.standard_normal(shape0).astype(np.float32)
    b = rng.standard_normal(shape1).astype(np.float32)
    net = matmul_net(shape0, op0, shape1, op1)
    assert net.outputs[0].shape == out_shape
    got = execute(net, {"a": a, "b": b})["mm"]
    assert got.shape == out_shape and got.dtype == np.float32
    np.testing.assert_allclose(got, torch_matmul(a, op0, b, op1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape0, op0, shape1, op1, out_shape", CASES[2:6])
def test_matches_torch_fp16(shape0, op0, shape1, op1, out_shape):
    rng = np.random.default_rng(2)
    a = rng.standard_normal(shape0).astype(np.float32)
    b = rng.standard_normal(shape1).astype(np.float32)
    got = execute(matmul_net(shape0, op0, shape1, op1, DataType.HALF), {"a": a, "b": b})["mm"]
    assert got.dtype == np.float16
    want = torch_matmul(a.astype(np.float16).astype(np.float32), op0, b.astype(np.float16).astype(np.float32), op1)
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=4e-3)


@settings(max_examples=20, deadline=None)
@given(batch=st.lists(st.tuples(st.integers(1, 3), st.booleans(), st.booleans()), max_size=2),
       m=st.integers(1, 4), k=st.integers(1, 5), n=st.integers(1, 4),
       op0=st.sampled_from(list(MO)), op1=st.sampled_from(list(MO)))
def test_random_shapes_broadcast(batch, m, k, n, op0, op1):
    batch0 = tuple(1 if one0 else d for d, one0, _ in batch)
    batch1 = tuple(1 if one1 else d for d, _, one1 in batch)
    tail0 = {MO.NONE: (m, k), MO.TRANSPOSE: (k, m), MO.VECTOR: (k,)}[op0]
    tail1 = {MO.NONE: (k, n), MO.TRANSPOSE: (n, k), MO.VECTOR: (k,)}[op1]
    rng = np.random.default_rng(len(batch) * 100 + m * 10 + k)
    a = rng.standard_normal(batch0 + tail0).astype(np.float32)
    b = rng.standard_normal(batch1 + tail1).astype(np.float32)
    net = matmul_net(a.shape, op0, b.shape, op1)
    want = torch_matmul(a, op0, b, op1)
    assert net.outputs[0].shape == want.shape
    np.testing.assert_allclose(execute(net, {"a": a, "b": b})["mm"], want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape0, op0, shape1, op1, message", [
    ((3, 4), MO.NONE, (5, 6), MO.NONE, "contracted dims differ"),
    ((3, 4), MO.TRANSPOSE, (4, 5), MO.NONE, "K=3"),
    ((2, 3, 4), MO.NONE, (4, 5), MO.NONE, "same number of batch dims"),
    ((2, 3, 4), MO.NONE, (3, 4, 5), MO.NONE, "batch dim 0 does not broadcast"),
    ((4,), MO.NONE, (4, 5), MO.NONE, "needs rank >= 2"),
    ((3, 4), MO.NONE, (), MO.VECTOR, "needs rank >= 1"),
])
def test_invalid_shapes_raise_naming_layer(shape0, op0, shape1, op1, message):
    with pytest.raises(NetworkDefinitionError, match=rf"^mm: .*{message}"):
        matmul_net(shape0, op0, shape1, op1)


def test_invalid_dtypes_raise():
    net = Network("mm")
    a = net.add_input("a", DataType.FLOAT, (2, 3))
    h = net.add_input("h", DataType.HALF, (3, 2))
    i = net.add_input("i", DataType.INT32, (3, 2))
    with pytest.raises(NetworkDefinitionError, match=r"^mm: inputs must have the same dtype.*FLOAT.*HALF"):
        net.add_matrix_multiply(a, MO.NONE, h, MO.NONE, name="mm")
    with pytest.raises(NetworkDefinitionError, match=r"^mm2: input0 'i' must be FLOAT, HALF, BF16, found INT32"):
        net.add_matrix_multiply(i, MO.NONE, a, MO.NONE, name="mm2")


# -- add_fully_connected -----------------------------------------------------------------------

def fc_net(shape, k, dtype=DataType.FLOAT, **kw):
    net = Network("fc")
    x = net.add_input("x", DataType.FLOAT, shape)
    if dtype is not DataType.FLOAT:
        x = net.add_cast(x, dtype).output
    with net.scope("head"):
        y = net.add_fully_connected(x, k, name="fc", **kw).output
    net.mark_output(y)
    return net


@pytest.mark.parametrize("shape", [(2, 3, 4, 5), (3, 1, 1), (2, 3, 2, 2, 3)])
def test_fully_connected_matches_torch_linear(shape):
    rng = np.random.default_rng(3)
    k, v = 7, int(np.prod(shape[-3:]))
    net = fc_net(shape, k)
    assert set(net.weights()) == {"head.fc.kernel", "head.fc.bias"}
    assert net.weights()["head.fc.kernel"].shape == (k, v)
    w = rng.standard_normal((k, v)).astype(np.float32)
    b = rng.standard_normal(k).astype(np.float32)
    net.bind_weights({"head.fc.kernel": w, "head.fc.bias": b})
    x = rng.standard_normal(shape).astype(np.float32)
    got = execute(net, {"x": x})["head.fc"]
    lead = shape[:-3]
    want = torch.nn.functional.linear(torch.from_numpy(x).reshape(*lead, v), torch.from_numpy(w),
                                      torch.from_numpy(b)).reshape(*lead, k, 1, 1).numpy()
    assert got.shape == lead + (k, 1, 1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_fully_connected_fp16_without_bias_and_given_kernel():
    rng = np.random.default_rng(4)
    w = rng.standard_normal((5, 24)).astype(np.float32) * 0.3
    net = fc_net((2, 2, 3, 4), 5, DataType.HALF, kernel=w, bias=False)
    assert net.unbound_weights() == [] and "head.fc.bias" not in net.weights()
    x = rng.standard_normal((2, 2, 3, 4)).astype(np.float32)
    got = execute(net, {"x": x})["head.fc"]
    assert got.dtype == np.float16
    w16 = torch.from_numpy(w.astype(np.float16).astype(np.float32))
    want = (torch.from_numpy(x.astype(np.float16).astype(np.float32)).reshape(2, 24) @ w16.T).reshape(2, 5, 1, 1)
    np.testing.assert_allclose(got, want.numpy(), rtol=3e-3, atol=5e-3)


def test_fully_connected_layers_and_auto_names():
    net = Network("fc")
    x = net.add_input("x", DataType.FLOAT, (1, 2, 3, 3))
    first = net.add_fully_connected(x, 4)
    second = net.add_fully_connected(first.output, 3)
    assert first.name == "fully_connected" and second.name == "fully_connected1"
    assert [la.name for la in net.layers] == [
        "fully_connected.flatten", "fully_connected.kernel", "fully_connected.matmul", "fully_connected.bias",
        "fully_connected.bias_add", "fully_connected",
        "fully_connected1.flatten", "fully_connected1.kernel", "fully_connected1.matmul", "fully_connected1.bias",
        "fully_connected1.bias_add", "fully_connected1"]
    assert second.output.shape == (1, 3, 1, 1)
    with pytest.raises(NetworkDefinitionError, match=r"^fully_connected: a layer of that name already exists"):
        net.add_fully_connected(x, 2, name="fully_connected")


@pytest.mark.parametrize("shape, kw, message", [
    ((2, 12), {}, r"must have rank >= 3"),
    ((2, 3, 2, 2), {"kernel": np.zeros((4, 11), np.float32)}, r"kernel weights must have shape \(4, 12\)"),
    ((2, 3, 2, 2), {"bias": np.zeros(5, np.float32)}, r"bias weights must have shape \(4,\)"),
])
def test_fully_connected_invalid_raises_naming_layer(shape, kw, message):
    with pytest.raises(NetworkDefinitionError, match=rf"^head\.fc: .*{message}"):
        fc_net(shape, 4, **kw)
