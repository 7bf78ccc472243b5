"""The Enqueue hot path's codec: protobuf (upb) requests -> the runtime's plain records,
and results -> EnqueueResponse bytes.

Requests are parsed by Google's upb runtime (``eager_async.upb``), about a hundred times
faster than the dataclasses. Replies are written as protobuf bytes directly: they only
hold shapes (cached per shape) and tensors, and the bytes are what TF's worker writes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import numpy as np

from .attrs import decode_attrs
from .dtypes import from_numpy
from .errors import EagerError, InvalidArgumentError, UnimplementedError
from .functions import ArgSpec, FunctionSpec, NodeSpec
from .limits import Limits
from .pieces import Pieces
from .records import (
    CleanupItem,
    DecrefItem,
    HandleRef,
    Input,
    InvalidItem,
    Item,
    NoopItem,
    OpItem,
    QueueResult,
    RegisterFunctionItem,
    RemoveFunctionItem,
    SendTensorItem,
    Shape,
)
from .tensors import STRING_CHUNK, content_of, decode_tensor

__all__ = [
    "decode_attr_entries",
    "decode_function",
    "decode_handle",
    "decode_items",
    "decode_operation",
    "encode_recv_tensor_response",
    "encode_results",
    "encode_tensor_bytes",
]

_LITTLE_ENDIAN = sys.byteorder == "little"

# A Python-level decode of a common attr (a dtype, an int, a flag) costs more than the
# op itself; these are memoised by their serialized bytes.
_ATTR_CACHE_SIZE = 4096


def decode_items(queue: Iterable[Any], limits: Limits | None = None) -> list[Item]:
    """One record per QueueItem; an item that cannot be decoded becomes an
    ``InvalidItem`` so that the items before it still run. Tensors are held to
    ``limits`` (see ``decode_tensor``)."""
    items: list[Item] = []
    for index, item in enumerate(queue):
        try:
            items.append(_decode_item(item, limits))
        except EagerError as error:
            items.append(InvalidItem(type(error)(f"queue item {index}: {error.message}")))
    return items


def _decode_item(item: Any, limits: Limits | None) -> Item:
    kind = item.WhichOneof("item")
    if kind == "operation":
        return decode_operation(item.operation, limits)
    if kind == "handle_to_decref":
        return DecrefItem(decode_handle(item.handle_to_decref))
    if kind == "send_tensor":
        sent = item.send_tensor
        return SendTensorItem(
            sent.op_id, tuple(decode_tensor(t, limits) for t in sent.tensors), sent.device_name
        )
    if kind == "register_function":
        registered = item.register_function
        if not registered.HasField("function_def"):
            raise InvalidArgumentError("register_function carries no function_def")
        return RegisterFunctionItem(
            decode_function(registered.function_def),
            tuple(decode_function(f) for f in registered.library.function),
        )
    if kind == "remove_function":
        return RemoveFunctionItem(item.remove_function.function_name)
    if kind == "sync_remote_executor_for_stream":
        return NoopItem(wait=True)
    if kind == "cleanup_function":
        return CleanupItem(item.cleanup_function.step_id)
    if kind == "send_packed_handle":
        raise UnimplementedError("send_packed_handle items are not supported by eager_async")
    raise InvalidArgumentError("the queue item is empty (no item oneof field is set)")


def decode_operation(op: Any, limits: Limits | None = None) -> OpItem:
    """An Operation as a record: inputs from ``inputs`` (seed) then ``op_inputs``, inline
    tensors held to ``limits``."""
    if not op.name:
        raise InvalidArgumentError(f"operation {op.id} has no op name")
    # Reading an empty repeated field still costs a Python object: check the length first.
    inputs: list[Input] = [decode_handle(h) for h in op.inputs] if len(op.inputs) else []
    for position, op_input in enumerate(op.op_inputs):
        kind = op_input.WhichOneof("item")
        if kind == "remote_handle":
            inputs.append(decode_handle(op_input.remote_handle))
        elif kind == "tensor":
            inputs.append(decode_tensor(op_input.tensor, limits))
        else:
            raise InvalidArgumentError(
                f"{op.name} (op id {op.id}): op_inputs[{position}] has neither "
                "remote_handle nor tensor"
            )
    try:
        attrs = decode_attr_entries(
            tuple(sorted((key, value.SerializeToString()) for key, value in op.attrs.items()))
        )
    except EagerError as error:
        raise type(error)(f"{op.name} (op id {op.id}): {error.message}") from error
    control = tuple(op.control_op_ids) if len(op.control_op_ids) else ()
    return OpItem(op.id, op.name, tuple(inputs), attrs, op.device, control, op.func_step_id)


@lru_cache(maxsize=_ATTR_CACHE_SIZE)
def decode_attr_entries(encoded: tuple[tuple[str, bytes], ...]) -> Mapping[str, Any]:
    """An op's attrs from its (name, serialized AttrValue) pairs sorted by name, one
    shared read-only mapping per encoding: the registry's memos then find a stream of
    like ops by the mapping's identity."""
    return MappingProxyType({key: _decode_attr(key, serialized) for key, serialized in encoded})


@lru_cache(maxsize=_ATTR_CACHE_SIZE)
def _decode_attr(key: str, serialized: bytes) -> Any:
    from . import upb

    value = decode_attrs({key: upb.AttrValue.FromString(serialized)})[key]
    # Arrays are mutable: a cached one shared by two ops must not be written through.
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    return value


