"""Reading an image file as a photo viewer shows it: (H, W, 3) uint8 RGB, EXIF orientation applied.

Steps, all under :func:`.image_header.pillow_guard` (one-line errors naming
the file, Pillow's bomb limit = the pixel budget, truncated data refused):

1. header check (:func:`.image_header.read_header`'s checks): format, pixel
   budget, frame count, mode, complete container structure — before any
   pixel is decoded;
2. decode the first frame (``Image.load``); for PNG, check that the image
   data inflates to the size the header requires (Pillow fills a short
   stream silently);
3. EXIF orientation (tag 0x0112, EXIF 2.32 / CIPA DC-008 section 4.6.4):
   ``PIL.ImageOps.exif_transpose``, so a phone photo stored sideways with
   orientation 6 reads upright. Damaged EXIF metadata is an
   :class:`ImageWarning` (the picture is still read, unrotated);
4. pixel mode -> RGB (:func:`.image_modes.to_rgb8`: 16-bit scaled, alpha
   composited over white, palette/CMYK/grey converted).

What is accepted and refused, and why: ``docs/images.md``.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from .image_header import (DEFAULT_MAX_PIXELS, MAX_FRAMES, ImageError, ImageHeader, ImageWarning,  # noqa: F401
                           check_budget, check_opened, check_path, open_checked, pillow_guard,
                           read_header)
from .image_formats import png_data_problem
from .image_modes import ModeError, to_rgb8
from .preprocess import preprocess, resize_bilinear  # noqa: F401  (historical home of these names)


@contextlib.contextmanager
def _c_stderr(messages: list):
    """Capture what C libraries write to file descriptor 2 (libtiff prints there) into ``messages``."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            messages.extend(line.strip() for line in tmp.read().decode("utf-8", "replace").splitlines()
                            if line.strip())


def _decode(path, img) -> None:
    """``img.load()`` with the decoder's own stderr lines turned into errors (or ImageWarnings for
    lines saying "Warning", e.g. libtiff's unknown private tags) naming the file."""
    said: list[str] = []
    failed = None
    with _c_stderr(said):
        try:
            img.load()
        except Exception as exc:  # noqa: BLE001 - re-raised below, with what the decoder printed
            failed = exc
    if failed is not None:
        if not said or isinstance(failed, MemoryError):
            raise failed
        raise ImageError(f"{path}: not a readable image ({failed.__class__.__name__}: "
                         f"{' '.join(str(failed).split())}; decoder said: {'; '.join(said)})")
    errors = [line for line in said if "warning" not in line.lower()]
    if errors:
        raise ImageError(f"{path}: damaged image (decoder said: {'; '.join(errors)})")
    for line in said:
        warnings.warn(ImageWarning(f"{path}: decoder warning: {line}"), stacklevel=3)


def _orient(path, img) -> None:
    """Apply EXIF orientation in place; damaged EXIF -> ImageWarning, picture left as stored."""
    from PIL import ImageOps
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ImageOps.exif_transpose(img, in_place=True)
        except Exception as exc:  # noqa: BLE001 - damaged metadata must not stop reading the pixels
            caught.append(warnings.WarningMessage(f"{exc.__class__.__name__}: {exc}", UserWarning, "", 0))
    for w in caught:
        warnings.warn(ImageWarning(f"{path}: damaged EXIF metadata, orientation may be wrong "
                                   f"({' '.join(str(w.message).split())})"), stacklevel=3)


def load_image(path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode an image file's first frame to an (H, W, 3) uint8 RGB array, upright per its EXIF orientation.

    Args:
        path: str or PathLike of a JPEG, PNG, GIF, WebP, TIFF or BMP file.
        max_pixels: pixel budget (canvas width x height), checked from the
            header before decoding. Default 50,000,000.
    Returns:
        C-contiguous (H, W, 3) uint8 array, RGB; H x W is the displayed size
        (width and height swapped by EXIF orientations 5-8).
    Raises:
        ImageError: missing file, format not read, over the pixel budget,
            more than MAX_FRAMES frames, damaged or truncated data, a Pillow
            warning while decoding, unsupported pixel mode — one line naming
            the file.
        BackendUnavailableError: Pillow is not installed.
    Warns:
        ImageWarning: damaged EXIF metadata (orientation not applied).
    """
    max_pixels = check_budget(max_pixels)
    path = check_path(path)
    with pillow_guard(path, max_pixels):
        with open_checked(path, max_pixels) as img:
            check_opened(path, img, max_pixels)
            _decode(path, img)
            if img.format == "PNG":
                with open(path, "rb") as f:
                    problem = png_data_problem(f)
                if problem:
                    raise ImageError(f"{path}: damaged PNG file: {problem}")
            _orient(path, img)
            try:
                return to_rgb8(img)
            except ModeError as exc:
                raise ImageError(f"{path}: {exc}") from None


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def list_images(directory) -> list:
    """The image files (by suffix, :data:`IMAGE_SUFFIXES`) directly in ``directory``, sorted by name, as Paths.

    Raises:
        ImageError: not a directory, or no image in it.
    """
    d = Path(directory)
    if not d.is_dir():
        raise ImageError(f"{directory}: not a directory of images")
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ImageError(f"{directory}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def expand_images(items) -> list:
    """Image arguments as files: a directory gives its images (:func:`list_images`), a file itself.

    Raises:
        ImageError: as :func:`list_images`, for a directory without images.
    """
    out = []
    for item in items:
        out.extend(list_images(item) if os.path.isdir(item) else [item])
    return out
