"""Running the workloads: each scenario's runs, and the alternation of targets run by run.

The client is grpcio's sync API with raw bytes both ways (no serializers), and every
request is serialized before its clock starts, so the figures are the worker's, not the
client's. A run creates its own contexts and closes them afterwards; how a tiny-op run
sends is in ``lanes``.

>>> points = run_jobs([[session]], make_jobs(["sync-unary"], Sizes()), 3)   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import grpc
import numpy as np

from . import workloads as w
from .lanes import ASYNC_CONTEXT, drive, opened_lanes
from .options import Load
from .progress import Progress
from .session import Sample, Session, Stopwatch, context
from .worker import BenchError

__all__ = ["Job", "Point", "make_jobs", "run_jobs", "warm_up"]

ONE_AT_A_TIME = Load()


def run_tiny(sessions: Sequence[Session], scenario: str, bodies: list[bytes], k: int, *,
             lanes: int = 1, load: Load = ONE_AT_A_TIME) -> dict[str, Sample]:
    """AddV2 ops, ``k`` per request, sent the way ``scenario`` names by ``lanes`` contexts
    at once (spread over ``sessions``), each sending every body; ops/s. With
    ``load.duration``, passes (each with fresh contexts) repeat until that much timed
    work. Every reply is counted: a run whose worker answered for fewer ops fails."""
    watch = Stopwatch(sessions[0].target)
    ops, latencies = 0, []
    while True:
        with opened_lanes(sessions, lanes, is_async=scenario in ASYNC_CONTEXT,
                          bodies=bodies) as opened:
            drive(opened, scenario, rate=load.rate, k=k, watch=watch)
        for lane in opened:
            if lane.replied_ops() != len(bodies) * k:
                raise BenchError(f"{len(bodies)} Enqueues of {k} ops got responses for "
                                 f"{lane.replied_ops()} ops")
            ops += len(bodies) * k
            latencies.extend(lane.latencies)
        if load.duration is None or watch.seconds >= load.duration:
            break
    return {scenario: watch.sample(ops / watch.seconds, ops, tuple(latencies))}


def run_matmul(sessions: Sequence[Session], setup: bytes, chain: bytes, fetch: bytes,
               expected_bytes: int, duration: float | None = None) -> dict[str, Sample]:
    """The MatMul chain in one sync Enqueue, then the fetch of its result; seconds per
    chain (repeated, each in a fresh context, until ``duration`` seconds of them). The
    latency recorded is the chain's Enqueue."""
    session = sessions[0]
    watch = Stopwatch(session.target)
    chains, chain_s, latencies = 0, 0.0, []
    while True:
        with context(session, is_async=False) as context_id:
            head = w.enqueue_head(context_id)
            session.call("Enqueue", head + setup)
            chain_payload, fetch_payload = head + chain, head + fetch
            watch.start()
            session.call("Enqueue", chain_payload)
            latencies.append(watch.lap())
            reply = session.call("Enqueue", fetch_payload)
            watch.stop()
        if w.fetched_bytes(reply) != expected_bytes:
            raise BenchError(f"the fetch returned {w.fetched_bytes(reply)} bytes, "
                             f"not {expected_bytes}")
        chains, chain_s = chains + 1, chain_s + latencies[-1]
        if duration is None or watch.seconds >= duration:
            break
    return {"matmul": watch.sample(watch.seconds / chains, chains, tuple(latencies),
                                   chain_s=chain_s / chains,
                                   fetch_s=(watch.seconds - chain_s) / chains)}


def run_transfer(sessions: Sequence[Session], push: bytes, pull: bytes, nbytes: int,
                 duration: float | None = None) -> dict[str, Sample]:
    """One big tensor pushed by send_tensor, then pulled by Identity with id -1; MB/s
    (repeated, each in a fresh context, until ``duration`` seconds of both)."""
    session = sessions[0]
    pushed, pulled = Stopwatch(session.target), Stopwatch(session.target)
    times, push_latencies, pull_latencies = 0, [], []
    while True:
        with context(session, is_async=False) as context_id:
            head = w.enqueue_head(context_id)
            payload = head + push
            pushed.start()
            session.call("Enqueue", payload)
            push_latencies.append(pushed.lap())
            pushed.stop()
            del payload
            payload = head + pull
            pulled.start()
            reply = session.call("Enqueue", payload)
            pull_latencies.append(pulled.lap())
            pulled.stop()
            del payload
        if w.fetched_bytes(reply) != nbytes:
            raise BenchError(f"the pull returned {w.fetched_bytes(reply)} bytes, not {nbytes}")
        times += 1
        if duration is None or pushed.seconds + pulled.seconds >= duration:
            break
    megabytes = nbytes / 1e6 * times
    return {"push": pushed.sample(megabytes / pushed.seconds, times, tuple(push_latencies)),
            "pull": pulled.sample(megabytes / pulled.seconds, times, tuple(pull_latencies))}


