""""Plain resize" preprocessing for detectors.

Preprocessing (as darknet's and OpenCV DNN's ``blobFromImage(img, 1/255,
size, swapRB=True)``): RGB input, bilinear resize to the network size
without letterbox or antialiasing (half-pixel centres, edge clamp: OpenCV
INTER_LINEAR), scale to [0, 1], NCHW float32.
"""
from __future__ import annotations

import numpy as np

from ..reference.resize import input_coordinates, interpolation_matrix


def resize_bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of an (H, W, C) array to (height, width, C) float32, half-pixel centres.

    Only the source rows that carry weight (at most 2 per output row) are
    converted to float32, so a 6000 x 4500 photo costs about 2 x height
    rows of float32, not the whole image (324 MB).
    """
    h, w = image.shape[:2]
    rows = interpolation_matrix(input_coordinates(height, h, height / h, "HALF_PIXEL", "FORMULA"), h,
                                "LINEAR", -0.75, False).astype(np.float32)
    cols = interpolation_matrix(input_coordinates(width, w, width / w, "HALF_PIXEL", "FORMULA"), w,
                                "LINEAR", -0.75, False).astype(np.float32)
    used = np.flatnonzero(rows.any(axis=0))
    out = np.tensordot(rows[:, used], image[used].astype(np.float32), axes=([1], [0]))  # (height, W, C)
    return np.einsum("xw,hwc->hxc", cols, out, optimize=True)


def preprocess(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (1, 3, size[0], size[1]) float32 NCHW in [0, 1].

    Args:
        image: (H, W, 3) uint8 RGB, as :func:`netdsl.detection.image.load_image` gives (Pillow:
            ``np.asarray(Image.open(p).convert("RGB"))``; OpenCV's BGR: ``img[..., ::-1]``).
        size: network input (height, width) in pixels.
    Raises:
        ImageError: another shape or dtype (a grey (H, W) or RGBA image, a float image already
            scaled to [0, 1], which would be divided by 255 again), saying how to convert it.
    """
    from .image_header import ImageError
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise ImageError(f"preprocess: expected a uint8 image (0-255), found {image.dtype}"
                         + (" (values in [0, 1]? pass (x * 255).round().astype(np.uint8))"
                            if image.dtype.kind == "f" else ""))
    if image.ndim != 3 or image.shape[2] != 3:
        hint = {2: ": a grey image? np.repeat(x[..., None], 3, axis=2)",
                4: ": RGBA? drop the alpha channel, x[..., :3]"}.get(image.shape[2] if image.ndim == 3 else image.ndim, "")
        raise ImageError(f"preprocess: expected an (H, W, 3) RGB image, found shape {image.shape}{hint}")
    resized = resize_bilinear(image, *size) / np.float32(255.0)
    return np.ascontiguousarray(resized.transpose(2, 0, 1)[None], dtype=np.float32)
