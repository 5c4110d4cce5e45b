"""tensorrtx .wts files (netdsl.frameworks.wts): gen_wts.py compatibility, exact round trips, one-line errors."""
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netdsl.frameworks._importing import WeightImportError
from netdsl.frameworks.torch_import import import_torch
from netdsl.frameworks.wts import convert_wts, export_wts, import_wts, read_wts, torch_names, write_wts
from netdsl.models import mtcnn_rnet

from importer_fuzz import wts_text


def test_gen_wts_file_imports_like_the_state_dict_and_exports_byte_identical(data, tmp_path):
    pt = data / "torch" / "mtcnn" / "rnet.pt"
    sd = torch.load(pt, weights_only=True)
    original = tmp_path / "rnet.wts"
    original.write_bytes(wts_text({k: v.numpy() for k, v in sd.items()}))   # what tensorrtx's gen_wts.py writes
    net = mtcnn_rnet.build_network()
    from_wts = import_wts(original, net)
    from_pt = import_torch(pt, net)
    assert list(from_wts) == list(from_pt)
    for name in from_pt:
        np.testing.assert_array_equal(from_wts[name], from_pt[name])
    written = export_wts(tmp_path / "again.wts", from_wts)                   # netdsl -> torch keys
    assert list(written) == list(sd)
    assert (tmp_path / "again.wts").read_bytes() == original.read_bytes()


finite_or_not = st.floats(width=32, allow_nan=True, allow_infinity=True)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,6}(\.[a-z0-9_]{1,6}){0,2}", fullmatch=True),
                       st.lists(finite_or_not, max_size=20), max_size=6),
       st.integers(0, 2 ** 32 - 1))
def test_export_import_round_trip_is_exact(tmp_path, tensors, nan_bits):
    arrays = {k: np.array(v, np.float32) for k, v in tensors.items()}
    if arrays:  # a NaN payload survives too
        first = next(iter(arrays))
        arrays[first] = np.append(arrays[first], np.uint32(0x7FC00000 | (nan_bits & 0x3FFFFF)).view(np.float32))
    path = tmp_path / "rt.wts"
    write_wts(path, arrays)
    back = read_wts(path)
    assert list(back) == list(arrays)
    for k in arrays:
        assert back[k].view(np.uint32).tolist() == arrays[k].view(np.uint32).tolist()
    assert path.read_bytes() == wts_text(arrays) or any(np.isnan(a).any() for a in arrays.values())


def test_torch_names_inverts_the_import_rules():
    arrays = {"conv.kernel": 1, "bn.scale": 2, "bn.bias": 3, "bn.mean": 4, "bn.variance": 5, "act.slopes": 6,
              "rnn.l1_reverse.weight_hh": 7, "fc.bias": 8}
    assert list(torch_names(arrays, {"conv": "features.0"})) == [
        "features.0.weight", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "act.weight",
        "rnn.weight_hh_l1_reverse", "fc.bias"]


def test_malformed_lines_are_listed_in_one_line(tmp_path):
    path = tmp_path / "bad.wts"
    path.write_text("4\n"
                    "conv1.weight 2  3f800000 40000000\n"
                    "conv1.bias 3  3f800000 40000000\n"          # says 3, holds 2
                    "prelu1.weight 1  3f80zz00\n"                 # not hex
                    "conv1.weight 1  3f800000\n")                 # repeated name
    with pytest.raises(WeightImportError) as info:
        read_wts(path)
    message = str(info.value)
    assert "\n" not in message
    assert message == (f"{path}: malformed .wts file: line 3 (conv1.bias): says 3 values, holds 2; "
                       f"line 4 (prelu1.weight): '3f80zz00' is not a float32 as 1-8 hex digits; "
                       f"line 5: tensor 'conv1.weight' appears twice")
    path.write_text("3\nconv1.weight 1  3f800000\n")
    with pytest.raises(WeightImportError, match="line 1 says 3 tensors, the file has 1 tensor lines"):
        read_wts(path)
    path.write_text("1\nconv1.weight 99999999999999  3f800000\n")  # a count claim: never allocated
    with pytest.raises(WeightImportError, match="says 99999999999999 values, holds 1"):
        read_wts(path)


def test_element_count_mismatch_against_the_network(tmp_path):
    path = tmp_path / "short.wts"
    write_wts(path, {"conv1.weight": np.zeros(5, np.float32), "extra.weight": np.zeros(1, np.float32)})
    with pytest.raises(WeightImportError) as info:
        import_wts(path, {"conv1.kernel": (2, 3), "conv1.bias": (2,)})
    message = str(info.value)
    assert "unmapped source tensors: extra.weight" in message
    assert "unfilled netdsl weights: conv1.bias" in message
    assert "conv1.kernel: expected shape (2, 3), found (5,) in conv1.weight" in message


def test_importing_into_a_network_already_bound_says_so(data, tmp_path):
    """Was: every tensor of the file listed as unmapped (the bound network had no weight left to fill)."""
    sd = torch.load(data / "torch" / "mtcnn" / "rnet.pt", weights_only=True)
    path = tmp_path / "rnet.wts"
    path.write_bytes(wts_text({k: v.numpy() for k, v in sd.items()}))
    net = mtcnn_rnet.build_network()
    net.bind_weights(import_wts(path, net), source="rnet.h5")
    declared = len(net.weights())
    with pytest.raises(WeightImportError) as err:
        import_wts(path, net)
    assert str(err.value) == (f"{path}: network '{net.name}' has nothing left to fill: its {declared} weights are "
                              "bound already (from rnet.h5); import into a freshly built network")
    with pytest.raises(WeightImportError, match="has nothing left to fill"):
        import_torch(data / "torch" / "mtcnn" / "rnet.pt", net)


def test_convert_wts_writes_the_imported_arrays_as_a_checksummed_store(data, tmp_path):
    from netdsl.weights import load_weights, load_weights_file
    sd = torch.load(data / "torch" / "mtcnn" / "rnet.pt", weights_only=True)
    path = tmp_path / "rnet.wts"
    path.write_bytes(wts_text({k: v.numpy() for k, v in sd.items()}))
    written = convert_wts(path, mtcnn_rnet.build_network(), tmp_path / "rnet.h5")
    store = load_weights_file(tmp_path / "rnet.h5")
    assert store.checksummed and list(store) == list(written)
    assert store.attrs["source"] == "tensorrtx rnet.wts"
    for name, array in written.items():
        np.testing.assert_array_equal(np.asarray(store[name]), array)
    net = mtcnn_rnet.build_network()
    load_weights(net, tmp_path / "rnet.h5")   # binds: every declared weight is there with its shape
    np.testing.assert_array_equal(net.weights()["conv1.kernel"].value, sd["conv1.weight"].numpy())
