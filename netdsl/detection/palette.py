"""One colour per class for drawn boxes, and a readable text colour on it.

Class colours are chosen by farthest-point sampling in CIELAB (CIE 1976
L*a*b*, D65 white; the sRGB -> XYZ matrix of IEC 61966-2-1): from a grid of
bright, saturated sRGB colours, class 0 gets a fixed red and each next class
the candidate farthest (Euclidean Delta E*ab) from every colour given to a
lower class id. So the first classes (COCO: person, bicycle, car,
motorcycle, ..., truck) are as far apart as the grid allows, and every one
of the 80 COCO classes differs from all others. Colours are deterministic:
a class has the same colour in every image and run. Classes beyond the
palette length reuse it cyclically.

Text colour: black or white, whichever has the higher WCAG 2.x contrast
ratio against the label background (WCAG 2.2, definitions "relative
luminance" and "contrast ratio").
"""
from __future__ import annotations

import colorsys
import functools

import numpy as np

PALETTE_SIZE = 128


def _lab(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) sRGB uint8-range floats -> (N, 3) CIELAB (D65)."""
    c = rgb / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = lin @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], axis=1)


@functools.lru_cache(maxsize=1)
def palette() -> tuple[tuple[int, int, int], ...]:
    """:data:`PALETTE_SIZE` (R, G, B) uint8 colours, in class order (see the module docstring)."""
    grid = [colorsys.hsv_to_rgb(h / 48, s, v) for h in range(48) for s in (0.45, 0.7, 0.95)
            for v in (0.55, 0.78, 1.0)]
    rgb = np.round(np.array(grid) * 255)
    lab = _lab(rgb)
    chosen = [int(np.argmin(np.abs(rgb - [230, 25, 25]).sum(axis=1)))]
    dist = np.linalg.norm(lab - lab[chosen[0]], axis=1)
    while len(chosen) < PALETTE_SIZE:
        k = int(np.argmax(dist))
        chosen.append(k)
        dist = np.minimum(dist, np.linalg.norm(lab - lab[k], axis=1))
    return tuple(tuple(int(v) for v in rgb[k]) for k in chosen)


def class_color(class_id: int) -> tuple[int, int, int]:
    """The (R, G, B) uint8 colour of class ``class_id`` (any int >= 0)."""
    return palette()[class_id % PALETTE_SIZE]


def delta_e(a, b) -> float:
    """CIE 1976 colour difference Delta E*ab of two sRGB uint8 colours."""
    la, lb = _lab(np.array([a, b], np.float64))
    return float(np.linalg.norm(la - lb))


def relative_luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB (R, G, B) uint8 colour, in [0, 1]."""
    def linear(c):
        c /= 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(float(c)) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a, b) -> float:
    """WCAG contrast ratio of two colours, in [1, 21]."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_color(background) -> tuple[int, int, int]:
    """Black or white, whichever contrasts more with ``background``."""
    black, white = (0, 0, 0), (255, 255, 255)
    return black if contrast_ratio(background, black) >= contrast_ratio(background, white) else white
