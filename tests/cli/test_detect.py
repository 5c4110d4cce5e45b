"""``netdsl detect`` end to end: --out created, naming rule, permissions, every input checked before any
output, streaming one image at a time, progress bar, --max-pixels, one-line errors, no file left behind."""
import io
import json
import os
import shutil
import stat
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest
from cli_run import DATA, REPO, WEIGHTS, assert_one_line_error, run
from PIL import Image

sys.path.insert(0, str(REPO / "tests" / "detection"))
import image_corpus as corpus  # noqa: E402

from netdsl.cli import main  # noqa: E402
from netdsl.detection.output import output_names  # noqa: E402

IMAGES = DATA / "darknet" / "images"


def copy(src, dst):
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dst)
    return dst


def all_files(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*"))


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_out_created_same_names_kept_apart_usual_permissions(tmp_path, umask):
    a = copy(IMAGES / "dog.jpg", tmp_path / "a" / "dog.jpg")
    b = copy(IMAGES / "horses.jpg", tmp_path / "b" / "dog.jpg")
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, a, b, "--out", "out/deeper/", cwd=tmp_path,
                 preexec_fn=lambda: os.umask(umask))
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out" / "deeper"
    assert sorted(os.listdir(out)) == ["dog-2.jpg", "dog.jpg"]
    with Image.open(out / "dog.jpg") as first, Image.open(out / "dog-2.jpg") as second:
        assert first.size == (768, 576) and second.size == (773, 512)  # dog.jpg, then horses.jpg
    for name in ("dog.jpg", "dog-2.jpg"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o666 & ~umask


def test_naming_rule():
    names = output_names([("a/dog.jpg", "JPEG"), ("b/dog.jpg", "JPEG"), ("dog-2.jpg", "JPEG"),
                          ("c/Dog.JPG", "MPO"), ("scan.tiff", "TIFF"), ("b.bin", "JPEG"), ("b.bin", "PNG"),
                          ("anim.gif", "GIF"), ("anim.webp", "WEBP")])
    assert names == ["dog.jpg", "dog-2.jpg", "dog-2-2.jpg", "Dog-3.jpg", "scan.png", "b.jpg", "b.png",
                     "anim.png", "anim-2.png"]


def test_output_format_chosen_from_content_not_name(tmp_path):
    jpeg = copy(IMAGES / "dog.jpg", tmp_path / "in" / "b.bin")
    png = tmp_path / "in" / "c.bin"
    png.write_bytes(corpus.encode(corpus.source("person.jpg"), "PNG"))
    gif = tmp_path / "in" / "d.gif"
    gif.write_bytes(corpus.encode(corpus.source("person.jpg"), "GIF"))
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, jpeg, png, gif, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and result.stderr == ""
    formats = {}
    for name in sorted(os.listdir(tmp_path / "out")):
        with Image.open(tmp_path / "out" / name) as img:
            formats[name] = img.format
    assert formats == {"b.jpg": "JPEG", "c.png": "PNG", "d.png": "PNG"}


def test_bad_input_found_before_any_output(tmp_path):
    good = copy(IMAGES / "dog.jpg", tmp_path / "in" / "good.jpg")
    bomb = tmp_path / "in" / "bomb.png"
    bomb.write_bytes(corpus.png_bomb())
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, good, bomb, "--out", tmp_path / "out")
    assert_one_line_error(result, "bomb.png", "400,000,000", "50,000,000")
    assert result.stdout == ""  # nothing printed for good.jpg either: every header is checked first
    assert not (tmp_path / "out").exists()


def test_decoding_failure_after_good_images_leaves_no_file(tmp_path):
    """A JPEG cut short passes the header check and fails only when decoded, after good.jpg was drawn:
    the staged drawing is removed, and the directory the run created too."""
    good = copy(IMAGES / "dog.jpg", tmp_path / "in" / "good.jpg")
    cut = tmp_path / "in" / "cut.jpg"
    cut.write_bytes((IMAGES / "person.jpg").read_bytes()[:-5000])
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "good.jpg").write_bytes(b"older file")
    for out in (tmp_path / "new" / "dir", existing):
        result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, good, cut, "--out", out)
        assert_one_line_error(result, "cut.jpg", "truncated")
    assert not (tmp_path / "new").exists()
    assert all_files(existing) == ["good.jpg"] and (existing / "good.jpg").read_bytes() == b"older file"


