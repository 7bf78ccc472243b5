"""TensorProto <-> NumPy ndarray, following TensorFlow's decoding rules.

Decoding accepts both layouts TF sends:

* ``tensor_content``: the raw little-endian, C-order element bytes. For DT_STRING it is
  TF's C++ layout instead: the varint32 length of every element, then all the bytes.
* the typed repeated field of the dtype (``float_val``, ``half_val``, ``string_val``, ...).
  Fewer values than elements repeat the last one; no values at all mean zeros (or ``b""``).

Encoding puts numbers in ``tensor_content`` (scalars too, as TF's C++ side does) and strings
in ``string_val``.

>>> decode_tensor(encode_tensor(np.arange(3, dtype=np.int32)))
array([0, 1, 2], dtype=int32)
"""

from __future__ import annotations

import math
import mmap
from collections.abc import Sequence
from typing import Any

import numpy as np

from ._proto.tensorflow import DataType, TensorProto, TensorShapeProto, TensorShapeProtoDim
from .dtypes import dtype_name, from_numpy, to_numpy
from .errors import InvalidArgumentError, ResourceExhaustedError
from .limits import Limits

__all__ = [
    "MAX_RANK",
    "OBJECT_ELEMENT_BYTES",
    "STRING_CHUNK",
    "content_of",
    "decode_content",
    "decode_shape",
    "decode_tensor",
    "element_bytes",
    "encode_shape",
    "encode_tensor",
]

# The largest tensor we agree to build. It is checked with Python ints before NumPy sees
# the shape, so a hostile shape is an error instead of an overflow inside NumPy.
_MAX_BYTES = 2**62

MAX_RANK = 64
"""The highest rank a tensor may have here (NumPy's; TF's is 254)."""

OBJECT_ELEMENT_BYTES = 64
"""What one element of a string (object) tensor costs besides its bytes: the pointer and
the Python object."""

STRING_CHUNK = 65536
"""String elements handled per C call: a thread holding the GIL longer stalls the loop."""


def element_bytes(dtype: np.dtype) -> int:
    """What one element of a tensor of ``dtype`` costs: its itemsize, or
    ``OBJECT_ELEMENT_BYTES`` (its string's bytes aside) for an object dtype."""
    return OBJECT_ELEMENT_BYTES if dtype.kind == "O" else dtype.itemsize

# Per dtype: the repeated field its values travel in when tensor_content is empty, and the
# NumPy dtype of that field's values as they come off the wire.
_TYPED_FIELDS: dict[DataType, tuple[str, np.dtype]] = {
    DataType.DT_HALF: ("half_val", np.dtype(np.int32)),
    DataType.DT_BFLOAT16: ("half_val", np.dtype(np.int32)),
    DataType.DT_FLOAT: ("float_val", np.dtype(np.float32)),
    DataType.DT_DOUBLE: ("double_val", np.dtype(np.float64)),
    DataType.DT_INT8: ("int_val", np.dtype(np.int32)),
    DataType.DT_INT16: ("int_val", np.dtype(np.int32)),
    DataType.DT_INT32: ("int_val", np.dtype(np.int32)),
    DataType.DT_UINT8: ("int_val", np.dtype(np.int32)),
    DataType.DT_UINT16: ("int_val", np.dtype(np.int32)),
    DataType.DT_INT64: ("int64_val", np.dtype(np.int64)),
    DataType.DT_UINT32: ("uint32_val", np.dtype(np.uint32)),
    DataType.DT_UINT64: ("uint64_val", np.dtype(np.uint64)),
    DataType.DT_BOOL: ("bool_val", np.dtype(np.bool_)),
    DataType.DT_COMPLEX64: ("scomplex_val", np.dtype(np.float32)),
    DataType.DT_COMPLEX128: ("dcomplex_val", np.dtype(np.float64)),
    DataType.DT_STRING: ("string_val", np.dtype(object)),
}


