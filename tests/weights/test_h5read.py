"""The hardened HDF5 reader: every finding of the reader fuzzing (project issue 7) as a regression test.

Each test builds the bad file with plain h5py (or flips bytes of a good one) and checks the one-line
WeightsFileError names the file and the object; without the fix each raised KeyError, RuntimeError,
RecursionError, MemoryError, or read changed values silently.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from netdsl.graph.errors import WeightsFileError
from netdsl.weights import WeightStore, load_weights_file, save_weights
from netdsl.weights.h5read import read_store, superblock_version

DATA = Path(__file__).resolve().parent / "data"
OLD = DATA / "old_format_v1.h5"
SHIPPED = Path(__file__).resolve().parents[2] / "weights" / "yolov3-tiny.h5"
# The old-format fixture's content (tests/weights/data/README.md).
OLD_ARRAYS = {
    "conv0.conv.kernel": (np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2) - 12) / 8,
    "conv0.bn.scale": np.float32([1.0, 2.0]),
    "conv0.bn.bias": np.float32([0.5, -0.5]),
    "conv0.bn.mean": np.float32([0.0, 0.25]),
    "conv0.bn.variance": np.float32([1.0, 4.0]),
    "head.temperature.weights": np.float32(0.5),
}


def _store(tmp_path, name="w.h5", arrays=None) -> Path:
    path = tmp_path / name
    save_weights(path, arrays if arrays is not None else {"a.x": np.arange(4, dtype=np.float32)}, source="test")
    return path


def _refused(path, *fragments) -> str:
    with pytest.raises(WeightsFileError) as info:
        WeightStore.open(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


# ------------------------------------------------------------------------------------ links
@pytest.mark.parametrize("link, fragments", [
    (lambda f: h5py.SoftLink("/nowhere"), ["object /a/link", "soft link to '/nowhere'"]),       # was KeyError
    (lambda f: h5py.SoftLink("/"), ["object /a/link", "soft link to '/'"]),                     # was RecursionError
    (lambda f: h5py.ExternalLink("missing.h5", "/x"), ["object /a/link", "external link to '/x' in file "
                                                                          "'missing.h5'"]),  # was KeyError
    (lambda f: f["a"], ["object /a/link", "second hard link to /a (a cycle"]),                  # was RecursionError
    (lambda f: f["a/x"], ["object /a/link", "second hard link to /a/x (an alias)"]),
])
def test_links_other_than_one_hard_link_per_object_are_refused(tmp_path, link, fragments):
    path = _store(tmp_path)
    with h5py.File(path, "a") as f:
        f["a/link"] = link(f)
    _refused(path, *fragments)


def test_external_link_to_an_existing_file_is_not_followed(tmp_path):
    other = _store(tmp_path, "other.h5", {"b.y": np.ones(2, np.float32)})
    path = _store(tmp_path)
    with h5py.File(path, "a") as f:
        f["a/e"] = h5py.ExternalLink(str(other), "/b")
    _refused(path, "object /a/e", "external link", "does not open other files")


# ------------------------------------------------------------------------------------ sizes
@pytest.mark.parametrize("shape", [(2 ** 40,), (2 ** 31,), (4096, 4096)])
def test_declared_size_beyond_the_file_is_refused_before_allocation(tmp_path, shape):
    # A few-kB file declaring 4 TiB (was MemoryError) or 8 GiB (was an 8 GiB allocation) or 64 MiB.
    path = _store(tmp_path)
    with h5py.File(path, "a") as f:
        f.create_dataset("h/big", shape=shape, dtype=np.float32)
    size = os.path.getsize(path)
    nbytes = 4 * int(np.prod(shape))
    _refused(path, "tensor h.big (/h/big)", f"({nbytes:,} bytes), more than the whole file ({size:,} bytes)")


def test_compressed_data_is_limited_by_max_bytes(tmp_path):
    path = tmp_path / "gz.h5"
    with h5py.File(path, "w") as f:
        f.attrs["format"], f.attrs["format_version"], f.attrs["source"] = "netdsl-weights", 1, "t"
        f.create_dataset("z/w", data=np.zeros((1024, 1024), np.float32), compression="gzip")  # 4 MiB, ~4 kB stored
    assert os.path.getsize(path) < 4 << 20
    assert WeightStore.open(path)["z.w"].shape == (1024, 1024)  # compressed data may exceed the file size
    with pytest.raises(WeightsFileError, match=r"tensor z.w \(/z/w\): declares shape \(1024, 1024\) float32 "
                                               r"\(4,194,304 bytes\), more than the limit of 1,000,000 bytes"):
        WeightStore.open(path, max_bytes=1_000_000)


def test_unwritten_data_is_refused(tmp_path):
    path = _store(tmp_path)
    with h5py.File(path, "a") as f:
        f.create_dataset("h/unset", shape=(4,), dtype=np.float32)  # never written: reads as fill value
    _refused(path, "tensor h.unset", "only 0 bytes are stored (data missing)")


def test_chunks_larger_than_their_dataset_are_refused(tmp_path):
    path = _store(tmp_path)
    with h5py.File(path, "a") as f:
        f.create_dataset("h/c", shape=(2,), maxshape=(None,), chunks=(2 ** 20,), dtype=np.float32)
    _refused(path, "tensor h.c", "declares chunks of 4,194,304 bytes, larger than the dataset")


def test_attribute_sizes_are_limited(tmp_path):
    path = _store(tmp_path)
    with h5py.File(path, "a") as f:
        f.attrs["big"] = np.zeros(300_000, np.uint8)
    _refused(path, "root group attribute 'big'", "300,000 elements", "limited to 1,048,576 bytes")


# ------------------------------------------------------------------------------------ formats
def test_unavailable_filter_is_a_clear_error(tmp_path):
    path = _store(tmp_path)
    with h5py.File(path, "a") as f:
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((4,))
        dcpl.set_filter(32001, h5py.h5z.FLAG_OPTIONAL)  # Blosc, registered id, not built into HDF5
        h5py.h5d.create(f.id, b"blosc", h5py.h5t.py_create(np.dtype("<f4")), h5py.h5s.create_simple((4,)),
                        dcpl=dcpl)
    assert not h5py.h5z.filter_avail(32001)
    _refused(path, "tensor blosc (/blosc)", "HDF5 filter 32001", "this HDF5 library does not provide")


def test_external_raw_data_and_odd_dtypes_are_refused(tmp_path):
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.float32([1, 2, 3, 4]).tobytes())
    path = _store(tmp_path)
    with h5py.File(path, "a") as f:
        f.create_dataset("e/raw", shape=(4,), dtype=np.float32, external=[(str(raw), 0, 16)])
    _refused(path, "tensor e.raw", "keeps its data in external raw files")
    for dtype, shown in [(np.complex64, "complex64"), (h5py.string_dtype(), "object"),
                         (np.dtype([("a", "<f4"), ("b", "<i4")]), "[('a', '<f4'), ('b', '<i4')]")]:
        path = _store(tmp_path)
        with h5py.File(path, "a") as f:
            f.create_dataset("o/d", shape=(3,), dtype=dtype)
        _refused(path, "tensor o.d", f"has dtype {shown}; weights are bool")


def test_big_endian_and_float16_data_read_as_native(tmp_path):
    path = tmp_path / "be.h5"
    with h5py.File(path, "w") as f:
        f.attrs["format"], f.attrs["format_version"], f.attrs["source"] = "netdsl-weights", 1, "t"
        f["a/be"] = np.arange(3, dtype=">f4")
        f["a/half"] = np.float16([0.5, -2.0])
    store = WeightStore.open(path)
    assert store["a.be"].dtype == np.dtype("=f4") and store["a.be"].tolist() == [0.0, 1.0, 2.0]
    assert store["a.half"].dtype == np.float16 and store["a.half"].tolist() == [0.5, -2.0]


def test_corrupted_metadata_of_shipped_file_is_one_line(tmp_path):
    """Single flipped bytes in the shipped file's metadata used to raise RuntimeError/KeyError."""
    data = SHIPPED.read_bytes()
    for offset in (48 + 4, 300, 1000, 2000):  # superblock/root header and early object headers
        bad = bytearray(data)
        bad[offset] ^= 0xFF
        path = tmp_path / f"flip{offset}.h5"
        path.write_bytes(bytes(bad))
        _refused(path, "weights file")
        path.unlink()


