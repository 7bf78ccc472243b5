"""Google protobuf (upb) classes of the eager protocol, for the hot Enqueue path.

Built at import from the descriptor set ``make proto`` writes, in a private descriptor
pool, so they never clash with an installed TensorFlow's classes of the same names.

>>> request = upb.EnqueueRequest.FromString(payload)   # doctest: +SKIP
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor_pb2 import FileDescriptorSet

__all__ = [
    "AttrValue",
    "EnqueueRequest",
    "EnqueueResponse",
    "Operation",
    "QueueResponse",
    "RecvTensorRequest",
    "RecvTensorResponse",
    "TensorProto",
    "TensorShapeProto",
    "message_class",
]

_POOL = descriptor_pool.DescriptorPool()
for _file in FileDescriptorSet.FromString(
    resources.files("eager_async._proto").joinpath("eager_service.desc").read_bytes()
).file:
    _POOL.Add(_file)


def message_class(full_name: str) -> Any:
    """The protobuf class of the message ``full_name`` (e.g. ``tensorflow.TensorProto``)."""
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(full_name))


EnqueueRequest = message_class("tensorflow.eager.EnqueueRequest")
EnqueueResponse = message_class("tensorflow.eager.EnqueueResponse")
QueueResponse = message_class("tensorflow.eager.QueueResponse")
TensorProto = message_class("tensorflow.TensorProto")
TensorShapeProto = message_class("tensorflow.TensorShapeProto")
AttrValue = message_class("tensorflow.AttrValue")
Operation = message_class("tensorflow.eager.Operation")
RecvTensorRequest = message_class("tensorflow.RecvTensorRequest")
RecvTensorResponse = message_class("tensorflow.RecvTensorResponse")
