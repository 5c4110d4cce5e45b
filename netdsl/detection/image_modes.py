"""Pillow pixel modes -> (H, W, 3) uint8 RGB, as a photo viewer shows the picture.

Mode names and meanings: Pillow "Concepts: Modes"
(https://pillow.readthedocs.io/en/stable/handbook/concepts.html#modes).

=================  ==========================================================
mode               conversion
=================  ==========================================================
RGB                as is
RGBX, YCbCr        Pillow ``convert("RGB")``
L, 1               grey replicated to R = G = B (1-bit: 0 -> 0, 1 -> 255)
P                  palette looked up (Pillow ``convert``)
CMYK               Pillow's ``convert("RGB")``: R = 255 - min(255, C + K) etc.;
                   no ICC colour management (neither darknet nor OpenCV do any)
I;16, I;16L/B/N    16-bit grey scaled to 8 bits: round(v / 257), so 65535 -> 255
                   and an 8-bit value stored as v * 257 reads back exactly
I                  32-bit integer grey, read as 16-bit data (Pillow's own
                   convention for 16-bit PNG/TIFF): values must lie in
                   0..65535, then as I;16
LA, La, PA, RGBA,  composited over white: out = (c * a + 255 * (255 - a)) / 255,
RGBa, and any      rounded. A fully transparent pixel is white, as on a white
mode with a        page; darknet (stb_image asked for 3 channels) and OpenCV
``transparency``   ``imread(IMREAD_COLOR)`` instead drop alpha and keep whatever
key                colour hidden pixels store, often black.
F, LAB, HSV, ...   refused (no defined display range / no Pillow conversion)
=================  ==========================================================

Pillow itself clips I;16 to 8 bits in ``convert("RGB")``, so a 16-bit PNG
would come out nearly white; that is why 16-bit modes are scaled here.
"""
from __future__ import annotations

import numpy as np

SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
ALPHA_MODES = ("LA", "La", "PA", "RGBA", "RGBa")
SUPPORTED_MODES = ("RGB", "RGBX", "YCbCr", "L", "1", "P", "CMYK", "I") + SIXTEEN_BIT_MODES + ALPHA_MODES


class ModeError(ValueError):
    """A pixel mode or pixel values netdsl does not convert (the caller adds the file name)."""


def over_white(rgba: np.ndarray) -> np.ndarray:
    """Composite straight (non-premultiplied) alpha over white.

    Args:
        rgba: (H, W, 4) uint8, alpha last.
    Returns:
        (H, W, 3) uint8: round((c * a + 255 * (255 - a)) / 255) per channel.
    """
    a = rgba[..., 3:4].astype(np.uint32)
    c = rgba[..., :3].astype(np.uint32)
    return ((c * a + 255 * (255 - a) + 127) // 255).astype(np.uint8)


def sixteen_to_eight(values: np.ndarray) -> np.ndarray:
    """Scale 16-bit data (any integer dtype, values in 0..65535) to uint8: round(v / 257)."""
    return ((values.astype(np.uint32) * 2 + 257) // 514).astype(np.uint8)


def _has_transparency(img) -> bool:
    return img.mode in ALPHA_MODES or "transparency" in img.info


def to_rgb8(img) -> np.ndarray:
    """Convert a loaded Pillow image to an (H, W, 3) uint8 RGB array (see the module table).

    Args:
        img: a loaded ``PIL.Image.Image`` in one of :data:`SUPPORTED_MODES`.
    Returns:
        C-contiguous (H, W, 3) uint8 array, RGB order.
    Raises:
        ModeError: unsupported mode, or mode I with values outside 0..65535.
    """
    mode = img.mode
    if mode not in SUPPORTED_MODES:
        raise ModeError(f"pixel mode {mode} is not read (expected one of {', '.join(SUPPORTED_MODES)})")
    if mode in SIXTEEN_BIT_MODES or mode == "I":
        values = np.asarray(img)
        if mode == "I" and values.size and (values.min() < 0 or values.max() > 65535):
            raise ModeError(f"32-bit integer pixels span {values.min()}..{values.max()} "
                            f"(expected 16-bit data in 0..65535)")
        grey = sixteen_to_eight(values)
        rgb = np.repeat(grey[..., None], 3, axis=2)
        key = img.info.get("transparency")
        if isinstance(key, int):  # tRNS grey key on 16-bit data: those pixels are transparent
            rgb[values == key] = 255
        return rgb
    if mode == "RGB" and "transparency" not in img.info:
        return np.ascontiguousarray(np.asarray(img))
    if _has_transparency(img):
        return over_white(np.asarray(img.convert("RGBA")))
    return np.ascontiguousarray(np.asarray(img.convert("RGB")))