# ------------------------------------------------------------------------------------ checksums
def test_written_files_are_checksummed_and_say_so(tmp_path):
    arrays = {"c.kernel": np.ones((2, 3, 1, 1), np.float32), "c.t": np.float32(0.5),
              "c.empty": np.zeros((0, 3), np.float32)}
    path = _store(tmp_path, arrays=arrays)
    assert superblock_version(str(path)) == 3  # libver v110: checksummed superblock
    store = WeightStore.open(path)
    assert store.checksummed is True
    assert store.datasets["c.kernel"].checksum == "fletcher32" and store.datasets["c.kernel"].storage == "chunked"
    assert store.datasets["c.t"].checksum == "header" and store.datasets["c.t"].storage == "compact"
    assert store.datasets["c.empty"].checksum == "header"
    assert store["c.t"].shape == () and store["c.empty"].shape == (0, 3)
    with h5py.File(path, "r") as f:
        assert f["c/kernel"].fletcher32 and f.id.get_create_plist().get_version()[0] == 3


def test_shipped_yolov3_tiny_is_checksummed():
    store = WeightStore.open(SHIPPED)
    assert store.checksummed and all(d.checksum == "fletcher32" for d in store.datasets.values())
    assert len(store) == 59 and store.attrs["darknet_version"] == "0.2.0"


