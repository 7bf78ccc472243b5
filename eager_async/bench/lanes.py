"""Lanes: a tiny-op run's contexts, each on one connection with the requests it sends,
and the ways a lane sends them: closed loop (each scenario's own way) or open loop (on a
schedule, whatever the replies).

Every Enqueue's latency is recorded by the client: from sending it (closed loop) or from
the time the schedule gave it (open loop), to its reply. Several lanes run at once on
threads released together, so the run's clock covers their sends and nothing else.

>>> with opened_lanes(sessions, 4, is_async=True, bodies=bodies) as lanes:   # doctest: +SKIP
...     drive(lanes, "async-unary", rate=None, k=1, watch=watch)
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import grpc

from . import workloads as w
from .session import Session, Stopwatch
from .worker import BenchError

__all__ = ["ASYNC_CONTEXT", "Lane", "Schedule", "drive", "opened_lanes"]

ASYNC_CONTEXT = frozenset({"async-unary", "async-stream", "many-contexts"})
_UNARY = frozenset({"sync-unary", "async-unary", "many-contexts"})


@dataclass(slots=True)
class Lane:
    """One context on one session, the requests it sends in a pass, and what came back:
    every reply, and every Enqueue's latency in seconds."""

    session: Session
    context_id: int
    payloads: list[bytes]
    latencies: list[float] = field(default_factory=list)
    replies: list[bytes] = field(default_factory=list)

    def wait_queue_done(self) -> None:
        """Block until the worker has run every op the lane sent."""
        self.session.call("WaitQueueDone", w.wait_queue_done(self.context_id))

    def replied_ops(self) -> int:
        """Ops the worker answered for, counted from every reply."""
        return sum(map(w.replied_items, self.replies))


@dataclass(frozen=True, slots=True)
class Schedule:
    """When an open-loop lane sends its requests: request ``i`` at ``start + i *
    interval`` (``time.perf_counter`` seconds).

    >>> Schedule(10.0, 0.5).due(4)
    12.0
    """

    start: float
    interval: float

    def due(self, index: int) -> float:
        """When request ``index`` is to be sent."""
        return self.start + index * self.interval


def _sleep_until(due: float) -> None:
    delay = due - time.perf_counter()
    if delay > 0:
        time.sleep(delay)


def _unary(lane: Lane) -> None:
    call = lane.session.call
    for payload in lane.payloads:
        sent = time.perf_counter()
        lane.replies.append(call("Enqueue", payload))
        lane.latencies.append(time.perf_counter() - sent)
    lane.wait_queue_done()


def _stream(lane: Lane, schedule: Schedule | None) -> None:
    """StreamingEnqueue pipelined: every request sent as soon as gRPC takes it, or when
    ``schedule`` says, replies read as they come."""
    sent: list[float] = []

    def requests() -> Iterator[bytes]:
        for index, payload in enumerate(lane.payloads):
            if schedule is None:
                sent.append(time.perf_counter())
            else:
                sent.append(schedule.due(index))
                _sleep_until(sent[-1])
            yield payload

    responses = lane.session.stream(requests())
    try:
        # TF's worker never ends the stream after the client half-closes: stop at the last
        # reply, and cancel. Replies come in request order, each after its request left.
        for reply in responses:
            lane.latencies.append(time.perf_counter() - sent[len(lane.replies)])
            lane.replies.append(reply)
            if len(lane.replies) == len(lane.payloads):
                break
        lane.wait_queue_done()
    finally:
        responses.cancel()
    if len(lane.replies) != len(lane.payloads):
        raise BenchError(f"StreamingEnqueue ended after {len(lane.replies)} of "
                         f"{len(lane.payloads)} replies")


def _lockstep(lane: Lane) -> None:
    outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()

    def requests() -> Iterator[bytes]:
        while (payload := outbox.get()) is not None:
            yield payload

    responses = lane.session.stream(requests())
    try:
        for payload in lane.payloads:
            sent = time.perf_counter()
            outbox.put(payload)
            reply = next(responses, None)
            if reply is None:
                raise BenchError("StreamingEnqueue ended before all requests were answered")
            lane.latencies.append(time.perf_counter() - sent)
            lane.replies.append(reply)
        lane.wait_queue_done()
    finally:
        outbox.put(None)
        responses.cancel()


