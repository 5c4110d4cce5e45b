"""The netdsl HDF5 weight store: round trip, layout on disk, atomic writes, errors."""
from __future__ import annotations

import os

import h5py
import numpy as np
import pytest

from netdsl import DataType, Network
from netdsl.graph.errors import WeightsError, WeightsFileError
from netdsl.weights import WeightStore, load_weights, load_weights_file, save_weights


def _arrays():
    rng = np.random.default_rng(0)
    return {
        "conv0.conv.kernel": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
        "conv0.conv.bias": rng.standard_normal(4).astype(np.float32),
        "conv1.bn.scale": rng.standard_normal(2).astype(np.float32),
        "embed.table": rng.standard_normal((5, 7)).astype(np.float16),
        "lookup.index": np.arange(6, dtype=np.int32).reshape(2, 3),
        "head.temperature": np.float32(0.5),
    }


def _leftovers(directory):
    return sorted(n for n in os.listdir(directory) if n.endswith(".tmp"))


def test_round_trip_values_dtypes_order_and_attrs(tmp_path):
    arrays = _arrays()
    path = tmp_path / "w.h5"
    save_weights(path, arrays, source="unit test", network="tiny", layouts={"conv0.conv.kernel": "KCRS"},
                 attrs={"extra": 3})
    store = load_weights_file(path)
    assert isinstance(store, WeightStore)
    assert list(store) == list(arrays)  # creation order survives
    assert len(store) == len(arrays)
    for name, value in arrays.items():
        assert store[name].dtype == np.asarray(value).dtype, name
        assert store[name].shape == np.asarray(value).shape, name
        np.testing.assert_array_equal(store[name], value)
    assert store.path == str(path)
    assert store.attrs == {"format": "netdsl-weights", "format_version": 1, "source": "unit test",
                           "network": "tiny", "extra": 3}
    assert store.layouts == {"conv0.conv.kernel": "KCRS"}

    # Round trip again through a WeightStore.
    again = tmp_path / "again.h5"
    save_weights(again, store, source=store.attrs["source"], layouts=store.layouts)
    store2 = WeightStore.open(again)
    assert list(store2) == list(store) and "network" not in store2.attrs
    for name in store:
        np.testing.assert_array_equal(store2[name], store[name])


def test_plain_h5py_sees_documented_layout(tmp_path):
    arrays = _arrays()
    path = tmp_path / "w.h5"
    save_weights(path, arrays, source="unit test", layouts={"conv0.conv.kernel": "KCRS"})
    with h5py.File(path, "r") as f:
        # Strings are fixed-length UTF-8 (inside the checksummed object header): h5py reads them as bytes.
        assert f.attrs["format"] == b"netdsl-weights"
        assert int(f.attrs["format_version"]) == 1
        assert f.attrs["source"].decode("utf-8") == "unit test"
        assert "network" not in f.attrs
        kernel = f["/conv0/conv/kernel"]
        assert kernel.dtype == np.float32 and kernel.shape == (4, 3, 3, 3)
        assert kernel.attrs["layout"] == b"KCRS"
        np.testing.assert_array_equal(kernel[()], arrays["conv0.conv.kernel"])
        assert isinstance(f["conv1/bn"], h5py.Group)
        assert "layout" not in f["conv0/conv/bias"].attrs


def test_overwrite_replaces_whole_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "w.h5"
    save_weights(path, {"a.b": np.ones(3, np.float32), "a.c": np.zeros(2, np.float32)}, source="first")
    save_weights(path, {"x.y": np.full(2, 7, np.float32)}, source="second")
    store = load_weights_file(path)
    assert list(store) == ["x.y"] and store.attrs["source"] == "second"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("name", ["conv0/conv.kernel", "", ".conv0", "conv0.", "conv0..kernel"])
def test_bad_names_rejected_and_nothing_written(tmp_path, name):
    path = tmp_path / "w.h5"
    with pytest.raises(WeightsFileError) as info:
        save_weights(path, {"ok.name": np.ones(1, np.float32), name: np.ones(1, np.float32)}, source="t")
    assert repr(name) in str(info.value)
    assert not path.exists() and os.listdir(tmp_path) == []


