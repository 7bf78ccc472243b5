"""Starting and stopping an eager worker: the gRPC server, the runtime and its thread pool."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType

import grpclib.server

from .access_log import AccessLog
from .calls import CallObserver, CallReceiver, CallWatcher
from .health import WorkerHealth
from .metrics import MetricsEndpoint, WorkerMetrics
from .receiver import Receiver
from .reflection import with_reflection
from .runtime import Runtime, RuntimeOptions
from .security import Security
from .service import EagerService, WorkerService
from .transport import GrpcServer

__all__ = ["EagerServer", "serve"]

logger = logging.getLogger(__name__)

_STATUS_GRACE = 5.0  # seconds shutdown waits for cancelled RPCs to send their statuses


class EagerServer:
    """An EagerService worker listening on ``host:port`` (port 0 picks a free one).

    Use it as an async context manager, or call ``start()``, then ``close()`` and
    ``await wait_closed()``. ``security`` turns on TLS and authentication (None:
    plaintext, every caller anonymous). ``shutdown_grace``: seconds shutdown waits for
    running kernels before it leaves them behind. ``metrics_port``: serve Prometheus
    metrics over HTTP on ``metrics_host`` (default: ``host``) at that port (0: a free
    one; None: no metrics). ``access_log``: log a line per RPC (``access_log``).

    >>> async with EagerServer(port=0) as server:   # doctest: +SKIP
    ...     print(server.address)
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        threads: int | None = None,
        options: RuntimeOptions | None = None,
        security: Security | None = None,
        shutdown_grace: float = 10.0,
        metrics_port: int | None = None,
        metrics_host: str | None = None,
        access_log: bool = False,
    ) -> None:
        self.host = host
        self.shutdown_grace = shutdown_grace
        self.kernels_abandoned = False
        """Whether shutdown left kernels running after ``shutdown_grace`` seconds (the
        process should then exit without waiting for its threads)."""
        self.security = security
        self._requested_port = port
        self._pool = ThreadPoolExecutor(
            max_workers=threads or min(32, (os.cpu_count() or 1) + 4),
            thread_name_prefix="eager-kernel",
        )
        self.runtime = Runtime(self._pool, options)
        # Only a watched RPC has a Call for the receiver to note its context and items on.
        watched = access_log or metrics_port is not None
        self.receiver = (CallReceiver if watched else Receiver)(self.runtime.options.limits)
        """Reads every request, under the limits (one budget for all services)."""
        self.metrics = (
            None if metrics_port is None else WorkerMetrics(self.runtime, self.receiver)
        )
        """The worker's Prometheus metrics (None without ``metrics_port``)."""
        self._metrics_address = (metrics_host or host, metrics_port or 0)
        self._metrics_endpoint: MetricsEndpoint | None = None
        observers: list[CallObserver] = [AccessLog()] if access_log else []
        if self.metrics is not None:
            observers.append(self.metrics)
        self._call_watcher = CallWatcher(observers) if observers else None
        self.health = WorkerHealth()
        """The worker's ``grpc.health.v1.Health``: SERVING once started, NOT_SERVING from
        the moment shutdown begins."""
        self._server: grpclib.server.Server | None = None
        self._socket: socket.socket | None = None
        self._closing: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The port the server listens on (known once started)."""
        if self._socket is None:
            raise RuntimeError("the server is not started")
        return int(self._socket.getsockname()[1])

    @property
    def metrics_port(self) -> int:
        """The port the metrics endpoint listens on (known once started)."""
        if self._metrics_endpoint is None:
            raise RuntimeError("the server serves no metrics, or is not started")
        return self._metrics_endpoint.port

    @property
    def address(self) -> str:
        """``host:port``, ready for a gRPC client."""
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind, start the runtime, and accept connections."""
        # First, so that a bad certificate or key leaves nothing started.
        tls = None if self.security is None else self.security.server_ssl_context()
        if self.metrics is not None:
            self._metrics_endpoint = MetricsEndpoint(self.metrics.registry)
            await self._metrics_endpoint.start(*self._metrics_address)
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only
        # when the socket says TCP, and without it every reply waits ~40 ms (Nagle plus
        # delayed ACKs).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._requested_port))
            await self.runtime.start()
            # grpclib binds a server to the loop current at construction: build it here,
            # inside the loop that will run it.
            self._server = GrpcServer(with_reflection([
                EagerService(self.runtime, self.receiver),
                WorkerService(self.runtime, self.receiver),
                self.health,
            ]))  # fmt: skip
            if self._call_watcher is not None:  # first: it sees the RPCs security refuses
                self._call_watcher.install(self._server)
            if self.security is not None:
                self.security.install(self._server)
            await self._server.start(sock=sock, ssl=tls)
        except BaseException:
            sock.close()
            if self._metrics_endpoint is not None:
                self._metrics_endpoint.close()
                await self._metrics_endpoint.wait_closed()
            raise
        self._socket = sock
        self.health.set_serving(True)
        logger.info("eager_async worker listening on %s", self.address)
        if self.security is not None:
            logger.info("security: %s", self.security)

    def close(self) -> None:
        """Begin shutting down: health NOT_SERVING, stop accepting connections, fail
        pending ops with CANCELLED, end running RPCs with CANCELLED, stop the kernels."""
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._shutdown())

    async def wait_closed(self) -> None:
        """Wait until the shutdown begun by ``close()`` has finished."""
        if self._closing is None:
            raise RuntimeError("call close() before wait_closed()")
        await self._closing

    async def _shutdown(self) -> None:
        # The order docs/operations-lifecycle.md gives. Health first, so that balancers
        # and probes send no more work; then no new connection.
        self.health.set_serving(False)
        if self._server is not None and self._server._server is not None:
            # grpclib's close() would also cancel every running RPC, before the contexts
            # below tell theirs why: its listener alone, first.
            self._server._server.close()
        # Contexts next, so RPCs waiting on ops end with their ops' CANCELLED; close()
        # then cancels those still running, which end with CANCELLED too (service.py).
        await self.runtime.close()
        if self._server is not None:
            self._server.close()
            try:
                await asyncio.wait_for(self._server.wait_closed(), _STATUS_GRACE)
            except TimeoutError:
                # A client that stopped reading its socket keeps its RPCs from writing their
                # statuses: they end with the event loop, not hold the shutdown.
                logger.warning(
                    "RPCs could not send their CANCELLED status within %g s; leaving them",
                    _STATUS_GRACE,
                )
        # Threads still running a kernel finish it (loops stop at their next iteration,
        # their contexts closed); queued work is dropped. Kernels that outlast the grace
        # period are left running, and ``kernels_abandoned`` says so.
        await self._stop_kernels()
        if self._metrics_endpoint is not None:
            self._metrics_endpoint.close()
            await self._metrics_endpoint.wait_closed()
        if self._socket is not None:
            self._socket.close()
        logger.info("eager_async worker stopped")

    async def _stop_kernels(self) -> None:
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()

        def shut_down() -> None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            # A kernel left behind may end after the loop has closed: nobody waits then.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopped.set)

        # A daemon thread of our own, not the loop's executor, which the loop's owner
        # would wait for, kernel or not.
        threading.Thread(target=shut_down, name="eager-shutdown", daemon=True).start()
        try:
            await asyncio.wait_for(stopped.wait(), self.shutdown_grace)
        except TimeoutError:
            self.kernels_abandoned = True
            logger.warning(
                "kernels still running %g s after shutdown began; leaving them behind",
                self.shutdown_grace,
            )

    async def __aenter__(self) -> EagerServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        await self.wait_closed()


def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    threads: int | None = None,
    options: RuntimeOptions | None = None,
    security: Security | None = None,
) -> EagerServer:
    """An unstarted worker, to run as ``async with eager_async.serve(port=0) as server:``."""
    return EagerServer(host, port, threads=threads, options=options, security=security)
