"""The queue items the client's batches carry, built as protobuf (upb) messages: building
and writing ten thousand of them costs a fraction of what the dataclass messages
(``_proto``) cost, and a batch is written once per request.

>>> item = operation_item(3, "AddV2", [(1, 0), np.float32(2)], {})
>>> item.operation.name, item.operation.op_inputs[0].remote_handle.op_id
('AddV2', 1)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from . import upb
from .attrs import encode_attr
from .dtypes import DataType, from_numpy
from .tensors import content_of, encode_tensor

__all__ = ["EnqueueRequest", "EnqueueResponse", "QueueItem", "decref_item",
           "fetch_item", "operation_item", "send_item"]

QueueItem: Any = upb.message_class("tensorflow.eager.QueueItem")
"""``tensorflow.eager.QueueItem``, upb's class."""
EnqueueRequest: Any = upb.EnqueueRequest
"""``tensorflow.eager.EnqueueRequest``, upb's class."""
EnqueueResponse: Any = upb.EnqueueResponse
"""``tensorflow.eager.EnqueueResponse``, upb's class."""

Input = tuple[int, int] | np.ndarray | np.generic
"""An op input: a handle ``(op_id, output_num)``, or a value sent inline."""


def operation_item(
    op_id: int, name: str, inputs: Sequence[Input], attrs: Mapping[str, Any]
) -> Any:
    """An ``operation`` item running ``name`` on ``inputs`` with ``attrs`` (plain values,
    as ``attrs.encode_attr`` takes them)."""
    item = QueueItem()
    operation = item.operation
    operation.id = op_id
    operation.name = name
    for value in inputs:
        slot = operation.op_inputs.add()
        if isinstance(value, tuple):
            slot.remote_handle.op_id, slot.remote_handle.output_num = value
        else:
            _write_tensor(slot.tensor, np.asarray(value))
    for key, value in attrs.items():
        operation.attrs[key].ParseFromString(bytes(encode_attr(value)))
    return item


def send_item(op_id: int, arrays: Sequence[np.ndarray]) -> Any:
    """A ``send_tensor`` item storing ``arrays`` as outputs of op ``op_id``."""
    item = QueueItem()
    item.send_tensor.op_id = op_id
    for array in arrays:
        _write_tensor(item.send_tensor.tensors.add(), array)
    return item


def decref_item(op_id: int, output_num: int) -> Any:
    """A ``handle_to_decref`` item releasing handle ``(op_id, output_num)``."""
    item = QueueItem()
    item.handle_to_decref.op_id = op_id
    item.handle_to_decref.output_num = output_num
    return item


def fetch_item(handles: Sequence[tuple[int, int]]) -> Any:
    """One ``IdentityN`` with op id -1: the values of ``handles``, inline in the reply."""
    return operation_item(-1, "IdentityN", handles, {})


def _write_tensor(proto: Any, array: np.ndarray) -> None:
    dtype = from_numpy(array.dtype)
    if dtype == DataType.DT_STRING:  # rare: the general encoder's checks and messages
        proto.ParseFromString(bytes(encode_tensor(array)))
        return
    proto.dtype = dtype
    for size in array.shape:
        proto.tensor_shape.dim.add().size = size
    proto.tensor_content = content_of(array)
