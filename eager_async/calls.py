"""Every RPC a worker serves, followed through grpclib's server events: one ``Call`` per
RPC, handed to the observers (the metrics, the access log) when its status is sent.

grpclib dispatches ``RecvRequest``, ``SendMessage`` and ``SendTrailingMetadata`` in the
RPC's own task, so the call started by the first is found by the others through a
context variable, and nothing runs inside the service's handlers. What events cannot
show (which context a request names, how many queue items it carries) the
``CallReceiver`` notes as it hands each decoded request to the service.

An RPC grpclib refuses before it reaches a method (no such method, a bad content type)
dispatches no event and is not seen. One whose connection ends before its status is sent
is finished as CANCELLED.

>>> watcher = CallWatcher([metrics, access_log])   # doctest: +SKIP
>>> watcher.install(grpc_server)                    # doctest: +SKIP
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

import grpclib.protocol
import grpclib.server
from grpclib._typing import IServerMethodFunc
from grpclib.const import Status
from grpclib.events import RecvRequest, SendMessage, SendTrailingMetadata, listen
from grpclib.exceptions import StreamTerminatedError

from .receiver import Receiver

__all__ = ["Call", "CallObserver", "CallReceiver", "CallWatcher"]

T = TypeVar("T")

_CURRENT: contextvars.ContextVar[Call | None] = contextvars.ContextVar(
    "eager_async_call", default=None
)


class Call:
    """One RPC as the worker served it.

    ``method`` is the RPC's short name (``Enqueue``), ``service`` its service
    (``tensorflow.eager.EagerService``). ``context_id``: the context its request names
    (None when it names none, e.g. GetStatus). ``items``: queue items its Enqueue or
    StreamingEnqueue requests carried (None for other RPCs). ``status`` and ``seconds``
    are known once it is finished; ``bytes_received`` and ``bytes_sent`` count the
    gRPC messages' bytes (HTTP/2 DATA payloads, their 5-byte prefixes included).

    >>> call.method, call.status, call.seconds   # doctest: +SKIP
    ('Enqueue', <Status.OK: 0>, 0.0012)
    """

    __slots__ = (
        "_batch_items",
        "_batch_started",
        "_peer",
        "_started",
        "_stream",
        "context_id",
        "items",
        "method",
        "seconds",
        "service",
        "status",
    )

    def __init__(self, path: str, peer: grpclib.protocol.Peer) -> None:
        service, _, method = path.lstrip("/").rpartition("/")
        self.service = service
        self.method = method
        self.context_id: int | None = None
        self.items: int | None = None
        self.status: Status | None = None
        self.seconds = 0.0
        self._peer = peer
        self._started = time.perf_counter()
        # The Enqueue request being answered: when it was decoded, its queue items.
        self._batch_started = 0.0
        self._batch_items = 0
        self._stream: grpclib.protocol.Stream | None = None

    @property
    def peer(self) -> str:
        """The client's ``host:port`` (``-`` when the connection has none)."""
        address = self._peer.addr()
        if not address:
            return "-"
        host, port = address[0], address[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def bytes_received(self) -> int:
        """Bytes of the RPC's request messages received so far."""
        return 0 if self._stream is None else self._stream.data_received

    @property
    def bytes_sent(self) -> int:
        """Bytes of the RPC's reply messages sent so far."""
        return 0 if self._stream is None else self._stream.data_sent


class CallObserver(Protocol):
    """What the ``CallWatcher`` tells about each RPC (the metrics, the access log)."""

    def batch_answered(self, call: Call, items: int, seconds: float) -> None:
        """An Enqueue request of ``call`` with ``items`` queue items was answered,
        ``seconds`` after it was decoded (one of several on a StreamingEnqueue)."""

    def call_finished(self, call: Call) -> None:
        """``call`` has its status: about to be sent, or CANCELLED when its connection
        ended first (then none is sent)."""


class CallWatcher:
    """Follows every RPC of the grpclib servers it is installed on and tells
    ``observers`` (see the module docstring).

    >>> CallWatcher([access_log]).install(server)   # doctest: +SKIP
    """

    def __init__(self, observers: Sequence[CallObserver]) -> None:
        self.observers = tuple(observers)

    def install(self, server: grpclib.server.Server) -> None:
        """Listen to ``server``'s events; install before other ``RecvRequest``
        listeners (authentication), so that the RPCs they refuse are seen too."""
        listen(server, RecvRequest, self._request_received)
        listen(server, SendMessage, self._message_sending)
        listen(server, SendTrailingMetadata, self._status_sending)

    async def _request_received(self, event: RecvRequest) -> None:
        call = Call(event.method_name, event.peer)
        _CURRENT.set(call)
        event.method_func = self._watched(call, event.method_func)

    def _watched(self, call: Call, method: IServerMethodFunc) -> IServerMethodFunc:
        async def watched(stream: grpclib.server.Stream[Any, Any]) -> None:
            call._stream = stream._stream  # grpclib's server stream has no public one
            try:
                await method(stream)
            except (StreamTerminatedError, ConnectionError):
                self._finish(call, Status.CANCELLED)  # no status will be sent
                raise
            except BaseException:
                # Cancelled: by a deadline grpclib answers (its status comes), or by a
                # connection gone or the server closing (none will).
                if stream._stream._transport.is_closing():
                    self._finish(call, Status.CANCELLED)
                raise

        return watched

    async def _message_sending(self, event: SendMessage) -> None:
        call = _CURRENT.get()
        if call is None:
            return
        if call.context_id == 0:
            # CreateContext with id 0: the worker chose one, the reply says which.
            call.context_id = getattr(event.message, "context_id", 0)
        if call._batch_started:
            seconds = time.perf_counter() - call._batch_started
            call._batch_started = 0.0
            for observer in self.observers:
                observer.batch_answered(call, call._batch_items, seconds)

    async def _status_sending(self, event: SendTrailingMetadata) -> None:
        call = _CURRENT.get()
        if call is not None:
            self._finish(call, event.status)

    def _finish(self, call: Call, status: Status) -> None:
        if call.status is not None:  # finished already (a connection lost mid-send)
            return
        call.status = status
        call.seconds = time.perf_counter() - call._started
        for observer in self.observers:
            observer.call_finished(call)


class CallReceiver(Receiver):
    """A ``Receiver`` that notes, on the RPC's ``Call``, the context each decoded
    request names and the queue items an Enqueue request carries.

    >>> EagerService(runtime, CallReceiver(limits))   # doctest: +SKIP
    """

    async def receive(
        self, stream: grpclib.server.Stream[Any, Any], method: str, decode: Callable[[bytes], T]
    ) -> T | None:
        """The next request message of ``stream`` (see ``Receiver.receive``)."""
        request = await super().receive(stream, method, decode)
        call = _CURRENT.get()
        if call is not None and request is not None:
            _note(call, request)
        return request


def _note(call: Call, request: object) -> None:
    # The service's decoders give (context_id, items...) tuples for the RPCs that carry
    # records (Enqueue's: (context_id, [item, ...])), and messages with a context_id
    # field for the others.
    if isinstance(request, tuple):
        context_id, records = request[0], request[1]
        if isinstance(context_id, int):
            call.context_id = context_id
        if isinstance(records, list):
            call.items = (call.items or 0) + len(records)
            call._batch_items = len(records)
            call._batch_started = time.perf_counter()
        return
    context_id = getattr(request, "context_id", None)
    if isinstance(context_id, int):
        call.context_id = context_id
