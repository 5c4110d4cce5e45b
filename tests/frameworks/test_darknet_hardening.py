"""Darknet readers hardened (project issue 7): numbers as darknet's atoi reads them, every derived shape
checked, non-finite values and negative variances refused at conversion."""
from __future__ import annotations

import os
import struct

import numpy as np
import pytest

from netdsl.frameworks.darknet import conv_parameter_shapes, convert_darknet, parse_cfg
from netdsl.frameworks.darknet.numbers import c_atoi, parse_float, parse_int, parse_int_list
from netdsl.graph.errors import WeightsFileError


# ---------------------------------------------------------------------------------------- numbers
@pytest.mark.parametrize("text, atoi", [
    # C11 atoi: leading white space, sign, ASCII digits, stop at the first other character; none -> 0.
    ("16", 16), ("-3", -3), ("+7", 7), (" \t12", 12), ("1_6", 1), ("16x", 16), ("\u0663", 0), ("", 0),
    ("-", 0), ("0x10", 0), ("1e3", 1), ("99999999999", 2 ** 31 - 1), ("\u00a016", 0),
])
def test_c_atoi_matches_c_semantics(text, atoi):
    assert c_atoi(text) == atoi


@pytest.mark.parametrize("text", ["16", "-3", "+7", "0", "007", "2147483647", "-2147483648"])
def test_parse_int_accepts_what_atoi_reads_whole(text):
    assert parse_int(text) == int(text)


@pytest.mark.parametrize("text, atoi", [("1_6", 1), ("\u0663", 0), ("\uff11\uff16", 0), ("16x", 16), ("", 0),
                                        ("1.5", 1), (" 16", 16), ("0x10", 0)])
def test_parse_int_refuses_what_darknet_would_misread(text, atoi):
    # Python's int() reads "1_6" as 16, "٣" as 3 and "１６" as 16; darknet reads 1, 0 and 0.
    with pytest.raises(ValueError, match=rf"is not an integer as darknet reads it \(C atoi would read {atoi}\)"):
        parse_int(text)


@pytest.mark.parametrize("text", ["2147483648", "-2147483649", "99999999999"])
def test_parse_int_refuses_values_outside_c_int(text):
    with pytest.raises(ValueError, match="outside darknet's int range"):
        parse_int(text)


def test_parse_float_and_lists():
    assert parse_float("1.5") == 1.5 and parse_float("-.5e1") == -5.0 and parse_float("3") == 3.0
    for bad in ("1.5x", "nan", "inf", "0x1p3", "1_0.0", "", "\u0663.0"):
        with pytest.raises(ValueError):
            parse_float(bad)
    with pytest.raises(ValueError, match="overflows"):
        parse_float("1e999")
    assert parse_int_list("-1,8") == [-1, 8]
    for bad, what in [(",", "empty entry 1"), ("-1,", "empty entry 2"), ("-1,,8", "empty entry 2"),
                      ("-1,8x", "entry 2 '8x' is not an integer")]:
        with pytest.raises(ValueError, match=what):
            parse_int_list(bad)


# ---------------------------------------------------------------------------------------- cfg
def _cfg(tmp_path, body, head="[net]\nchannels=3\n"):
    path = tmp_path / "bad.cfg"
    path.write_bytes((head + body).encode("utf-8"))
    return path


@pytest.mark.parametrize("body, message", [
    # [reorg] stride=0 raised ZeroDivisionError (with reverse=1).
    ("[reorg]\nstride=0\nreverse=1\n", "line 4 [reorg] (layer 0): reorg stride=0 must be positive"),
    ("[reorg]\nstride=-2\n", "line 4 [reorg] (layer 0): reorg stride=-2 must be positive"),
    # Reverse reorg of 3 channels by stride 2 gave a convolution with 0 input channels, accepted.
    ("[reorg]\nstride=2\nreverse=1\n[convolutional]\nfilters=2\n",
     "line 4 [reorg] (layer 0): reverse reorg of 3 channels needs a multiple of stride*stride=4"),
    # [route] layers=, gave 0 channels, accepted.
    ("[convolutional]\nfilters=2\n[route]\nlayers=,\n[convolutional]\nfilters=2\n",
     "line 6 [route] (layer 1): layers=, has an empty entry 1 (darknet would read it as 0)"),
    ("[convolutional]\nfilters=2\n[route]\nlayers=-1,\n", "line 6 [route] (layer 1): layers=-1, has an empty entry 2"),
    # Python's int() read these as 16 and 3; darknet's atoi reads 1 and 0.
    ("[convolutional]\nfilters=1_6\n", "line 4 [convolutional] (layer 0): filters=1_6 is not an integer as darknet "
                                       "reads it (C atoi would read 1)"),
    ("[convolutional]\nsize=\u0663\n", "line 4 [convolutional] (layer 0): size=\u0663 is not an integer as darknet "
                                       "reads it (C atoi would read 0)"),
    ("[convolutional]\n\nfilters=16 # comment\n", "line 5 [convolutional] (layer 0): filters=16#comment is not an "
                                                  "integer as darknet reads it (C atoi would read 16)"),
    ("[convolutional]\nfilters=2147483648\n", "filters=2147483648 is outside darknet's int range"),
    ("[convolutional]\nfilters=65536\nsize=256\n", "(layer 0): gives 12,884,901,888 kernel values"),
    ("[maxpool]\n[route]\nlayers=-1\ngroups=4\n", "line 6 [route] (layer 1): 3 channels cannot be split into "
                                                  "groups=4"),
])
def test_cfg_values_darknet_would_misread_or_divide_badly_are_refused(tmp_path, body, message):
    path = _cfg(tmp_path, body)
    with pytest.raises(WeightsFileError) as info:
        conv_parameter_shapes(parse_cfg(path))
    assert str(info.value).startswith(f"{path} line ") and message in str(info.value), str(info.value)
    assert "\n" not in str(info.value)


