"""Draw detections on an image: boxes in a colour per class, labels that do not cover each other.

Sizes scale with the image (:func:`style_for`), so labels read the same on
a 416-pixel thumbnail and a 6000-pixel photo. Boxes are drawn first, then
every label (placed by :func:`netdsl.detection.labels.place_labels`) on top,
so no box line crosses a label's text. Labels use Pillow's built-in font
(``ImageFont.load_default(size=...)``, a scalable FreeType font since
Pillow 10.1; older Pillow falls back to its fixed 11-pixel bitmap font).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .labels import Rect, place_labels
from .palette import class_color, text_color


@dataclass(frozen=True)
class Style:
    """Drawing sizes in pixels for one image."""

    font_px: int
    line_width: int
    padding: int


def style_for(width: int, height: int) -> Style:
    """Sizes for a ``width`` x ``height`` image: font 2.6% of the short side (at least 11 px),
    lines 0.4% (at least 2 px), label padding a fifth of the font size."""
    short = min(width, height)
    font_px = max(11, round(short * 0.026))
    return Style(font_px=font_px, line_width=max(2, round(short * 0.004)), padding=max(1, font_px // 5))


@functools.lru_cache(maxsize=16)
def _font(size: int):
    from PIL import ImageFont
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: no size argument
        return ImageFont.load_default()


def label_text(detection) -> str:
    return f"{detection.class_name} {detection.confidence:.2f}"


def layout_labels(detections, width: int, height: int) -> list[Rect]:
    """The label rectangle of each detection (same order), as :func:`render_detections` draws them."""
    style = style_for(width, height)
    font = _font(style.font_px)
    sizes = []
    for d in detections:
        left, top, right, bottom = font.getbbox(label_text(d))
        sizes.append((right - left + 2 * style.padding, bottom - top + 2 * style.padding))
    return place_labels([d.box for d in detections], sizes, (width, height))


def render_detections(image: np.ndarray, detections):
    """Draw ``detections`` on a copy of ``image``.

    Args:
        image: (H, W, 3) uint8 RGB.
        detections: :class:`netdsl.detection.Detection` s with boxes in this
            image's pixels (clipped to it), strongest first.
    Returns:
        ``PIL.Image.Image`` in mode RGB, W x H.
    """
    from PIL import Image, ImageDraw
    img = Image.fromarray(image)
    height, width = image.shape[:2]
    style = style_for(width, height)
    font = _font(style.font_px)
    draw = ImageDraw.Draw(img)
    for d in reversed(detections):  # strongest box drawn last, on top
        x1, y1, x2, y2 = (int(round(v)) for v in d.box)
        if x2 - 1 > x1 and y2 - 1 > y1:
            draw.rectangle((x1, y1, x2 - 1, y2 - 1), outline=class_color(d.class_id), width=style.line_width)
    for d, (lx1, ly1, lx2, ly2) in zip(detections, layout_labels(detections, width, height)):
        color = class_color(d.class_id)
        draw.rectangle((lx1, ly1, lx2 - 1, ly2 - 1), fill=color)
        text = label_text(d)
        left, top, _, _ = font.getbbox(text)
        draw.text((lx1 + style.padding - left, ly1 + style.padding - top), text, fill=text_color(color), font=font)
    return img
