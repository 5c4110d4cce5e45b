"""The NumPy reference backend: ``execute(network, feeds, outputs=None)``.

Each kernel module mirrors the layer module of the same name in
``netdsl.layers``.
"""
from . import (activation, concatenation, constant, convolution, elementwise, pooling, resize, scale,  # noqa: F401
               shuffle, slice)
from .executor import execute  # noqa: F401
