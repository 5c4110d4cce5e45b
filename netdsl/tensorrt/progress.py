"""Build progress and Ctrl-C during an engine build.

TensorRT calls back into Python while it builds (the logger, the progress
monitor). A KeyboardInterrupt raised inside such a callback is caught and
logged by TensorRT's bindings ("Exception caught in log()") and the build
goes on. So while netdsl builds, Ctrl-C only sets a flag
(:func:`sigint_flag`); the ``IProgressMonitor`` (TensorRT >= 10.0 and
TensorRT-RTX) returns False from its next ``step_complete``, which cancels
the build cleanly ("Build canceled by user"), and the builder then raises
KeyboardInterrupt itself. TensorRT 8.6 has no progress monitor: there the
build runs to its end and the interrupt is raised after it, before anything
is written.

Source: TensorRT Python API, ``tensorrt.IProgressMonitor``
(``phase_start(phase_name, parent_phase, num_steps)``,
``step_complete(phase_name, step) -> bool``, ``phase_finish(phase_name)``).
"""
from __future__ import annotations

import contextlib
import signal
import threading
from typing import Callable, Protocol


class ProgressReporter(Protocol):
    """What a build progress display implements (all optional to act on).

    ``phase_start(name, parent, num_steps)``: a phase of ``num_steps`` steps
    begins (``parent`` is the enclosing phase's name or None);
    ``step(name, step)``: step ``step`` (0-based) of phase ``name`` is done;
    ``phase_finish(name)``: the phase ended.
    """

    def phase_start(self, name: str, parent: str | None, num_steps: int) -> None: ...

    def step(self, name: str, step: int) -> None: ...

    def phase_finish(self, name: str) -> None: ...


@contextlib.contextmanager
def sigint_flag():
    """While active, SIGINT (Ctrl-C) sets a flag instead of raising KeyboardInterrupt.

    Yields a function returning True once Ctrl-C was pressed. On exit the
    previous handler is restored and, if Ctrl-C was pressed and no other
    exception is propagating, KeyboardInterrupt is raised. Outside the main
    thread (where Python cannot install signal handlers) it changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    hits: list[int] = []

    def handler(signum, frame):
        hits.append(signum)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(hits)
    finally:
        signal.signal(signal.SIGINT, previous)
    if hits:
        raise KeyboardInterrupt


def make_progress_monitor(trt, cancelled: Callable[[], bool], reporter: ProgressReporter | None = None):
    """A ``trt.IProgressMonitor`` that cancels the build once ``cancelled()`` is true.

    Args:
        trt: the TensorRT module (must have ``IProgressMonitor``).
        cancelled: polled at every completed step.
        reporter: optional :class:`ProgressReporter` told of phases and steps.
    Returns:
        the monitor instance (assign to ``IBuilderConfig.progress_monitor``).
    """

    class _Monitor(trt.IProgressMonitor):
        def __init__(self):
            trt.IProgressMonitor.__init__(self)
            self.phases = 0
            self.steps = 0

        def phase_start(self, phase_name, parent_phase, num_steps):
            self.phases += 1
            if reporter is not None:
                reporter.phase_start(phase_name, parent_phase, int(num_steps))

        def step_complete(self, phase_name, step):
            self.steps += 1
            if reporter is not None:
                reporter.step(phase_name, int(step))
            return not cancelled()

        def phase_finish(self, phase_name):
            if reporter is not None:
                reporter.phase_finish(phase_name)

    return _Monitor()
