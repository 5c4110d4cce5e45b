"""LoweringContext: the state shared by the lowering functions while one network is lowered."""
from __future__ import annotations

import numpy as np

from ...graph.dtypes import DataType
from ..errors import EngineBuildError


def bf16_bits(values: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), rounding to nearest even; NaN stays NaN."""
    f32 = np.ascontiguousarray(values, dtype=np.float32)
    bits = f32.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(f32)
    rounded[nan] = ((bits[nan] >> 16) | 0x40).astype(np.uint16)
    return rounded


class LoweringContext:
    """What the lowering functions share while one netdsl Network becomes an INetworkDefinition.

    Attributes:
        tm: the TensorRTModule (``tm.trt`` is the TensorRT module).
        network: the ``trt.INetworkDefinition`` being filled.
        logger: the ILogger the builder was made with (kept alive here).
        strongly_typed: whether the TensorRT network is strongly typed.
        tensors: netdsl Tensor -> ``trt.ITensor``.
        layers: (trt ILayer, netdsl Layer) pairs, in order.
        outputs: (trt ITensor, netdsl Tensor) pairs of the network outputs.
        arrays: every NumPy array handed to ``trt.Weights``; TensorRT holds
            Weights by reference until the engine is built, so the context
            must outlive ``build_serialized_network``.
    """

    def __init__(self, tm, network, logger=None, strongly_typed: bool = True):
        self.tm = tm
        self.trt = tm.trt
        self.network = network
        self.logger = logger
        self.strongly_typed = strongly_typed
        self.tensors: dict = {}
        self.layers: list = []
        self.outputs: list = []
        self.arrays: list[np.ndarray] = []

    def named(self, trt_layer, layer, suffix: str | None = None):
        """Name ``trt_layer`` after the netdsl layer (``name::suffix`` for helper layers) and record it.

        Raises:
            EngineBuildError: ``trt_layer`` is None (TensorRT refused to add
                it; the message carries TensorRT's logged errors).
        """
        if trt_layer is None:
            errors = self.logger.errors() if self.logger is not None else []
            raise EngineBuildError(f"{layer.name}: {self.tm.label} refused the {layer.type.name} layer"
                                   f"{' ' + suffix if suffix else ''}: {' | '.join(errors) or 'no reason logged'}")
        trt_layer.name = layer.name if suffix is None else f"{layer.name}::{suffix}"
        if suffix is None:
            self.layers.append((trt_layer, layer))
        return trt_layer

    def weights(self, value, dtype: DataType):
        """``trt.Weights`` holding ``value`` converted to ``dtype``.

        Args:
            value: a netdsl Weights / DerivedWeights (its ``.value``) or an array.
            dtype: DataType of the tensor the weights apply to (a layer's
                input dtype: a strongly typed network needs float16 weights
                for a HALF input; BF16 is stored as bfloat16 bit patterns).
        Returns:
            ``trt.Weights`` over an array kept alive in :attr:`arrays`.
        Raises:
            BackendUnavailableError: this TensorRT has no ``dtype`` (INT64 and
                BF16 need TensorRT >= 10.0).
        """
        trt_dtype = self.tm.datatype(dtype)  # refuses a dtype this version lacks, naming the version
        array = np.asarray(getattr(value, "value", value))
        if dtype is DataType.BF16:
            bits = bf16_bits(array)
            self.arrays.append(bits)
            return self.trt.Weights(trt_dtype, bits.ctypes.data, bits.size)
        array = np.ascontiguousarray(array, dtype=dtype.to_numpy())
        self.arrays.append(array)
        return self.trt.Weights(array)

    def empty_weights(self, dtype: DataType):
        """Zero-length ``trt.Weights`` of ``dtype`` (an absent bias or scale coefficient)."""
        return self.trt.Weights(self.tm.datatype(dtype))

    def constant(self, layer, suffix: str | None, value, dtype: DataType):
        """A constant tensor of ``dtype`` for ``layer``; returns its ``trt.ITensor``.

        Named ``<layer>::<suffix>`` (a helper, e.g. a slice fill value), or
        after the layer itself when ``suffix`` is None. IConstantLayer takes
        float, half, bf16, int32, int64 and bool weights; INT8 (which
        TensorRT reads as quantized) and UINT8 become an INT32 constant plus
        a cast.
        """
        array = np.asarray(getattr(value, "value", value))
        if dtype in (DataType.INT8, DataType.UINT8):
            const = self.network.add_constant(array.shape, self.weights(array, DataType.INT32))
            self.named(const, layer, f"{suffix}.int32" if suffix else "int32")
            last = self.network.add_cast(const.get_output(0), self.tm.datatype(dtype))
        else:
            last = self.network.add_constant(array.shape, self.weights(array, dtype))
        return self.named(last, layer, suffix).get_output(0)
