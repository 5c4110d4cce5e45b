"""Binding weights: exact dtype conversion, non-finite values, declared minimums, headers judged before data."""
from __future__ import annotations

import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from netdsl import DataType, ElementWiseOperation, Network
from netdsl.graph.errors import NetworkDefinitionError, WeightsError
from netdsl.reference import execute
from netdsl.weights import load_weights, save_weights

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
from fuzzing.h5gen import tiny_arrays, tiny_network  # noqa: E402

OLD = Path(__file__).resolve().parent / "data" / "old_format_v1.h5"


def _conv_net():
    net = Network("conv")
    x = net.add_input("x", DataType.FLOAT, (1, 2, 3, 3))
    net.mark_output(net.add_convolution_nd(x, 2, (1, 1), name="c").output)
    return net


# -------------------------------------------------------------------------------- dtype conversion
def test_float16_weights_bind_to_float32_declarations_converted_exactly(tmp_path):
    """Was: 'expected dtype float32, found float16'. float16 -> float32 loses nothing."""
    kernel = np.float16([[[[0.5]], [[-2.0]]], [[[0.25]], [[65504]]]])  # 65504: float16's largest value
    path = tmp_path / "half.h5"
    save_weights(path, {"c.kernel": kernel, "c.bias": np.float16([1, -1])}, source="t")
    net = _conv_net()
    load_weights(net, path)
    bound = net.weights()["c.kernel"].value
    assert bound.dtype == np.float32
    assert bound.tolist() == [[[[0.5]], [[-2.0]]], [[[0.25]], [[65504.0]]]]
    out = execute(net, {"x": np.ones((1, 2, 3, 3), np.float32)})["c"]
    np.testing.assert_array_equal(out[0, :, 0, 0], [-0.5, 65503.25])  # 0.5 - 2 + 1, 0.25 + 65504 - 1


@pytest.mark.parametrize("kernel, found", [
    (np.float64([[[[0.1]], [[0.2]]], [[[0.3]], [[0.4]]]]), "float64"),  # float64 -> float32 rounds
    (np.int32([[[[2 ** 24 + 1]], [[1]]], [[[1]], [[1]]]]), "int32"),    # int32 -> float32 rounds
    (np.array([[[[True]], [[False]]], [[[True]], [[True]]]]), "bool"),
])
def test_conversions_that_can_lose_information_stay_errors(kernel, found):
    net = _conv_net()
    with pytest.raises(WeightsError) as info:
        net.bind_weights({"c.kernel": kernel, "c.bias": np.zeros(2, np.float32)}, source="w.h5")
    assert str(info.value) == (f"w.h5 does not fit network 'conv': mismatched: c.kernel: expected dtype float32, "
                               f"found {found}")
    assert net.unbound_weights() == ["c.kernel", "c.bias"]


def test_small_integers_bind_to_float32_exactly():
    net = _conv_net()
    net.bind_weights({"c.kernel": np.int16([[[[3]], [[-4]]], [[[5]], [[6]]]]), "c.bias": np.uint8([1, 2])})
    assert net.weights()["c.kernel"].value.dtype == np.float32
    assert net.weights()["c.bias"].value.tolist() == [1.0, 2.0]


