"""MTCNN P-Net (facenet-pytorch), registered as ``mtcnn-pnet``: see :mod:`netdsl.models.mtcnn`.

Input ``images`` (batch, 3, height, width) with runtime batch / height /
width (H, W >= 12); outputs ``boxes`` (N, 4, H', W') and ``prob``
(N, 2, H', W'). Weights: ``weights/mtcnn-pnet.h5`` (weights/README.md).
"""
from __future__ import annotations

from netdsl import Network

from netdsl.models.mtcnn import build_pnet

PROFILES = [{"images": ((1, 3, 12, 12), (1, 3, 240, 320), (4, 3, 720, 1280))}]


def build_network(batch: int | None = None, height: int | None = None, width: int | None = None) -> Network:
    """P-Net; ``batch``, ``height``, ``width`` fixed when given, else runtime dimensions."""
    return build_pnet(batch, height, width)
