"""Darknet cfg parsing, parameter shapes and .weights conversion, on the real files in tests/data.

The official ``yolov3-tiny.weights`` is not shipped: the ``darknet`` fixture regenerates it from
``weights/yolov3-tiny.h5`` with ``export_darknet`` (its md5 is the official file's, checked below).
"""
from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import h5py
import numpy as np
import pytest

from netdsl.graph.errors import WeightsFileError
from netdsl.frameworks.darknet import (conv_parameter_shapes, convert_darknet, export_darknet, parse_cfg,
                                       read_darknet_header)
from netdsl.weights import load_weights_file

REPO = Path(__file__).resolve().parents[2]
YOLOV3_TINY_MD5 = "3bcd6b390912c18924b46b26a9e7ff53"  # md5 of the official file (tests/data/README.md)


@pytest.fixture(scope="module")
def darknet(data, yolov3_tiny_darknet_weights, tmp_path_factory) -> Path:
    """tests/data/darknet with ``weights/yolov3-tiny.weights`` regenerated from the shipped HDF5."""
    root = tmp_path_factory.mktemp("darknet")
    for sub in ("cfg", "images", "yolo-fastest"):
        (root / sub).symlink_to(data / "darknet" / sub)
    (root / "weights").mkdir()
    (root / "weights" / "yolov3-tiny.weights").symlink_to(yolov3_tiny_darknet_weights)
    return root


def _all_cfgs(darknet: Path) -> list[Path]:
    cfgs = sorted(darknet.glob("cfg/*.cfg")) + sorted(darknet.glob("yolo-fastest/*.cfg"))
    assert len(cfgs) == 8, cfgs
    return cfgs


def _kernel_shapes(cfg: Path) -> dict[int, tuple]:
    return {c.section.index: c.params[-1][1] for c in conv_parameter_shapes(parse_cfg(cfg))}


# ---------------------------------------------------------------- cfg parser

def test_parse_yolov3_tiny_cfg(darknet):
    sections = parse_cfg(darknet / "cfg" / "yolov3-tiny.cfg")
    assert sections[0].type == "net" and sections[0].index is None and sections[0].line == 1
    assert sections[0].options["channels"] == "3"
    assert sections[0].options["saturation"] == "1.5"  # "saturation = 1.5": whitespace removed
    assert "batch" in sections[0].options and sections[0].options["batch"] == "1"  # "# batch=64" is a comment
    layers = sections[1:]
    assert [s.index for s in layers] == list(range(24))
    assert [s.type for s in layers] == (["convolutional", "maxpool"] * 6
                                        + ["convolutional"] * 4 + ["yolo", "route", "convolutional",
                                                                   "upsample", "route"]
                                        + ["convolutional"] * 2 + ["yolo"])
    assert layers[0].line == 25 and layers[0].options["filters"] == "16"
    assert layers[17].type == "route" and layers[17].line == 142 and layers[17].options["layers"] == "-4"
    assert layers[20].options["layers"] == "-1,8"


def test_yolov3_tiny_parameter_shapes(darknet):
    convs = conv_parameter_shapes(parse_cfg(darknet / "cfg" / "yolov3-tiny.cfg"))
    assert [c.section.index for c in convs] == [0, 2, 4, 6, 8, 10, 12, 13, 14, 15, 18, 21, 22]
    first = convs[0]
    assert first.params == [("biases", (16,)), ("scales", (16,)), ("rolling_mean", (16,)),
                            ("rolling_variance", (16,)), ("weights", (16, 3, 3, 3))]
    head = convs[9]  # layer 15: 1x1 conv to 255, no batch norm
    assert head.params == [("biases", (255,)), ("weights", (255, 512, 1, 1))]
    assert convs[10].params[-1][1] == (128, 256, 1, 1)  # layer 18 after route -4 (layer 13: 256)
    assert convs[11].params[-1][1] == (256, 384, 3, 3)  # layer 21 after route -1,8 (128 + 256)


