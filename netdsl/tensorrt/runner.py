"""EngineRunner: run a serialized TensorRT engine on NumPy arrays, tensors addressed by name.

Uses the name-based I/O API (``ICudaEngine.num_io_tensors`` /
``get_tensor_name`` / ``get_tensor_mode``, ``IExecutionContext.set_tensor_address``
and ``execute_async_v3``; TensorRT developer guide, "Performing Inference")
and device memory from cuda-python's runtime bindings (never pycuda).
Every reason it cannot run here (no TensorRT, no cuda-python, no GPU, an
engine this TensorRT cannot load on this GPU) is a one-line
BackendUnavailableError raised at construction.

Runtime dimensions: each call sets every input's shape on the execution
context (``IExecutionContext.set_input_shape``), then reads the output
shapes back from it (``get_tensor_shape``); device buffers are reallocated
only when a tensor grows (:class:`DeviceBuffers`). Source: TensorRT
developer guide, "Working with Dynamic Shapes" / "Execution".
"""
from __future__ import annotations

import os

import numpy as np

from ..graph.errors import BackendUnavailableError, ExecutionError
from .compat import load_tensorrt
from .logger import gc_paused, make_logger

CUDA_HINT = 'pip install "netdsl[cuda]" (cuda-python)'


def _load_cudart():
    """cuda-python's runtime module: ``cuda.bindings.runtime`` (>= 12.6) or ``cuda.cudart`` (older)."""
    try:
        from cuda.bindings import runtime as cudart
        return cudart
    except ImportError:
        pass
    try:
        from cuda import cudart
        return cudart
    except ImportError as exc:
        raise BackendUnavailableError(f"cuda-python is not importable ({exc}); {CUDA_HINT}") from None


class DeviceBuffers:
    """One device buffer per I/O tensor, grown (never shrunk) to the bytes a call needs.

    Args:
        malloc: ``malloc(nbytes) -> address``; free: ``free(address)``;
        bind: ``bind(name, address)``, called whenever a tensor's buffer changes.
    """

    def __init__(self, malloc, free, bind):
        self._malloc, self._free, self._bind = malloc, free, bind
        self.address: dict[str, int] = {}
        self.capacity: dict[str, int] = {}

    def ensure(self, name: str, nbytes: int) -> int:
        """The address of a buffer for ``name`` holding at least ``nbytes`` (> 0) bytes; reallocates only to grow."""
        nbytes = max(1, int(nbytes))
        if self.capacity.get(name, 0) < nbytes:
            if name in self.address:
                self._free(self.address.pop(name))
            self.address[name] = self._malloc(nbytes)
            self.capacity[name] = nbytes
            self._bind(name, self.address[name])
        return self.address[name]

    def release(self) -> None:
        for address in self.address.values():
            self._free(address)
        self.address.clear()
        self.capacity.clear()