def test_a_flipped_data_byte_is_an_error_naming_the_tensor(tmp_path):
    """Before checksums, flips in the data region changed weight values with no error."""
    kernel = np.arange(1, 25, dtype=np.float32).reshape(2, 3, 2, 2)
    path = _store(tmp_path, arrays={"conv0.conv.kernel": kernel, "conv0.conv.bias": np.float32([7, 8])})
    with h5py.File(path, "r") as f:
        offset = f["conv0/conv/kernel"].id.get_chunk_info(0).byte_offset
    data = bytearray(path.read_bytes())
    assert bytes(data[offset:offset + 8]) == kernel.tobytes()[:8]
    data[offset + 5] ^= 0x01  # one bit of the second float
    path.write_bytes(bytes(data))
    _refused(path, "tensor conv0.conv.kernel (/conv0/conv/kernel): data is corrupted", "fletcher32")


def test_every_single_byte_flip_of_a_small_store_fails_or_reads_back_unchanged(tmp_path):
    """Every 13th byte of a small checksummed store (the fuzz tests and tools/fuzz_readers.py cover the rest):
    no flip may change what is read, metadata or data."""
    path = _store(tmp_path, arrays=OLD_ARRAYS)
    good = WeightStore.open(path)
    data = path.read_bytes()
    flipped = tmp_path / "flipped.h5"
    changed, refused = [], 0
    offsets = range(0, len(data), 13)
    for offset in offsets:
        bad = bytearray(data)
        bad[offset] ^= 0xFF
        flipped.write_bytes(bytes(bad))
        try:
            store = WeightStore.open(flipped)
        except WeightsFileError:
            refused += 1
            continue
        if store.attrs != good.attrs or list(store) != list(good) or \
                any(store[k].tobytes() != good[k].tobytes() for k in good):
            changed.append(offset)
    assert changed == []
    assert refused > len(offsets) // 4  # the flips did hit checksummed metadata and data


# ------------------------------------------------------------------------------------ old files
def test_old_format_file_still_loads_unverified():
    assert superblock_version(str(OLD)) == 0
    store = load_weights_file(OLD)
    assert store.checksummed is False
    assert all(d.checksum is None and d.storage == "contiguous" for d in store.datasets.values())
    assert list(store) == list(OLD_ARRAYS)
    for name, value in OLD_ARRAYS.items():
        assert store[name].dtype == value.dtype
        np.testing.assert_array_equal(store[name], value)
    assert store.attrs["network"] == "tiny" and store.attrs["darknet_seen"] == 7
    assert store.layouts == {"conv0.conv.kernel": "KCRS"}
    assert "unverified" in repr(store)


def test_old_format_file_is_read_in_a_child_process_first(tmp_path, monkeypatch):
    """HDF5 2.0 segfaults or loops forever on some flipped bytes of unchecksummed files: those are read in a
    child process first, which turns a crash or a hang into a WeightsFileError instead of killing the caller."""
    import netdsl.weights.h5read as h5read
    calls = []
    real = h5read._read_in_child
    monkeypatch.setattr(h5read, "_read_in_child", lambda path, max_bytes: calls.append(path) or real(path, max_bytes))
    WeightStore.open(OLD)
    WeightStore.open(SHIPPED)
    assert calls == [str(OLD)]  # the checksummed file is read in-process


