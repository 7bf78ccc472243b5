"""Batching a context's ops into StreamingEnqueue requests, and mapping the worker's
replies (and errors) back onto the tensors.

**Batching.** Ops, sent tensors, fetches and releases issued without awaiting queue
here; once per event-loop tick (or after ``batch_window`` seconds) they go out as one
EnqueueRequest of at most ``max_batch`` items (two when values are awaited too), on one
long-lived StreamingEnqueue call per context. A request is ordered: releases, then sent
tensors, then ops in the order they were issued; or releases, then one ``IdentityN`` (op
id -1) fetching every value awaited.

**Backpressure.** At most ``max_in_flight`` requests await their replies. Issuing never
blocks (operators are synchronous): beyond that, ops queue here, and whoever awaits a
value or ``flush()`` waits for the queue to drain.

**Replies and errors.** The worker answers the requests of a stream one at a time, in
order, and its first error ends the stream. A request carries ops and sent tensors, or
fetches (an error naming no op is then the fetch's). Every item of a request before the failing
one was applied; the failing one and those after it were not (sync contexts run a
request's ops in order and stop at the first failure; async ones queue them, and a
validation error stops the request). The worker names the failing op in its message
(``AddV2 (op id 7): ...``): that op's tensors take the error, ops computed from them fail
here without being sent, and everything else is sent again on a new stream. In async
contexts an op that fails while running fails nothing at enqueue time: its error reaches
the client when a value computed from it is fetched (the worker's message names the
fetched input: ``IdentityN (op id -1): input 2 comes from ..., which failed: ...``).

**Releases.** A tensor garbage collected releases its handle (a ``handle_to_decref``
item in the next request), once the worker has answered for its op; an op the worker
refused holds no handle and is not released.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpclib.const
import numpy as np
from grpclib.client import Channel
from grpclib.exceptions import GRPCError

from .errors import EagerError, StatusCode
from .queue_items import (
    EnqueueRequest,
    EnqueueResponse,
    decref_item,
    fetch_item,
    operation_item,
    send_item,
)
from .remote_errors import failure, remote_error
from .remote_tensor import Operand, OpRecord, RemoteTensor, Shape
from .tensors import decode_shape, decode_tensor

__all__ = ["BatchOptions", "Batcher"]

logger = logging.getLogger(__name__)

_ROUTE = "/tensorflow.eager.EagerService/StreamingEnqueue"
_OP_ID = re.compile(r"\(op id (-?\d+)\)")
_FETCHED_INPUT = re.compile(r"^IdentityN \(op id -1\): input (\d+) comes from .*?, which failed: ",
                            re.DOTALL)


@dataclass(frozen=True, slots=True)
class BatchOptions:
    """How a context batches: ``batch_window`` seconds to gather items after the first
    (0: one event-loop tick), ``max_batch`` items per request, ``max_in_flight``
    requests awaiting replies at once.

    >>> BatchOptions(batch_window=0.001, max_batch=500).max_in_flight
    8
    """

    batch_window: float = 0.0
    max_batch: int = 10_000
    max_in_flight: int = 8

    def __post_init__(self) -> None:
        if self.batch_window < 0 or self.max_batch < 1 or self.max_in_flight < 1:
            raise ValueError(f"batch_window must be >= 0, max_batch and max_in_flight >= 1: {self}")


@dataclass(slots=True)
class _Item:
    """An op or sent tensor waiting for its reply; ``inputs`` keeps the tensors it reads
    alive (and so unreleased) until the worker has it."""

    record: OpRecord
    message: Any  # a queue_items.QueueItem
    inputs: list[RemoteTensor] = field(default_factory=list)
    sends: bool = False  # a send_tensor item, not an operation


@dataclass(slots=True)
class _Fetch:
    """A value awaited; ``alone``: fetched in an IdentityN of its own (after a failed
    fetch of several that named none of them)."""

    tensor: RemoteTensor
    result: asyncio.Future[np.ndarray]
    alone: bool = False


@dataclass(slots=True)
class _Request:
    items: list[_Item]  # in the order issued
    fetches: list[_Fetch]
    released: list[tuple[OpRecord, int]]


class Batcher:
    """Queues one context's ops and sends them in batches (see the module docstring); it
    owns the task that drives the stream, ended by ``close()``.

    >>> batcher = Batcher(channel, context_id, metadata=None)   # doctest: +SKIP
    """

    def __init__(
        self, channel: Channel, context_id: int, *, metadata: Mapping[str, str] | None,
        options: BatchOptions | None = None, timeout: float | None = None,
    ) -> None:
        self._channel = channel
        self._context_id = context_id
        self._metadata = metadata
        self._options = options or BatchOptions()
        self.timeout = timeout
        """Seconds a fetch or flush waits when its caller gives no timeout (None: no limit)."""
        self._loop = asyncio.get_running_loop()
        self._ids = itertools.count(1)
        self._pending: deque[_Item | _Fetch] = deque()
        self._released: list[tuple[OpRecord, int]] = []
        self._in_flight: deque[_Request] = deque()
        self._work = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._window: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed: str | None = None
        self.requests_sent = 0
        """EnqueueRequests sent on the stream so far."""

    def next_id(self) -> int:
        """A fresh op id of this context."""
        return next(self._ids)

    # Issuing.

    def issue(
        self, name: str, inputs: Sequence[Operand], attrs: Mapping[str, Any],
        outputs: Sequence[tuple[np.dtype | None, Shape]],
    ) -> list[RemoteTensor]:
        """Queue op ``name`` (its outputs' dtypes and shapes as the client infers them)
        and return its outputs at once."""
        record = self.queue_op(name, inputs, attrs, outputs)
        return self.outputs(record)

    def queue_op(
        self, name: str, inputs: Sequence[Operand], attrs: Mapping[str, Any],
        outputs: Sequence[tuple[np.dtype | None, Shape]] | None,
    ) -> OpRecord:
        """Queue op ``name``; ``outputs`` None: their number is learnt from the reply."""
        self._check_open()
        tensors = [value for value in inputs if isinstance(value, RemoteTensor)]
        handles = [(v.op_id, v.output_num) if isinstance(v, RemoteTensor) else np.asarray(v)
                   for v in inputs]
        op_id = self.next_id()
        message = operation_item(op_id, name, handles, attrs)  # bad values raise here
        record = self._record(op_id, name, outputs or [])
        self._queue(_Item(record, message, tensors))
        return record

    def send(self, arrays: Sequence[np.ndarray]) -> list[RemoteTensor]:
        """Queue ``arrays`` to be stored on the worker (one send_tensor item)."""
        self._check_open()
        op_id = self.next_id()
        message = send_item(op_id, arrays)
        record = self._record(op_id, "SendTensor", [(a.dtype, a.shape) for a in arrays])
        self._queue(_Item(record, message, sends=True))
        return self.outputs(record)

    def outputs(self, record: OpRecord) -> list[RemoteTensor]:
        """``record``'s outputs as tensors, each released on the worker when collected."""
        tensors = [RemoteTensor.bound(self, record, n) for n in range(len(record.dtypes))]
        for tensor in tensors:
            tensor.on_collect(self._release, record, tensor.output_num)
        return tensors

    async def fetch(self, tensor: RemoteTensor, timeout: float | None) -> np.ndarray:
        """The value of ``tensor``, fetched with the next batch."""
        self._check_open()
        record = tensor.record
        if record is not None and record.error is not None:
            raise _copy(record.error)
        result: asyncio.Future[np.ndarray] = self._loop.create_future()
        self._queue(_Fetch(tensor, result))
        value: np.ndarray = await self._waiting(result, timeout, f"fetching {tensor!r}")
        return value

    async def replied(self, record: OpRecord, timeout: float | None) -> None:
        """Wait until the worker answered for ``record``'s op; raise its error if any."""
        await self._waiting(record.replied, timeout, f"running {record.describe()}")
        if record.error is not None:
            raise _copy(record.error)

    async def flush(self, timeout: float | None = None) -> None:
        """Wait until everything issued so far has been sent and answered."""
        if self._closed is None:
            await self._waiting(self._idle.wait(), timeout, "flushing the queued ops")

    def abandon(self, reason: str) -> None:
        """Stop sending now (``close()`` also waits for the task to end): what was queued
        or in flight fails with CANCELLED ``reason``."""
        if self._closed is not None:
            return
        self._closed = reason
        if self._window is not None:
            self._window.cancel()
        if self._task is not None:
            self._task.cancel()
        self._work.set()
        error = remote_error(StatusCode.CANCELLED, f"the context is closed: {reason}")
        requests = list(self._in_flight)
        self._in_flight.clear()
        for request in requests:
            self._fail_all(request.items, request.fetches, error)
        self._fail_pending(error)
        self._released.clear()
        self._idle.set()

    async def close(self, reason: str) -> None:
        """Stop sending, and wait until the task that sent has ended."""
        self.abandon(reason)
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # Internals: the queue.

    def _check_open(self) -> None:
        if self._closed is not None:
            raise remote_error(StatusCode.CANCELLED, f"the context is closed: {self._closed}")

    def _record(
        self, op_id: int, name: str, outputs: Sequence[tuple[np.dtype | None, Shape]]
    ) -> OpRecord:
        return OpRecord(op_id, name, [d for d, _ in outputs], [s for _, s in outputs],
                        self._loop.create_future())

    async def _waiting(self, awaitable: Any, timeout: float | None, what: str) -> Any:
        limit = self.timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                return await awaitable
        except TimeoutError:
            raise remote_error(
                StatusCode.DEADLINE_EXCEEDED,
                f"{what}: no answer within the timeout of {limit} s; the worker may still be "
                "computing it (pass a larger timeout=, or none)",
            ) from None

    def _queue(self, entry: _Item | _Fetch) -> None:
        self._pending.append(entry)
        self._idle.clear()
        self._start()
        window = self._options.batch_window
        if not window or len(self._pending) >= self._options.max_batch:
            self._work.set()
        elif self._window is None:
            self._window = self._loop.call_later(window, self._end_window)

    def _end_window(self) -> None:
        self._window = None
        self._work.set()

    def _release(self, record: OpRecord, output_num: int) -> None:
        # Called by the garbage collector, maybe in another thread: only append and wake.
        if self._closed is not None:
            return
        self._released.append((record, output_num))
        self._idle.clear()  # a flag: safe from any thread; the wake-up sets it again
        with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to release to
            self._loop.call_soon_threadsafe(self._wake_for_release)

    def _wake_for_release(self) -> None:
        if self._closed is None:
            self._idle.clear()
            self._start()
            self._work.set()

    def _start(self) -> None:
        if self._task is None:
            self._task = self._loop.create_task(self._drive())

    def _ready_releases(self) -> list[tuple[OpRecord, int]]:
        released, self._released = self._released, []
        ready = []
        for record, output_num in released:
            if not record.replied.done():
                self._released.append((record, output_num))
            elif record.registered:
                ready.append((record, output_num))
        return ready

    def _has_work(self) -> bool:
        return bool(self._pending) or any(
            r.replied.done() and r.registered for r, _ in self._released)

    def _take(self) -> _Request:
        """The next request: ready releases, then up to ``max_batch`` queued entries, all
        ops and sent tensors or all fetches (so that an error naming no op is about
        the fetch, or about the whole request)."""
        items: list[_Item] = []
        fetches: list[_Fetch] = []
        pending = self._pending
        while pending and len(items) + len(fetches) < self._options.max_batch:
            entry = pending[0]
            if isinstance(entry, _Fetch):
                if items or (fetches and (entry.alone or fetches[0].alone)):
                    break
            elif fetches:
                break
            pending.popleft()
            if isinstance(entry, _Item):
                if not self._failed_locally(entry):
                    items.append(entry)
            elif entry.tensor.record is not None and entry.tensor.record.error is not None:
                _settle(entry.result, _copy(entry.tensor.record.error))
            elif not entry.result.done():  # a fetch whose caller gave up is dropped
                fetches.append(entry)
        return _Request(items, fetches, self._ready_releases())

    def _failed_locally(self, item: _Item) -> bool:
        """Fail ``item`` here, unsent, if an input's op failed (as the worker would)."""
        for index, tensor in enumerate(item.inputs):
            cause = tensor.record
            if cause is not None and cause.error is not None:
                error = remote_error(cause.error.code, (
                    f"{item.record.describe()}: input {index} comes from {cause.describe()}, "
                    f"which failed: {cause.error.message}"))
                self._fail(item.record, error)
                return True
        return False

    @staticmethod
    def _message(request: _Request, context_id: int) -> Any:
        queue = [decref_item(record.op_id, n) for record, n in request.released]
        queue += [item.message for item in _ordered(request.items)]
        if request.fetches:
            queue.append(fetch_item([(f.tensor.op_id, f.tensor.output_num)
                                     for f in request.fetches]))
        return EnqueueRequest(context_id=context_id, queue=queue)

    # Internals: the stream.

    async def _drive(self) -> None:
        """Open a stream whenever there is work; a new one after the worker ends one."""
        # Until closed, not merely until cancelled: closing the channel can turn the
        # cancellation into a StreamTerminatedError inside grpclib.
        while self._closed is None:
            if not self._has_work():
                self._check_idle()
                self._work.clear()
                await self._work.wait()
                continue
            await self._session()

    async def _session(self) -> None:
        try:
            async with self._channel.request(
                _ROUTE, grpclib.const.Cardinality.STREAM_STREAM, EnqueueRequest,
                EnqueueResponse, metadata=self._metadata,
            ) as stream:
                await stream.send_request()
                sender = self._loop.create_task(self._send(stream))
                try:
                    await self._receive(stream)
                finally:
                    sender.cancel()
                    await asyncio.gather(sender, return_exceptions=True)
        except GRPCError as status:  # the worker's answer: it ended the stream
            self._stream_failed(remote_error(status.status.value,
                                             status.message or status.status.name))
        except Exception as error:
            broken = failure("StreamingEnqueue", error)
            if broken is None:
                logger.exception("the StreamingEnqueue call failed unexpectedly")
                broken = remote_error(StatusCode.INTERNAL, f"client error: {error!r}")
            self._broken(broken)
        self._check_idle()

    async def _send(self, stream: Any) -> None:
        while True:
            while len(self._in_flight) >= self._options.max_in_flight or not self._has_work():
                self._work.clear()
                await self._work.wait()
            request = self._take()
            if not (request.items or request.fetches or request.released):
                self._check_idle()
                continue
            self._in_flight.append(request)
            self.requests_sent += 1
            message = self._message(request, self._context_id)
            del request  # the loop waits with this frame: keep no tensor of it alive
            await stream.send_message(message)

    async def _receive(self, stream: Any) -> None:
        while True:
            reply = await stream.recv_message()
            if reply is None:
                raise ConnectionError("the worker ended the StreamingEnqueue call without a status")
            self._answered(self._in_flight.popleft(), reply)
            self._work.set()
            self._check_idle()

    def _answered(self, request: _Request, reply: Any) -> None:
        responses = list(reply.queue_response)[len(request.released):]
        for item, response in zip(_ordered(request.items), responses, strict=False):
            record = item.record
            shapes = [decode_shape(s) for s in response.shape]
            if not record.dtypes:  # an op of unknown outputs: the reply says how many
                record.dtypes = [None] * len(shapes)
                record.shapes = list(shapes)
            elif len(shapes) == len(record.shapes):
                record.shapes = [_merged(w, c) for w, c in zip(shapes, record.shapes, strict=True)]
            self._applied(record)
        if request.fetches:
            values = [decode_tensor(t) for t in responses[-1].tensor]
            for fetch, value in zip(request.fetches, values, strict=False):
                _settle(fetch.result, value)

    def _stream_failed(self, error: EagerError) -> None:
        """The worker ended the stream with ``error``, about the request in flight that
        holds the op it names (the oldest when it names none). Those before it were
        answered, but their replies may be lost: grpclib's client drops what it has not
        handed out yet when the worker resets the stream after its status. Their ops
        count as applied, their fetches are sent again. The worker never read those
        after it: they are queued again."""
        if not self._in_flight:
            self._fail_pending(error)
            return
        again: list[_Item | _Fetch] = []
        for _ in range(self._failed_request(error)):
            answered = self._in_flight.popleft()
            for item in answered.items:
                self._applied(item.record)
            again += answered.fetches
        failed = self._in_flight.popleft()
        # What of the failed request is to be sent again comes before the later requests:
        # one of them may fetch a value that one of its unrun ops makes.
        again += self._attribute(failed, error)
        for request in self._in_flight:
            self._released.extend(request.released)
            again += [*request.items, *request.fetches]
        self._in_flight.clear()
        self._pending.extendleft(reversed(again))
        if again:
            self._work.set()

    def _failed_request(self, error: EagerError) -> int:
        """Where in the requests in flight the one ``error`` is about is: the one holding
        the op it names, the first of fetches for a fetch (op id -1), else the oldest."""
        named = _OP_ID.search(error.message)
        if named is not None:
            op_id = int(named.group(1))
            for index, request in enumerate(self._in_flight):
                if op_id == -1:
                    if request.fetches:
                        return index
                elif any(item.record.op_id == op_id for item in request.items):
                    return index
        return 0

    def _attribute(self, request: _Request, error: EagerError) -> list[_Item | _Fetch]:
        """Give ``error`` to what failed in ``request``; returns what is to be sent again.
        (Its releases came first, and were applied.)"""
        ordered = _ordered(request.items)
        named = _OP_ID.search(error.message)
        op_id = None if named is None else int(named.group(1))
        by_id = {item.record.op_id: n for n, item in enumerate(ordered)}
        if op_id is not None and op_id in by_id:
            at = by_id[op_id]
            for item in ordered[:at]:
                self._applied(item.record)
            self._fail(ordered[at].record, error)
            later = {id(i) for i in ordered[at + 1 :]}
            return [i for i in request.items if id(i) in later] + list(request.fetches)
        if request.fetches:  # a request of fetches only
            return self._fetch_failed(request.fetches, error)
        # Not about any one item (the context is gone, a token refused): all of it failed.
        self._fail_all(request.items, request.fetches, error)
        return []

    def _fetch_failed(self, fetches: list[_Fetch], error: EagerError) -> list[_Item | _Fetch]:
        input_failed = _FETCHED_INPUT.match(error.message)
        if input_failed is not None and int(input_failed.group(1)) < len(fetches):
            culprit = fetches[int(input_failed.group(1))]
            cause = remote_error(error.code, error.message[input_failed.end() :])
            record = culprit.tensor.record
            if record is not None:
                record.error = cause
            _settle(culprit.result, cause)
            return [f for f in fetches if f is not culprit]
        if len(fetches) == 1:  # the value itself cannot be fetched (a resource, too large)
            _settle(fetches[0].result, error)
            return []
        return [_Fetch(f.tensor, f.result, alone=True) for f in fetches]

    def _broken(self, error: EagerError) -> None:
        """The connection failed: what it carried is lost, and so is what was to follow."""
        requests = list(self._in_flight)
        self._in_flight.clear()
        for request in requests:
            self._fail_all(request.items, request.fetches, error)
        self._fail_pending(error)

    def _fail_pending(self, error: EagerError) -> None:
        entries = list(self._pending)
        self._pending.clear()
        self._released.clear()  # nothing to release them to either
        self._fail_all([e for e in entries if isinstance(e, _Item)],
                       [e for e in entries if isinstance(e, _Fetch)], error)

    def _fail_all(
        self, items: Sequence[_Item], fetches: Sequence[_Fetch], error: EagerError
    ) -> None:
        for item in items:
            self._fail(item.record, error)
        for fetch in fetches:
            _settle(fetch.result, error)

    @staticmethod
    def _applied(record: OpRecord) -> None:
        record.registered = True
        if not record.replied.done():
            record.replied.set_result(None)

    @staticmethod
    def _fail(record: OpRecord, error: EagerError) -> None:
        record.error = error
        if not record.replied.done():
            record.replied.set_result(None)

    def _check_idle(self) -> None:
        if not self._pending and not self._in_flight and not self._has_work():
            self._idle.set()


def _ordered(items: Sequence[_Item]) -> list[_Item]:
    """``items`` as a request carries them: sent tensors first (they read nothing, and
    then a failing op is preceded by every item the worker applied: it applies a request's
    items before it runs them), then ops in the order issued."""
    return [i for i in items if i.sends] + [i for i in items if not i.sends]


def _copy(error: EagerError) -> EagerError:
    """A fresh exception of ``error``'s class and message (one raised many times would
    chain its tracebacks)."""
    return remote_error(error.code, error.message)


def _settle(result: asyncio.Future[np.ndarray], outcome: np.ndarray | EagerError) -> None:
    if result.done():
        return
    if isinstance(outcome, EagerError):
        result.set_exception(_copy(outcome))
    else:
        result.set_result(outcome)


def _merged(worker: Shape, client: Shape) -> Shape:
    """The worker's shape, its unknown dims filled from the client's inference."""
    if worker is None:
        return client
    if client is None or len(client) != len(worker):
        return worker
    return tuple(c if w < 0 else w for w, c in zip(worker, client, strict=True))
