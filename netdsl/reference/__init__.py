"""The NumPy reference backend: ``execute(network, feeds, outputs=None)``.

Each kernel module mirrors the layer module of the same name in
``netdsl.layers``; importing this package imports (and so registers) all of them.
"""
import importlib
import pkgutil

from .executor import execute  # noqa: F401

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("executor", "registry") and not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
