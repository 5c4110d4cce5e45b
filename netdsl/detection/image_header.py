"""Checking an image file from its header, without decoding pixels, and the guard around every Pillow call.

:func:`read_header` opens a file with Pillow (which parses headers only),
checks that the format is one netdsl reads, that the canvas is within the
pixel budget, that the frame count is sane, that the pixel mode is one
:mod:`.image_modes` converts and that the container structure is complete
(:mod:`.image_formats`). ``netdsl detect`` runs it on every input before it
decodes or writes anything; :func:`netdsl.detection.image.load_image` runs it
again right before decoding.

:func:`pillow_guard` turns everything Pillow raises or warns while reading a
file into one-line :class:`ImageError` s naming the file, with Pillow's
decompression-bomb limit set to the pixel budget and
``ImageFile.LOAD_TRUNCATED_IMAGES`` forced to False.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..graph.errors import NetdslError
from .image_formats import bmp_problem, sniff_format, gif_frames, mpo_problem, png_problem, tiff_problem, webp_canvas
from .image_modes import SUPPORTED_MODES

DEFAULT_MAX_PIXELS = 50_000_000
"""Pixel budget (width x height of the canvas) checked before decoding: 50 Mpx, a 200 MB RGBA canvas."""

MAX_FRAMES = 10_000
"""Most frames an animated file may declare. Only the first frame is read; the cap bounds the header walk."""

ACCEPTED_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "TIFF", "BMP")
"""Pillow format names read (MPO: a JPEG with a multi-picture index, read as its first picture)."""

_OPEN_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "TIFF", "BMP")  # Pillow's JPEG opener returns MPO files too
_FORMAT_NAMES = "JPEG, PNG, GIF, WebP, TIFF or BMP"


class ImageError(NetdslError, ValueError):
    """A file cannot be read as an image: missing, unknown format, damaged, over budget. One line naming the file."""


class ImageWarning(UserWarning):
    """A readable image with a problem in its metadata (e.g. damaged EXIF); the message names the file."""


@dataclass(frozen=True)
class ImageHeader:
    """What a file declares, checked before decoding.

    Attributes:
        path: the file.
        format: Pillow format name, one of :data:`ACCEPTED_FORMATS`.
        mode: Pillow pixel mode of the first frame (e.g. ``"RGB"``, ``"I;16"``).
        width, height: canvas size in pixels as stored (before EXIF orientation).
        frames: frames in the file (1 for a still image); only the first is read.
        file_size: bytes.
    """

    path: Path
    format: str
    mode: str
    width: int
    height: int
    frames: int
    file_size: int

    @property
    def pixels(self) -> int:
        return self.width * self.height


def _pillow():
    try:
        from PIL import Image, ImageFile  # noqa: F401
    except ImportError:
        from ..graph.errors import BackendUnavailableError
        raise BackendUnavailableError('reading images needs Pillow: pip install "netdsl[image]"') from None
    return Image, ImageFile


def _budget_error(path, width: int, height: int, max_pixels: int) -> ImageError:
    return ImageError(f"{path}: {width:,} x {height:,} = {width * height:,} pixels exceeds the pixel budget of "
                      f"{max_pixels:,} (raise it with --max-pixels)")


def _one_line(text) -> str:
    return " ".join(str(text).split())


class _Records(logging.Handler):
    """Keeps log records of WARNING and above (Pillow logs some damage instead of warning)."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def _is_exif_warning(w, path) -> bool:
    """A warning from Pillow's TIFF tag reader about a file that is not a TIFF: its EXIF block is damaged."""
    if not os.path.basename(str(w.filename)).startswith("TiffImagePlugin"):
        return False
    try:
        with open(path, "rb") as f:
            return sniff_format(f.read(4)) != "TIFF"
    except OSError:
        return False


