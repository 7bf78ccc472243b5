"""Starting and stopping an eager worker: the gRPC server, the runtime and its thread pool."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType

import grpclib.server

from .receiver import Receiver
from .runtime import Runtime, RuntimeOptions
from .security import Security
from .service import EagerService, WorkerHealth, WorkerService
from .transport import GrpcServer

__all__ = ["EagerServer", "serve"]

logger = logging.getLogger(__name__)


class EagerServer:
    """An EagerService worker listening on ``host:port`` (port 0 picks a free one).

    Use it as an async context manager, or call ``start()``, then ``close()`` and
    ``await wait_closed()``. ``security`` turns on TLS and authentication (None:
    plaintext, every caller anonymous). ``shutdown_grace``: seconds shutdown waits for
    running kernels before it leaves them behind.

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
        self.receiver = Receiver(self.runtime.options.limits)
        """Reads every request, under the limits (one budget for all services)."""
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
    def address(self) -> str:
        """``host:port``, ready for a gRPC client."""
        return f"{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind, start the runtime, and accept connections."""
        # First, so that a bad certificate or key leaves nothing started.
        tls = None if self.security is None else self.security.server_ssl_context()
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
            self._server = GrpcServer([
                EagerService(self.runtime, self.receiver),
                WorkerService(self.runtime, self.receiver),
                WorkerHealth(),
            ])  # fmt: skip
            if self.security is not None:
                self.security.install(self._server)
            await self._server.start(sock=sock, ssl=tls)
        except BaseException:
            sock.close()
            raise
        self._socket = sock
        logger.info("eager_async worker listening on %s", self.address)
        if self.security is not None:
            logger.info("security: %s", self.security)

    def close(self) -> None:
        """Begin shutting down: stop accepting, fail pending ops, cancel running RPCs."""
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self._shutdown())

    async def wait_closed(self) -> None:
        """Wait until the shutdown begun by ``close()`` has finished."""
        if self._closing is None:
            raise RuntimeError("call close() before wait_closed()")
        await self._closing

    async def _shutdown(self) -> None:
        # Contexts first, so RPCs waiting on ops end with CANCELLED rather than vanish.
        await self.runtime.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        # Threads still running a kernel finish it (loops stop at their next iteration,
        # their contexts closed); queued work is dropped. Kernels that outlast the grace
        # period are left running, and ``kernels_abandoned`` says so.
        await self._stop_kernels()
        if self._socket is not None:
            self._socket.close()
        logger.info("eager_async worker stopped")

    async def _stop_kernels(self) -> None:
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()

        def shut_down() -> None:
            self._pool.shutdown(wait=True, cancel_futures=True)
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
