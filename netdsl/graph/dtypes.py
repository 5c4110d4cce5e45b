"""DataType: the element types of tensors, named as TensorRT's ``trt.DataType``.

Source: TensorRT Python API, ``tensorrt.DataType``.
"""
import enum

import numpy as np


class DataType(enum.Enum):
    """Element type of an ITensor. Members carry TensorRT's names.

    ``FLOAT`` float32, ``HALF`` float16, ``BF16`` bfloat16 (TensorRT >= 10),
    ``INT8``, ``INT32``, ``INT64`` (TensorRT >= 10), ``BOOL``, ``UINT8``.
    """

    FLOAT = "float32"
    HALF = "float16"
    BF16 = "bfloat16"
    INT8 = "int8"
    INT32 = "int32"
    INT64 = "int64"
    BOOL = "bool"
    UINT8 = "uint8"

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return 2 if self is DataType.BF16 else np.dtype(self.value).itemsize

    @property
    def is_float(self) -> bool:
        return self in (DataType.FLOAT, DataType.HALF, DataType.BF16)

    def to_numpy(self) -> np.dtype:
        """The NumPy dtype the reference executor computes this type in.

        BF16 has no NumPy dtype: it is held as float32 and rounded to
        bfloat16 precision by the executor.
        """
        return np.dtype(np.float32) if self is DataType.BF16 else np.dtype(self.value)

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
                        f"(expected one of float32, float16, int8, int32, int64, bool, uint8)")


def as_datatype(value) -> DataType:
    """Accept a DataType, a NumPy dtype or a TensorRT-style name ('float32', 'FLOAT')."""
    if isinstance(value, DataType):
        return value
    if isinstance(value, str):
        key = value.upper()
        if key in DataType.__members__:
            return DataType[key]
        for member in DataType:
            if member.value == value.lower():
                return member
        raise TypeError(f"unknown DataType {value!r}; expected one of {[m.name for m in DataType]}")
    return DataType.from_numpy(value)