def test_route_groups_as_in_yolov4_tiny(darknet):
    # Hand-derived from yolov4-tiny.cfg: a route with groups=2 passes half the channels.
    shapes = _kernel_shapes(darknet / "cfg" / "yolov4-tiny.cfg")
    expected = {0: (32, 3, 3, 3), 1: (64, 32, 3, 3), 2: (64, 64, 3, 3),
                4: (32, 32, 3, 3),            # route 3: -1 groups=2 -> 32
                5: (32, 32, 3, 3),
                7: (64, 64, 1, 1),            # route 6: -1,-2 -> 32 + 32
                10: (128, 128, 3, 3),         # route 8: -6,-1 -> 64 + 64, maxpool 9
                12: (64, 64, 3, 3), 13: (64, 64, 3, 3), 15: (128, 128, 1, 1)}
    assert {i: shapes[i] for i in expected} == expected


def test_shortcut_keeps_previous_channels_as_in_yolov3_tiny_prn(darknet):
    # Hand-derived from yolov3-tiny-prn.cfg: a shortcut outputs the previous layer's channels.
    shapes = _kernel_shapes(darknet / "cfg" / "yolov3-tiny-prn.cfg")
    assert shapes == {0: (16, 3, 3, 3), 2: (32, 16, 3, 3), 4: (64, 32, 3, 3), 6: (128, 64, 3, 3),
                      8: (256, 128, 3, 3), 10: (512, 256, 3, 3), 12: (512, 512, 3, 3),
                      14: (256, 512, 1, 1), 15: (256, 256, 3, 3), 17: (255, 256, 1, 1),
                      20: (128, 256, 1, 1),  # route 19: -4 -> layer 15 (256)
                      23: (128, 128, 3, 3),  # upsample 21, shortcut 22 from 8: 128
                      26: (255, 128, 1, 1)}


def test_depthwise_kernels_in_yolo_fastest(darknet):
    convs = conv_parameter_shapes(parse_cfg(darknet / "yolo-fastest" / "yolo-fastest-1.1.cfg"))
    depthwise = [c for c in convs if c.groups > 1]
    assert depthwise, "yolo-fastest has grouped convolutions"
    for c in depthwise:
        assert c.groups == c.in_channels == c.filters
        assert c.params[-1][1] == (c.filters, 1, c.size, c.size)


# Float counts of the official .weights files: (file size - 20-byte header) / 4.
# yolov3-tiny from shared/data/README.md (35,434,956 B); the others from the
# published sizes of yolov3.weights (248,007,048 B), yolov4.weights
# (257,717,640 B), yolov4-tiny.weights (24,251,276 B), yolov2-tiny.weights
# (44,948,600 B); yolo-fastest from the files in shared/data.
KNOWN_COUNTS = {"yolov3-tiny.cfg": (35_434_956 - 20) // 4, "yolov3.cfg": (248_007_048 - 20) // 4,
                "yolov4.cfg": (257_717_640 - 20) // 4, "yolov4-tiny.cfg": (24_251_276 - 20) // 4,
                "yolov2-tiny.cfg": (44_948_600 - 20) // 4,
                "yolo-fastest-1.1.cfg": (1_384_268 - 20) // 4, "yolo-fastest-1.1-xl.cfg": (3_693_964 - 20) // 4}


def test_all_cfgs_parse_and_known_parameter_counts(darknet):
    for cfg in _all_cfgs(darknet):
        sections = parse_cfg(cfg)
        convs = conv_parameter_shapes(sections)
        assert len(convs) == sum(s.type == "convolutional" for s in sections), cfg.name
        total = sum(c.count for c in convs)
        assert total > 0
        if cfg.name in KNOWN_COUNTS:
            assert total == KNOWN_COUNTS[cfg.name], cfg.name


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, line, what", [
    ("batch=1\n[net]\nchannels=3\n", 1, "appears before any [section]"),
    ("[net]\nchannels=3\n\n[convolutional]\nfilters 16\n", 5, "expected key=value"),
    ("[net]\nchannels=3\n[convolutional\nfilters=16\n", 3, "malformed section header"),
    ("# comment\n; also a comment\n[convolutional]\nfilters=16\n", 3, "first section must be [net]"),
    ("[net]\n=3\n", 2, "expected key=value"),
])
def test_cfg_syntax_errors_name_file_and_line(tmp_path, text, line, what):
    path = _write(tmp_path, "bad.cfg", text)
    with pytest.raises(WeightsFileError) as info:
        parse_cfg(path)
    message = str(info.value)
    assert message.startswith(f"{path} line {line}: ") and what in message and "\n" not in message


