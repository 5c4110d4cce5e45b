"""The model zoo (installed as ``netdsl.models``): networks written in netdsl's DSL, by name.

A model module defines ``build_network(**params) -> Network``; a detector
also defines ``DETECTION`` (input/boxes/scores tensor names, input_size
(H, W), class_names). :func:`load_model` takes a registered name, the
path of such a Python file (a user model file), or the path of a darknet
``.cfg`` (built by ``netdsl.frameworks.darknet.build_from_cfg``; weights: an
HDF5 store from ``netdsl convert darknet``).

A user model file is imported as a module of a package made of its own
folder, and that folder is put on ``sys.path``: both
``from .myblocks import conv`` and ``import myblocks`` work for a
``myblocks.py`` beside it; shipped blocks are ``from netdsl.models.blocks
import conv_bn_act``.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import traceback
import types
from pathlib import Path

from netdsl.graph.errors import NetdslError

MODELS = {
    "yolov3-tiny": "netdsl.models.yolov3_tiny",
    # built from the darknet cfgs in models/cfg/ (netdsl.frameworks.darknet.build_from_cfg)
    "yolov3": "netdsl.models.yolov3",
    "yolov4": "netdsl.models.yolov4",
    "yolov4-tiny": "netdsl.models.yolov4_tiny",
    "yolov2-tiny": "netdsl.models.yolov2_tiny",
    "yolo-fastest-1.1": "netdsl.models.yolo_fastest_1_1",
    "yolo-fastest-1.1-xl": "netdsl.models.yolo_fastest_1_1_xl",
    # ported from PyTorch and Keras (issue 9; weights/README.md says how each weight file was converted)
    "mtcnn-pnet": "netdsl.models.mtcnn_pnet",
    "mtcnn-rnet": "netdsl.models.mtcnn_rnet",
    "mtcnn-onet": "netdsl.models.mtcnn_onet",
    "fer-mini-xception": "netdsl.models.fer_mini_xception",
    "textgenrnn": "netdsl.models.textgenrnn",
    "lenet5": "netdsl.models.lenet5",
}


class UnknownModelError(NetdslError, LookupError):
    """A model name that is neither registered nor a Python file."""


class ModelFileError(NetdslError, ImportError):
    """A user model file failed to import; the message names the file, line and the error."""


def _where(exc: BaseException, path: Path) -> str:
    """``file:line`` of the innermost traceback frame inside the user's folder (else the file itself)."""
    folder = path.resolve().parent
    place = f"{path}"
    for frame in traceback.extract_tb(exc.__traceback__):
        try:
            inside = Path(frame.filename).resolve().is_relative_to(folder)
        except (OSError, ValueError):
            inside = False
        if inside:
            place = f"{frame.filename}:{frame.lineno}"
    if isinstance(exc, SyntaxError) and exc.filename:
        place = f"{exc.filename}:{exc.lineno}"
    return place


def _load_file(path: Path):
    folder = path.resolve().parent
    package = "netdsl_user_models_" + hashlib.sha1(str(folder).encode()).hexdigest()[:12]
    if package not in sys.modules:
        pkg = types.ModuleType(package)
        pkg.__path__ = [str(folder)]
        pkg.__package__ = package
        sys.modules[package] = pkg
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    name = f"{package}.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except NetdslError:
        sys.modules.pop(name, None)
        raise
    except Exception as exc:
        sys.modules.pop(name, None)
        detail = str(exc).splitlines()[0] if str(exc) else ""
        missing = getattr(exc, "name", None) or ""
        if isinstance(exc, ModuleNotFoundError) and missing.startswith(package + "."):
            sibling = missing[len(package) + 1:]
            detail = (f"no {sibling.replace('.', '/')}.py beside {path.name} for its relative import "
                      f"(from .{sibling} import ...)" + ("; the shipped blocks are imported as "
                                                         "'from netdsl.models.blocks import ...'"
                                                         if sibling == "blocks" else ""))
        raise ModelFileError(f"model file {path} failed to import at {_where(exc, path)}: "
                             f"{type(exc).__name__}: {detail}") from exc
    if not callable(getattr(module, "build_network", None)):
        raise UnknownModelError(f"{path}: defines no build_network() function")
    return module


def load_model(spec: str, class_names=None):
    """Return the model module for a registered name, a ``.py`` path or a darknet ``.cfg`` path.

    A ``.cfg`` gives a :class:`netdsl.frameworks.darknet.model.CfgModel`: an
    object with the module attributes ``build_network(batch, height, width,
    fold_batch_norm, eps)``, ``DETECTION`` and ``PROFILES``; its class names
    are ``class_names`` if given, else COCO's for ``classes=80``.

    Raises:
        UnknownModelError: unknown name, or a file without ``build_network``
            or missing.
        ModelFileError: the file raised while importing (one line naming the
            file, the line and the exception).
        DarknetCfgError: a cfg the builder cannot build (file, line, layer).
    """
    if spec in MODELS:
        return importlib.import_module(MODELS[spec])
    path = Path(spec)
    if path.suffix == ".py" and path.is_file():
        return _load_file(path)
    if path.suffix == ".cfg" and path.is_file():
        from netdsl.frameworks.darknet.model import CfgModel
        return CfgModel(path, class_names)
    if path.suffix in (".py", ".cfg"):
        raise UnknownModelError(f"model file {path} does not exist")
    raise UnknownModelError(f"unknown model {spec!r}: expected one of {', '.join(sorted(MODELS))}, "
                            f"the path of a .py file defining build_network() or of a darknet .cfg")
