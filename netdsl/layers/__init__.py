"""Layer constructors, one module per TensorRT layer family.

Importing this package attaches each ``add_*`` function to
:class:`netdsl.Network`. A new layer type: add a module here (constructor +
shape inference), a kernel in ``netdsl/reference/``, a lowering in
``netdsl/tensorrt/lowering/``.
"""
from . import (activation, concatenation, constant, convolution, elementwise, pooling, resize, scale,  # noqa: F401
               shuffle, slice)
