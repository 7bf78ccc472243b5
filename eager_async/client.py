"""The async client: connect, open a context, compute with remote tensors, fetch values.

>>> async with EagerClient("127.0.0.1", 50051) as client:          # doctest: +SKIP
...     async with client.context() as ctx:
...         a = ctx.constant(np.float32(2))
...         print(await (a + 3))                                       # 5.0

Operators and ``ctx.op`` return at once and are sent in batches (``client_batcher``);
``await`` a tensor for its value. The low-level calls (``send``, ``run``, ``call``,
``fetch``, ``wait``, ``release``, ``enqueue``, ``register_function``, ``keep_alive``,
``close``) each wait for their answer. Every failure is an ``EagerError`` of
``eager_async.errors`` (also a ``grpclib.exceptions.GRPCError`` of the same status).
docs/client.md is the reference.
"""

from __future__ import annotations

import contextlib
import ssl as _ssl
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any

import numpy as np
from grpclib.client import Channel

from ._proto.tensorflow import FunctionDef
from ._proto.tensorflow import eager as pb
from .attrs import encode_attr
from .client_batcher import Batcher, BatchOptions
from .op_outputs import OpOutputs, as_dtype
from .remote_errors import translated
from .remote_tensor import Operand, RemoteTensor
from .tensors import decode_tensor, encode_tensor

__all__ = ["BatchOptions", "EagerClient", "RemoteContext", "RemoteTensor"]


class EagerClient:
    """A connection to an eager worker; ``async with`` closes it (and stops its contexts'
    batching; the contexts themselves live on until closed or their keep-alive runs out).

    ``ssl``: TLS, with an ``ssl.SSLContext`` (its CA, and a client certificate for mutual
    TLS) or True for the system's CAs. ``token``: sent as ``authorization: Bearer
    <token>`` with every call, for a worker started with ``--token-file``. ``timeout``:
    seconds any call waits by default (None: no limit); each call takes its own
    ``timeout=`` too. ``batch``: how contexts batch their ops (see ``BatchOptions``).

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
        timeout: float | None = None,
        batch: BatchOptions | None = None,
    ) -> None:
        self.channel = Channel(host, port, ssl=ssl)
        self.metadata = None if token is None else {"authorization": f"Bearer {token}"}
        self.stub = pb.EagerServiceStub(self.channel, metadata=self.metadata)
        self.timeout = timeout
        self.batch = batch or BatchOptions()
        self._contexts: set[RemoteContext] = set()

    async def create_context(
        self, *, is_async: bool = False, keep_alive_secs: int = 600, context_id: int = 0,
        timeout: float | None = None, batch: BatchOptions | None = None,
    ) -> RemoteContext:
        """A new context (``context_id`` 0 lets the server choose, as in the 2018 protocol);
        close it with ``await ctx.close()``, or use ``client.context()``."""
        limit = self._timeout(timeout)
        with translated("CreateContext", limit):
            reply = await self.stub.create_context(
                pb.CreateContextRequest(
                    async_=is_async, keep_alive_secs=keep_alive_secs, context_id=context_id
                ),
                timeout=limit,
            )
        context = RemoteContext(self, reply.context_id or context_id, reply, is_async=is_async,
                                batch=batch or self.batch)
        self._contexts.add(context)
        return context

    @contextlib.asynccontextmanager
    async def context(
        self, *, is_async: bool = False, keep_alive_secs: int = 600, context_id: int = 0,
        timeout: float | None = None, batch: BatchOptions | None = None,
    ) -> AsyncIterator[RemoteContext]:
        """``async with client.context() as ctx``: a new context, closed at the end (its
        tensors freed on the worker).

        >>> async with client.context(is_async=True) as ctx:    # doctest: +SKIP
        ...     print(await (ctx.constant([1.0, 2.0]) * 2))
        """
        context = await self.create_context(
            is_async=is_async, keep_alive_secs=keep_alive_secs, context_id=context_id,
            timeout=timeout, batch=batch,
        )
        try:
            yield context
        finally:
            await context.close(timeout=timeout)

    def close(self) -> None:
        """Close the connection; contexts still open stop sending (their queued ops fail)."""
        for context in list(self._contexts):
            context.abandon()
        self.channel.close()

    async def wait_closed(self) -> None:
        """Wait until the contexts' batching tasks, stopped by ``close()``, have ended."""
        for context in list(self._contexts):
            await context.batcher.close("the client was closed")
        self._contexts.clear()

    def forget(self, context: RemoteContext) -> None:
        """Stop tracking ``context`` (it was closed)."""
        self._contexts.discard(context)

    def _timeout(self, timeout: float | None) -> float | None:
        return self.timeout if timeout is None else timeout

    async def __aenter__(self) -> EagerClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        await self.wait_closed()