@pytest.mark.parametrize("body, what", [
    # Option errors name the option's own line (4), section errors the section's header line (3).
    ("[convolutional]\nfilters=abc\n", "line 4 [convolutional] (layer 0): filters=abc is not an integer as "
                                       "darknet reads it (C atoi would read 0)"),
    ("[route]\nlayers=-2\n", "line 4 [route] (layer 0): refers to layer -2"),
    ("[convolutional]\nfilters=4\ngroups=2\n", "input channels 3 not divisible by groups=2"),
    ("[connected]\noutput=10\n", "[connected] carries weights and is not supported"),
    ("[mystery]\n", "unknown section type [mystery]"),
])
def test_cfg_semantic_errors_name_file_line_and_layer(tmp_path, body, what):
    path = _write(tmp_path, "bad.cfg", "[net]\nchannels=3\n" + body)
    with pytest.raises(WeightsFileError) as info:
        conv_parameter_shapes(parse_cfg(path))
    assert str(info.value).startswith(str(path)) and what in str(info.value)


def test_missing_cfg(tmp_path):
    with pytest.raises(WeightsFileError, match="cannot read darknet cfg .*absent.cfg"):
        parse_cfg(tmp_path / "absent.cfg")


# ---------------------------------------------------------------- conversion

def test_convert_yolov3_tiny_against_raw_file_offsets(darknet, tmp_path):
    weights = darknet / "weights" / "yolov3-tiny.weights"
    out = tmp_path / "yolov3-tiny.h5"
    summary = convert_darknet(darknet / "cfg" / "yolov3-tiny.cfg", weights, out)
    assert summary["version"] == (0, 2, 0) and summary["header_bytes"] == 20
    assert summary["floats"] == (weights.stat().st_size - 20) // 4 == 8_858_734
    assert summary["conv_layers"] == 13 and summary["tensors"] == 11 * 5 + 2 * 2
    assert summary["md5"] == YOLOV3_TINY_MD5
    header = np.fromfile(weights, dtype="<i4", count=3)
    seen = int(np.fromfile(weights, dtype="<u8", count=1, offset=12)[0])
    assert header.tolist() == [0, 2, 0] and summary["seen"] == seen

    store = load_weights_file(out)
    assert store.attrs["format"] == "netdsl-weights" and store.attrs["format_version"] == 1
    assert store.attrs["source"] == f"darknet yolov3-tiny.weights (md5 {YOLOV3_TINY_MD5}) with yolov3-tiny.cfg"
    assert store.attrs["darknet_version"] == "0.2.0" and store.attrs["darknet_seen"] == seen
    assert store.attrs["network"] == "yolov3-tiny"
    assert store.layouts["conv0.conv.kernel"] == "KCRS"
    assert all(a.dtype == np.float32 for a in store.values())

    def raw(float_index, count):
        return np.fromfile(weights, dtype="<f4", count=count, offset=20 + 4 * float_index)

    # Layer 0: biases, scales, mean, variance (16 each), then kernel 16x3x3x3.
    np.testing.assert_array_equal(store["conv0.bn.bias"], raw(0, 16))
    np.testing.assert_array_equal(store["conv0.bn.scale"], raw(16, 16))
    np.testing.assert_array_equal(store["conv0.bn.mean"], raw(32, 16))
    np.testing.assert_array_equal(store["conv0.bn.variance"], raw(48, 16))
    assert (store["conv0.bn.variance"] > 0).all()
    assert store["conv0.conv.kernel"].shape == (16, 3, 3, 3)
    assert store["conv0.conv.kernel"][5, 2, 1, 0] == raw(64 + 5 * 27 + 2 * 9 + 1 * 3 + 0, 1)[0]
    # Layer 2 starts right after layer 0's 64 + 432 floats.
    np.testing.assert_array_equal(store["conv2.bn.bias"], raw(496, 32))
    # The last layer (22: 255 biases then 255x256x1x1 kernel, no batch norm) ends the file.
    total = summary["floats"]
    np.testing.assert_array_equal(store["conv22.conv.kernel"].ravel(), raw(total - 255 * 256, 255 * 256))
    np.testing.assert_array_equal(store["conv22.conv.bias"], raw(total - 255 * 256 - 255, 255))
    assert store["conv15.conv.kernel"].shape == (255, 512, 1, 1) and "conv15.bn.scale" not in store