@contextlib.contextmanager
def pillow_guard(path, max_pixels: int):
    """Run Pillow calls on ``path`` with netdsl's limits; convert what they raise or warn to :class:`ImageError`.

    Inside the block ``PIL.Image.MAX_IMAGE_PIXELS`` is ``max_pixels`` (so
    Pillow's own decompression-bomb checks use the budget) and
    ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` is False; both are restored
    after (process-wide settings: not for concurrent use from threads).
    Every warning raised in the block (``DecompressionBombWarning``,
    ``"Truncated File Read"``, ``"Invalid APNG"``...) and every message of
    level WARNING or above that Pillow logs (logger ``PIL``; e.g. "More
    samples per pixel than can be decoded") makes the read fail: Pillow warns
    or logs where it worked around damaged data. Pillow's log records do not
    reach the root logger's handlers (or stderr) meanwhile. Exception: a
    warning of Pillow's TIFF tag reader on a file that is not a TIFF is about
    its EXIF block, and is re-issued as an :class:`ImageWarning` naming the
    file (the pixels are fine; a viewer shows them).

    Raises:
        ImageError: one line naming ``path``, for any exception (but
            KeyboardInterrupt and other BaseExceptions) or warning in the block.
    """
    Image, ImageFile = _pillow()
    saved = Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES
    Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = max_pixels, False
    log, logged = logging.getLogger("PIL"), _Records()
    saved_propagate = log.propagate
    log.addHandler(logged)
    log.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                yield
            except (ImageError, NetdslError):
                raise
            except Image.DecompressionBombError as exc:
                found = re.search(r"\((\d+) pixels\)", str(exc))
                pixels = f"{int(found.group(1)):,} pixels" if found else "more pixels"
                raise ImageError(f"{path}: declares {pixels}, over the pixel budget of {max_pixels:,} "
                                 f"(raise it with --max-pixels)") from None
            except MemoryError:
                raise ImageError(f"{path}: out of memory while decoding (pixel budget {max_pixels:,})") from None
            except Exception as exc:  # noqa: BLE001 - any decoder failure on a hostile file is "unreadable"
                raise ImageError(f"{path}: not a readable image ({exc.__class__.__name__}: "
                                 f"{_one_line(exc) or 'no detail'})") from None
        for w in caught:
            if issubclass(w.category, ImageWarning):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
                continue
            if _is_exif_warning(w, path):
                warnings.warn_explicit(ImageWarning(f"{path}: damaged EXIF metadata ({_one_line(w.message)})"),
                                       ImageWarning, w.filename, w.lineno)
                continue
            if issubclass(w.category, Image.DecompressionBombWarning):
                raise ImageError(f"{path}: {_one_line(w.message)} (pixel budget {max_pixels:,}, --max-pixels)")
            raise ImageError(f"{path}: damaged image (Pillow warned: {_one_line(w.message)})")
        if logged.records:
            raise ImageError(f"{path}: damaged image (Pillow logged: {_one_line(logged.records[0].getMessage())})")
    finally:
        Image.MAX_IMAGE_PIXELS, ImageFile.LOAD_TRUNCATED_IMAGES = saved
        log.removeHandler(logged)
        log.propagate = saved_propagate


def _check_webp_canvas(path, head: bytes, max_pixels: int) -> None:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        canvas = webp_canvas(head)
        if canvas is None:
            raise ImageError(f"{path}: WebP header declares no canvas size (expected a VP8, VP8L or VP8X chunk first)")
        if canvas[0] * canvas[1] > max_pixels:
            raise _budget_error(path, *canvas, max_pixels)


def _tiff_frames(img, cap: int) -> int:
    """Count a TIFF's images by walking its IFD chain, stopping after ``cap`` + 1."""
    n = 1
    try:
        while n <= cap:
            img.seek(n)
            n += 1
    except EOFError:
        pass
    img.seek(0)
    return n