@dataclass(frozen=True, slots=True)
class Job:
    """A unit of work run ``repeat`` times against each target; yields one Sample for
    each scenario it names."""

    label: str
    scenarios: tuple[str, ...]
    k: int | None
    ops: int | None
    run: Callable[[Sequence[Session]], dict[str, Sample]]


def make_jobs(scenarios: Sequence[str], sizes: w.Sizes,
              load: Load = ONE_AT_A_TIME) -> list[Job]:
    """The jobs for ``scenarios``, with every request body built now. A job's ``ops`` is
    what one pass sends (a ``--duration`` run sends whole passes until its time is up)."""
    jobs: list[Job] = []
    bodies: dict[int, list[bytes]] = {}
    for name in (s for s in w.TINY if s in scenarios):
        for k in sizes.batch_sizes:
            if k not in bodies:
                bodies[k] = w.tiny_bodies(sizes.ops_for(k), k)
            jobs.append(Job(f"{name} K={k}", (name,), k, load.lanes * len(bodies[k]) * k,
                            partial(run_tiny, scenario=name, bodies=bodies[k], k=k,
                                    lanes=load.lanes, load=load)))
    if "many-contexts" in scenarios:
        per_context = w.tiny_bodies(sizes.ops_per_context, 1)
        jobs.append(Job(f"many-contexts {sizes.many_contexts}x{sizes.ops_per_context}",
                        ("many-contexts",), 1, sizes.many_contexts * len(per_context),
                        partial(run_tiny, scenario="many-contexts", bodies=per_context, k=1,
                                lanes=sizes.many_contexts, load=load)))
    if "matmul" in scenarios:
        n, length = sizes.matmul_n, sizes.matmul_chain
        jobs.append(Job(f"matmul {length}x{n}x{n}", ("matmul",), None, length, partial(
            run_matmul, setup=w.send_body(1, w.matrix(n)), chain=w.matmul_chain_body(length),
            fetch=w.fetch_body(length + 1), expected_bytes=n * n * 4,
            duration=load.duration)))
    transfer = tuple(s for s in ("push", "pull") if s in scenarios)
    if transfer:
        elements = sizes.transfer_mib * 2**20 // 4
        tensor = np.arange(elements, dtype=np.float32)
        jobs.append(Job(f"push/pull {sizes.transfer_mib} MiB", transfer, None, None, partial(
            run_transfer, push=w.send_body(1, tensor), pull=w.fetch_body(1),
            nbytes=tensor.nbytes, duration=load.duration)))
    return jobs


@dataclass(slots=True)
class Point:
    """All runs of one scenario (at one batch size), by target role, and each role's error
    if its runs failed."""

    scenario: w.Scenario
    k: int | None
    ops: int | None
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def warm_up(sessions: Sequence[Session]) -> None:
    """A few untimed runs on every connection, so first-call costs (imports, caches,
    connections) stay out of the figures."""
    for session in sessions:
        for scenario in ("sync-unary", "async-stream"):
            run_tiny([session], scenario, w.tiny_bodies(200, 100), 100)
    run_matmul(sessions, w.send_body(1, w.matrix(64)), w.matmul_chain_body(2),
               w.fetch_body(3), 64 * 64 * 4)


def run_jobs(targets: Sequence[Sequence[Session]], jobs: Sequence[Job], repeat: int,
             progress: Progress | None = None) -> list[Point]:
    """Run every job ``repeat`` times, alternating targets run by run (ours, theirs, ours,
    ...) so drift in the machine's load hits both alike; each target is given all its
    sessions (one per ``--clients`` connection). A target whose run fails is skipped for
    the rest of that job and its error recorded."""
    points = {(name, job.k): Point(w.SCENARIOS[name], job.k, job.ops)
              for job in jobs for name in job.scenarios}
    for job in jobs:
        failed: set[str] = set()
        for run in range(repeat):
            for sessions in targets:
                target = sessions[0].target
                role = target.role
                if progress is not None:
                    progress.step(f"{job.label} {target.label} ({run + 1}/{repeat})")
                if role in failed:
                    continue
                try:
                    samples = job.run(sessions)
                except (grpc.RpcError, BenchError) as error:
                    failed.add(role)
                    for name in job.scenarios:
                        points[name, job.k].errors[role] = _describe(error)
                    continue
                for name in job.scenarios:
                    points[name, job.k].samples.setdefault(role, []).append(samples[name])
    return list(points.values())


def _describe(error: BaseException) -> str:
    code = getattr(error, "code", None)
    if callable(code):
        return f"{code().name}: {error.details()}"  # type: ignore[attr-defined]
    return str(error)