def test_name_that_is_also_a_scope_rejected(tmp_path):
    path = tmp_path / "w.h5"
    with pytest.raises(WeightsFileError, match=r"'a\.b' is also the scope of 'a\.b\.c'"):
        save_weights(path, {"a.b": np.ones(1, np.float32), "a.b.c": np.ones(1, np.float32)}, source="t")
    assert os.listdir(tmp_path) == []


def test_missing_output_directory(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "w.h5"
    with pytest.raises(WeightsFileError) as info:
        save_weights(path, {"a.b": np.ones(1, np.float32)}, source="t")
    message = str(info.value)
    assert str(path) in message and "does not exist" in message and "\n" not in message
    assert os.listdir(tmp_path) == []


def test_failure_while_writing_removes_temp_and_keeps_old_file(tmp_path):
    path = tmp_path / "w.h5"
    save_weights(path, {"old.value": np.ones(2, np.float32)}, source="old")
    with pytest.raises(WeightsFileError, match="cannot write weights to"):
        # h5py cannot store an arbitrary object as an attribute: fails mid-write.
        save_weights(path, {"new.value": np.zeros(2, np.float32)}, source="new", attrs={"bad": object()})
    assert _leftovers(tmp_path) == []
    store = load_weights_file(path)
    assert list(store) == ["old.value"] and store.attrs["source"] == "old"


def test_reserved_attr_and_unknown_layout_rejected(tmp_path):
    with pytest.raises(WeightsFileError, match="reserved"):
        save_weights(tmp_path / "w.h5", {"a.b": np.ones(1, np.float32)}, source="t", attrs={"format": "x"})
    with pytest.raises(WeightsFileError, match="layout given for 'a.c'"):
        save_weights(tmp_path / "w.h5", {"a.b": np.ones(1, np.float32)}, source="t", layouts={"a.c": "KCRS"})
    with pytest.raises(WeightsFileError, match="dtype object cannot be stored"):
        save_weights(tmp_path / "w.h5", {"a.b": np.array([object()])}, source="t")
    assert os.listdir(tmp_path) == []


def test_missing_file(tmp_path):
    path = tmp_path / "absent.h5"
    with pytest.raises(WeightsFileError, match=f"weights file {path} does not exist"):
        WeightStore.open(path)


def test_not_an_hdf5_file(tmp_path):
    path = tmp_path / "fake.h5"
    path.write_bytes(b"this is text, not HDF5\n" * 10)
    with pytest.raises(WeightsFileError) as info:
        load_weights_file(path)
    message = str(info.value)
    assert str(path) in message and "not an HDF5 file" in message and "\n" not in message


def test_wrong_format_attribute(tmp_path):
    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.ones(3)
    with pytest.raises(WeightsFileError) as info:
        WeightStore.open(path)
    assert str(info.value) == (f"weights file {path} is not a netdsl weight store: expected root attribute "
                               f"format='netdsl-weights', found no 'format' attribute")
    with h5py.File(path, "a") as f:
        f.attrs["format"] = "keras"
    with pytest.raises(WeightsFileError, match="expected root attribute format='netdsl-weights', "
                                               "found format='keras'"):
        WeightStore.open(path)


def test_unsupported_format_version(tmp_path):
    path = tmp_path / "future.h5"
    save_weights(path, {"a.b": np.ones(1, np.float32)}, source="t")
    with h5py.File(path, "a") as f:
        f.attrs["format_version"] = 2
    with pytest.raises(WeightsFileError) as info:
        WeightStore.open(path)
    assert str(path) in str(info.value)
    assert "expected format_version=1, found format_version=2" in str(info.value)


def _two_conv_network():
    net = Network("two_conv")
    x = net.add_input("images", DataType.FLOAT, (1, 3, 8, 8))
    with net.scope("conv0"):
        x = net.add_convolution_nd(x, 4, (3, 3), padding_nd=(1, 1), name="conv").output
    with net.scope("conv1"):
        x = net.add_convolution_nd(x, 2, (1, 1), name="conv").output
    net.mark_output(x)
    return net


def _good_arrays():
    rng = np.random.default_rng(1)
    return {"conv0.conv.kernel": rng.standard_normal((4, 3, 3, 3)).astype(np.float32),
            "conv0.conv.bias": rng.standard_normal(4).astype(np.float32),
            "conv1.conv.kernel": rng.standard_normal((2, 4, 1, 1)).astype(np.float32),
            "conv1.conv.bias": rng.standard_normal(2).astype(np.float32)}


def test_load_weights_binds_network(tmp_path):
    net = _two_conv_network()
    arrays = _good_arrays()
    path = tmp_path / "two_conv.h5"
    save_weights(path, arrays, source="unit test", network=net.name)
    store = load_weights(net, path)
    assert net.unbound_weights() == []
    for name, weights in net.weights().items():
        np.testing.assert_array_equal(weights.value, arrays[name])
    assert set(store) == set(arrays)


def test_load_weights_reports_every_problem_in_one_message(tmp_path):
    net = _two_conv_network()
    arrays = _good_arrays()
    arrays["conv0.conv.kernel"] = np.zeros((4, 3, 5, 5), np.float32)  # wrong shape
    arrays["conv0.conv.bias"] = np.float64([0.5, 0.25, 1.0, 2.0])  # wrong dtype: float64 -> float32 can round
    del arrays["conv1.conv.bias"]  # missing
    arrays["conv2.conv.kernel"] = np.zeros((1, 1, 1, 1), np.float32)  # unexpected
    path = tmp_path / "bad.h5"
    save_weights(path, arrays, source="unit test")
    with pytest.raises(WeightsError) as info:
        load_weights(net, path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path} does not fit network 'two_conv': ")
    assert "missing (required but not provided): conv1.conv.bias" in message
    assert "unexpected (provided but not required): conv2.conv.kernel" in message
    assert "conv0.conv.kernel: expected shape (4, 3, 3, 3), found (4, 3, 5, 5)" in message
    assert "conv0.conv.bias: expected dtype float32, found float64" in message
    assert net.unbound_weights() == list(net.weights())  # nothing bound on failure


@pytest.mark.parametrize("name, hint", [
    ("model.pt", "a PyTorch file? convert it first: netdsl convert torch MODEL --weights FILE -o model.h5 "
                 "(docs/porting_pytorch.md)"),
    ("model.safetensors", "a PyTorch file? convert it first"),
    ("yolov3.weights", "a darknet file? convert it first: netdsl convert darknet --cfg CFG --weights FILE -o model.h5"),
    ("model.wts", "a tensorrtx file? convert it first: netdsl convert wts MODEL --weights FILE -o model.h5"),
    ("model.onnx", "an ONNX model? convert its weights first: netdsl.frameworks.onnx_import.convert_onnx("),
])
def test_a_framework_file_given_as_a_store_says_how_to_convert_it(tmp_path, name, hint):
    path = tmp_path / name
    path.write_bytes(b"\x80\x02 not hdf5 at all")
    with pytest.raises(WeightsFileError) as err:
        load_weights_file(path)
    assert str(err.value).startswith(f"weights file {path} is not an HDF5 file (expected a netdsl-weights HDF5 "
                                     f"store); {hint}")


def test_a_keras_hdf5_file_given_as_a_store_says_how_to_convert_it(tmp_path):
    path = tmp_path / "model.h5"
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.1.5"
        f.create_dataset("dense/kernel", data=np.zeros((2, 2), np.float32))
    with pytest.raises(WeightsFileError) as err:
        load_weights_file(path)
    assert str(err.value) == (f"weights file {path} is not a netdsl weight store: expected root attribute "
                              "format='netdsl-weights', found no 'format' attribute; a Keras file? convert it first: "
                              "netdsl.frameworks.keras_import.convert_keras(path, network, 'model.h5') "
                              "(docs/porting_keras.md)")


def test_every_shipped_store_is_checksummed():
    """The stores in weights/ are written by netdsl's current writer: HDF5 verifies every dataset they hold."""
    from pathlib import Path
    shipped = sorted((Path(__file__).resolve().parents[2] / "weights").glob("*.h5"))
    assert len(shipped) >= 9
    for path in shipped:
        store = load_weights_file(path)
        assert store.checksummed, path
        assert all(store.datasets[n].checksum is not None for n in store), path
