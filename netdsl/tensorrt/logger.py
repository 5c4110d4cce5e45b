"""A TensorRT ILogger that keeps messages for error reports and forwards them to ``logging``.

Source: TensorRT Python API, ``tensorrt.ILogger`` ("To implement a custom
logger, ensure that you explicitly instantiate the base class in __init__").
"""
from __future__ import annotations

import contextlib
import gc
import logging

_log = logging.getLogger("netdsl.tensorrt")
_log.addHandler(logging.NullHandler())  # a library: shown only where the application configures logging

# Logged by TensorRT-RTX when it probes for a GPU while compiling ahead of
# time on a machine without one; the build still succeeds. Only such a build
# may ignore it: on full TensorRT, or with a GPU, it is the real cause of a failure.
NO_GPU_PROBE = ("cudaError 35",)


def make_logger(trt, harmless=()):
    """Return a ``trt.ILogger`` instance recording ``(severity name, message)`` pairs.

    Args:
        trt: the TensorRT module.
        harmless: substrings of messages to leave out of ``errors()`` and of
            the ``logging`` output (:data:`NO_GPU_PROBE` for a TensorRT-RTX
            ahead-of-time build on a machine without a GPU).
    Returns:
        an ILogger with ``messages`` (list of pairs), ``errors(since=0)`` (ERROR
        and INTERNAL_ERROR texts but the harmless ones, from message ``since``
        on), ``clear()``, and
        ``attach(sink)``: ``sink(severity, message)`` is then called with
        every message already recorded and every later one, harmless ones
        included (a verbose log shows everything TensorRT said).
        WARNING and above go to the ``netdsl.tensorrt`` logger at the
        matching level, INFO and VERBOSE at DEBUG.
    """
    _HARMLESS = tuple(harmless)

    class _Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)
            self.messages: list[tuple[str, str]] = []
            self.sink = None

        def attach(self, sink) -> None:
            for name, msg in self.messages:
                sink(name, msg)
            self.sink = sink

        def log(self, severity, msg):
            name = getattr(severity, "name", str(severity))
            self.messages.append((name, msg))
            if self.sink is not None:
                try:
                    self.sink(name, msg)
                except Exception:  # noqa: BLE001 - TensorRT would swallow it mid-build; keep the build going
                    self.sink = None
            if any(h in msg for h in _HARMLESS):
                return
            level = {"INTERNAL_ERROR": logging.ERROR, "ERROR": logging.ERROR,
                     "WARNING": logging.WARNING}.get(name, logging.DEBUG)
            _log.log(level, "%s", msg)

        def errors(self, since: int = 0) -> list[str]:
            out = []
            for name, msg in self.messages[since:]:
                if name in ("ERROR", "INTERNAL_ERROR") and not any(h in msg for h in _HARMLESS) and msg not in out:
                    out.append(msg)
            return out

        def clear(self) -> None:
            self.messages.clear()

    return _Logger()


@contextlib.contextmanager
def gc_paused(collect: bool = True):
    """Collect cyclic garbage now, then keep Python's cyclic GC off while TensorRT may call back.

    TensorRT calls ``ILogger.log`` with internal locks held. A collection that
    an allocation inside the callback starts can free an older ``IBuilder``
    or ``IRuntime`` still kept in a reference cycle (by a traceback, say),
    whose destructor waits for the same lock: a deadlock, seen with
    TensorRT-RTX 1.7. Collecting first and pausing the GC avoids it. Use as a
    ``with`` block or a decorator around code that calls into TensorRT.

    Args:
        collect: collect first (building, loading). ``False`` only pauses the
            GC: for per-inference calls, where a full collection each time
            would cost more than the inference (the collection done when the
            runner was created already freed older TensorRT objects).
    """
    if not gc.isenabled():  # nested, or the application manages the GC itself
        yield
        return
    if collect:
        gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
