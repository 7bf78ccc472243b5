"""A client session with one worker: a grpcio channel sending raw bytes, a context per
run, and the clocks a run is measured with.

>>> session = Session(target)                                     # doctest: +SKIP
>>> with context(session, is_async=False) as context_id:           # doctest: +SKIP
...     reply = session.call("Enqueue", enqueue_head(context_id) + body)
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import grpc

from . import workloads as w
from .worker import BenchError, Target

__all__ = ["Sample", "Session", "Stopwatch", "context"]

SERVICE = "/tensorflow.eager.EagerService/"
# A 64 MiB tensor is far above gRPC's 4 MB default; TF's own server sets no limit either.
# grpcio shares one connection among channels with the same target and options unless
# each keeps its own subchannel pool: --clients N means N connections.
_CHANNEL_OPTIONS = [("grpc.max_send_message_length", -1),
                    ("grpc.max_receive_message_length", -1),
                    ("grpc.use_local_subchannel_pool", 1)]


class Session:
    """A grpcio channel to one target with raw-bytes callables for the EagerService."""

    def __init__(self, target: Target, *, timeout: float = 600.0) -> None:
        self.target = target
        self.timeout = timeout
        self._channel = grpc.insecure_channel(target.address, options=_CHANNEL_OPTIONS)
        try:
            grpc.channel_ready_future(self._channel).result(timeout=30)
        except grpc.FutureTimeoutError:
            self._channel.close()
            raise BenchError(f"cannot connect to {target.label} at {target.address}") from None
        self._unary = {name: self._channel.unary_unary(SERVICE + name) for name in
                       ("CreateContext", "Enqueue", "WaitQueueDone", "CloseContext")}
        self._streaming = self._channel.stream_stream(SERVICE + "StreamingEnqueue")

    def call(self, method: str, payload: bytes) -> bytes:
        """One unary call; returns the serialized reply."""
        return self._unary[method](payload, timeout=self.timeout)  # type: ignore[no-any-return]

    def call_future(self, method: str, payload: bytes) -> Any:
        """One unary call, not waited for: a ``grpc.Future`` of the serialized reply."""
        return self._unary[method].future(payload, timeout=self.timeout)

    def stream(self, requests: Iterator[bytes]) -> Any:
        """A StreamingEnqueue call fed from ``requests``: an iterator of replies with
        ``cancel()``."""
        return self._streaming(requests, timeout=self.timeout)

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()


@dataclass(frozen=True, slots=True)
class Sample:
    """One timed run: its figure (in the scenario's unit), wall time, CPU used by the
    client process and (when known) the worker process while the clock ran, how far
    the worker's peak RSS rose above its RSS when the clock started (bytes), and the
    latency of each request the run timed (seconds)."""

    value: float
    seconds: float
    units: int
    client_cpu_s: float
    server_cpu_s: float | None
    parts: tuple[tuple[str, float], ...] = ()
    server_rss_rise: int | None = None
    latencies: tuple[float, ...] = ()


class Stopwatch:
    """Wall clock plus both processes' CPU clocks, read as close to the work as possible,
    and the worker's peak RSS in between. Several ``start()``/``stop()`` spans add up
    (a run of ``--duration`` is several passes, each with its own contexts); the RSS
    rise is the largest of any span."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self._client = self._wall = 0.0
        self._server0: float | None = None
        self._rss0: int | None = None
        self.seconds = self.client_cpu = 0.0
        self.server_cpu: float | None = None
        self.server_rss_rise: int | None = None
        self._server_known = True

    def start(self) -> None:
        """Read all three clocks and the worker's RSS: a span begins."""
        self._rss0 = self._target.reset_peak_rss()
        self._server0 = self._target.cpu_seconds()
        self._client = time.process_time()
        self._wall = time.perf_counter()

    def lap(self) -> float:
        """Seconds since ``start()``."""
        return time.perf_counter() - self._wall

    def stop(self) -> None:
        """Read all three clocks again: the span is over, and added to the totals."""
        self.seconds += time.perf_counter() - self._wall
        self.client_cpu += time.process_time() - self._client
        server1 = self._target.cpu_seconds()
        if self._server_known and self._server0 is not None and server1 is not None:
            self.server_cpu = (self.server_cpu or 0.0) + server1 - self._server0
        else:  # one unknown span makes the total unknown
            self._server_known, self.server_cpu = False, None
        peak = self._target.peak_rss()
        if self._rss0 is not None and peak is not None:
            self.server_rss_rise = max(self.server_rss_rise or 0, peak - self._rss0)

    def sample(self, value: float, units: int, latencies: tuple[float, ...] = (),
               **parts: float) -> Sample:
        """The run's Sample, with its figure ``value`` over ``units`` ops."""
        return Sample(value, self.seconds, units, self.client_cpu, self.server_cpu,
                      tuple(parts.items()), self.server_rss_rise, latencies)


@contextmanager
def context(session: Session, *, is_async: bool) -> Iterator[int]:
    """A fresh context on ``session``'s worker for the block; yields its id, closes it."""
    context_id = w.new_context_id()
    session.call("CreateContext",
                 w.create_context(context_id, session.target.address, is_async=is_async))
    try:
        yield context_id
    finally:
        with suppress(grpc.RpcError):
            session.call("CloseContext", w.close_context(context_id))
