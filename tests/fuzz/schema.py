"""What the fuzzer knows of the protocol: every RPC a worker serves, its request message,
the field carrying its context id, and the wire types each field of a message may take.

Field facts come from the descriptor set ``make proto`` writes from ``proto/``
(``eager_async.upb``), so they follow the protos without a second copy.

>>> RPCS["KeepAlive"].path, RPCS["KeepAlive"].context_field
('/tensorflow.eager.EagerService/KeepAlive', 1)
>>> sorted(legal_wires("tensorflow.eager.Operation", 10))   # op_inputs: a message
[2]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from google.protobuf import descriptor

from eager_async import upb

from .protowire import I32, I64, LEN, VARINT

EAGER = "/tensorflow.eager.EagerService/"
WORKER = "/tensorflow.WorkerService/"
HEALTH = "/grpc.health.v1.Health/"


@dataclass(frozen=True, slots=True)
class Rpc:
    """One RPC: its gRPC path, request message (None: not in our protos, e.g. health's
    HealthCheckRequest, ``string service = 1``), the number of the field that names the
    context (0: none), whether that field is fixed64 (else an int64 varint: RecvTensor's
    step id), and whether the call is a bidirectional stream."""

    name: str
    path: str
    request: str | None
    context_field: int = 0
    context_fixed64: bool = True
    streaming: bool = False


RPCS: dict[str, Rpc] = {rpc.name: rpc for rpc in [
    Rpc("CreateContext", EAGER + "CreateContext", "tensorflow.eager.CreateContextRequest", 7),
    Rpc("UpdateContext", EAGER + "UpdateContext", "tensorflow.eager.UpdateContextRequest", 3),
    Rpc("Enqueue", EAGER + "Enqueue", "tensorflow.eager.EnqueueRequest", 1),
    Rpc("StreamingEnqueue", EAGER + "StreamingEnqueue", "tensorflow.eager.EnqueueRequest", 1,
        streaming=True),
    Rpc("WaitQueueDone", EAGER + "WaitQueueDone", "tensorflow.eager.WaitQueueDoneRequest", 1),
    Rpc("RunComponentFunction", EAGER + "RunComponentFunction",
        "tensorflow.eager.RunComponentFunctionRequest", 1),
    Rpc("KeepAlive", EAGER + "KeepAlive", "tensorflow.eager.KeepAliveRequest", 1),
    Rpc("CloseContext", EAGER + "CloseContext", "tensorflow.eager.CloseContextRequest", 1),
    Rpc("RegisterFunction", EAGER + "RegisterFunction",
        "tensorflow.eager.RegisterFunctionRequest", 1),
    Rpc("SendTensor", EAGER + "SendTensor", "tensorflow.eager.SendTensorRequest", 1),
    Rpc("GetStatus", WORKER + "GetStatus", "tensorflow.GetStatusRequest"),
    Rpc("RecvTensor", WORKER + "RecvTensor", "tensorflow.RecvTensorRequest", 1,
        context_fixed64=False),
    Rpc("HealthCheck", HEALTH + "Check", None),
]}
BY_PATH = {rpc.path: rpc for rpc in RPCS.values()}

_FD = descriptor.FieldDescriptor
_VARINTS = {_FD.TYPE_INT32, _FD.TYPE_INT64, _FD.TYPE_UINT32, _FD.TYPE_UINT64,
            _FD.TYPE_SINT32, _FD.TYPE_SINT64, _FD.TYPE_BOOL, _FD.TYPE_ENUM}
_FIXED64 = {_FD.TYPE_FIXED64, _FD.TYPE_SFIXED64, _FD.TYPE_DOUBLE}
_FIXED32 = {_FD.TYPE_FIXED32, _FD.TYPE_SFIXED32, _FD.TYPE_FLOAT}


def message_class(full_name: str) -> Any:
    """Google protobuf's class for ``full_name``, from the worker's own descriptor set."""
    return upb.message_class(full_name)


@functools.cache
def fields(full_name: str) -> dict[int, Any]:
    """Field descriptors of a message type, by number."""
    return {f.number: f for f in message_class(full_name).DESCRIPTOR.fields}


def legal_wires(full_name: str, number: int) -> set[int]:
    """The wire types field ``number`` of ``full_name`` may be sent with (a packed
    repeated scalar takes both its own and length-delimited); every type for an
    unknown field."""
    field = fields(full_name).get(number)
    if field is None:
        return {VARINT, I64, LEN, I32}
    if field.type in _VARINTS:
        own = VARINT
    elif field.type in _FIXED64:
        own = I64
    elif field.type in _FIXED32:
        own = I32
    else:
        return {LEN}
    repeated = field.is_repeated
    return {own, LEN} if repeated else {own}


def submessage(full_name: str, number: int) -> str | None:
    """The message type of field ``number`` (map entries included), or None."""
    field = fields(full_name).get(number)
    if field is None or field.message_type is None:
        return None
    return str(field.message_type.full_name)


def known_fields(full_name: str) -> list[int]:
    return sorted(fields(full_name))
