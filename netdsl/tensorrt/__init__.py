"""TensorRT / TensorRT-RTX backend: lower a netdsl Network, build and save engines, run them.

Example::

    from netdsl.tensorrt import build_engine, save_engine
    engine = build_engine(net, targets=("sm86", "sm89"), prefer="rtx")  # bytes
    save_engine(net, "yolo.engine", targets=("sm86",))

Version differences (TensorRT 8.6 / 10.x / 11.x / RTX) live in
:mod:`netdsl.tensorrt.compat` only; ``docs/tensorrt_versions.md`` lists them.
TensorRT itself is imported lazily, when a function here is called.
"""
from .builder import build_engine, save_engine, to_trt_network  # noqa: F401
from .compat import TensorRTModule, load_tensorrt  # noqa: F401
from .errors import EngineBuildError, UnsupportedLayerError  # noqa: F401
from .runner import EngineRunner  # noqa: F401

__all__ = ["load_tensorrt", "build_engine", "save_engine", "to_trt_network", "EngineRunner", "TensorRTModule",
           "EngineBuildError", "UnsupportedLayerError"]
