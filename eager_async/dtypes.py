"""TF ``DataType`` <-> NumPy dtype, from one table.

Only the dtypes in ``_TABLE`` carry tensors in eager_async; every other ``DataType``
(resources, variants, quantized and float8 types, ``*_REF``) is refused with
``InvalidArgumentError`` naming it.

>>> to_numpy(DataType.DT_FLOAT)
dtype('float32')
>>> from_numpy(np.dtype("int64"))
<DataType.DT_INT64: 9>
>>> short_name(np.dtype("float32"))
'float'
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import numpy.typing as npt

from ._proto.tensorflow import DataType
from .errors import InvalidArgumentError

__all__ = ["DataType", "as_int64", "dtype_name", "from_numpy", "short_name", "to_numpy"]

# DT_STRING elements are Python ``bytes`` in an object array: TF strings are byte
# strings of any length, which NumPy's fixed-width "S"/"U" dtypes cannot hold faithfully.
_TABLE: dict[DataType, np.dtype] = {
    DataType.DT_HALF: np.dtype(np.float16),
    DataType.DT_BFLOAT16: np.dtype(ml_dtypes.bfloat16),
    DataType.DT_FLOAT: np.dtype(np.float32),
    DataType.DT_DOUBLE: np.dtype(np.float64),
    DataType.DT_INT8: np.dtype(np.int8),
    DataType.DT_INT16: np.dtype(np.int16),
    DataType.DT_INT32: np.dtype(np.int32),
    DataType.DT_INT64: np.dtype(np.int64),
    DataType.DT_UINT8: np.dtype(np.uint8),
    DataType.DT_UINT16: np.dtype(np.uint16),
    DataType.DT_UINT32: np.dtype(np.uint32),
    DataType.DT_UINT64: np.dtype(np.uint64),
    DataType.DT_BOOL: np.dtype(np.bool_),
    DataType.DT_COMPLEX64: np.dtype(np.complex64),
    DataType.DT_COMPLEX128: np.dtype(np.complex128),
    DataType.DT_STRING: np.dtype(object),
}
_FROM_NUMPY: dict[np.dtype, DataType] = {np_dtype: tf for tf, np_dtype in _TABLE.items()}


def as_int64(value: int) -> int:
    """An unsigned 64-bit number (a step id, a device incarnation) as the int64 that
    TF's wire fields and attrs carry.

    >>> as_int64((1 << 64) - 2), as_int64(5)
    (-2, 5)
    """
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def dtype_name(dtype: int) -> str:
    """The enum name of a TF dtype number, or the number itself if TF has no such dtype.

    >>> dtype_name(1), dtype_name(999)
    ('DT_FLOAT', '999')
    """
    return DataType(dtype).name or str(int(dtype))


def to_numpy(dtype: int) -> np.dtype:
    """The NumPy dtype that holds tensors of TF dtype ``dtype``.

    >>> to_numpy(DataType.DT_BFLOAT16)
    dtype(bfloat16)

    Raises ``InvalidArgumentError`` for dtypes eager_async does not support.
    """
    np_dtype = _TABLE.get(DataType(dtype))
    if np_dtype is not None:
        return np_dtype
    if dtype == DataType.DT_INVALID:
        raise InvalidArgumentError(
            "dtype DT_INVALID (0) is not a tensor dtype; set the dtype field"
        )
    if not DataType(dtype).name:
        raise InvalidArgumentError(f"dtype {int(dtype)} is not a TensorFlow DataType")
    raise InvalidArgumentError(f"{dtype_name(dtype)} is not supported by eager_async yet")


def from_numpy(dtype: npt.DTypeLike) -> DataType:
    """The TF dtype for NumPy dtype ``dtype`` (either byte order).

    >>> from_numpy(np.dtype(">f8"))
    <DataType.DT_DOUBLE: 2>

    Raises ``InvalidArgumentError`` for dtypes TF has no equivalent of (float128,
    datetime64, ...) and for NumPy's fixed-width "U"/"S" strings.
    """
    try:
        np_dtype = np.dtype(dtype)
    except TypeError as exc:
        raise InvalidArgumentError(f"{dtype!r} is not a NumPy dtype") from exc
    if np_dtype.kind == "O" and isinstance(dtype, type) and dtype is not object:
        # NumPy maps any Python class to the object dtype, which would mean DT_STRING.
        raise InvalidArgumentError(f"{dtype.__name__} is not a NumPy dtype")
    if np_dtype.byteorder in "<>":
        np_dtype = np_dtype.newbyteorder("=")
    tf_dtype = _FROM_NUMPY.get(np_dtype)
    if tf_dtype is not None:
        return tf_dtype
    if np_dtype.kind in "US":
        raise InvalidArgumentError(
            f"NumPy dtype {np_dtype} has no TF equivalent; pass DT_STRING tensors as an "
            "object array of bytes (e.g. np.array([b'a', b'bc'], dtype=object))"
        )
    raise InvalidArgumentError(f"NumPy dtype {np_dtype} has no TensorFlow equivalent")


def short_name(dtype: npt.DTypeLike | int) -> str:
    """TF's short dtype name, as TF prints it in error messages.

    Takes a NumPy dtype or a TF dtype number.

    >>> short_name(np.dtype("float64")), short_name(DataType.DT_RESOURCE)
    ('double', 'resource')
    """
    if not isinstance(dtype, int):
        tf_dtype = from_numpy(dtype)
    elif DataType(dtype).name:
        tf_dtype = DataType(dtype)
    else:
        return f"unknown dtype enum ({int(dtype)})"
    # TF's DataTypeString is the enum name without "DT_", lower-cased ("half", "float_ref").
    return dtype_name(tf_dtype).removeprefix("DT_").lower()