def decode_handle(handle: Any) -> HandleRef:
    """A RemoteTensorHandle as a record; ``device`` falls back to ``op_device``."""
    return HandleRef(handle.op_id, handle.output_num, handle.device or handle.op_device)


def decode_function(function: Any) -> FunctionSpec:
    """A FunctionDef (betterproto2 or protobuf message) as a record; attrs decoded,
    placeholders kept for call time."""
    signature = function.signature
    if signature is None or not signature.name:
        raise InvalidArgumentError("the FunctionDef has no signature name")
    try:
        nodes = tuple(
            NodeSpec(node.name, node.op, tuple(node.input), decode_attrs(node.attr), node.device)
            for node in function.node_def
        )
    except EagerError as error:
        raise type(error)(f"function '{signature.name}': {error.message}") from error
    return FunctionSpec(
        name=signature.name,
        inputs=tuple(_arg(arg) for arg in signature.input_arg),
        outputs=tuple(_arg(arg) for arg in signature.output_arg),
        nodes=nodes,
        ret=dict(function.ret),
        control_ret=dict(function.control_ret),
        source=_serialized(function),
    )


def _serialized(message: Any) -> bytes:
    """A protobuf (upb) or betterproto2 message's bytes."""
    serialize = getattr(message, "SerializeToString", None)
    return serialize() if serialize is not None else bytes(message)


def _arg(arg: Any) -> ArgSpec:
    return ArgSpec(arg.name, arg.type, arg.type_attr, arg.number_attr, arg.type_list_attr)


# -- replies, as protobuf bytes ---------------------------------------------------------


def encode_results(results: Sequence[QueueResult]) -> bytes | Pieces:
    """The EnqueueResponse holding one QueueResponse per result: its bytes, or when
    results carry tensors its ``Pieces``, numbers as views of the arrays (which nothing
    writes to once made: variables and updates are copy-on-write)."""
    if not any(result.tensors for result in results):  # the hot path: shapes only
        return b"".join([_shapes_response(result.shapes) for result in results])
    # Tensors: their bytes are not copied here; the transport writes the views.
    parts: list[bytes | memoryview] = []
    for result in results:
        tensors = [_tensor_parts(tensor) for tensor in result.tensors]
        shapes = _shapes(result.shapes)
        size = len(shapes) + sum(_length_of_field(2, length) for _, length in tensors)
        parts += [_tag(1), _varint(size), shapes]
        for pieces, length in tensors:
            parts += [_tag(2), _varint(length), *pieces]
    return Pieces(parts)


@lru_cache(maxsize=4096)
def _shapes_response(shapes: tuple[Shape, ...]) -> bytes:
    """The EnqueueResponse field holding a QueueResponse of ``shapes`` alone."""
    return _field(1, _shapes(shapes))


@lru_cache(maxsize=4096)
def _shapes(shapes: tuple[Shape, ...]) -> bytes:
    return b"".join(_field(1, _shape(shape)) for shape in shapes)


def _shape(shape: Shape) -> bytes:
    if shape is None:
        return b"\x18\x01"  # unknown_rank: true
    return b"".join(_field(2, _varint_field(1, dim)) for dim in shape)


def encode_recv_tensor_response(array: np.ndarray, send_start_micros: int) -> bytes:
    """A serialized ``RecvTensorResponse`` carrying ``array``, the tensor's bytes copied
    once (a large tensor between tasks is not serialized twice)."""
    pieces, length = _tensor_parts(array)
    head = _tag(1) + _varint(length)
    return b"".join([head, *pieces, _varint(3 << 3), _varint(send_start_micros)])


def encode_tensor_bytes(array: np.ndarray) -> bytes:
    """A serialized TensorProto of ``array``: numbers in ``tensor_content`` (as TF's C++
    side writes them), strings in ``string_val``."""
    pieces, _ = _tensor_parts(array)
    return b"".join(pieces)


def _tensor_parts(array: np.ndarray) -> tuple[list[bytes | memoryview], int]:
    """The pieces of a serialized TensorProto, and their total length."""
    head = _varint_field(1, int(from_numpy(array.dtype))) + _field(2, _shape(array.shape))
    if array.dtype.kind == "O":
        if not all(isinstance(element, bytes) for element in array.flat):
            raise InvalidArgumentError(
                "a DT_RESOURCE tensor cannot be fetched by value; read the variable with "
                "ReadVariableOp and fetch that"
            )
        # Joined a chunk at a time: one join of ten million pieces holds the GIL (and
        # every other client) for a third of a second.
        flat = array.reshape(-1)
        chunks = [
            b"".join([_field(8, element) for element in flat[start : start + STRING_CHUNK]])
            for start in range(0, flat.size, STRING_CHUNK)
        ]
        return [head, *chunks], len(head) + sum(map(len, chunks))
    if not array.size:
        return [head], len(head)
    if array.flags.c_contiguous and array.dtype.byteorder in "<=|" and _LITTLE_ENDIAN:
        # A view of the array's own bytes (via uint8: bfloat16 has no buffer format).
        content: bytes | memoryview = array.reshape(-1).view(np.uint8).data
    else:
        content = content_of(array)
    prefix = head + _tag(4) + _varint(len(content))
    return [prefix, content], len(prefix) + len(content)


def _length_of_field(number: int, length: int) -> int:
    return len(_tag(number)) + len(_varint(length)) + length


def _tag(number: int) -> bytes:
    return _varint(number << 3 | 2)


def _field(number: int, payload: bytes) -> bytes:
    return _tag(number) + _varint(len(payload)) + payload


def _varint_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value) if value else b""


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