def decode_shape(proto: TensorShapeProto | None) -> tuple[int, ...] | None:
    """A shape as a tuple of dims (-1 for an unknown size), or None for an unknown rank.

    A missing TensorShapeProto is a scalar, as in TF.

    >>> decode_shape(encode_shape((2, -1)))
    (2, -1)
    """
    if proto is None:
        return ()
    if len(proto.dim) > MAX_RANK:
        raise InvalidArgumentError(
            f"shape has {len(proto.dim)} dims; eager_async holds tensors of rank up to "
            f"{MAX_RANK} (NumPy's limit)"
        )
    dims = tuple(dim.size for dim in proto.dim)
    if proto.unknown_rank:
        if dims:
            raise InvalidArgumentError(
                f"shape has unknown_rank set and also {len(dims)} dims; send one or the other"
            )
        return None
    _check_dims(dims)
    return dims


def encode_shape(shape: Sequence[int] | None) -> TensorShapeProto:
    """The TensorShapeProto of ``shape``; None is an unknown rank, a dim of -1 an unknown size.

    >>> encode_shape(None)
    TensorShapeProto(unknown_rank=True)
    """
    if shape is None:
        return TensorShapeProto(unknown_rank=True)
    dims = tuple(int(dim) for dim in shape)
    _check_dims(dims)
    return TensorShapeProto(dim=[TensorShapeProtoDim(size=dim) for dim in dims])


def decode_tensor(proto: TensorProto, limits: Limits | None = None) -> np.ndarray:
    """The array a TensorProto (betterproto2 or protobuf message) stands for.

    Numeric ``tensor_content`` is decoded without a copy, so the array is a read-only view
    of the proto's bytes; call ``.copy()`` before writing to it.

    >>> decode_tensor(TensorProto(dtype=DataType.DT_FLOAT, tensor_shape=encode_shape((2,)),
    ...                           float_val=[1.5]))
    array([1.5, 1.5], dtype=float32)

    Raises ``InvalidArgumentError`` for an unsupported dtype, a shape that is not fully
    known, a size overflow, or values that do not fit the shape; ``ResourceExhaustedError``
    for a tensor over ``limits.max_tensor_bytes`` (checked before anything is built) or a
    string over ``limits.max_string_bytes``.
    """
    np_dtype = to_numpy(proto.dtype)
    shape = decode_shape(proto.tensor_shape)
    what = f"{dtype_name(proto.dtype)} tensor of shape {_show(shape)}"
    if shape is None or any(dim < 0 for dim in shape):
        raise InvalidArgumentError(
            f"{what} is not fully known; every dim of a TensorProto must be >= 0"
        )
    count = math.prod(shape)
    # NumPy sizes an array by its dims even when one of them is 0: [0, 2**63-1] is empty
    # for TF, but no NumPy array has that shape.
    if math.prod(dim for dim in shape if dim) * np_dtype.itemsize > _MAX_BYTES:
        if count:
            raise InvalidArgumentError(
                f"{what} has {count} elements of {np_dtype.itemsize} bytes, "
                f"over the {_MAX_BYTES}-byte limit of a tensor"
            )
        raise InvalidArgumentError(
            f"{what} has no element, but its other dims times {np_dtype.itemsize} bytes are "
            f"over the {_MAX_BYTES}-byte limit of a tensor: NumPy sizes an empty array by "
            "them too"
        )
    if limits is not None:
        _check_size(what, count, np_dtype, limits)
    # Read once: upb's message gives a new copy of the bytes at each read.
    content = proto.tensor_content
    if not content:
        if limits is not None and proto.dtype == DataType.DT_STRING and proto.string_val:
            _check_strings(what, max(map(len, proto.string_val)), limits)
        return _from_typed(proto, np_dtype, count, what).reshape(shape)
    if proto.dtype == DataType.DT_STRING:
        strings, longest = _split_strings(content, count, what)
        if limits is not None:
            _check_strings(what, longest, limits)
        return strings.reshape(shape)
    return _from_content(content, np_dtype, count, what).reshape(shape)


class _ContentTensor:
    """The fields ``decode_tensor`` reads of a TensorProto whose numbers are all in
    ``tensor_content``."""

    __slots__ = ("dtype", "tensor_content", "tensor_shape")

    def __init__(self, dtype: int, shape: Any, content: bytes | memoryview) -> None:
        self.dtype = dtype
        self.tensor_shape = shape
        self.tensor_content = content


