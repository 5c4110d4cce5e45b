"""Version gates of the compat module that TensorRT-RTX alone cannot exercise: an older TensorRT's
missing enum members are simulated by hiding them from the real TensorRT-RTX module (the gates ask the
module what it has; they are tested here against what it lacks)."""
import gc
import types

import numpy as np
import pytest

from netdsl import DataType, ElementWiseOperation, Network
from netdsl.graph.errors import BackendUnavailableError, ExecutionError
from netdsl.tensorrt.compat import TensorRTModule
from netdsl.tensorrt.logger import NO_GPU_PROBE, make_logger


def _without(module, enum_name, member):
    """A view of ``module`` whose ``enum_name`` lacks ``member`` (as in a TensorRT before it was added)."""
    enum = getattr(module, enum_name)
    members = {k: v for k, v in enum.__members__.items() if k != member}
    trimmed = types.SimpleNamespace(**members, __members__=members)
    return types.SimpleNamespace(**{**{k: getattr(module, k) for k in dir(module) if not k.startswith("__")},
                                    enum_name: trimmed, "__version__": "8.6.1"})


def test_int64_constant_needs_tensorrt_10(rtx):
    """add_constant with int64 values lowered for a TensorRT without DataType.INT64 (8.6): the netdsl error."""
    from netdsl.tensorrt.builder import to_trt_network
    old = TensorRTModule(_without(rtx.trt, "DataType", "INT64"), "tensorrt", "tensorrt")
    net = Network("int64")
    x = net.add_input("x", DataType.INT32, (3,))
    c = net.add_constant((3,), np.array([1, 2, 3], np.int64)).output
    net.mark_output(net.add_elementwise(net.add_cast(x, DataType.INT64).output, c, ElementWiseOperation.SUM).output)
    with pytest.raises(BackendUnavailableError, match=r"DataType.INT64 is not available in TensorRT 8.6.1 "
                                                      r"\(needs TensorRT >= 10.0\)"):
        to_trt_network(net, old)


def test_cuda_error_35_is_ignored_only_when_told(rtx):
    message = "[checkMacros.cpp] Error Code 1: Cuda Runtime (cudaError 35: CUDA driver version is insufficient)"
    plain, aot = make_logger(rtx.trt), make_logger(rtx.trt, NO_GPU_PROBE)
    for logger in (plain, aot):
        logger.log(rtx.trt.ILogger.Severity.ERROR, message)
    assert plain.errors() == [message]  # full TensorRT, or a GPU present: the real cause of a failure
    assert aot.errors() == []           # TensorRT-RTX ahead of time without a GPU: a harmless probe


def test_runner_call_does_not_collect_garbage_per_inference(monkeypatch):
    """EngineRunner.__call__ pauses the GC around TensorRT but runs no full collection each time."""
    from netdsl.tensorrt.runner import EngineRunner
    runner = object.__new__(EngineRunner)  # no GPU here: exercise the call path up to the feed check
    runner.inputs, runner.outputs, runner._cudart = {"x": ((1,), np.float32)}, {}, None
    collections = []
    monkeypatch.setattr(gc, "collect", lambda *a: collections.append(a) or 0)
    for _ in range(3):
        with pytest.raises(ExecutionError, match="missing"):
            runner({})
        assert gc.isenabled()
    assert collections == []


def test_device_buffers_grow_only():
    """EngineRunner's buffers (no GPU here: a counting allocator stands in for cudaMalloc/cudaFree)."""
    from netdsl.tensorrt.runner import DeviceBuffers
    log, next_address = [], iter(range(100, 10_000, 100))
    pool = DeviceBuffers(lambda n: log.append(("malloc", n)) or next(next_address),
                         lambda a: log.append(("free", a)), lambda name, a: log.append(("bind", name, a)))
    a = pool.ensure("images", 4 * 3 * 416 * 416)
    assert pool.ensure("images", 4 * 3 * 320 * 320) == a          # smaller: reused
    b = pool.ensure("images", 4 * 8 * 3 * 608 * 608)               # larger: freed, reallocated, rebound
    assert b != a and pool.capacity["images"] == 4 * 8 * 3 * 608 * 608
    assert log == [("malloc", 2076672), ("bind", "images", a), ("free", a), ("malloc", 35487744),
                   ("bind", "images", b)]
    assert pool.ensure("empty", 0) and pool.capacity["empty"] == 1  # never a 0-byte allocation
    pool.release()
    assert ("free", b) in log and pool.address == {}