def check_opened(path: Path, img, max_pixels: int) -> ImageHeader:
    """Checks of :func:`read_header` on an image Pillow has opened (not loaded); see there."""
    fmt = img.format
    if fmt not in ACCEPTED_FORMATS:
        raise ImageError(f"{path}: {fmt} images are not read (expected {_FORMAT_NAMES})")
    width, height = img.size
    if width < 1 or height < 1:
        raise ImageError(f"{path}: image has no pixels ({width} x {height})")
    if width * height > max_pixels:
        raise _budget_error(path, width, height, max_pixels)
    if img.mode not in SUPPORTED_MODES:
        raise ImageError(f"{path}: pixel mode {img.mode} is not read (expected one of {', '.join(SUPPORTED_MODES)})")
    size = os.path.getsize(path)
    frames, problem = 1, None
    if fmt == "PNG":
        with open(path, "rb") as f:
            problem = png_problem(f, size)
        frames = getattr(img, "n_frames", 1)
    elif fmt == "GIF":
        with open(path, "rb") as f:
            frames, problem = gif_frames(f)
    elif fmt == "TIFF":
        problem = tiff_problem(img, size)
        frames = _tiff_frames(img, MAX_FRAMES)
    elif fmt == "MPO":
        with open(path, "rb") as f:
            problem = mpo_problem(img, f, size)
        frames = img.n_frames
    elif fmt == "WEBP":
        frames = img.n_frames
    elif fmt == "BMP":
        problem = bmp_problem(img)
    if problem:
        raise ImageError(f"{path}: damaged {fmt} file: {problem}")
    if frames > MAX_FRAMES:
        raise ImageError(f"{path}: declares {frames:,} frames (at most {MAX_FRAMES:,}; only the first is read)")
    return ImageHeader(path, fmt, img.mode, width, height, frames, size)


def open_checked(path, max_pixels: int):
    """Open ``path`` with Pillow (headers only) after the pre-open checks; caller closes. Use inside :func:`pillow_guard`."""
    Image, _ = _pillow()
    with open(path, "rb") as f:
        head = f.read(30)
    _check_webp_canvas(path, head, max_pixels)
    try:
        return Image.open(path, formats=_OPEN_FORMATS)
    except Image.UnidentifiedImageError:
        announced = sniff_format(head)
        if announced:
            raise ImageError(f"{path}: not a readable image (damaged {announced} header)") from None
        raise ImageError(f"{path}: not a readable image (not a {_FORMAT_NAMES} file)") from None
    except (Image.DecompressionBombError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - a header Pillow recognised but cannot parse
        announced = sniff_format(head) or "image"
        raise ImageError(f"{path}: not a readable image (damaged {announced} header: "
                         f"{exc.__class__.__name__}: {_one_line(exc)})") from None


def check_path(path) -> Path:
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: no such image file")
    if not path.is_file():
        raise ImageError(f"{path}: not a file (expected an image file)")
    return path


def check_budget(max_pixels) -> int:
    if not isinstance(max_pixels, int) or max_pixels < 1:
        raise ValueError(f"max_pixels must be a positive int, found {max_pixels!r}")
    return max_pixels


def read_header(path, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageHeader:
    """Check an image file without decoding its pixels.

    Args:
        path: str or PathLike.
        max_pixels: pixel budget: width x height of the canvas (for an
            animated image, the canvas all frames are drawn on) must not
            exceed it.
    Returns:
        :class:`ImageHeader`.
    Raises:
        ImageError: missing file; not JPEG/PNG/GIF/WebP/TIFF/BMP; canvas of
            zero or over ``max_pixels`` pixels; more than :data:`MAX_FRAMES`
            frames; unsupported pixel mode; incomplete container structure
            (truncation) — one line naming the file.
        BackendUnavailableError: Pillow is not installed.

    Metadata problems that :func:`~netdsl.detection.image.load_image` reports
    as :class:`ImageWarning` are not reported here.
    """
    max_pixels = check_budget(max_pixels)
    path = check_path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ImageWarning)  # said once, by load_image
        with pillow_guard(path, max_pixels):
            with open_checked(path, max_pixels) as img:
                return check_opened(path, img, max_pixels)
