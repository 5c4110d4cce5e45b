"""The model zoo: networks written in netdsl's DSL, by name.

A model module defines ``build_network(**kwargs) -> Network``; a detector
also defines ``DETECTION`` (input/boxes/scores tensor names, input_size
(H, W), class_names). ``load_model`` takes a registered name or the path of
such a Python file.
"""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from netdsl.graph.errors import NetdslError

MODELS = {
    "yolov3-tiny": "models.yolov3_tiny",
}


class UnknownModelError(NetdslError, LookupError):
    """A model name that is neither registered nor a Python file."""


def load_model(spec: str):
    """Return the model module for a registered name or a ``.py`` path.

    Raises:
        UnknownModelError: unknown name, or a file without ``build_network``.
    """
    if spec in MODELS:
        return importlib.import_module(MODELS[spec])
    path = Path(spec)
    if path.suffix == ".py" and path.is_file():
        module_spec = importlib.util.spec_from_file_location(f"netdsl_user_model_{path.stem}", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        if not callable(getattr(module, "build_network", None)):
            raise UnknownModelError(f"{path}: defines no build_network() function")
        return module
    raise UnknownModelError(f"unknown model {spec!r}: expected one of {', '.join(sorted(MODELS))} "
                            f"or the path of a .py file defining build_network()")
