"""MTCNN O-Net (facenet-pytorch), registered as ``mtcnn-onet``: see :mod:`netdsl.models.mtcnn`.

Input ``images`` (batch, 3, 48, 48); outputs ``boxes`` (N, 4), ``landmarks``
(N, 10), ``prob`` (N, 2). Weights: ``weights/mtcnn-onet.h5`` (weights/README.md).
"""
from __future__ import annotations

from netdsl import Network

from netdsl.models.mtcnn import build_onet

PROFILES = [{"images": ((1, 3, 48, 48), (16, 3, 48, 48), (64, 3, 48, 48))}]


def build_network(batch: int | None = None) -> Network:
    """O-Net; ``batch`` fixed when given, else a runtime dimension."""
    return build_onet(batch)
