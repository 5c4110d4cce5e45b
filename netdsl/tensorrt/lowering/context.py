"""LoweringContext: the state shared by the lowering functions while one network is lowered."""
from __future__ import annotations

import numpy as np

from ...graph.dtypes import DataType
from ...graph.shapes import Dim, _Apply, _Symbol, is_static
from ..errors import EngineBuildError


def bf16_bits(values: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), rounding to nearest even; NaN stays NaN."""
    f32 = np.ascontiguousarray(values, dtype=np.float32)
    bits = f32.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(f32)
    rounded[nan] = ((bits[nan] >> 16) | 0x40).astype(np.uint16)
    return rounded


def low_precision_bytes(values, dtype: DataType) -> np.ndarray:
    """FP8 / INT4 / FP4 weights as the bytes TensorRT reads (uint8).

    FP8 (E4M3): one byte per element. INT4 and FP4: two elements per byte, the first in the 4
    least significant bits, the second in the 4 most significant bits (TensorRT "Explicit
    Quantization", quantized weights), in row-major order; an odd count leaves the last high
    nibble zero. Values are converted with ``ml_dtypes`` (round to nearest even) first.
    """
    codes = np.ascontiguousarray(np.asarray(values).astype(dtype.to_numpy())).reshape(-1).view(np.uint8)
    if dtype is DataType.FP8:
        return codes.copy()
    nibbles = codes & np.uint8(0x0F)
    if nibbles.size % 2:
        nibbles = np.concatenate([nibbles, np.zeros(1, np.uint8)])
    return (nibbles[0::2] | (nibbles[1::2] << np.uint8(4))).astype(np.uint8)


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
        self.dim_sources: dict[str, tuple] = {}  # runtime dimension name -> (trt input ITensor, axis)
        self._shape_cache: dict = {}
        self._names: set[str] = set()  # TensorRT layer names given so far (TensorRT logs an error on a repeat)

    # -- runtime dimensions as shape tensors -----------------------------------------------------------
    def add_input(self, tensor):
        """Add a netdsl network input: runtime dimensions become -1 and are remembered as shape sources."""
        dims = tuple(-1 if isinstance(d, Dim) else int(d) for d in tensor.shape)
        trt_tensor = self.network.add_input(tensor.name, self.tm.datatype(tensor.dtype), dims)
        for axis, d in enumerate(tensor.shape):
            if isinstance(d, Dim):
                self.dim_sources.setdefault(next(iter(d.names())), (trt_tensor, axis))
        self.tensors[tensor] = trt_tensor
        return trt_tensor

    def shape_tensor(self, layer, dims, suffix: str = "shape"):
        """A 1-D shape tensor (TensorRT's shape-tensor dtype) holding ``dims`` (ints and runtime Dims).

        Each runtime dimension is read from the network input it came from
        (``IShapeLayer`` + a one-element slice) and the expression is built
        with elementwise SUM / PROD / FLOOR_DIV / MAX / MIN layers, shared
        between the layers that need the same expression.
        """
        parts = [self._scalar(layer, d) for d in dims]
        if len(parts) == 1:
            return parts[0]
        cat = self.network.add_concatenation(parts)
        cat.axis = 0
        return self.named(cat, layer, f"{suffix}.concat").get_output(0)

    def _int_constant(self, layer, value: int):
        key = ("const", value)
        if key not in self._shape_cache:
            dtype = self.tm.shape_dtype()
            const = self.network.add_constant((1,), self.weights(np.array([value]), dtype))
            self._shape_cache[key] = self.named(const, layer, f"dim_const{value}").get_output(0)
        return self._shape_cache[key]

    def _binary(self, layer, a, b, op: str):
        e = self.network.add_elementwise(a, b, getattr(self.trt.ElementWiseOperation, op))
        return self.named(e, layer, f"dim_{op.lower()}").get_output(0)

    def _scalar(self, layer, d):
        """A (1,) shape tensor of one dimension expression."""
        if is_static(d):
            return self._int_constant(layer, int(d))
        if d.key in self._shape_cache:
            return self._shape_cache[d.key]
        total = None
        for monomial, coeff in d.terms:
            term = None if monomial else self._int_constant(layer, coeff)
            for atom in monomial:
                factor = self._atom(layer, atom)
                term = factor if term is None else self._binary(layer, term, factor, "PROD")
            if monomial and coeff != 1:
                term = self._binary(layer, term, self._int_constant(layer, coeff), "PROD")
            total = term if total is None else self._binary(layer, total, term, "SUM")
        self._shape_cache[d.key] = total
        return total

    def _atom(self, layer, atom):
        if atom.key in self._shape_cache:
            return self._shape_cache[atom.key]
        if isinstance(atom, _Symbol):
            if atom.name not in self.dim_sources:
                raise EngineBuildError(f"{layer.name}: runtime dimension {atom.name!r} comes from no network input "
                                       f"(a data-dependent size cannot become a shape here)")
            source, axis = self.dim_sources[atom.name]
            key = ("shape_of", source.name)  # one IShapeLayer per input (two named after one layer would clash)
            if key not in self._shape_cache:
                self._shape_cache[key] = self.named(self.network.add_shape(source), layer,
                                                    f"shape_of_{source.name}").get_output(0)
            shape = self._shape_cache[key]
            picked = self.network.add_slice(shape, (axis,), (1,), (1,))
            out = self.named(picked, layer, f"dim_{atom.name}").get_output(0)
        else:
            args = [self._scalar(layer, a) for a in atom.args]
            op = {"floordiv": "FLOOR_DIV", "max": "MAX", "min": "MIN"}[atom.op]
            out = self._binary(layer, args[0], args[1], op)
        self._shape_cache[atom.key] = out
        return out

    def named(self, trt_layer, layer, suffix: str | None = None):
        """Name ``trt_layer`` after the netdsl layer (``name::suffix`` for helper layers, ``#2``, ``#3`` ... added
        when the name is taken: TensorRT refuses a repeated name with a logged error) and record it.

        Its ``metadata`` becomes the netdsl layer's name (helpers included), so
        TensorRT's layer listing names the netdsl layers each fused kernel
        covers (``netdsl.tensorrt.report``).

        Raises:
            EngineBuildError: ``trt_layer`` is None (TensorRT refused to add
                it; the message carries TensorRT's logged errors).
        """
        if trt_layer is None:
            errors = self.logger.errors() if self.logger is not None else []
            raise EngineBuildError(f"{layer.name}: {self.tm.label} refused the {layer.type.name} layer"
                                   f"{' ' + suffix if suffix else ''}: {' | '.join(errors) or 'no reason logged'}")
        base = layer.name if suffix is None else f"{layer.name}::{suffix}"
        name, repeat = base, 1
        while name in self._names:  # a netdsl layer with two helpers of one kind (two floor divisions ...)
            repeat += 1
            name = f"{base}#{repeat}"
        self._names.add(name)
        trt_layer.name = name
        self.tm.set_layer_metadata(trt_layer, layer.name)
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
        if dtype in (DataType.FP8, DataType.INT4, DataType.FP4):
            raw = low_precision_bytes(array, dtype)
            self.arrays.append(raw)
            return self.trt.Weights(trt_dtype, raw.ctypes.data, int(np.asarray(array).size))
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
