"""A ``WorkerService/RecvTensor`` reply, read by hand: a peer's tensor becomes a view of
the bytes that arrived (``wire.encode_recv_tensor_response`` writes the reply).

A large tensor between tasks is otherwise copied by a protobuf parser, then again out of
its ``tensor_content``; here the numbers are read where they are.

>>> from eager_async import wire
>>> tensor, dead = decode_recv_tensor_response(
...     wire.encode_recv_tensor_response(np.float32([1, 2]), send_start_micros=5))
>>> tensor, dead
(array([1., 2.], dtype=float32), False)
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from . import upb
from .dtypes import DataType
from .errors import DataLossError
from .kernels.io_ops.coding import read_varint
from .tensors import decode_content, decode_tensor

__all__ = ["RawReply", "decode_recv_tensor_response"]


class RawReply:
    """A reply kept as its serialized bytes (grpclib's codec calls ``FromString``), for
    a decoder that reads large tensors as views of them."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    @classmethod
    def FromString(cls, data: bytes) -> RawReply:  # the protobuf method grpclib calls
        """Keep ``data`` as it is."""
        return cls(data)


def decode_recv_tensor_response(data: bytes) -> tuple[np.ndarray | None, bool]:
    """A serialized ``RecvTensorResponse``: its tensor (None when it has none) and
    ``is_dead``. Numbers in ``tensor_content`` become a read-only view of ``data``: a
    large tensor from a peer is not copied again after it arrived."""
    tensor: memoryview | None = None
    dead = False
    for number, value in _fields(memoryview(data)):
        if number == 1 and isinstance(value, memoryview):
            tensor = value
        elif number == 2 and isinstance(value, int):
            dead = bool(value)
    return (None if tensor is None else _tensor_of(tensor)), dead


def _tensor_of(view: memoryview) -> np.ndarray:
    dtype, shape, content, other = 0, memoryview(b""), None, False
    for number, value in _fields(view):
        if number == 1 and isinstance(value, int):
            dtype = value
        elif number == 2 and isinstance(value, memoryview):
            shape = value
        elif number == 4 and isinstance(value, memoryview):
            content = value
        elif number != 3:  # version_number aside, anything else: the general decoder
            other = True
    if content is None or other or dtype == int(DataType.DT_STRING):
        return decode_tensor(upb.TensorProto.FromString(bytes(view)))
    return decode_content(dtype, upb.TensorShapeProto.FromString(bytes(shape)), content)


def _fields(view: memoryview) -> Iterator[tuple[int, int | memoryview]]:
    """(field number, varint or length-delimited view) of a serialized message; fixed-width
    fields are skipped. DATA_LOSS for bytes that are not a message."""
    position, end = 0, len(view)
    while position < end:
        key, position = read_varint(view, position)
        number, wire_type = key >> 3, key & 7
        if wire_type == 0:
            value, position = read_varint(view, position)
            yield number, value
        elif wire_type == 2:
            length, position = read_varint(view, position)
            if position + length > end:
                raise DataLossError("a peer's reply ends inside a field; it was cut short")
            yield number, view[position : position + length]
            position += length
        elif wire_type in (1, 5):
            position += 8 if wire_type == 1 else 4
        else:
            raise DataLossError(f"a peer's reply has a field of wire type {wire_type}")
    if position != end:
        raise DataLossError("a peer's reply ends inside a field; it was cut short")
