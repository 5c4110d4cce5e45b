"""Helpers for the zoo tests (tests/models): shipped weights, the face crop, NCHW conversion."""
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"
FACE = (177, 66, 95, 95)  # x, y, w, h of the astronaut's face in skimage.data.astronaut() (512 x 512)


def zoo_network(model: str, **params):
    """The registered zoo model with its shipped weights bound."""
    from netdsl.models import load_model
    from netdsl.weights import load_weights
    net = load_model(model).build_network(**params)
    load_weights(net, WEIGHTS / f"{model}.h5")
    return net


def nchw(image, scale, offset):
    """Pillow image -> (1, C, H, W) float32 of ``(pixel - offset) * scale``."""
    a = np.asarray(image, np.float32)
    a = a[..., None] if a.ndim == 2 else a
    return ((a - offset) * scale).transpose(2, 0, 1)[None].copy()