# -------------------------------------------------------------------------------- non-finite values
@pytest.mark.parametrize("bad, shown", [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")])
def test_non_finite_weights_are_refused_naming_tensor_and_first_index(tmp_path, bad, shown):
    """Was: bound silently (one NaN in a kernel made detection print '0 objects', exit 0)."""
    arrays = tiny_arrays()
    arrays["conv0.conv.kernel"] = arrays["conv0.conv.kernel"].copy()
    arrays["conv0.conv.kernel"][1, 2, 0, 1] = bad
    arrays["conv0.conv.kernel"][1, 2, 1, 1] = bad  # only the first is named
    path = tmp_path / "nan.h5"
    save_weights(path, arrays, source="t")
    net = tiny_network()
    with pytest.raises(WeightsError) as info:
        load_weights(net, path)
    assert str(info.value) == (f"{path} does not fit network 'tiny': invalid values: conv0.conv.kernel: "
                               f"non-finite value {shown} at index (1, 2, 0, 1)")
    assert net.unbound_weights() == list(arrays)  # nothing half-bound


def test_weights_bind_refuses_nan_directly():
    net = _conv_net()
    with pytest.raises(WeightsError, match=r"^c\.bias: non-finite value nan at index \(1,\)$"):
        net.weights()["c.bias"].bind(np.float32([0, np.nan]))


def test_inline_constants_and_explicit_opt_out_may_be_non_finite():
    """A -inf mask given with the layer is code, not a file: allowed. Store-bound weights opt in explicitly."""
    net = Network("mask")
    layer = net.add_constant((1, 2), np.float32([[0, -np.inf]]), name="mask")
    assert layer.weights["weights"].value[0, 1] == -np.inf
    w = net.declare_weights("clip", "bounds", (2,), allow_nonfinite=True)
    net.bind_weights({"clip.bounds": np.float32([-np.inf, np.inf])})
    assert w.value.tolist() == [-np.inf, np.inf]


# -------------------------------------------------------------------------------- minimums
def test_negative_batch_norm_variance_is_refused(tmp_path):
    """Was: bound silently; sqrt(variance + eps) then gives NaN."""
    arrays = tiny_arrays()
    arrays["conv0.bn.variance"] = np.float32([1.0, -0.25])
    path = tmp_path / "neg.h5"
    save_weights(path, arrays, source="t")
    with pytest.raises(WeightsError) as info:
        load_weights(tiny_network(), path)
    assert str(info.value).endswith("invalid values: conv0.bn.variance: value -0.25 at index (1,) is below the "
                                    "minimum 0.0")


@pytest.mark.parametrize("fold", [False, True])
def test_batch_norm_declares_variance_minimum_zero(fold):
    net = Network("bn")
    x = net.add_input("x", DataType.FLOAT, (1, 2, 2, 2))
    net.add_conv_batch_norm(x, 2, (1, 1), fold=fold)
    weights = net.weights()
    assert weights["bn.variance"].minimum == 0.0
    assert all(weights[n].minimum is None for n in ("bn.scale", "bn.bias", "bn.mean", "conv.kernel"))
    net.weights()["bn.variance"].bind(np.float32([0.0, 3.0]))  # zero is allowed
    with pytest.raises(WeightsError, match=r"bn.variance: value -1.0 at index \(0,\) is below the minimum 0.0"):
        Network("x").declare_weights("bn", "variance", (2,), minimum=0.0).bind(np.float32([-1, 1]))
    net2 = Network("b2")
    y = net2.add_input("y", DataType.FLOAT, (1, 2, 2, 2))
    with pytest.raises(NetworkDefinitionError, match="below the minimum"):
        net2.declare_weights("s", "variance", (2,), value=np.float32([-1, 1]), minimum=0.0)
    assert y.shape == (1, 2, 2, 2)


def test_release_weights_unbinds_everything_and_forgets_folded_values():
    """Network.release_weights (what build_engine(release_weights=True) calls once TensorRT has its arrays):
    every weight unbound, constants included, folded (derived) values forgotten; binding again works."""
    from netdsl.graph.network import DerivedWeights
    net = Network("bn")
    x = net.add_input("x", DataType.FLOAT, (1, 2, 2, 2))
    conv = net.add_conv_batch_norm(x, 2, (1, 1), fold=True)
    net.mark_output(net.add_elementwise(conv.output, net.add_constant((1, 1, 1, 1), np.float32([[[[2.0]]]]),
                                                                     name="two").output,
                                        ElementWiseOperation.PROD, name="out").output)
    arrays = {"conv.kernel": np.float32([[[[1.0]], [[2.0]]], [[[3.0]], [[4.0]]]]), "bn.scale": np.float32([1, 2]),
              "bn.bias": np.float32([0.5, 0]), "bn.mean": np.float32([0, 1]), "bn.variance": np.float32([1, 4])}
    net.bind_weights(arrays, source="w.h5")
    folded = conv.weights["kernel"]
    assert isinstance(folded, DerivedWeights) and folded.value is not None and folded._cache is not None
    feeds = {"x": np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2)}
    before = execute(net, feeds)["out"]
    net.release_weights()
    assert sorted(net.unbound_weights()) == sorted(list(arrays) + ["two.weights"])
    assert folded._cache is None and folded.value is None and net.weights_source is None
    net.bind_weights(dict(arrays, **{"two.weights": np.float32([[[[2.0]]]])}), source="again.h5")
    np.testing.assert_array_equal(execute(net, feeds)["out"], before)


# -------------------------------------------------------------------------------- load_weights
def test_load_weights_twice_says_the_network_is_already_bound(tmp_path):
    """Was: the second call listed every weight as unexpected."""
    path = tmp_path / "w.h5"
    save_weights(path, tiny_arrays(), source="t")
    net = tiny_network()
    load_weights(net, path)
    with pytest.raises(WeightsError) as info:
        load_weights(net, OLD)
    assert str(info.value) == (f"network 'tiny' already has its weights bound (from {path}); "
                               f"{OLD} was not loaded")


def test_load_weights_reads_only_declared_weights_whose_header_fits(tmp_path, monkeypatch):
    """A declared name with a huge mis-declared (compressed, so the file is small) shape is judged from its
    header and never read; nor is anything undeclared."""
    import netdsl.weights.h5read as h5read
    path = tmp_path / "w.h5"
    arrays = tiny_arrays()
    del arrays["conv0.conv.kernel"]
    save_weights(path, arrays, source="t")
    with h5py.File(path, "a") as f:
        f.create_dataset("conv0/conv/kernel", data=np.zeros((2048, 2048), np.float32), compression="gzip")
        f["extra/w"] = np.ones(3, np.float32)
    read = []
    real = h5read._Reader.read_into
    monkeypatch.setattr(h5read._Reader, "read_into",
                        lambda self, info, array: read.append(info.name) or real(self, info, array))
    with pytest.raises(WeightsError) as info:
        load_weights(tiny_network(), path)
    assert "mismatched: conv0.conv.kernel: expected shape (2, 3, 2, 2), found (2048, 2048)" in str(info.value)
    assert "unexpected (provided but not required): extra.w" in str(info.value)
    assert "conv0.conv.kernel" not in read and "extra.w" not in read
    assert sorted(read) == sorted(n for n in tiny_arrays() if n != "conv0.conv.kernel")


def test_old_format_file_binds(tmp_path):
    net = tiny_network()
    store = load_weights(net, OLD)
    assert store.checksummed is False and net.unbound_weights() == []
    np.testing.assert_array_equal(net.weights()["conv0.bn.variance"].value, [1.0, 4.0])


# -------------------------------------------------------------------------------- another network's file
def _chain(prefix: str, layers: int) -> Network:
    net = Network("chain")
    t = net.add_input("x", DataType.FLOAT, (1, 2, 3, 3))
    for i in range(layers):
        t = net.add_convolution_nd(t, 2, (1, 1), name=f"{prefix}{i}").output
    net.mark_output(t)
    return net


def test_another_networks_weights_list_a_dozen_names_per_kind_and_say_none_fit():
    other = {n: np.zeros(w.shape, np.float32) for n, w in _chain("layer", 10).weights().items()}  # 20 names
    net = _chain("conv", 10)
    with pytest.raises(WeightsError) as err:
        net.bind_weights(other, "other.h5")
    text = str(err.value)
    needed = list(net.weights())
    assert text == ("other.h5 does not fit network 'chain': missing (required but not provided): "
                    f"{', '.join(needed[:12])}, ... and 8 more | unexpected (provided but not required): "
                    f"{', '.join(sorted(other)[:12])}, ... and 8 more | none of the 20 names provided is one the "
                    "network needs: the weights of another network, or names that need a mapping?")
    assert not any(w.is_bound for w in net.weights().values())


def test_a_partly_fitting_file_gets_no_other_network_hint():
    net = _chain("conv", 2)
    arrays = {n: np.zeros(w.shape, np.float32) for n, w in net.weights().items()}
    arrays["extra"] = np.zeros(1, np.float32)
    del arrays["conv1.bias"]
    with pytest.raises(WeightsError) as err:
        net.bind_weights(arrays, "part.h5")
    assert str(err.value) == ("part.h5 does not fit network 'chain': missing (required but not provided): conv1.bias"
                              " | unexpected (provided but not required): extra")
