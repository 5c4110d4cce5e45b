"""Property tests of the image reader on mutated and hostile files (a few seconds; the long run is
``tools/fuzz_images.py --minutes 10``). Invariant: a valid (H, W, 3) uint8 array within the pixel
budget, or a one-line NetdslError naming the file — never another exception, a raw warning, or output
on the process's stderr — and a failed ``detect --out`` run leaves no file behind."""
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import image_corpus as corpus
from netdsl.cli import main
from netdsl.detection import ImageWarning, load_image
from netdsl.graph.errors import NetdslError

BUDGET = 1_000_000
SMALL = corpus.source("dog.jpg", (48, 36))
SEEDS = {**corpus.valid_files(SMALL), **corpus.hostile_files(SMALL), "gray16.png": corpus.gray16_png(SMALL),
         "rgba.png": corpus.encode(SMALL.convert("RGBA"), "PNG"),
         "cmyk.jpg": corpus.encode(SMALL.convert("CMYK"), "JPEG")}
SIZE_PATCHABLE = ["rgb.png", "still.gif", "rgb.bmp", "jpeg.jpg", "animated.webp", "lzw-ifd-first.tif"]
POSITION = st.integers(0, 1 << 20)
EDITS = st.lists(st.one_of(
    st.tuples(st.just("flip"), POSITION, st.integers(1, 255)),
    st.tuples(st.just("cut"), POSITION),
    st.tuples(st.just("insert"), POSITION, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("repeat"), POSITION, st.sampled_from([1, 4, 64, 1024])),
), min_size=1, max_size=6)
SETTINGS = dict(deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def read_checked(data: bytes, capfd):
    """Read ``data`` as a file; assert the invariant; return the array or None (refused)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "input")
        Path(path).write_bytes(data)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                image = load_image(path, BUDGET)
            except NetdslError as exc:
                message = str(exc)
                assert "\n" not in message and message.startswith(path), message
                image = None
        assert all(issubclass(w.category, ImageWarning) for w in caught), [str(w.message) for w in caught]
    assert capfd.readouterr().err == ""
    if image is not None:
        assert isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3
        assert image.shape[2] == 3 and 0 < image.shape[0] * image.shape[1] <= BUDGET
        assert image.flags.c_contiguous
    return image


def test_every_seed_is_read_or_refused_as_intended(capfd):
    for name, data in SEEDS.items():
        image = read_checked(data, capfd)
        hostile = name in corpus.hostile_files(SMALL)
        assert (image is None) == hostile, name


@settings(max_examples=250, **SETTINGS)
@given(name=st.sampled_from(sorted(SEEDS)), edits=EDITS)
def test_mutated_files(name, edits, capfd):
    read_checked(corpus.mutate(SEEDS[name], edits), capfd)


@settings(max_examples=60, **SETTINGS)
@given(name=st.sampled_from(SIZE_PATCHABLE), width=st.integers(0, 1 << 24), height=st.integers(0, 1 << 24))
def test_headers_declaring_any_size(name, width, height, capfd):
    image = read_checked(corpus.declare_size(SEEDS[name], width, height), capfd)
    if width * height > BUDGET:
        assert image is None, (name, width, height)


@pytest.fixture(scope="module")
def good_image(tmp_path_factory):
    path = tmp_path_factory.mktemp("good") / "good.png"
    path.write_bytes(corpus.encode(corpus.source("person.jpg", (208, 138)), "PNG"))
    return path


@settings(max_examples=6, **SETTINGS)
@given(name=st.sampled_from(sorted(corpus.valid_files(SMALL))), edits=EDITS)
def test_detect_out_leaves_nothing_behind_on_failure(name, edits, good_image, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        bad = Path(tmp) / "input.img"
        bad.write_bytes(corpus.mutate(SEEDS[name], edits))
        out = Path(tmp) / "out" / "drawn"
        status = main(["detect", "yolov3-tiny", "--weights", str(corpus.REPO / "weights" / "yolov3-tiny.h5"),
                       str(good_image), str(bad), "--out", str(out), "--max-pixels", str(BUDGET)])
        captured = capsys.readouterr()
        if status == 0:
            assert len(os.listdir(out)) == 2
        else:
            assert status == 1
            lines = captured.err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("netdsl: error:") and "input.img" in lines[0], lines
            assert not (Path(tmp) / "out").exists()
        assert not [line for line in captured.err.splitlines() if not line.startswith("netdsl: ")]