class EngineRunner:
    """Load a serialized engine and run it: ``outputs = runner({"images": x})``.

    Args:
        engine: path to an engine file, or its bytes (``build_engine``'s result).
        prefer: ``"rtx"``, ``"tensorrt"`` or None (see ``load_tensorrt``);
            must match the flavor that built the engine.
    Raises:
        FileNotFoundError: ``engine`` is a path that does not exist.
        BackendUnavailableError: no TensorRT, no cuda-python, no CUDA GPU, or
            TensorRT cannot deserialize the engine here (built by another
            version, or for another GPU architecture); one line.
        ExecutionError: the engine has BF16 I/O tensors.

    Attributes:
        inputs, outputs: dicts name -> (engine shape tuple, -1 for a runtime
            dimension; NumPy dtype).
    """

    @gc_paused()
    def __init__(self, engine, *, prefer: str | None = None):
        self._buffers = None
        self._stream = None
        self._cudart = None
        data = self._read(engine)
        tm = load_tensorrt(prefer)
        cudart = _load_cudart()
        err, count = cudart.cudaGetDeviceCount()
        if err != cudart.cudaError_t.cudaSuccess or count < 1:
            reason = self._error_name(cudart, err) if err != cudart.cudaError_t.cudaSuccess else "0 devices"
            raise BackendUnavailableError(f"no CUDA GPU is usable on this machine (cudaGetDeviceCount: {reason}); "
                                          f"EngineRunner needs one")
        self._cudart = cudart
        self._tm = tm
        self._logger = make_logger(tm.trt)
        self._runtime = tm.trt.Runtime(self._logger)
        self._engine = self._runtime.deserialize_cuda_engine(data)
        if self._engine is None:
            errors = self._logger.errors()
            raise BackendUnavailableError(f"{tm.label} cannot deserialize this engine on this machine: "
                                          f"{errors[0] if errors else 'no reason logged'}".replace("\n", " "))
        self._context = self._engine.create_execution_context()
        self.inputs, self.outputs = {}, {}
        for i in range(self._engine.num_io_tensors):
            name = self._engine.get_tensor_name(i)
            shape = tuple(self._engine.get_tensor_shape(name))
            dtype = self._engine.get_tensor_dtype(name)
            if dtype.name == "BF16":
                raise ExecutionError(f"engine tensor {name!r} is BF16, which NumPy cannot hold; cast it to FLOAT "
                                     f"inside the network")
            is_input = self._engine.get_tensor_mode(name) == tm.trt.TensorIOMode.INPUT
            (self.inputs if is_input else self.outputs)[name] = (shape, np.dtype(tm.trt.nptype(dtype)))
        self._stream = self._check(cudart.cudaStreamCreate(), "cudaStreamCreate")
        self._buffers = DeviceBuffers(lambda n: int(self._check(cudart.cudaMalloc(n), "cudaMalloc")),
                                      cudart.cudaFree, lambda name, ptr: self._context.set_tensor_address(name, ptr))

    @staticmethod
    def _read(engine) -> bytes:
        if isinstance(engine, (str, os.PathLike)):
            path = os.fspath(engine)
            if not os.path.isfile(path):
                raise FileNotFoundError(f"engine file {path!r} does not exist")
            with open(path, "rb") as f:
                return f.read()
        return bytes(engine)

    @staticmethod
    def _error_name(cudart, err) -> str:
        try:
            return cudart.cudaGetErrorName(err)[1].decode()
        except Exception:
            return str(err)

    def _check(self, result, what: str):
        """Unpack a cuda-python ``(err, *values)`` tuple; raise ExecutionError on failure."""
        err, *values = result
        if err != self._cudart.cudaError_t.cudaSuccess:
            raise ExecutionError(f"{what} failed: {self._error_name(self._cudart, err)}")
        return values[0] if len(values) == 1 else values

    @gc_paused(collect=False)
    def __call__(self, feeds: dict) -> dict:
        """Run the engine once.

        Args:
            feeds: input name -> array of the engine's shape (converted to the
                engine's dtype, e.g. float32).
        Returns:
            output name -> new NumPy array.
        Raises:
            ExecutionError: missing or unexpected feeds, a wrong shape, or a
                CUDA / TensorRT failure.
        """
        missing = sorted(set(self.inputs) - set(feeds))
        unexpected = sorted(set(feeds) - set(self.inputs))
        if missing or unexpected:
            raise ExecutionError(f"feeds do not fit the engine: missing {missing}, unexpected {unexpected}")
        cudart, kind = self._cudart, self._cudart.cudaMemcpyKind
        host = {}
        for name, (shape, dtype) in self.inputs.items():
            array = np.ascontiguousarray(feeds[name], dtype=dtype)
            if len(array.shape) != len(shape) or any(d >= 0 and d != f for d, f in zip(shape, array.shape)):
                raise ExecutionError(f"feed {name!r}: expected shape {shape} (-1: any), found {array.shape}")
            if any(d < 0 for d in shape) and not self._context.set_input_shape(name, array.shape):
                raise ExecutionError(f"feed {name!r}: shape {array.shape} is outside the engine's optimization "
                                     f"profile: {' | '.join(self._logger.errors()) or 'no reason logged'}")
            host[name] = array
            address = self._buffers.ensure(name, array.nbytes)
            self._check(cudart.cudaMemcpyAsync(address, array.ctypes.data, array.nbytes,
                                               kind.cudaMemcpyHostToDevice, self._stream), f"copy of {name!r}")
        shapes = {name: tuple(self._context.get_tensor_shape(name)) for name in self.outputs}
        for name, shape in shapes.items():
            if any(d < 0 for d in shape):
                raise ExecutionError(f"output {name!r} has a data-dependent shape {shape}; EngineRunner needs "
                                     f"output shapes known from the input shapes")
            self._buffers.ensure(name, int(np.prod(shape, dtype=np.int64)) * self.outputs[name][1].itemsize)
        if not self._context.execute_async_v3(int(self._stream)):
            raise ExecutionError(f"execute_async_v3 failed: {' | '.join(self._logger.errors()) or 'no reason logged'}")
        results = {}
        for name, (_, dtype) in self.outputs.items():
            out = np.empty(shapes[name], dtype)
            results[name] = out
            self._check(cudart.cudaMemcpyAsync(out.ctypes.data, self._buffers.address[name], out.nbytes,
                                               kind.cudaMemcpyDeviceToHost, self._stream), f"copy of {name!r}")
        self._check(cudart.cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")
        del host  # inputs stay alive until the asynchronous copies are done
        return results

    def close(self) -> None:
        """Free the device buffers and the stream (also done on garbage collection)."""
        cudart = self._cudart
        if cudart is None:
            return
        if self._buffers is not None:
            self._buffers.release()
        if self._stream is not None:
            cudart.cudaStreamDestroy(self._stream)
            self._stream = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