def decode_content(
    dtype: int, shape: Any, content: bytes | memoryview, limits: Limits | None = None
) -> np.ndarray:
    """``decode_tensor`` of the TensorProto of ``dtype`` and ``shape`` (a
    TensorShapeProto) whose numbers are ``content``: a view of the message it came in
    (a request, a peer's reply), so a large tensor is not copied out of it."""
    return decode_tensor(_ContentTensor(dtype, shape, content), limits)  # type: ignore[arg-type]


def encode_tensor(array: np.ndarray | np.generic) -> TensorProto:
    """The TensorProto of ``array``: numbers in ``tensor_content``, strings in ``string_val``.

    Non-contiguous and big-endian arrays are written as little-endian C order. DT_STRING
    arrays are object arrays of ``bytes``; ``str`` elements are UTF-8 encoded.

    >>> encode_tensor(np.float32(1.0)).tensor_content
    b'\\x00\\x00\\x80?'
    """
    array = np.asarray(array)
    tf_dtype = from_numpy(array.dtype)
    shape = encode_shape(array.shape)
    if tf_dtype == DataType.DT_STRING:
        strings = [_as_bytes(element, index) for index, element in enumerate(array.flat)]
        return TensorProto(dtype=tf_dtype, tensor_shape=shape, string_val=strings)
    return TensorProto(dtype=tf_dtype, tensor_shape=shape, tensor_content=content_of(array))


def content_of(array: np.ndarray) -> bytes:
    """The ``tensor_content`` of a numeric array: little-endian, C-order element bytes."""
    # astype() swaps big-endian bytes; tobytes() gathers non-contiguous arrays in C order.
    return array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()


def _check_size(what: str, count: int, np_dtype: np.dtype, limits: Limits) -> None:
    element = element_bytes(np_dtype)
    if count * element > limits.max_tensor_bytes:
        raise ResourceExhaustedError(
            f"a {what} takes {count * element} bytes, over this worker's max_tensor_bytes "
            f"({limits.max_tensor_bytes}); send it in smaller pieces"
        )


def _check_strings(what: str, longest: int, limits: Limits) -> None:
    if longest > limits.max_string_bytes:
        raise ResourceExhaustedError(
            f"a {what} holds a string of {longest} bytes, over this worker's "
            f"max_string_bytes ({limits.max_string_bytes})"
        )


def _check_dims(dims: tuple[int, ...]) -> None:
    bad = [dim for dim in dims if dim < -1]
    if bad:
        raise InvalidArgumentError(
            f"shape {_show(dims)} has dim {bad[0]}; dims must be >= 0, or -1 for unknown"
        )


def _show(shape: tuple[int, ...] | None) -> str:
    return "<unknown rank>" if shape is None else str(list(shape))


def _from_content(content: bytes, np_dtype: np.dtype, count: int, what: str) -> np.ndarray:
    expected = count * np_dtype.itemsize
    if len(content) != expected:
        raise InvalidArgumentError(
            f"tensor_content of a {what} has {len(content)} bytes; expected {expected} "
            f"({count} elements of {np_dtype.itemsize} bytes)"
        )
    array = np.frombuffer(content, dtype=np_dtype.newbyteorder("<"))
    if np_dtype.kind == "b" and np.frombuffer(content, dtype=np.uint8).max() > 1:
        # TF reads any non-zero byte as true; NumPy assumes bools are stored as 0 or 1.
        return array.view(np.uint8).astype(np.bool_)
    if not (array.dtype.isnative and array.flags.aligned):
        array = _aligned_copy(array, np_dtype)
    return array


_PAGED_FROM = 1 << 20  # bytes from which an aligned copy gets pages of its own