def _scheduled_unary(lane: Lane, schedule: Schedule) -> None:
    """Unary Enqueues sent on ``schedule`` without waiting for replies."""
    answered = threading.Semaphore(0)

    def record(due: float, _future: Any) -> None:
        lane.latencies.append(time.perf_counter() - due)
        answered.release()

    futures = []
    for index, payload in enumerate(lane.payloads):
        due = schedule.due(index)
        _sleep_until(due)
        future = lane.session.call_future("Enqueue", payload)
        future.add_done_callback(partial(record, due))
        futures.append(future)
    # gRPC may run a done callback just after result() returns: wait for every one.
    for _ in futures:
        answered.acquire()
    lane.replies.extend(future.result() for future in futures)
    lane.wait_queue_done()


_CLOSED_LOOP: dict[str, Callable[[Lane], None]] = {
    "sync-unary": _unary, "async-unary": _unary, "many-contexts": _unary,
    "async-stream": partial(_stream, schedule=None), "sync-stream": _lockstep,
}


def _send(lane: Lane, scenario: str, schedule: Schedule | None) -> None:
    if schedule is None:
        _CLOSED_LOOP[scenario](lane)
    elif scenario in _UNARY:
        _scheduled_unary(lane, schedule)
    else:
        _stream(lane, schedule)


@contextmanager
def opened_lanes(sessions: Sequence[Session], count: int, *, is_async: bool,
                 bodies: Sequence[bytes]) -> Iterator[list[Lane]]:
    """``count`` fresh contexts spread over ``sessions`` in turn, each holding the seed
    handle and given every body as a request; closed when the block exits."""
    lanes: list[Lane] = []
    try:
        # One CreateContext at a time: TensorFlow 2.21's worker segfaults on ops sent to
        # contexts whose CreateContext calls overlapped (seeds and closes may overlap).
        for index in range(count):
            session = sessions[index % len(sessions)]
            context_id = w.new_context_id()
            lanes.append(Lane(session, context_id, []))
            session.call("CreateContext",
                         w.create_context(context_id, session.target.address, is_async=is_async))
        seeded = []
        for lane in lanes:
            head = w.enqueue_head(lane.context_id)
            seeded.append(lane.session.call_future("Enqueue", head + w.seed_body()))
            lane.payloads = [head + body for body in bodies]
        for future in seeded:
            future.result()
        yield lanes
    finally:
        closing = [lane.session.call_future("CloseContext", w.close_context(lane.context_id))
                   for lane in lanes]
        for future in closing:
            # A context that was never created, or a worker already gone: nothing to close.
            with suppress(grpc.RpcError):
                future.result()


def drive(lanes: Sequence[Lane], scenario: str, *, rate: float | None, k: int,
          watch: Stopwatch) -> None:
    """Send every lane's requests the way ``scenario`` names (or on a schedule of
    ``rate`` ops/s over all lanes, staggered evenly), all lanes at once, timed by
    ``watch``. Raises the first lane's error, after every lane has stopped."""
    interval = None if rate is None else k * len(lanes) / rate

    def schedule(index: int, start: float) -> Schedule | None:
        return None if interval is None else Schedule(start + index * interval / len(lanes),
                                                      interval)

    if len(lanes) == 1:
        watch.start()
        _send(lanes[0], scenario, schedule(0, time.perf_counter()))
        watch.stop()
        return
    go = threading.Barrier(len(lanes) + 1)
    started: list[float] = []
    errors: list[BaseException] = []

    def work(index: int, lane: Lane) -> None:
        go.wait()
        try:
            _send(lane, scenario, schedule(index, started[0]))
        except BaseException as error:  # re-raised by drive() once every lane is done
            errors.append(error)

    threads = [threading.Thread(target=work, args=(index, lane), name=f"bench-lane-{index}")
               for index, lane in enumerate(lanes)]
    for thread in threads:
        thread.start()
    watch.start()
    started.append(time.perf_counter())
    go.wait()
    for thread in threads:
        thread.join()
    watch.stop()
    if errors:
        raise errors[0]
