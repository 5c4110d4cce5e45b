"""Images are read as a photo viewer shows them: each variant of a real test image (EXIF-rotated,
16-bit, palette with transparency, grey+alpha, RGBA, CMYK, grey, 1-bit) gives the same array, and the
same detections, as the same picture saved plainly (8-bit RGB PNG)."""
import io

import numpy as np
import pytest
from PIL import Image

import image_corpus as corpus
from conftest import assert_same_detections
from netdsl.detection import load_image
from netdsl.detection.image_modes import over_white, sixteen_to_eight

# EXIF orientation (EXIF 2.32 tag 0x0112): how the stored pixels must be transformed to display.
# The stored picture is the displayed one transformed by the inverse.
STORE_FOR_ORIENTATION = {
    1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270,
}


def write(path, img, fmt, **options):
    img.save(path, fmt, **options)
    return path


def plain(tmp_path, img, name="plain.png"):
    """The picture as an 8-bit RGB PNG, read back (the reference every variant must match)."""
    return load_image(write(tmp_path / name, img.convert("RGB"), "PNG"))


def exif_with_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_exact_on_png(orientation, tmp_path):
    upright = corpus.source("dog.jpg", (96, 64))
    op = STORE_FOR_ORIENTATION[orientation]
    stored = upright.transpose(op) if op is not None else upright
    path = write(tmp_path / "rotated.png", stored, "PNG", exif=exif_with_orientation(orientation))
    got = load_image(path)
    assert got.shape == (64, 96, 3)
    np.testing.assert_array_equal(got, np.asarray(upright))


def test_phone_jpeg_with_orientation_6_reads_upright(tmp_path, detector):
    """A phone stores the sensor's landscape pixels and orientation 6 (rotate 90 clockwise to display)."""
    upright = corpus.source("dog.jpg")
    path = write(tmp_path / "phone.jpg", upright.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95,
                 exif=exif_with_orientation(6))
    got = load_image(path)
    assert got.shape == (576, 768, 3)  # stored 768 wide x 576 high would be (768, 576, 3)
    reference = load_image(write(tmp_path / "upright.jpg", upright, "JPEG", quality=95))
    assert np.abs(got.astype(int) - reference).mean() < 2.0
    found = detector(got)
    assert {"dog", "car", "bicycle"} <= {d.class_name for d in found}
    assert_same_detections(found, detector(reference), tolerance=3.0)


def test_16_bit_png_is_scaled_not_clipped(tmp_path, detector):
    picture = corpus.source("dog.jpg")
    path = tmp_path / "grey16.png"
    path.write_bytes(corpus.gray16_png(picture))
    with Image.open(path) as img:
        assert img.mode == "I;16"
    got = load_image(path)
    expected = plain(tmp_path, picture.convert("L"))
    np.testing.assert_array_equal(got, expected)  # v8 * 257 reads back as v8 exactly
    found = detector(got)
    assert found, "a 16-bit PNG gave no detections"
    assert_same_detections(found, detector(expected), tolerance=0.0)


def test_sixteen_to_eight_rounds():
    values = np.array([0, 128, 129, 257, 385, 386, 65535], np.uint16)
    np.testing.assert_array_equal(sixteen_to_eight(values), [0, 0, 1, 1, 1, 2, 255])


def test_32_bit_integer_tiff_read_as_16_bit(tmp_path):
    picture = corpus.source("dog.jpg", (96, 64))
    grey = np.asarray(picture.convert("L")).astype(np.int32) * 257
    path = write(tmp_path / "grey32.tif", Image.fromarray(grey, "I"), "TIFF")
    np.testing.assert_array_equal(load_image(path), plain(tmp_path, picture.convert("L")))


def test_over_white_values():
    rgba = np.array([[[10, 20, 30, 255], [10, 20, 30, 0], [0, 0, 0, 128], [200, 100, 0, 51]]], np.uint8)
    # c*a/255 + 255*(1 - a/255): 128/255 of black over white = 127; 51/255 of (200,100,0) = (244, 224, 204)
    np.testing.assert_array_equal(over_white(rgba), [[[10, 20, 30], [255, 255, 255], [127, 127, 127],
                                                      [244, 224, 204]]])


def transparent_border(img, width=40):
    """RGBA copy of ``img`` whose outer ``width`` pixels are fully transparent and black underneath."""
    rgba = np.asarray(img.convert("RGBA")).copy()
    rgba[:width], rgba[-width:], rgba[:, :width], rgba[:, -width:] = 0, 0, 0, 0
    return Image.fromarray(rgba, "RGBA")


def composited(img_rgba):
    return Image.fromarray(over_white(np.asarray(img_rgba)))


def test_rgba_composited_over_white(tmp_path, detector):
    rgba = transparent_border(corpus.source("dog.jpg"))
    got = load_image(write(tmp_path / "rgba.png", rgba, "PNG"))
    assert (got[:40] == 255).all()  # transparent black reads white, as on a white page
    expected = plain(tmp_path, composited(rgba))
    np.testing.assert_array_equal(got, expected)
    assert_same_detections(detector(got), detector(expected), tolerance=0.0)