@pytest.mark.parametrize("cfg, weights", [
    ("cfg/yolov3-tiny.cfg", "weights/yolov3-tiny.weights"),
    ("yolo-fastest/yolo-fastest-1.1.cfg", "yolo-fastest/yolo-fastest-1.1.weights"),
    ("yolo-fastest/yolo-fastest-1.1-xl.cfg", "yolo-fastest/yolo-fastest-1.1-xl.weights"),
])
def test_convert_matches_opencv_darknet_importer(darknet, tmp_path, cfg, weights):
    """Every converted tensor equals what OpenCV's independent darknet importer loads."""
    import cv2  # test dependency (opencv-python-headless<5)

    out = tmp_path / "w.h5"
    summary = convert_darknet(darknet / cfg, darknet / weights, out)
    assert summary["floats"] == ((darknet / weights).stat().st_size - summary["header_bytes"]) // 4
    store = load_weights_file(out)
    net = cv2.dnn.readNetFromDarknet(str(darknet / cfg), str(darknet / weights))
    checked = 0
    for conv in conv_parameter_shapes(parse_cfg(darknet / cfg)):
        i = conv.section.index
        kernel = net.getParam(net.getLayerId(f"conv_{i}"), 0)
        np.testing.assert_array_equal(store[f"conv{i}.conv.kernel"], kernel)
        if conv.batch_normalize:
            bn = net.getLayerId(f"bn_{i}")  # OpenCV BatchNorm blobs: mean, variance, scale, bias
            for blob, role in enumerate(["mean", "variance", "scale", "bias"]):
                np.testing.assert_array_equal(store[f"conv{i}.bn.{role}"], net.getParam(bn, blob).ravel())
        else:
            np.testing.assert_array_equal(store[f"conv{i}.conv.bias"],
                                          net.getParam(net.getLayerId(f"conv_{i}"), 1).ravel())
        checked += 1
    assert checked == summary["conv_layers"]


def _copy_cut(src: Path, dst: Path, keep_bytes: int) -> Path:
    with open(src, "rb") as f:
        dst.write_bytes(f.read(keep_bytes))
    return dst


@pytest.mark.parametrize("cut_bytes, present", [(400, "8,858,634 floats"), (402, "8,858,633 floats and 2 stray bytes")])
def test_truncated_weights_state_both_counts_and_write_nothing(darknet, tmp_path, cut_bytes, present):
    src = darknet / "weights" / "yolov3-tiny.weights"
    cut = _copy_cut(src, tmp_path / "cut.weights", src.stat().st_size - cut_bytes)
    out = tmp_path / "out.h5"
    cfg = darknet / "cfg" / "yolov3-tiny.cfg"
    with pytest.raises(WeightsFileError) as info:
        convert_darknet(cfg, cut, out)
    message = str(info.value)
    assert "\n" not in message and str(cut) in message and str(cfg) in message
    assert "needs 8,858,734 floats" in message and f"holds {present}" in message and "truncated" in message
    assert sorted(os.listdir(tmp_path)) == ["cut.weights"]


@pytest.mark.parametrize("cfg", ["yolov3-tiny-prn.cfg", "yolov4-tiny.cfg", "yolov3.cfg"])
def test_weights_for_another_cfg_rejected(darknet, tmp_path, cfg):
    cfg_path = darknet / "cfg" / cfg
    needed = sum(c.count for c in conv_parameter_shapes(parse_cfg(cfg_path)))
    out = tmp_path / "out.h5"
    with pytest.raises(WeightsFileError) as info:
        convert_darknet(cfg_path, darknet / "weights" / "yolov3-tiny.weights", out)
    message = str(info.value)
    assert "yolov3-tiny.weights" in message and cfg in message
    assert f"needs {needed:,} floats" in message and "holds 8,858,734 floats" in message
    assert os.listdir(tmp_path) == []


