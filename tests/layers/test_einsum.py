"""add_einsum: reference executor vs torch.einsum, and TensorRT's equation restrictions."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from netdsl.graph.dtypes import DataType
from netdsl.graph.errors import NetworkDefinitionError
from netdsl.graph.network import Network
from netdsl.reference import execute


def einsum_net(equation, shapes, dtype=DataType.FLOAT):
    net = Network("es")
    xs = [net.add_input(f"x{i}", DataType.FLOAT, s) for i, s in enumerate(shapes)]
    if dtype is not DataType.FLOAT:
        xs = [net.add_cast(x, dtype).output for x in xs]
    layer = net.add_einsum(xs, equation, name="e")
    net.mark_output(layer.output)
    return net, layer


def run_both(equation, shapes, dtype=DataType.FLOAT, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    net, layer = einsum_net(equation, shapes, dtype)
    got = execute(net, {f"x{i}": a for i, a in enumerate(arrays)})["e"]
    if dtype is DataType.HALF:
        arrays = [a.astype(np.float16).astype(np.float32) for a in arrays]
    want = torch.einsum(equation.replace(" ", ""), *(torch.from_numpy(a).double() for a in arrays)).numpy()
    return layer, got, want


@pytest.mark.parametrize("equation, shapes, explicit", [
    ("ij,jk->ik", [(3, 4), (4, 5)], "ij,jk->ik"),
    ("ij,jk", [(3, 4), (4, 5)], "ij,jk->ik"),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)], "bij,bjk->bik"),
    ("ij->ji", [(3, 4)], "ij->ji"),
    ("ij->", [(3, 4)], "ij->"),
    ("i,i->", [(6,), (6,)], "i,i->"),
    ("ik,k->i", [(3, 4), (4,)], "ik,k->i"),
    ("i,j->ij", [(3,), (4,)], "i,j->ij"),
    ("ba", [(3, 4)], "ba->ab"),
    (" i j , j k -> i k ", [(2, 3), (3, 4)], "ij,jk->ik"),
    (",i->i", [(), (3,)], ",i->i"),
    ("ijk,ikl,l->ij", [(2, 3, 4), (2, 4, 5), (5,)], "ijk,ikl,l->ij"),
    ("nchw,nchw->nc", [(2, 3, 2, 2), (2, 3, 2, 2)], "nchw,nchw->nc"),
    ("bij,bjk->bik", [(1, 3, 4), (2, 4, 5)], "bij,bjk->bik"),  # broadcast of a size-1 dim
])
def test_matches_torch_fp32(equation, shapes, explicit):
    layer, got, want = run_both(equation, shapes)
    assert layer.equation == explicit
    assert got.shape == want.shape == layer.output.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("equation, shapes", [("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("ij->ji", [(3, 4)])])
def test_matches_torch_fp16(equation, shapes):
    layer, got, want = run_both(equation, shapes, DataType.HALF)
    assert got.dtype == np.float16
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=4e-3)


@settings(max_examples=20, deadline=None)
@given(data=st.data(), n_inputs=st.integers(1, 3))
def test_random_equations(data, n_inputs):
    letters = "abcde"
    sizes = {c: data.draw(st.integers(1, 3)) for c in letters}
    terms = [data.draw(st.lists(st.sampled_from(letters), max_size=3, unique=True)) for _ in range(n_inputs)]
    used = sorted({c for t in terms for c in t})
    out = data.draw(st.lists(st.sampled_from(used), unique=True)) if used else []
    equation = ",".join("".join(t) for t in terms) + "->" + "".join(out)
    shapes = [tuple(sizes[c] for c in t) for t in terms]
    _, got, want = run_both(equation, shapes, seed=n_inputs)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("equation, shapes, message", [
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)], r"does not support ellipsis"),
    ("ii->i", [(3, 3)], r"repeats \['i'\] \(a diagonal\)"),
    ("iJ,Jk->ik", [(3, 4), (4, 5)], r"ASCII lowercase letters only"),
    ("ij,jk->ik", [(3, 4)], r"has 2 input term\(s\), found 1 input"),
    ("ijk,jk->ik", [(3, 4), (4, 5)], r"term 0 'ijk' has 3 letter\(s\), input 0 has rank 2"),
    ("ij,jk->ik", [(3, 4), (5, 6)], r"letter 'j' is 4 in an earlier input and 5"),
    ("ij,jk->iz", [(3, 4), (4, 5)], r"not in any input \['z'\]"),
    ("ij,jk->ii", [(3, 4), (4, 5)], r"repeated \['i'\]"),
    ("ij->j->i", [(3, 4)], r"expected 'term,term"),
])
def test_invalid_equations_raise_naming_layer(equation, shapes, message):
    with pytest.raises(NetworkDefinitionError, match=rf"^e: .*{message}"):
        einsum_net(equation, shapes)


def test_invalid_inputs_raise():
    net = Network("es")
    a = net.add_input("a", DataType.FLOAT, (2, 3))
    h = net.add_input("h", DataType.HALF, (3, 2))
    i = net.add_input("i", DataType.INT32, (3,))
    with pytest.raises(NetworkDefinitionError, match=r"^e: inputs must have one dtype.*FLOAT.*HALF"):
        net.add_einsum([a, h], "ij,jk->ik", name="e")
    with pytest.raises(NetworkDefinitionError, match=r"^e2: input 0 'i' must be FLOAT, HALF, BF16"):
        net.add_einsum([i], "i->", name="e2")
    with pytest.raises(NetworkDefinitionError, match=r"^e3: einsum needs at least one input"):
        net.add_einsum([], "->", name="e3")