def test_grey_alpha_composited_over_white(tmp_path, detector):
    rgba = transparent_border(corpus.source("dog.jpg").convert("L").convert("RGB"))
    la = Image.fromarray(np.asarray(rgba)[..., [0, 3]], "LA")
    got = load_image(write(tmp_path / "la.png", la, "PNG"))
    expected = plain(tmp_path, composited(rgba))
    np.testing.assert_array_equal(got, expected)
    assert_same_detections(detector(got), detector(expected), tolerance=0.0)


def test_palette_with_transparency(tmp_path, detector):
    picture = corpus.source("dog.jpg").quantize(255)
    index = np.asarray(picture).copy()
    index[:40] = 255  # palette entry 255: fully transparent
    palette = picture.getpalette()[:255 * 3] + [0, 0, 0]
    p = Image.fromarray(index, "P")
    p.putpalette(palette)
    p.info["transparency"] = 255
    path = write(tmp_path / "p.png", p, "PNG")
    with Image.open(path) as img:
        assert img.mode == "P" and "transparency" in img.info
    got = load_image(path)
    assert (got[:40] == 255).all()
    expected = plain(tmp_path, composited(p.convert("RGBA")))
    np.testing.assert_array_equal(got, expected)
    assert_same_detections(detector(got), detector(expected), tolerance=0.0)


@pytest.mark.parametrize("fmt", ["TIFF", "JPEG"])
def test_cmyk(fmt, tmp_path, detector):
    picture = corpus.source("dog.jpg")
    path = write(tmp_path / f"cmyk.{fmt.lower()}", picture.convert("CMYK"), fmt, **({"quality": 95} if fmt == "JPEG"
                                                                                      else {}))
    with Image.open(path) as img:
        assert img.mode == "CMYK"
    got = load_image(path)
    expected = plain(tmp_path, picture)
    assert np.abs(got.astype(int) - expected).mean() < (0.01 if fmt == "TIFF" else 3.0)
    assert_same_detections(detector(got), detector(expected), tolerance=0.0 if fmt == "TIFF" else 3.0)


@pytest.mark.parametrize("mode", ["L", "1"])
def test_grey_and_bilevel(mode, tmp_path, detector):
    picture = corpus.source("dog.jpg").convert(mode)
    got = load_image(write(tmp_path / f"{mode}.png", picture, "PNG"))
    expected = plain(tmp_path, picture)
    np.testing.assert_array_equal(got, expected)
    assert set(np.unique(got)) <= ({0, 255} if mode == "1" else set(range(256)))
    assert_same_detections(detector(got), detector(expected), tolerance=0.0)


def test_every_accepted_encoding_reads_like_the_plain_picture(tmp_path, detector):
    """JPEG, MPO, PNG, APNG, GIF, WebP, TIFF and BMP encodings of dog.jpg: same detections as plain."""
    picture = corpus.source("dog.jpg")
    expected = detector(plain(tmp_path, picture))
    assert {"dog", "car", "truck", "bicycle"} <= {d.class_name for d in expected}
    for name, data in corpus.valid_files(picture).items():
        path = tmp_path / name
        path.write_bytes(data)
        got = load_image(path)
        assert got.shape == (576, 768, 3) and got.dtype == np.uint8, name
        if name in ("raw.tif", "lzw.tif", "deflate.tif", "lzw-ifd-first.tif", "rgb.bmp", "rgb.png", "apng.png",
                    "lossless.webp"):
            np.testing.assert_array_equal(got, np.asarray(picture), err_msg=name)
        elif "gif" not in name and "palette" not in name:  # lossy: detections agree, not every pixel
            found = detector(got)
            assert {"dog", "car", "bicycle"} <= {d.class_name for d in found}, name


@pytest.mark.parametrize("image, message", [
    (np.ones((8, 8, 3), np.float32), "preprocess: expected a uint8 image (0-255), found float32 (values in [0, 1]? "
                                     "pass (x * 255).round().astype(np.uint8))"),
    (np.zeros((8, 8, 4), np.uint8), "preprocess: expected an (H, W, 3) RGB image, found shape (8, 8, 4): RGBA? drop "
                                    "the alpha channel, x[..., :3]"),
    (np.zeros((8, 8), np.uint8), "preprocess: expected an (H, W, 3) RGB image, found shape (8, 8): a grey image? "
                                 "np.repeat(x[..., None], 3, axis=2)"),
])
def test_preprocess_refuses_what_it_would_get_wrong(image, message):
    """Was: a [0, 1] float image divided by 255 again (no detections), RGBA -> a 4-channel blob, grey -> an einsum
    error."""
    from netdsl.detection.image_header import ImageError
    from netdsl.detection.preprocess import preprocess
    with pytest.raises(ImageError) as err:
        preprocess(image, (32, 32))
    assert str(err.value) == message
    rgb = np.full((8, 8, 3), 255, np.uint8)
    np.testing.assert_array_equal(preprocess(rgb, (32, 32)), np.ones((1, 3, 32, 32), np.float32))