def test_file_shorter_than_header(darknet, tmp_path):
    cfg = darknet / "cfg" / "yolov3-tiny.cfg"
    short = tmp_path / "short.weights"
    short.write_bytes(struct.pack("<ii", 0, 2))
    with pytest.raises(WeightsFileError, match="is 8 bytes, shorter than its 12-byte version header"):
        convert_darknet(cfg, short, tmp_path / "out.h5")
    short.write_bytes(struct.pack("<iiii", 0, 2, 0, 7))  # version 0.2 needs a 64-bit seen
    with pytest.raises(WeightsFileError, match=r"is 16 bytes, shorter than its 20-byte header \(version 0.2.0\)"):
        convert_darknet(cfg, short, tmp_path / "out.h5")
    assert sorted(os.listdir(tmp_path)) == ["short.weights"]


def test_missing_weights_file(darknet, tmp_path):
    with pytest.raises(WeightsFileError, match="cannot read darknet weights .*absent.weights"):
        convert_darknet(darknet / "cfg" / "yolov3-tiny.cfg", tmp_path / "absent.weights", tmp_path / "o.h5")


TINY_CFG = """[net]
channels=2
[convolutional]
filters=3
size=1
[maxpool]
size=2
stride=2
[convolutional]
batch_normalize=1
filters=3
size=3
groups=3
"""


@pytest.mark.parametrize("major, minor, header", [(0, 1, 16), (0, 2, 20), (1, 0, 20), (1000, 0, 16)])
def test_synthetic_weights_header_sizes_and_layout(tmp_path, major, minor, header):
    """A hand-built .weights for a 2-conv cfg: 32/64-bit seen and darknet's value order."""
    cfg = _write(tmp_path, "tiny.cfg", TINY_CFG)
    seen = 123456789
    # Layer 0: biases (3), kernel 3x2x1x1; layer 2 (depthwise): biases, scales, mean, variance, kernel 3x1x3x3.
    floats = np.arange(3 + 6 + 4 * 3 + 27, dtype="<f4")
    seen_bytes = struct.pack("<Q" if header == 20 else "<I", seen)
    data = struct.pack("<iii", major, minor, 0) + seen_bytes + floats.tobytes()
    weights = tmp_path / "tiny.weights"
    weights.write_bytes(data)
    assert read_darknet_header(data) == ((major, minor, 0), seen, header)
    summary = convert_darknet(cfg, weights, tmp_path / "tiny.h5")
    assert summary["seen"] == seen and summary["floats"] == floats.size and summary["header_bytes"] == header
    assert summary["md5"] == hashlib.md5(data).hexdigest()
    store = load_weights_file(tmp_path / "tiny.h5")
    assert list(store) == ["conv0.conv.bias", "conv0.conv.kernel", "conv2.bn.bias", "conv2.bn.scale",
                           "conv2.bn.mean", "conv2.bn.variance", "conv2.conv.kernel"]
    np.testing.assert_array_equal(store["conv0.conv.bias"], [0, 1, 2])
    np.testing.assert_array_equal(store["conv0.conv.kernel"], np.arange(3, 9).reshape(3, 2, 1, 1))
    np.testing.assert_array_equal(store["conv2.bn.bias"], [9, 10, 11])
    np.testing.assert_array_equal(store["conv2.bn.scale"], [12, 13, 14])
    np.testing.assert_array_equal(store["conv2.bn.mean"], [15, 16, 17])
    np.testing.assert_array_equal(store["conv2.bn.variance"], [18, 19, 20])
    np.testing.assert_array_equal(store["conv2.conv.kernel"], np.arange(21, 48).reshape(3, 1, 3, 3))


def test_regenerated_weights_are_the_official_file(darknet):
    """Without ../shared: the exported file has the official file's size and md5 (a known answer)."""
    exported = darknet / "weights" / "yolov3-tiny.weights"
    assert exported.stat().st_size == 35_434_956
    assert hashlib.md5(exported.read_bytes()).hexdigest() == YOLOV3_TINY_MD5


def test_export_round_trip_byte_identical_to_official(shared_data, data, tmp_path):
    """convert (official .weights -> HDF5) then export (HDF5 -> .weights) gives the official bytes back."""
    official = shared_data / "darknet" / "weights" / "yolov3-tiny.weights"
    cfg = data / "darknet" / "cfg" / "yolov3-tiny.cfg"
    convert_darknet(cfg, official, tmp_path / "converted.h5")
    summary = export_darknet(cfg, tmp_path / "converted.h5", tmp_path / "back.weights")
    assert (tmp_path / "back.weights").read_bytes() == official.read_bytes()
    assert summary["bytes"] == official.stat().st_size and summary["version"] == (0, 2, 0)
    # and the shipped store exports to the same bytes
    export_darknet(cfg, REPO / "weights" / "yolov3-tiny.h5", tmp_path / "shipped.weights")
    assert (tmp_path / "shipped.weights").read_bytes() == official.read_bytes()