class RemoteContext:
    """One context on the worker; op ids are chosen here, counting up from 1.

    >>> x = ctx.constant(np.arange(4, dtype=np.float32))   # doctest: +SKIP
    >>> await (x * x).sum()                                # doctest: +SKIP
    14.0
    """

    def __init__(
        self, client: EagerClient, context_id: int, created: pb.CreateContextResponse,
        *, is_async: bool = False, batch: BatchOptions | None = None,
    ) -> None:
        self.client = client
        self.stub = client.stub
        self.id = context_id
        self.is_async = is_async
        self.devices = [device.name for device in created.device_attributes]
        self.batcher = Batcher(client.channel, context_id, metadata=client.metadata,
                               options=batch, timeout=client.timeout)
        self._functions: dict[str, FunctionDef] = {}

    # Remote tensors: nothing is sent until the next batch.

    def constant(self, value: Any, dtype: Any = None) -> RemoteTensor:
        """``value`` (anything ``np.asarray`` takes; a ``dtype`` to convert it) stored on
        the worker, as a tensor.

        >>> ctx.constant([[1, 2], [3, 4]], np.float32).shape   # doctest: +SKIP
        (2, 2)
        """
        (tensor,) = self.batcher.send([np.asarray(value, dtype)])
        return tensor

    def op(
        self, name: str, inputs: Sequence[Operand] = (), attrs: Mapping[str, Any] | None = None,
        *, num_outputs: int | None = None,
    ) -> list[RemoteTensor]:
        """Queue op (or registered function) ``name`` and return its outputs at once.

        Their number and dtypes come from TensorFlow's op definitions (or the function's
        signature); ``num_outputs`` is needed only where those cannot tell.

        >>> (total,) = ctx.op("Sum", [x, np.int32(0)], {"keep_dims": False})  # doctest: +SKIP
        """
        attrs = dict(attrs or {})
        outputs = self._outputs(name, inputs, attrs, num_outputs)
        if outputs is None:
            raise ValueError(
                f"cannot tell how many outputs {name} has (TF does not define it, or a list "
                "output's length depends on an attr not given): pass num_outputs=, or use "
                "`await ctx.run(...)`, which learns it from the worker"
            )
        return self.batcher.issue(name, inputs, attrs, outputs)

    async def flush(self, *, timeout: float | None = None) -> None:
        """Wait until every op issued so far has been sent and answered (errors stay on
        their tensors)."""
        await self.batcher.flush(timeout)

    @property
    def requests_sent(self) -> int:
        """EnqueueRequests this context's batching has sent so far."""
        return self.batcher.requests_sent

    # Low-level calls: each waits for its answer.

    async def enqueue(
        self, *items: pb.QueueItem, timeout: float | None = None
    ) -> list[pb.QueueResponse]:
        """Send raw queue items (after what was issued before); one response per item."""
        request = pb.EnqueueRequest(context_id=self.id, queue=list(items))
        reply = await self._rpc("Enqueue", self.stub.enqueue, request, timeout)
        return list(reply.queue_response)

    async def send(self, *arrays: Any, timeout: float | None = None) -> list[RemoteTensor]:
        """Store ``arrays`` on the worker (one send_tensor item); a tensor for each."""
        tensors = self.batcher.send([np.asarray(a) for a in arrays])
        if tensors and tensors[0].record is not None:
            await self.batcher.replied(tensors[0].record, self._timeout(timeout))
        return tensors

    async def run(
        self, op: str, inputs: Sequence[Operand], attrs: Mapping[str, Any] | None = None,
        *, timeout: float | None = None,
    ) -> list[RemoteTensor]:
        """Run ``op`` on the worker; its outputs, once the worker has taken it (a sync
        context: run it). Raises the op's error."""
        attrs = dict(attrs or {})
        outputs = self._outputs(op, inputs, attrs, None)
        record = self.batcher.queue_op(op, inputs, attrs, outputs)
        tensors = self.batcher.outputs(record) if outputs is not None else []
        await self.batcher.replied(record, self._timeout(timeout))
        return tensors if outputs is not None else self.batcher.outputs(record)

    async def call(
        self, op: str, inputs: Sequence[Operand], attrs: Mapping[str, Any] | None = None,
        *, timeout: float | None = None,
    ) -> list[np.ndarray]:
        """Run ``op`` and return its outputs' values (``Operation.id == -1``)."""
        (reply,) = await self.enqueue(_operation(-1, op, inputs, attrs), timeout=timeout)
        return [decode_tensor(tensor) for tensor in reply.tensor]

    async def fetch(self, tensor: RemoteTensor, *, timeout: float | None = None) -> np.ndarray:
        """The value of ``tensor`` (``await tensor`` does the same)."""
        if tensor.record is None:  # a bare handle
            (value,) = await self.call("Identity", [tensor], timeout=timeout)
            return value
        return await tensor.numpy(timeout=self._timeout(timeout))

    async def wait(self, *tensors: RemoteTensor, timeout: float | None = None) -> None:
        """Wait for the ops behind ``tensors`` (all pending ops when none are given) and
        raise the first failure among them."""
        op_ids = sorted({t.op_id for t in tensors})
        request = pb.WaitQueueDoneRequest(context_id=self.id, op_id=op_ids)
        await self._rpc("WaitQueueDone", self.stub.wait_queue_done, request, timeout)

    async def release(self, *tensors: RemoteTensor, timeout: float | None = None) -> None:
        """Let the worker free ``tensors`` now (rather than when they are collected)."""
        for tensor in tensors:
            tensor.forget_collect()
        await self.enqueue(*(pb.QueueItem(handle_to_decref=t.handle()) for t in tensors),
                           timeout=timeout)

    async def register_function(
        self, function: FunctionDef, *, timeout: float | None = None
    ) -> None:
        """Make ``function`` callable as an op in this context."""
        await self.enqueue(pb.QueueItem(register_function=pb.RegisterFunctionOp(
            function_def=function)), timeout=timeout)
        if function.signature is not None:
            self._functions[function.signature.name] = function

    async def keep_alive(self, *, timeout: float | None = None) -> None:
        """Postpone the context's garbage collection."""
        request = pb.KeepAliveRequest(context_id=self.id)
        await self._rpc("KeepAlive", self.stub.keep_alive, request, timeout)

    async def close(self, *, timeout: float | None = None) -> None:
        """Close the context: every tensor on the worker is freed, ops not yet sent fail
        with CANCELLED."""
        await self.batcher.close("the client closed it")
        self.client.forget(self)
        limit = self._timeout(timeout)
        with translated("CloseContext", limit):
            await self.stub.close_context(pb.CloseContextRequest(context_id=self.id),
                                          timeout=limit)

    def abandon(self) -> None:
        """Stop batching without a word to the worker (the connection is closing)."""
        self.batcher.abandon("the client was closed")

    async def __aenter__(self) -> RemoteContext:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # Internals.

    def _timeout(self, timeout: float | None) -> float | None:
        return self.client.timeout if timeout is None else timeout

    async def _rpc(self, name: str, method: Any, request: Any, timeout: float | None) -> Any:
        # Raw calls come after what was issued before them: the worker must have it first.
        limit = self._timeout(timeout)
        await self.batcher.flush(limit)
        with translated(name, limit):
            return await method(request, timeout=limit)

    def _outputs(
        self, name: str, inputs: Sequence[Operand], attrs: Mapping[str, Any],
        num_outputs: int | None,
    ) -> list[tuple[np.dtype | None, None]] | None:
        dtypes = [
            v.dtype if isinstance(v, RemoteTensor) else np.asarray(v).dtype for v in inputs
        ]
        known = OpOutputs.of(name, dtypes, attrs, self._functions)
        if known is not None and (num_outputs is None or len(known.dtypes) == num_outputs):
            return [(as_dtype(d) if d is not None else None, None) for d in known.dtypes]
        if num_outputs is not None:
            return [(None, None)] * num_outputs
        return None


def _operation(
    op_id: int, op: str, inputs: Sequence[Operand], attrs: Mapping[str, Any] | None
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
