"""MTCNN R-Net (facenet-pytorch), registered as ``mtcnn-rnet``: see :mod:`netdsl.models.mtcnn`.

Input ``images`` (batch, 3, 24, 24); outputs ``boxes`` (N, 4), ``prob`` (N, 2).
Weights: ``weights/mtcnn-rnet.h5`` (weights/README.md).
"""
from __future__ import annotations

from netdsl import Network

from netdsl.models.mtcnn import build_rnet

PROFILES = [{"images": ((1, 3, 24, 24), (16, 3, 24, 24), (64, 3, 24, 24))}]


def build_network(batch: int | None = None) -> Network:
    """R-Net; ``batch`` fixed when given, else a runtime dimension."""
    return build_rnet(batch)
