"""Draw detections on an image and save it atomically (Pillow)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np


def _color(class_id: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(class_id * 7919 + 1)
    return tuple(int(v) for v in rng.integers(60, 256, 3))


def draw_detections(image: np.ndarray, detections, out_path) -> None:
    """Draw boxes and ``name confidence`` labels on an (H, W, 3) uint8 RGB image and save it.

    The file is written to a temporary name in the same directory, then renamed.
    The format follows the suffix of ``out_path`` (``.jpg``, ``.png``).
    """
    from PIL import Image, ImageDraw
    img = Image.fromarray(image)
    draw = ImageDraw.Draw(img)
    for d in detections:
        color = _color(d.class_id)
        draw.rectangle(d.box, outline=color, width=3)
        label = f"{d.class_name} {d.confidence:.2f}"
        x, y = d.box[0], max(0.0, d.box[1] - 12)
        left, top, right, bottom = draw.textbbox((x, y), label)
        draw.rectangle((left - 1, top - 1, right + 1, bottom + 1), fill=color)
        draw.text((x, y), label, fill=(0, 0, 0))
    out_path = Path(out_path)
    fd, tmp = tempfile.mkstemp(prefix=f".{out_path.name}.", suffix=out_path.suffix, dir=out_path.parent)
    os.close(fd)
    try:
        img.save(tmp)
        os.replace(tmp, out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
