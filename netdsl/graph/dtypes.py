"""DataType: the element types of tensors, named as TensorRT's ``trt.DataType``.

Source: TensorRT Python API, ``tensorrt.DataType``; the quantized types FP8
(E4M3), INT4 and FP4 (E2M1): TensorRT developer guide, "Working with
Quantized Types". NumPy has no such dtypes: netdsl holds them as the
``ml_dtypes`` types of the same encodings (``float8_e4m3fn``, ``int4``,
``float4_e2m1fn``; one element per byte, where TensorRT packs two 4-bit
elements per byte).
"""
import enum

import ml_dtypes
import numpy as np

_ML_DTYPES = {"float8_e4m3fn": ml_dtypes.float8_e4m3fn, "int4": ml_dtypes.int4,
              "float4_e2m1fn": ml_dtypes.float4_e2m1fn}


class DataType(enum.Enum):
    """Element type of an ITensor. Members carry TensorRT's names.

    ``FLOAT`` float32, ``HALF`` float16, ``BF16`` bfloat16 (TensorRT >= 10),
    ``INT8``, ``INT32``, ``INT64`` (TensorRT >= 10), ``BOOL``, ``UINT8``, and the
    quantized types ``FP8`` (float8 E4M3, no infinities, largest finite 448),
    ``INT4`` (signed, [-8, 7]; TensorRT >= 10.0) and ``FP4`` (float4 E2M1,
    values 0, 0.5, 1, 1.5, 2, 3, 4, 6 and their negatives; TensorRT >= 10.8),
    which only quantize / dequantize layers (and constants of them) produce
    or read. ``INT8`` is both TensorRT's quantized 8-bit type and a plain
    integer type.
    """

    FLOAT = "float32"
    HALF = "float16"
    BF16 = "bfloat16"
    INT8 = "int8"
    INT32 = "int32"
    INT64 = "int64"
    BOOL = "bool"
    UINT8 = "uint8"
    FP8 = "float8_e4m3fn"
    INT4 = "int4"
    FP4 = "float4_e2m1fn"

    @property
    def itemsize(self) -> int:
        """Bytes per element as the reference executor holds it (INT4 and FP4: 1, unpacked)."""
        return 2 if self is DataType.BF16 else self.to_numpy().itemsize

    @property
    def is_float(self) -> bool:
        """FLOAT, HALF, BF16: the types layers compute in (not the quantized FP8 / FP4)."""
        return self in (DataType.FLOAT, DataType.HALF, DataType.BF16)

    @property
    def is_quantized(self) -> bool:
        """INT8, FP8, INT4, FP4: the types a quantize layer produces and a dequantize layer reads."""
        return self in (DataType.INT8, DataType.FP8, DataType.INT4, DataType.FP4)

    def to_numpy(self) -> np.dtype:
        """The NumPy dtype the reference executor computes this type in.

        BF16 has no NumPy dtype: it is held as float32 and rounded to
        bfloat16 precision by the executor.
        FP8, INT4 and FP4 are the ``ml_dtypes`` types ``float8_e4m3fn``,
        ``int4`` and ``float4_e2m1fn``.
        """
        if self is DataType.BF16:
            return np.dtype(np.float32)
        if self.value in _ML_DTYPES:
            return np.dtype(_ML_DTYPES[self.value])
        return np.dtype(self.value)

    @classmethod
    def from_numpy(cls, dtype) -> "DataType":
        """Map a NumPy dtype to a DataType.

        Raises:
            TypeError: the dtype has no TensorRT equivalent (float64 included).
        """
        name = np.dtype(dtype).name
        for member in cls:
            if member.value == name and member is not DataType.BF16:
                return member
        raise TypeError(f"NumPy dtype {name} has no TensorRT DataType "
                        f"(expected one of float32, float16, int8, int32, int64, bool, uint8, "
                        f"or ml_dtypes float8_e4m3fn, int4, float4_e2m1fn)")


def as_datatype(value) -> DataType:
    """Accept a DataType, a NumPy dtype, a TensorRT-style name ('float32', 'FLOAT') or a TensorRT module's own
    DataType member (``trt.DataType.FLOAT``, ``trt.float32``: taken by its name).

    Raises:
        TypeError: anything else, naming the accepted forms.
    """
    if isinstance(value, DataType):
        return value
    if type(value).__name__ == "DataType" and isinstance(getattr(value, "name", None), str):
        value = value.name  # a TensorRT (or TensorRT-RTX) binding's enum member
    if isinstance(value, str):
        key = value.upper()
        if key in DataType.__members__:
            return DataType[key]
        for member in DataType:
            if member.value == value.lower():
                return member
        raise TypeError(f"unknown DataType {value!r}; expected one of {[m.name for m in DataType]}")
    return DataType.from_numpy(value)
