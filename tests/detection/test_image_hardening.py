"""Hostile and damaged files (project issue 7): checked from the header before decoding, refused with
one-line ImageErrors naming the file; truncation detected in every accepted format; no raw Pillow
warning, log line or decoder stderr output reaches the user."""
import io
import struct
import warnings

import numpy as np
import pytest
from PIL import Image

import image_corpus as corpus
from netdsl.detection import ImageError, load_image, read_header
from netdsl.detection import image_header


def put(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def refused(path, *fragments, **kwargs):
    """load_image(path) raises one ImageError line naming the file and holding each fragment; no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ImageError) as info:
            load_image(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)), message
    for f in fragments:
        assert f in message, (f, message)
    return message


@pytest.fixture(scope="module")
def small():
    return corpus.source("dog.jpg", (96, 72))


def test_95_byte_png_declaring_20000x20000(tmp_path):
    data = corpus.png_bomb()
    assert len(data) < 100
    path = put(tmp_path, "bomb.png", data)
    refused(path, "400,000,000", "50,000,000", "--max-pixels")
    with pytest.raises(ImageError, match="400,000,000"):
        read_header(path)


def test_12_kb_png_of_100_mpx_refused_by_budget_from_the_header(tmp_path, monkeypatch):
    data = corpus.png_100mpx()
    assert len(data) < 13_000
    path = put(tmp_path, "big.png", data)
    # Pillow alone only warns between 89 and 179 Mpx and would decode it; netdsl must not even start
    monkeypatch.setattr(Image.Image, "load", lambda self: pytest.fail("decoding started"))
    refused(path, "10,000 x 10,000", "100,000,000", "50,000,000")


def test_animated_webp_canvas_checked_before_libwebp_allocates_it(tmp_path, monkeypatch):
    data = corpus.webp_animated_canvas()
    assert len(data) < 400
    path = put(tmp_path, "canvas.webp", data)
    from PIL import WebPImagePlugin
    monkeypatch.setattr(WebPImagePlugin._webp, "WebPAnimDecoder",
                        lambda *a: pytest.fail("libwebp decoder created (it allocates the canvas)"))
    refused(path, "2,359,392 x 72", "169,876,224")


def test_budget_is_an_option(tmp_path, small):
    path = put(tmp_path, "small.png", corpus.encode(small, "PNG"))
    refused(path, "96 x 72", "6,912", "6,000", max_pixels=6000)
    assert load_image(path, max_pixels=6912).shape == (72, 96, 3)


def test_pillow_bomb_limit_follows_the_budget(tmp_path, small, monkeypatch):
    """--max-pixels raised above Pillow's own limit (89 Mpx warning, 179 Mpx error) must be honoured:
    inside the reader Pillow's MAX_IMAGE_PIXELS is the budget, and restored after."""
    seen = []
    real_open = Image.open
    monkeypatch.setattr(Image, "open", lambda *a, **k: (seen.append(Image.MAX_IMAGE_PIXELS), real_open(*a, **k))[1])
    before = Image.MAX_IMAGE_PIXELS
    load_image(put(tmp_path, "small.png", corpus.encode(small, "PNG")), max_pixels=500_000_000)
    assert seen == [500_000_000] and Image.MAX_IMAGE_PIXELS == before


def test_png_with_short_image_data(tmp_path):
    """Complete chunks, but the zlib stream holds 30 of 72 rows: Pillow fills the rest silently."""
    path = put(tmp_path, "short.png", corpus.png_declaring(96, 72, 8, 2, rows=30))
    with Image.open(path) as img:
        img.load()
    refused(path, "8,670 bytes", "20,808")  # 30 x (1 + 96 * 3) of 72 x (1 + 96 * 3)


def test_animated_first_frame_only_and_frame_cap(tmp_path, small, monkeypatch):
    frames = [small.rotate(a) for a in range(0, 50, 10)]
    path = put(tmp_path, "anim.gif", corpus.encode(frames[0], "GIF", save_all=True, append_images=frames[1:]))
    assert read_header(path).frames == 5
    first = load_image(path)
    with Image.open(path) as img:
        np.testing.assert_array_equal(first, np.asarray(img.convert("RGB")))
    monkeypatch.setattr(image_header, "MAX_FRAMES", 4)
    refused(path, "5 frames", "at most 4")


TRUNCATABLE = sorted(corpus.valid_files(corpus.source("dog.jpg", (96, 72))))


@pytest.mark.parametrize("name", TRUNCATABLE)
@pytest.mark.parametrize("cut", [1, 2, 16, 200])
def test_truncation_is_an_error_in_every_accepted_format(name, cut, tmp_path, small):
    data = corpus.valid_files(small)[name]
    assert load_image(put(tmp_path, "whole", data)).shape == (72, 96, 3)
    refused(put(tmp_path, name, data[:-cut]))


def test_lzw_tiff_cut_by_16_bytes(tmp_path, small):
    """The strip, not the IFD, is cut: Pillow decodes it without an error or a warning; netdsl refuses."""
    data = corpus.tiff_ifd_first(small)
    with Image.open(io.BytesIO(data[:-16])) as img:
        assert img.tag_v2[259] == 5  # LZW
    refused(put(tmp_path, "cut.tif", data[:-16]), "truncated", "strip 0")


def test_pillow_warning_becomes_an_error(tmp_path, small):
    """Pillow's own TIFF writer puts the IFD last; cut it and Pillow warns "Truncated File Read"."""
    data = corpus.encode(small, "TIFF", compression="tiff_lzw")
    refused(put(tmp_path, "cut.tif", data[:-16]), "Truncated File Read")


def test_pillow_log_line_becomes_an_error(tmp_path, small, capfd):
    """Pillow logs (not warns) "More samples per pixel than can be decoded"; it must not reach stderr."""
    data = bytearray(corpus.tiff_ifd_first(small))
    count = struct.unpack_from("<H", data, 8)[0]
    for i in range(count):
        if struct.unpack_from("<H", data, 10 + 12 * i)[0] == 277:  # SamplesPerPixel
            struct.pack_into("<H", data, 10 + 12 * i + 8, 60000)
    refused(put(tmp_path, "spp.tif", bytes(data)), "damaged TIFF")
    assert capfd.readouterr().err == ""


def test_corrupt_lzw_data_decoder_output_captured(tmp_path, small, capfd):
    """libtiff prints its decoding errors on fd 2; they become part of the one-line error instead."""
    data = bytearray(corpus.tiff_ifd_first(small))
    start = len(data) - 20000
    data[start:start + 64] = b"\xff" * 64
    message = refused(put(tmp_path, "bad.tif", bytes(data)))
    out = capfd.readouterr()
    assert out.err == "" and out.out == "", out
    assert "LZW" in message or "decoder" in message, message


def test_rle_bmp_refused(tmp_path, small):
    data = bytearray(corpus.encode(small.convert("P"), "BMP"))
    struct.pack_into("<I", data, 30, 1)  # biCompression = BI_RLE8
    refused(put(tmp_path, "rle.bmp", bytes(data)), "RLE8", "truncation cannot be detected")


def test_other_formats_refused_clearly(tmp_path, small):
    refused(put(tmp_path, "x.ico", corpus.encode(small, "ICO")), "not a JPEG, PNG, GIF, WebP, TIFF or BMP file")
    refused(put(tmp_path, "x.ppm", corpus.encode(small, "PPM")), "not a JPEG, PNG, GIF, WebP, TIFF or BMP file")
    refused(put(tmp_path, "text.jpg", b"this is not a JPEG"), "not a readable image")
    refused(put(tmp_path, "damaged.png", corpus.encode(small, "PNG")[:20]), "damaged PNG header")
    refused(tmp_path / "missing.png", "no such image file")
    refused(tmp_path, "not a file")


def test_float_tiff_refused(tmp_path, small):
    grey = np.asarray(small.convert("L"), np.float32)
    refused(put(tmp_path, "f.tif", corpus.encode(Image.fromarray(grey, "F"), "TIFF")), "pixel mode F")


def test_truncated_mpo(tmp_path, small):
    data = corpus.valid_files(small)["mpo.jpg"]
    refused(put(tmp_path, "cut.mpo", data[:-100]), "picture 2 of 2")


def test_pillow_settings_restored(tmp_path):
    from PIL import ImageFile
    before = Image.MAX_IMAGE_PIXELS
    ImageFile.LOAD_TRUNCATED_IMAGES = True  # a careless caller
    try:
        refused(put(tmp_path, "cut.jpg", corpus.encode(corpus.source("dog.jpg", (96, 72)), "JPEG")[:-200]))
        assert ImageFile.LOAD_TRUNCATED_IMAGES is True and Image.MAX_IMAGE_PIXELS == before
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = False


def test_damaged_exif_is_a_netdsl_warning(tmp_path, small):
    """An EXIF block whose Make tag points past its end: Pillow warns "Tag data larger than file" while
    opening the JPEG; netdsl reads the picture and re-issues one ImageWarning naming the file."""
    exif = (b"II*\x00\x08\x00\x00\x00\x02\x00" + struct.pack("<HHII", 0x0112, 3, 1, 1)
            + struct.pack("<HHII", 0x010F, 2, 200, 0xFFFFF0) + struct.pack("<I", 0))
    path = put(tmp_path, "exif.jpg", corpus.encode(small, "JPEG", exif=b"Exif\x00\x00" + exif))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        image = load_image(path)
    assert image.shape == (72, 96, 3)
    assert [w.category.__name__ for w in caught] == ["ImageWarning"]
    assert str(caught[0].message).startswith(f"{path}: damaged EXIF metadata"), caught[0].message
