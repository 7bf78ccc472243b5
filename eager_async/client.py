"""A small async client: create a context, send NumPy arrays, run ops, fetch values.

>>> async with EagerClient("127.0.0.1", 50051) as client:          # doctest: +SKIP
...     async with await client.create_context() as ctx:
...         a, b = await ctx.send(np.float32(2), np.float32(3))
...         (c,) = await ctx.run("AddV2", [a, b])
...         print(await ctx.fetch(c))                                  # 5.0
"""

from __future__ import annotations

import itertools
import ssl as _ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np
from grpclib.client import Channel

from ._proto.tensorflow import FunctionDef
from ._proto.tensorflow import eager as pb
from .attrs import encode_attr
from .tensors import decode_shape, decode_tensor, encode_tensor

__all__ = ["EagerClient", "RemoteContext", "RemoteTensor"]


@dataclass(frozen=True, slots=True)
class RemoteTensor:
    """A tensor held by the worker: output ``output_num`` of op ``op_id``, and the shape
    the worker reported (-1 dims, or None, where it did not know yet)."""

    op_id: int
    output_num: int
    shape: tuple[int, ...] | None = None

    def handle(self) -> pb.RemoteTensorHandle:
        """The protocol handle naming this tensor."""
        return pb.RemoteTensorHandle(op_id=self.op_id, output_num=self.output_num)


Value = RemoteTensor | np.ndarray | float | int | bool | bytes


class EagerClient:
    """A connection to an eager worker; ``async with`` closes it.

    ``ssl``: TLS, with an ``ssl.SSLContext`` (its CA, and a client certificate for mutual
    TLS) or True for the system's CAs. ``token``: sent as ``authorization: Bearer
    <token>`` with every call, for a worker started with ``--token-file``.

    >>> context = ssl.create_default_context(cafile="ca.pem")     # doctest: +SKIP
    >>> EagerClient("worker.example", 50051, ssl=context, token="s3cret")  # doctest: +SKIP
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 50051,
        *,
        ssl: _ssl.SSLContext | bool | None = None,
        token: str | None = None,
    ) -> None:
        self.channel = Channel(host, port, ssl=ssl)
        metadata = None if token is None else {"authorization": f"Bearer {token}"}
        self.stub = pb.EagerServiceStub(self.channel, metadata=metadata)

    async def create_context(
        self, *, is_async: bool = False, keep_alive_secs: int = 600, context_id: int = 0
    ) -> RemoteContext:
        """A new context (``context_id`` 0 lets the server choose, as in the 2018 protocol)."""
        reply = await self.stub.create_context(
            pb.CreateContextRequest(
                async_=is_async, keep_alive_secs=keep_alive_secs, context_id=context_id
            )
        )
        return RemoteContext(self.stub, reply.context_id or context_id, reply)

    def close(self) -> None:
        """Close the connection."""
        self.channel.close()

    async def __aenter__(self) -> EagerClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class RemoteContext:
    """One context on the worker; op ids are chosen here, counting up from 1."""

    def __init__(
        self, stub: pb.EagerServiceStub, context_id: int, created: pb.CreateContextResponse
    ) -> None:
        self.stub = stub
        self.id = context_id
        self.devices = [device.name for device in created.device_attributes]
        self._ids = itertools.count(1)

    async def enqueue(self, *items: pb.QueueItem) -> list[pb.QueueResponse]:
        """Send raw queue items; one response per item."""
        reply = await self.stub.enqueue(pb.EnqueueRequest(context_id=self.id, queue=list(items)))
        return list(reply.queue_response)

    async def send(self, *arrays: Any) -> list[RemoteTensor]:
        """Store ``arrays`` on the worker (one send_tensor item); a handle for each."""
        tensors = [np.asarray(a) for a in arrays]
        op_id = next(self._ids)
        await self.enqueue(pb.QueueItem(send_tensor=pb.SendTensorOp(
            op_id=op_id, tensors=[encode_tensor(t) for t in tensors])))
        return [RemoteTensor(op_id, i, t.shape) for i, t in enumerate(tensors)]

    async def run(
        self, op: str, inputs: Sequence[Value], attrs: Mapping[str, Any] | None = None
    ) -> list[RemoteTensor]:
        """Run ``op`` on the worker; handles to its outputs."""
        op_id = next(self._ids)
        (reply,) = await self.enqueue(self._operation(op_id, op, inputs, attrs))
        return [
            RemoteTensor(op_id, i, decode_shape(shape)) for i, shape in enumerate(reply.shape)
        ]

    async def call(
        self, op: str, inputs: Sequence[Value], attrs: Mapping[str, Any] | None = None
    ) -> list[np.ndarray]:
        """Run ``op`` and return its outputs' values (``Operation.id == -1``)."""
        (reply,) = await self.enqueue(self._operation(-1, op, inputs, attrs))
        return [decode_tensor(tensor) for tensor in reply.tensor]

    async def fetch(self, tensor: RemoteTensor) -> np.ndarray:
        """The value of ``tensor``."""
        (value,) = await self.call("Identity", [tensor])
        return value

    async def wait(self, *tensors: RemoteTensor) -> None:
        """Wait for the ops behind ``tensors`` (all pending ops when none are given)."""
        op_ids = sorted({t.op_id for t in tensors})
        await self.stub.wait_queue_done(pb.WaitQueueDoneRequest(context_id=self.id, op_id=op_ids))

    async def release(self, *tensors: RemoteTensor) -> None:
        """Let the worker free ``tensors``."""
        await self.enqueue(*(pb.QueueItem(handle_to_decref=t.handle()) for t in tensors))

    async def register_function(self, function: FunctionDef) -> None:
        """Make ``function`` callable as an op in this context."""
        await self.enqueue(pb.QueueItem(register_function=pb.RegisterFunctionOp(
            function_def=function)))

    async def keep_alive(self) -> None:
        """Postpone the context's garbage collection."""
        await self.stub.keep_alive(pb.KeepAliveRequest(context_id=self.id))

    async def close(self) -> None:
        """Close the context; its tensors are freed."""
        await self.stub.close_context(pb.CloseContextRequest(context_id=self.id))

    def _operation(
        self, op_id: int, op: str, inputs: Sequence[Value], attrs: Mapping[str, Any] | None
    ) -> pb.QueueItem:
        op_inputs = [
            pb.OperationInput(remote_handle=value.handle())
            if isinstance(value, RemoteTensor)
            else pb.OperationInput(tensor=encode_tensor(np.asarray(value)))
            for value in inputs
        ]
        return pb.QueueItem(operation=pb.Operation(
            id=op_id, name=op, op_inputs=op_inputs,
            attrs={key: encode_attr(value) for key, value in (attrs or {}).items()},
        ))

    async def __aenter__(self) -> RemoteContext:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
