"""Layer constructors, one module per TensorRT layer family.

Importing this package imports every module in it, and each module's
``@network_method`` functions become ``Network.add_*``. A new layer type:
add a module here (constructor + shape inference), a kernel module of the
same name in ``netdsl/reference/``, and a lowering module of the same name
in ``netdsl/tensorrt/lowering/``.
"""
import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