def test_out_is_a_file_or_would_replace_an_input(tmp_path):
    image = copy(IMAGES / "dog.jpg", tmp_path / "dog.jpg")
    (tmp_path / "file").write_text("x")
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, image, "--out", tmp_path / "file")
    assert_one_line_error(result, "file", "not a directory")
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, image, "--out", tmp_path)
    assert_one_line_error(result, "dog.jpg", "would replace the input")
    assert (tmp_path / "dog.jpg").read_bytes() == (IMAGES / "dog.jpg").read_bytes()


def test_max_pixels_option(tmp_path):
    image = IMAGES / "dog.jpg"
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, image, "--max-pixels", "400000")
    assert_one_line_error(result, "dog.jpg", "768 x 576", "442,368", "400,000", "--max-pixels")
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, image, "--max-pixels", "442368", "--json")
    assert result.returncode == 0, result.stderr
    assert {d["class_name"] for d in json.loads(result.stdout)} == {"dog", "car", "truck", "bicycle"}


def test_animated_webp_canvas_one_line(tmp_path):
    path = tmp_path / "canvas.webp"
    path.write_bytes(corpus.webp_animated_canvas())
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, path, "--json")
    assert_one_line_error(result, "canvas.webp", "2,359,392 x 72")


@pytest.fixture
def calls(monkeypatch):
    """Record the order of header checks, decodes, inferences and drawings of an in-process detect run,
    and check that each decoded image is released before the next one is decoded."""
    from netdsl.cli import detect
    from netdsl.detection import draw, image
    events, alive = [], []
    real_header, real_load, real_runner, real_render = (image.read_header, image.load_image, detect._runner,
                                                        draw.render_detections)

    def read_header(path, *a):
        events.append(("header", Path(path).name))
        return real_header(path, *a)

    def load_image(path, *a):
        assert all(ref() is None for ref in alive), "an earlier decoded image is still held"
        events.append(("load", Path(path).name))
        pixels = real_load(path, *a)
        alive.append(weakref.ref(pixels))
        return pixels

    def runner(backend, net, *args):
        run_net = real_runner(backend, net, *args)

        def infer(feeds):
            events.append(("infer",))
            return run_net(feeds)
        return infer

    def render(pixels, found):
        events.append(("draw", len(found)))
        return real_render(pixels, found)

    monkeypatch.setattr(image, "read_header", read_header)
    monkeypatch.setattr(image, "load_image", load_image)
    monkeypatch.setattr(detect, "_runner", runner)
    monkeypatch.setattr(draw, "render_detections", render)
    return events


def test_streams_one_image_at_a_time(calls, tmp_path, capsys):
    names = ["dog.jpg", "person.jpg", "horses.jpg", "eagle.jpg"]
    paths = [str(IMAGES / n) for n in names]
    assert main(["detect", "yolov3-tiny", "--weights", str(WEIGHTS), *paths, "--out", str(tmp_path)]) == 0
    kinds = [e[0] for e in calls]
    assert kinds == ["header"] * 4 + ["load", "infer", "draw"] * 4
    assert [e[1] for e in calls if e[0] == "load"] == names
    out = capsys.readouterr().out
    assert [line.split(": ")[0] for line in out.splitlines() if not line.startswith(" ")] == paths
    assert sorted(os.listdir(tmp_path)) == sorted(names)


