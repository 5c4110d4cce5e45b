"""Lowerings of netdsl layers to TensorRT layers, one module per layer family.

Importing this package imports every module in it, registering each
``@lowering(LayerType.X)`` function in :data:`LOWERINGS` (``registry.py``).
A new layer family: add a module of the same name as its ``netdsl/layers``
module; it registers itself.
"""
import importlib
import pkgutil

from .context import LoweringContext  # noqa: F401
from .registry import LOWERINGS, lower_layer, lowering  # noqa: F401

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("context", "registry") and not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