def test_net_channels_read_as_darknet_does(tmp_path):
    with pytest.raises(WeightsFileError, match=r"line 2 \[net\]: channels=3x is not an integer"):
        conv_parameter_shapes(parse_cfg(_cfg(tmp_path, "", head="[net]\nchannels=3x\n")))


def test_only_darknets_whitespace_is_stripped(tmp_path):
    """darknet strip() removes ' ', '\\t', '\\r', '\\n' only, and lines end at '\\n' only; Python's split()
    and splitlines() would also remove U+3000 and split at form feed, silently joining '1\\u30006' into 16."""
    path = _cfg(tmp_path, "[convolutional]\r\nfilters = 1 6\t\r\nsize=1\u30006\n")
    with pytest.raises(WeightsFileError, match=r"line 5 \[convolutional\] \(layer 0\): size=1\u30006 is not an "
                                               r"integer as darknet reads it \(C atoi would read 1\)"):
        conv_parameter_shapes(parse_cfg(path))
    ok = _cfg(tmp_path, "[convolutional]\r\nfilters = 1 6\t\r\nsize=1\n")
    assert conv_parameter_shapes(parse_cfg(ok))[0].params[-1] == ("weights", (16, 3, 1, 1))


def test_reorg_channels_follow_darknet(tmp_path):
    # darknet src/reorg_layer.c: out_c = c * stride^2, or c / stride^2 with reverse.
    path = _cfg(tmp_path, "[convolutional]\nfilters=8\n[reorg]\nstride=2\n[convolutional]\nfilters=4\n"
                          "[reorg]\nstride=2\nreverse=1\n[convolutional]\nfilters=1\n")
    convs = conv_parameter_shapes(parse_cfg(path))
    assert [c.in_channels for c in convs] == [3, 8 * 4, 4 // 4]
    assert convs[1].params[-1][1] == (4, 32, 1, 1) and convs[2].params[-1][1] == (1, 1, 1, 1)


def test_cfg_that_is_not_a_regular_file(tmp_path):
    with pytest.raises(WeightsFileError, match="is not a regular file"):
        parse_cfg(tmp_path)


# ---------------------------------------------------------------------------------------- .weights
TINY_CFG = "[net]\nchannels=2\n[convolutional]\nfilters=3\nsize=1\n[convolutional]\nbatch_normalize=1\n" \
           "filters=2\nsize=1\n"
# layer 0: biases 3, kernel 3x2x1x1 (6); layer 1: biases, scales, rolling_mean, rolling_variance (2 each), kernel 2x3


def _weights(tmp_path, floats):
    path = tmp_path / "tiny.weights"
    path.write_bytes(struct.pack("<iiiQ", 0, 2, 0, 0) + np.asarray(floats, "<f4").tobytes())
    return path


@pytest.mark.parametrize("index, value, message", [
    (4, np.nan, "conv0.conv.kernel (darknet layer 0 weights): non-finite value nan at index (0, 1, 0, 0)"),
    (0, np.inf, "conv0.conv.bias (darknet layer 0 biases): non-finite value inf at index (0,)"),
    (14, -np.inf, "conv1.bn.mean (darknet layer 1 rolling_mean): non-finite value -inf at index (1,)"),
    (16, -0.5, "conv1.bn.variance (darknet layer 1 rolling_variance): value -0.5 at index (1,) is below the "
               "minimum 0.0"),
])
def test_conversion_refuses_non_finite_values_and_negative_variance(tmp_path, index, value, message):
    cfg = tmp_path / "tiny.cfg"
    cfg.write_text(TINY_CFG)
    floats = np.arange(1, 24, dtype=np.float32)  # 3 + 6 + 4*2 + 6 = 23 floats
    floats[index] = value
    weights = _weights(tmp_path, floats)
    with pytest.raises(WeightsFileError) as info:
        convert_darknet(cfg, weights, tmp_path / "out.h5")
    assert str(info.value) == f"darknet weights {weights}: {message}; nothing written"
    assert sorted(os.listdir(tmp_path)) == ["tiny.cfg", "tiny.weights"]


def test_conversion_checks_the_size_before_reading(tmp_path, monkeypatch):
    cfg = tmp_path / "tiny.cfg"
    cfg.write_text(TINY_CFG)
    weights = _weights(tmp_path, np.ones(24, np.float32))  # one float too many
    with pytest.raises(WeightsFileError, match="needs 23 floats after the 20-byte header, the file holds 24 floats"):
        convert_darknet(cfg, weights, tmp_path / "out.h5")
    with pytest.raises(WeightsFileError, match="is not a regular file"):
        convert_darknet(cfg, tmp_path, tmp_path / "out.h5")
    assert not (tmp_path / "out.h5").exists()