def test_json_is_one_list(calls, capsys):
    paths = [str(IMAGES / n) for n in ("dog.jpg", "person.jpg", "horses.jpg", "eagle.jpg")]
    assert main(["detect", "yolov3-tiny", "--weights", str(WEIGHTS), *paths, "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [d["image"] for d in found] == sorted((d["image"] for d in found), key=paths.index)
    assert {d["class_name"] for d in found if d["image"] == paths[0]} == {"dog", "car", "truck", "bicycle"}
    assert [e[0] for e in calls] == ["header"] * 4 + ["load", "infer"] * 4


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("count", [3, 4])
def test_progress_bar_only_for_more_than_three_images_on_a_terminal(count, monkeypatch, capsys):
    terminal = Terminal()
    paths = [str(IMAGES / "person.jpg")] * count
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["detect", "yolov3-tiny", "--weights", str(WEIGHTS), *paths]) == 0
    stdout = capsys.readouterr().out
    assert stdout.count("person.jpg: 4 objects") == count
    assert ("detect images" in terminal.getvalue()) == (count > 3)
    if count > 3:
        assert f"{count}/{count}" in terminal.getvalue()


def test_drawn_image_matches_the_detections(tmp_path):
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, IMAGES / "horses.jpg", "--json", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert min(d["box"][0] for d in found) == 0.0  # horse 0.28's box, at -18.4 before clipping
    with Image.open(tmp_path / "horses.jpg") as drawn:
        assert drawn.size == (773, 512)
        assert np.abs(np.asarray(drawn, np.int16) - np.asarray(Image.open(IMAGES / "horses.jpg"), np.int16)).max() > 100


def test_damaged_exif_is_one_warning_line(tmp_path):
    import struct
    exif = (b"II*\x00\x08\x00\x00\x00\x02\x00" + struct.pack("<HHII", 0x0112, 3, 1, 1)
            + struct.pack("<HHII", 0x010F, 2, 200, 0xFFFFF0) + struct.pack("<I", 0))
    path = tmp_path / "exif.jpg"
    path.write_bytes(corpus.encode(corpus.source("dog.jpg"), "JPEG", quality=95, exif=b"Exif\x00\x00" + exif))
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, path, "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [f"netdsl: warning: {path}: damaged EXIF metadata (Tag data larger than "
                                          f"file. Skipping tag 271)"]
    assert {d["class_name"] for d in json.loads(result.stdout)} >= {"dog", "car", "bicycle"}


@pytest.mark.parametrize("change, message", [
    ("scores='score'", "model '{path}': DETECTION['scores']: network 'yolov3-tiny' has no tensor 'score' "
                       "(did you mean 'scores'?)"),
    ("class_names=['a', 'b']", "model '{path}': DETECTION['class_names'] holds 2 names, the model scores 80 classes"),
    ("input_size=(400, 416)", "the model's DETECTION['input_size'] [400, 416]: height and width must be multiples "
                              "of 32 for this model (DETECTION['stride']), found 400x416"),
])
def test_a_wrong_detection_dict_is_one_line_before_any_image(tmp_path, change, message):
    """Was: a KeyError traceback after inference, a silent class name '2', and '--size None' blamed."""
    model = tmp_path / "mine.py"
    model.write_text("from netdsl.models import yolov3_tiny as base\nfrom netdsl.models.yolov3_tiny import "
                     f"build_network, PROFILES\n\nDETECTION = dict(base.DETECTION, {change})\n")
    result = run("detect", model, "--weights", WEIGHTS, IMAGES / 'dog.jpg')
    assert_one_line_error(result, message.format(path=model))
    assert result.stdout == ""


def test_tensorrt_backend_without_a_gpu_says_to_use_the_reference():
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, IMAGES / 'dog.jpg', "--backend", "tensorrt")
    assert_one_line_error(result, "--backend tensorrt builds and runs an engine on this machine's GPU, and it has "
                                  "none: use --backend reference")


def test_a_directory_gives_its_images_sorted_by_name(tmp_path):
    folder = tmp_path / "shots"
    for name in ("giraffe.jpg", "dog.jpg"):
        copy(IMAGES / name, folder / name)
    (folder / "notes.txt").write_text("not an image")
    result = run("detect", "yolov3-tiny", "--weights", WEIGHTS, folder, "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert [d["image"] for d in found] == sorted(d["image"] for d in found)
    assert {d["image"] for d in found} == {str(folder / "dog.jpg"), str(folder / "giraffe.jpg")}
    alone = json.loads(run("detect", "yolov3-tiny", "--weights", WEIGHTS, folder / "dog.jpg", "--json").stdout)
    assert [d for d in found if d["image"].endswith("dog.jpg")] == alone
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(run("detect", "yolov3-tiny", "--weights", WEIGHTS, empty), f"{empty}: no images (.jpg")