def test_old_format_file_that_hangs_hdf5_is_an_error(tmp_path, monkeypatch):
    """Byte 2072 of the fixture flipped: HDF5 2.0 loops forever reading it (found by the fuzzer)."""
    import netdsl.weights.h5read as h5read
    monkeypatch.setattr(h5read, "ISOLATION_TIMEOUT", 3.0)
    data = bytearray(OLD.read_bytes())
    data[2072] ^= 0xFF
    path = tmp_path / "hang.h5"
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsFileError) as info:
        WeightStore.open(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_not_a_regular_file(tmp_path):
    with pytest.raises(WeightsFileError, match="is not an HDF5 file"):
        WeightStore.open(tmp_path)
    copy = tmp_path / "copy.h5"
    shutil.copy(OLD, copy)
    assert read_store(copy).superblock_version == 0


# ------------------------------------------------------------------------------------ reading fast, as h5py reads
def test_small_arrays_share_one_aligned_buffer_and_large_ones_have_their_own(tmp_path):
    """Arrays below SHARED_BUFFER_MAX_BYTES are views into one 64-byte-aligned buffer; larger ones own their
    memory (so they can be freed one by one); every value, shape and dtype as written."""
    import netdsl.weights.h5read as h5read
    rng = np.random.default_rng(0)
    arrays = {"a.big": rng.standard_normal(h5read.SHARED_BUFFER_MAX_BYTES // 4).astype(np.float32),
              "a.s1": np.float32([1.5, -2.0, 3.25]), "a.s2": rng.standard_normal((5, 5)),
              "a.i": np.arange(-3, 4, dtype=np.int8), "a.flag": np.array([True, False, True]),
              "a.scalar": np.float32(0.5), "a.empty": np.zeros((0, 3), np.float32)}
    store = WeightStore.open(_store(tmp_path, arrays=arrays))
    for name, value in arrays.items():
        assert store[name].dtype == value.dtype and store[name].shape == value.shape, name
        np.testing.assert_array_equal(store[name], value)
    assert store["a.big"].base is None and store["a.big"].flags.owndata
    shared = {name: store[name].base for name in ("a.s1", "a.s2", "a.i", "a.flag", "a.scalar")}
    assert all(b is not None and b is shared["a.s1"] for b in shared.values())
    assert all(store[n].ctypes.data % 64 == 0 for n in shared)
    assert all(store[n].flags.c_contiguous for n in arrays)


def test_attributes_read_as_h5py_reads_them(tmp_path):
    """Root and layout attributes are read with h5py's low-level calls: the same values and order as h5py's
    ``attrs`` (creation order where tracked, else by name)."""
    from netdsl.weights.h5read import _plain
    for track in (False, True):
        path = tmp_path / f"attrs{track}.h5"
        with h5py.File(path, "w", track_order=track) as f:
            f.attrs["source"] = "vlen text"  # h5py stores a str as a variable-length string
            f.attrs["format"] = np.bytes_(b"netdsl-weights")  # fixed-length bytes
            f.attrs["format_version"] = 1
            f.attrs["alpha"] = 0.25
            f.attrs["counts"] = np.arange(3, dtype=np.int16)
            f.attrs["names"] = np.array([b"ab", b"c"])
            d = f.create_dataset("c/kernel", data=np.ones((1, 1, 1, 1), np.float32))
            d.attrs["layout"] = "KCRS"
            d.attrs["note"] = np.float32(2.0)
        store = WeightStore.open(path)
        with h5py.File(path, "r") as f:
            expected = {k: _plain(f.attrs[k]) for k in f.attrs}
        assert store.attrs == expected and list(store.attrs) == list(expected)
        assert store.attrs["source"] == "vlen text" and store.attrs["names"] == ["ab", "c"]
        assert store.attrs["counts"] == [0, 1, 2] and store.layouts == {"c.kernel": "KCRS"}
        assert store.checksummed is False  # the variable-length string lives in the unchecksummed global heap


def test_datasets_come_in_h5py_iteration_order(tmp_path):
    path = tmp_path / "order.h5"
    with h5py.File(path, "w") as f:  # no creation-order tracking: h5py iterates by name
        f.attrs["format"], f.attrs["format_version"], f.attrs["source"] = "netdsl-weights", 1, "t"
        for name in ("z/b", "z/a", "a/y", "a/x"):
            f[name] = np.ones(2, np.float32)
    assert list(WeightStore.open(path)) == ["a.x", "a.y", "z.a", "z.b"]
    path = _store(tmp_path, "tracked.h5", {n: np.ones(2, np.float32) for n in ("z.b", "z.a", "a.y", "a.x")})
    assert list(WeightStore.open(path)) == ["z.b", "z.a", "a.y", "a.x"]  # netdsl tracks creation order


def test_a_committed_datatype_is_refused(tmp_path):
    path = _store(tmp_path)
    with h5py.File(path, "a") as f:
        f["a/t"] = np.dtype("<f4")  # a named (committed) datatype object
    _refused(path, "object /a/t", "is a Datatype, neither a group nor a dataset")