def _aligned_copy(array: np.ndarray, np_dtype: np.dtype) -> np.ndarray:
    """``array`` (numbers at an odd offset of the message, or big-endian) as native,
    aligned numbers. A large one is copied into anonymous memory of its own: NumPy asks
    for transparent huge pages for its large arrays, and faulting in fresh 2 MiB pages
    took 150 ms more, one 64 MiB push in five, than plain pages (the zeroing of
    memory the machine had not touched yet)."""
    if array.nbytes < _PAGED_FROM:
        return array.astype(np_dtype)
    pages = mmap.mmap(-1, array.nbytes)
    aligned = np.frombuffer(pages, dtype=np_dtype)
    np.copyto(aligned, array)
    return aligned


def _from_typed(proto: TensorProto, np_dtype: np.dtype, count: int, what: str) -> np.ndarray:
    field, wire_dtype = _TYPED_FIELDS[proto.dtype]
    values = getattr(proto, field)
    complex_parts = 2 if np_dtype.kind == "c" else 1
    if len(values) % complex_parts:
        raise InvalidArgumentError(
            f"{field} of a {what} has {len(values)} numbers; complex values are (re, im) pairs"
        )
    given = len(values) // complex_parts
    if given > count:
        raise InvalidArgumentError(
            f"{field} of a {what} has {given} values for {count} elements; "
            "send at most one value per element"
        )
    if given == 0:
        return (
            np.full(count, b"", dtype=object) if np_dtype.kind == "O" else np.zeros(count, np_dtype)
        )
    raw = np.array(values, dtype=wire_dtype)
    if field == "half_val":
        # Bit patterns of half or bfloat16 in int32s; TF keeps the low 16 bits.
        flat = raw.astype(np.uint16).view(np_dtype)
    elif complex_parts == 2:
        flat = raw.view(np_dtype)
    else:
        # int_val carries int8/int16/uint8/uint16 too; astype wraps like TF's C++ cast.
        flat = raw.astype(np_dtype)
    # TF repeats the last value given to fill the remaining elements.
    return np.pad(flat, (0, count - given), mode="edge")


def _split_strings(content: bytes, count: int, what: str) -> tuple[np.ndarray, int]:
    """The ``count`` strings of a DT_STRING ``tensor_content``, and the longest length."""
    # TF's layout: ``count`` varint32 lengths, then the bytes. The lengths are read with
    # NumPy: ten million of them cost seconds one by one in Python.
    data = np.frombuffer(content, dtype=np.uint8)
    ends = np.flatnonzero(data[: 5 * count] < 0x80)[:count]  # a varint's last byte
    starts = np.concatenate(([0], ends[:-1] + 1))
    overlong = np.flatnonzero(ends - starts >= 5)
    if len(overlong) or len(ends) < count:
        index = int(overlong[0]) if len(overlong) else len(ends)
        raise InvalidArgumentError(
            f"tensor_content of a {what} has a truncated or overlong varint32 length "
            f"for element {index}; expected {count} lengths, then the bytes"
        )
    lengths = np.zeros(count, dtype=np.int64)
    for place in range(int((ends - starts).max(initial=0)) + 1 if count else 0):
        within = starts + place <= ends
        lengths[within] |= (data[starts[within] + place].astype(np.int64) & 0x7F) << (7 * place)
    first = int(ends[-1]) + 1 if count else 0
    if int(lengths.sum()) != len(content) - first:
        raise InvalidArgumentError(
            f"tensor_content of a {what} has lengths adding up to {int(lengths.sum())} "
            f"bytes, but {len(content) - first} bytes follow them"
        )
    strings = np.empty(count, dtype=object)
    offsets = first + np.cumsum(lengths) - lengths
    for start in range(0, count, STRING_CHUNK):
        chunk = slice(start, start + STRING_CHUNK)
        strings[chunk] = [
            content[o : o + n]
            for o, n in zip(offsets[chunk].tolist(), lengths[chunk].tolist(), strict=True)
        ]
    return strings, int(lengths.max(initial=0))


def _as_bytes(element: object, index: int) -> bytes:
    if isinstance(element, bytes):
        return bytes(element)
    if isinstance(element, str):
        return element.encode("utf-8")
    raise InvalidArgumentError(
        f"element {index} of a DT_STRING array is a {type(element).__name__}; "
        "elements must be bytes or str"
    )