def test_export_refuses_a_store_that_does_not_fit(data, tmp_path):
    from netdsl.weights import save_weights
    cfg = data / "darknet" / "cfg" / "yolov3-tiny.cfg"
    store = dict(load_weights_file(REPO / "weights" / "yolov3-tiny.h5"))
    del store["conv0.bn.mean"]
    store["conv2.conv.kernel"] = np.zeros((32, 16, 1, 1), np.float32)
    store["extra.x"] = np.zeros(3, np.float32)
    save_weights(tmp_path / "bad.h5", store, source="test")
    with pytest.raises(WeightsFileError) as info:
        export_darknet(cfg, tmp_path / "bad.h5", tmp_path / "out.weights")
    message = str(info.value)
    for part in ("bad.h5", "yolov3-tiny.cfg", "missing: conv0.bn.mean", "unexpected: extra.x",
                 "conv2.conv.kernel: expected shape (32, 16, 3, 3), found (32, 16, 1, 1)"):
        assert part in message
    assert not (tmp_path / "out.weights").exists()


def test_export_without_darknet_attributes_writes_header_0_2_with_zero_seen(tmp_path):
    from netdsl.weights import save_weights
    cfg = _write(tmp_path, "tiny.cfg", TINY_CFG)
    arrays = {"conv0.conv.bias": np.float32([1, 2, 3]), "conv0.conv.kernel": np.ones((3, 2, 1, 1), np.float32),
              "conv2.bn.bias": np.float32([4, 5, 6]), "conv2.bn.scale": np.float32([7, 8, 9]),
              "conv2.bn.mean": np.zeros(3, np.float32), "conv2.bn.variance": np.ones(3, np.float32),
              "conv2.conv.kernel": np.full((3, 1, 3, 3), 2, np.float32)}
    save_weights(tmp_path / "w.h5", dict(reversed(arrays.items())), source="test")  # store order is irrelevant
    export_darknet(cfg, tmp_path / "w.h5", tmp_path / "w.weights")
    raw = (tmp_path / "w.weights").read_bytes()
    assert struct.unpack("<iiiQ", raw[:20]) == (0, 2, 0, 0)
    expected = np.concatenate([[1, 2, 3], np.ones(6), [4, 5, 6], [7, 8, 9], np.zeros(3), np.ones(3),
                               np.full(27, 2)]).astype("<f4")
    np.testing.assert_array_equal(np.frombuffer(raw[20:], "<f4"), expected)


def test_shipped_yolov3_tiny_h5_matches_fresh_conversion(shared_data, data, tmp_path):
    shipped = REPO / "weights" / "yolov3-tiny.h5"
    assert shipped.is_file(), f"{shipped} is missing; regenerate it with netdsl convert darknet"
    fresh = tmp_path / "fresh.h5"
    convert_darknet(data / "darknet" / "cfg" / "yolov3-tiny.cfg",
                    shared_data / "darknet" / "weights" / "yolov3-tiny.weights", fresh)
    a, b = load_weights_file(shipped), load_weights_file(fresh)
    assert list(a) == list(b) and a.attrs == b.attrs
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    with h5py.File(shipped, "r") as f:  # readable without netdsl
        assert f["conv0/conv/kernel"].shape == (16, 3, 3, 3)


def test_existing_output_kept_when_conversion_fails(darknet, tmp_path):
    out = tmp_path / "out.h5"
    good = darknet / "weights" / "yolov3-tiny.weights"
    convert_darknet(darknet / "cfg" / "yolov3-tiny.cfg", good, out)
    before = out.read_bytes()
    cut = _copy_cut(good, tmp_path / "cut.weights", 1000)
    with pytest.raises(WeightsFileError):
        convert_darknet(darknet / "cfg" / "yolov3-tiny.cfg", cut, out)
    assert out.read_bytes() == before
