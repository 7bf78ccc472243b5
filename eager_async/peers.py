"""Channels to the other tasks of a cluster, and the calls a worker makes to them as a
member of the cluster: ``WorkerService/RecvTensor`` (fetch a tensor another task's
``_Send`` left in its rendezvous), ``WorkerService/GetStatus`` (a peer's device
incarnations), and, as an eager client of its peers in the client's context,
``EagerService/Enqueue`` (register a component function, clean up after a step) and
``EagerService/RunComponentFunction`` (run one).

One grpclib channel per address, opened on first use and kept until ``close()``; HTTP/2
keep-alive pings find a peer that died without closing its connection. Kernels run in
worker threads: ``blocking`` lets one wait for a call while the event loop keeps serving.

>>> peers = Peers(loop)                                            # doctest: +SKIP
>>> peers.blocking(peers.recv_tensor("localhost:2222", step_id, key))  # doctest: +SKIP
array([1., 2.], dtype=float32)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

import numpy as np
from grpclib.client import Channel, UnaryUnaryMethod
from grpclib.config import Configuration
from grpclib.exceptions import GRPCError, StreamTerminatedError

from . import upb
from ._proto import tensorflow as tf
from ._proto.tensorflow import eager
from .devices import DeviceName
from .dtypes import as_int64
from .errors import (
    CancelledError,
    EagerError,
    PeerError,
    UnavailableError,
    UnimplementedError,
)
from .recv_tensor_reply import RawReply, decode_recv_tensor_response

__all__ = ["Peers"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

_U64 = (1 << 64) - 1
_RECV_TENSOR = "/tensorflow.WorkerService/RecvTensor"

# Calls that answer at once (registration, status); a step's calls wait for the step.
_QUICK_DEADLINE = 60.0
# A peer whose connection stays open but which stops answering pings is gone.
_KEEPALIVE = Configuration(_keepalive_time=10.0, _keepalive_timeout=10.0)


class Peers:
    """The channels of one worker process to its peers."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._channels: dict[str, Channel] = {}
        self._incarnations: dict[tuple[str, str, int], int] = {}
        # Calls in flight per step, and the steps aborted (why) until they end.
        self._receiving: dict[int, dict[asyncio.Task[Any], None]] = {}
        self._cancelled: dict[asyncio.Task[Any], EagerError] = {}
        self._aborted: dict[int, EagerError] = {}
        self._prefetched: dict[tuple[int, str], asyncio.Task[np.ndarray]] = {}
        self._later: set[asyncio.Task[None]] = set()  # see enqueue_later
        self._closed = False

    @property
    def receiving(self) -> int:
        """How many calls to peers of a step (RecvTensor, RunComponentFunction) are in
        flight."""
        return sum(len(tasks) for tasks in self._receiving.values())

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop the channels belong to."""
        return self._loop

    def _channel(self, address: str) -> Channel:
        if self._closed:
            raise CancelledError("the worker is shutting down")
        channel = self._channels.get(address)
        if channel is None:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit():
                raise UnavailableError(f"Peer address '{address}' is not host:port")
            channel = Channel(host.strip("[]"), int(port), config=_KEEPALIVE)
            self._channels[address] = channel
        return channel

    async def _call(self, address: str, what: str, call: Awaitable[T]) -> T:
        """``call``'s reply; a peer's error keeps its status, an unreachable peer is
        UNAVAILABLE naming it."""
        try:
            logger.debug("%s on %s", what, address)
            return await call
        except GRPCError as error:
            raise PeerError.of(
                error.status.value, f"{what} on {address}: {error.message}"
            ) from None
        except (OSError, StreamTerminatedError) as error:  # TimeoutError is an OSError
            raise UnavailableError(
                f"{what} on {address}: the task cannot be reached ({error or type(error).__name__})"
            ) from None

    async def recv_tensor(self, address: str, step_id: int, key: str) -> np.ndarray:
        """The tensor the task at ``address`` sent under (``step_id``, ``key``); fails
        with the step's error once ``abort`` is called for the step."""
        return await self._in_step(
            step_id, f"RecvTensor of '{key}' from {address}",
            self._recv_tensor(address, step_id, key),
        )  # fmt: skip

    async def _in_step(self, step_id: int, what: str, call: Coroutine[Any, Any, T]) -> T:
        """``call``, failed with the step's error when ``abort`` is called for the step."""
        step = step_id & _U64
        failure = self._aborted.get(step)
        if failure is not None:
            call.close()
            raise failure
        task = asyncio.ensure_future(call)
        self._receiving.setdefault(step, {})[task] = None
        try:
            return await task
        except asyncio.CancelledError:
            failure = self._cancelled.pop(task, None)
            if failure is None:
                raise
            raise type(failure)(f"{what}: {failure.message}") from None
        finally:
            self._cancelled.pop(task, None)
            pending = self._receiving.get(step)
            if pending is not None:
                pending.pop(task, None)
                if not pending:
                    del self._receiving[step]

    def prefetch(self, address: str, step_id: int, key: str) -> None:
        """Start receiving (``step_id``, ``key``) from ``address`` now, so that the
        receives of a function wait side by side; ``take`` then finds it (thread-safe)."""
        self._loop.call_soon_threadsafe(self._prefetch, address, step_id & _U64, key)

    def _prefetch(self, address: str, step: int, key: str) -> None:
        if self._closed or step in self._aborted or (step, key) in self._prefetched:
            return
        task = self._loop.create_task(self.recv_tensor(address, step, key))
        task.add_done_callback(_retrieved)  # a failed prefetch may never be taken
        self._prefetched[(step, key)] = task

    async def take(self, address: str, step_id: int, key: str) -> np.ndarray:
        """What ``prefetch`` received under (``step_id``, ``key``), else ``recv_tensor``."""
        task = self._prefetched.pop((step_id & _U64, key), None)
        if task is None:
            return await self.recv_tensor(address, step_id, key)
        return await task

    def abort(self, step_id: int, error: EagerError) -> None:
        """Fail the calls of ``step_id`` in flight and to come (receives, component
        functions) with ``error``, until ``end_step`` (thread-safe)."""
        self._loop.call_soon_threadsafe(self._abort, step_id & _U64, error)

    def _abort(self, step: int, error: EagerError) -> None:
        self._aborted.setdefault(step, error)
        for task in self._receiving.get(step, ()):
            self._cancelled[task] = error
            task.cancel()

    def end_step(self, step_id: int) -> None:
        """Forget ``step_id`` (why it was aborted, what was prefetched and not taken) once
        nothing can receive in it (thread-safe)."""
        self._loop.call_soon_threadsafe(self._end_step, step_id & _U64)

    def _end_step(self, step: int) -> None:
        self._aborted.pop(step, None)
        for prefetched in [k for k in self._prefetched if k[0] == step]:
            self._prefetched.pop(prefetched).cancel()

    async def _recv_tensor(self, address: str, step_id: int, key: str) -> np.ndarray:
        # The reply is read by our own decoder: a large tensor becomes a view of the bytes
        # that arrived, not copied by a protobuf parser first.
        request = upb.RecvTensorRequest(step_id=as_int64(step_id), rendezvous_key=key)
        method = UnaryUnaryMethod(
            self._channel(address), _RECV_TENSOR, upb.RecvTensorRequest, RawReply
        )
        reply = await self._call(address, f"RecvTensor of '{key}'", method(request))
        tensor, dead = decode_recv_tensor_response(reply.data)
        if dead:
            raise UnimplementedError(
                f"RecvTensor from {address} for '{key}' returned a dead tensor (a branch of "
                "TF1-style control flow not taken), which eager_async does not support"
            )
        if tensor is None:
            raise UnavailableError(f"RecvTensor from {address} for '{key}' carried no tensor")
        return tensor

    async def incarnation(self, address: str, device: str) -> int:
        """The incarnation of ``device`` on the task at ``address``, from its GetStatus
        (matched by device type and index: a TF task started under another job name
        renames its devices per context, keeping their incarnations)."""
        wanted = DeviceName.parse(device)
        kind, index = wanted.type or "CPU", wanted.id or 0
        cached = self._incarnations.get((address, kind, index))
        if cached is not None:
            return cached
        stub = tf.WorkerServiceStub(self._channel(address))
        reply = await self._call(
            address, "GetStatus",
            stub.get_status(tf.GetStatusRequest(), timeout=_QUICK_DEADLINE),
        )  # fmt: skip
        for attributes in reply.device_attributes:
            name = DeviceName.parse(attributes.name)
            if (name.type, name.id) == (kind, index):
                self._incarnations[(address, kind, index)] = attributes.incarnation
                return attributes.incarnation
        raise UnavailableError(f"the task at {address} has no device {kind}:{index}")

    async def enqueue(self, address: str, context_id: int, items: list[eager.QueueItem]) -> None:
        """Enqueue ``items`` into the peer's context ``context_id`` (one unary call)."""
        stub = eager.EagerServiceStub(self._channel(address))
        request = eager.EnqueueRequest(context_id=context_id, queue=items)
        await self._call(address, "Enqueue", stub.enqueue(request, timeout=_QUICK_DEADLINE))

    def enqueue_later(
        self, address: str, context_id: int, items: list[eager.QueueItem], what: str
    ) -> None:
        """Enqueue ``items`` into the peer's context without waiting for the reply
        (thread-safe): a notice nobody waits for, as a step's ``cleanup_function``; a
        failure is logged. Owned here until it ends; ``close`` cancels it."""
        self._loop.call_soon_threadsafe(self._enqueue_later, address, context_id, items, what)

    def _enqueue_later(
        self, address: str, context_id: int, items: list[eager.QueueItem], what: str
    ) -> None:
        if self._closed:
            return
        task = self._loop.create_task(self.enqueue(address, context_id, items))
        self._later.add(task)

        def done(task: asyncio.Task[None]) -> None:
            self._later.discard(task)
            if not task.cancelled() and task.exception() is not None:
                logger.info("%s on %s failed: %s", what, address, task.exception())

        task.add_done_callback(done)

    async def run_component_function(
        self, address: str, context_id: int, operation: eager.Operation
    ) -> eager.RunComponentFunctionResponse:
        """Run a component function the peer has registered; waits until it is done, or
        until its step (``operation.func_step_id``) is aborted."""
        stub = eager.EagerServiceStub(self._channel(address))
        request = eager.RunComponentFunctionRequest(context_id=context_id, operation=operation)
        what = f"RunComponentFunction {operation.name}"
        call = self._call(address, what, stub.run_component_function(request))
        return await self._in_step(operation.func_step_id, f"{what} on {address}", call)

    def blocking(self, call: Coroutine[Any, Any, T]) -> T:
        """Run ``call`` on the event loop from a kernel thread, waiting there for it."""
        future = asyncio.run_coroutine_threadsafe(call, self._loop)
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise CancelledError("a call to a peer task was cancelled") from None

    def recv_tensor_blocking(self, address: str, step_id: int, key: str) -> np.ndarray:
        """``take`` from a kernel thread: waits there while the loop serves."""
        return self.blocking(self.take(address, step_id, key))

    def close(self) -> None:
        """Close every channel; calls in flight fail."""
        self._closed = True
        for task in [*self._prefetched.values(), *self._later]:
            task.cancel()
        self._prefetched.clear()
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()


def _retrieved(task: asyncio.Task[np.ndarray]) -> None:
    if not task.cancelled():
        task.exception()
