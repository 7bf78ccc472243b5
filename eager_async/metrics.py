"""A worker's Prometheus metrics, and the HTTP endpoint that serves them.

Counters and histograms are bumped once per RPC and once per Enqueue request (batch),
never per op: they hear of both from the ``CallWatcher`` (``calls``). Gauges describing
the worker's state (contexts, queues, handles) are read from the runtime when Prometheus
scrapes, by a collector running on the event loop, so they cost nothing in between.
That is why the endpoint is a small asyncio server rather than prometheus-client's own
``start_http_server``, whose thread would read the runtime's tables while the loop
changes them; what it sends is prometheus-client's encoding (``choose_encoder``).
docs/operations-metrics.md lists every metric.

>>> metrics = WorkerMetrics(runtime, receiver)          # doctest: +SKIP
>>> endpoint = MetricsEndpoint(metrics.registry)        # doctest: +SKIP
>>> await endpoint.start("127.0.0.1", 9100)             # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterator

from grpclib.const import Status
from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder

from .calls import Call
from .receiver import Receiver
from .runtime import Runtime

__all__ = ["MetricsEndpoint", "MetricsEndpointError", "WorkerMetrics"]

logger = logging.getLogger(__name__)

# From a loopback unary RPC (~50 us) to a long WaitQueueDone.
_RPC_BUCKETS = (
    50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3,
    250e-3, 500e-3, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
# A tiny op's share of a large batch takes a few microseconds; a matmul, seconds.
_OP_BUCKETS = (
    1e-6, 2.5e-6, 5e-6, 10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 10e-3,
    100e-3, 1.0, 10.0,
)  # fmt: skip


class WorkerMetrics:
    """The metrics of one worker, in a registry of their own (``registry``): a
    ``CallObserver`` for the RPC counters, and a collector for the gauges.

    >>> CallWatcher([WorkerMetrics(runtime, receiver)]).install(server)   # doctest: +SKIP
    """

    def __init__(self, runtime: Runtime, receiver: Receiver) -> None:
        self.registry = CollectorRegistry()
        """Everything ``MetricsEndpoint`` serves."""
        self._runtime = runtime
        self._receiver = receiver
        self._rpcs = Counter(
            "eager_async_rpcs", "RPCs finished, by method and gRPC status code",
            ["service", "method", "code"], registry=self.registry,
        )  # fmt: skip
        self._rpc_seconds = Histogram(
            "eager_async_rpc_seconds",
            "Seconds from an RPC's headers received to its status sent, by method",
            ["service", "method"], buckets=_RPC_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self._ops = Counter(
            "eager_async_ops",
            "Queue items (ops, sent tensors, cleanups) of Enqueue requests answered",
            registry=self.registry,
        )
        self._op_seconds = Histogram(
            "eager_async_op_seconds",
            "Per Enqueue request: seconds from its request decoded to its reply, divided "
            "by its queue items (one observation per request, not per op)",
            buckets=_OP_BUCKETS, registry=self.registry,
        )  # fmt: skip
        self._received = Counter(
            "eager_async_received_bytes", "Bytes of request messages of finished RPCs",
            registry=self.registry,
        )  # fmt: skip
        self._sent = Counter(
            "eager_async_sent_bytes", "Bytes of reply messages of finished RPCs",
            registry=self.registry,
        )  # fmt: skip
        ProcessCollector(registry=self.registry)
        self.registry.register(_StateCollector(runtime, receiver))

    def batch_answered(self, call: Call, items: int, seconds: float) -> None:
        """Count an answered Enqueue request (see ``CallObserver``)."""
        self._ops.inc(items)
        if items:
            self._op_seconds.observe(seconds / items)

    def call_finished(self, call: Call) -> None:
        """Count a finished RPC (see ``CallObserver``)."""
        status = call.status or Status.UNKNOWN
        self._rpcs.labels(call.service, call.method, status.name).inc()
        self._rpc_seconds.labels(call.service, call.method).observe(call.seconds)
        self._received.inc(call.bytes_received)
        self._sent.inc(call.bytes_sent)


class _StateCollector:
    """The gauges, read from the runtime at each scrape (on the event loop, where the
    runtime's tables are not changing under it)."""

    def __init__(self, runtime: Runtime, receiver: Receiver) -> None:
        self._runtime = runtime
        self._receiver = receiver

    def collect(self) -> Iterator[Metric]:
        runtime = self._runtime
        # The runtime has no public view of its contexts but their ids, and
        # ``Runtime.context`` would touch each (postponing its collection).
        contexts = list(runtime._contexts.values())
        kinds = GaugeMetricFamily(
            "eager_async_contexts", "Live client contexts, by kind", labels=["kind"]
        )
        for kind in ("sync", "async"):
            kinds.add_metric([kind], sum(c.is_async == (kind == "async") for c in contexts))
        yield kinds
        # The executor's queue holds the Enqueue requests (batches) an async context has
        # accepted and not started; a context has no public view of it.
        queues = [c._executor._queue for c in contexts]
        yield GaugeMetricFamily(
            "eager_async_queued_requests",
            "Enqueue requests accepted by async contexts and not started yet",
            value=sum(queue.qsize() for queue in queues),
        )
        # asyncio.Queue keeps its items in ``_queue``, a deque.
        batches = [batch for queue in queues for batch in list(queue._queue)]  # type: ignore[attr-defined]
        yield GaugeMetricFamily(
            "eager_async_queued_ops",
            "Ops of the Enqueue requests accepted by async contexts and not started yet",
            value=sum(len(batch.nodes) for batch in batches),
        )
        yield GaugeMetricFamily(
            "eager_async_handles",
            "Ops whose outputs clients still hold, or which are pending, over all contexts",
            value=sum(c.live_ops for c in contexts),
        )
        yield GaugeMetricFamily(
            "eager_async_handle_bytes",
            "Bytes of the live tensors of all contexts (what --memory-bytes limits)",
            value=runtime.memory.used,
        )
        yield GaugeMetricFamily(
            "eager_async_memory_limit_bytes",
            "The worker's limit on the bytes of live tensors (--memory-bytes)",
            value=runtime.memory.limit,
        )
        yield GaugeMetricFamily(
            "eager_async_receiving_bytes",
            "Bytes of request messages being received now (what "
            "--max-receiving-bytes limits)",
            value=self._receiver.receiving,
        )


class MetricsEndpointError(OSError):
    """The metrics endpoint could not listen (the operator's port is taken or not
    theirs to bind); the message names the address and the reason."""


class MetricsEndpoint:
    """A minimal HTTP/1.1 server on the event loop answering ``GET /metrics`` with
    ``registry`` in Prometheus's text format (OpenMetrics when the scraper asks for it).

    >>> endpoint = MetricsEndpoint(registry)   # doctest: +SKIP
    >>> await endpoint.start("127.0.0.1", 0)   # doctest: +SKIP
    >>> endpoint.close(); await endpoint.wait_closed()   # doctest: +SKIP
    """

    REQUEST_TIMEOUT = 10.0
    """Seconds a scraper has to send its request before the connection is closed."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port it listens on (known once started)."""
        if self._server is None:
            raise RuntimeError("the metrics endpoint is not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (0: a free port); MetricsEndpointError if it cannot."""
        try:
            self._server = await asyncio.start_server(self._serve, host, port)
        except OSError as error:
            # asyncio's message repeats the address; the errno's text alone does not.
            reason = os.strerror(error.errno) if error.errno else str(error)
            raise MetricsEndpointError(
                f"cannot serve metrics on {host}:{port}: {reason}"
            ) from None
        logger.info("metrics on http://%s:%d/metrics", host, self.port)

    def close(self) -> None:
        """Stop listening and drop the scrapes in progress."""
        if self._server is not None:
            self._server.close()
        for task in self._connections:
            task.cancel()

    async def wait_closed(self) -> None:
        """Wait until ``close()`` has finished."""
        if self._server is not None:
            await self._server.wait_closed()
        await asyncio.gather(*self._connections, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            async with asyncio.timeout(self.REQUEST_TIMEOUT):
                method, path, headers = await _read_request(reader)
            status, content_type, body = self._answer(method, path, headers)
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("latin-1") + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, ValueError, ConnectionError, EOFError, asyncio.LimitOverrunError):
            pass  # a scraper that went away or spoke no HTTP: nobody to answer
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _answer(self, method: str, path: str, headers: dict[str, str]) -> tuple[str, str, bytes]:
        text = "text/plain; charset=utf-8"
        if path.split("?", 1)[0] not in ("/metrics", "/"):
            return "404 Not Found", text, b"not found: the metrics are at /metrics\n"
        if method not in ("GET", "HEAD"):
            return "405 Method Not Allowed", text, b"use GET /metrics\n"
        encode, content_type = choose_encoder(headers.get("accept", ""))
        return "200 OK", content_type, encode(self.registry)


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict[str, str]]:
    """The request line's method and path, and the headers (names lower-cased)."""
    line = (await reader.readuntil(b"\r\n")).decode("latin-1")
    method, path, _ = line.split(" ", 2)
    headers: dict[str, str] = {}
    while (header := (await reader.readuntil(b"\r\n")).decode("latin-1")) != "\r\n":
        name, _, value = header.partition(":")
        headers[name.strip().lower()] = value.strip()
    return method, path, headers
