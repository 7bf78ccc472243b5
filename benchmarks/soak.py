"""A soak of an eager_async worker: N client contexts of mixed traffic for M minutes
against a worker in its own process, watching its memory, contexts and handles.

    python benchmarks/soak.py --contexts 50 --minutes 10 --json bench-results/soak.json

The worker is benchmarks/soak_worker.py (``EagerServer`` as ``serve`` runs it, reporting
its live contexts, handles, accounted tensor bytes, garbage collections and glibc malloc
figures every second); the traffic is benchmarks/soak_traffic.py. Every second the
worker's RSS, threads and file descriptors are read (psutil) beside what it reported.
After the traffic, every slot releases its handles (handles and tensor bytes must fall to
0 with the contexts still open), then closes its context (contexts too must fall to 0).

RSS verdict, MB = 10**6 bytes. W, the warm-up, is max(30 s, 20% of the traffic time T)
unless ``--warmup`` says otherwise; B = min(60 s, (T - W) / 2) is the window length.

- baseline: the median RSS of [W, W + B), the first window after the warm-up;
- drift: the median RSS of the last window [T - B, T] is within +-tolerance of baseline;
- peak: the maximum RSS of that last window is at most baseline * (1 + tolerance);
- slope: a least-squares line through the RSS of the second half [max(T/2, W), T], in
  MB/min; the growth it projects over that half is at most tolerance * baseline.

A run with less than 20 s after its warm-up skips the RSS verdict (it is reported, not
judged). The run fails (exit 1) on any failed check: a fetched value differing from NumPy,
an RPC error the scenario does not expect, handles or contexts left at the end, an error
logged by the worker or a worker that did not exit 0; exit 2 if the worker did not start.

At the very end the worker runs a full garbage collection (``gc.collect()``): what it
finds, and the RSS after it, tell cycles the collector had not reached yet from a leak.
malloc's bytes in use and freed-but-kept, beside RSS, tell C allocations (NumPy buffers,
protobuf arenas) and fragmentation from Python objects (pymalloc's arenas count in RSS
only).

``--trace-malloc N`` runs the worker under tracemalloc (N frames; slower, more memory):
a snapshot at the end of the warm-up, compared with one at the end of the traffic, one
after every context closed and one after that full collection; the sites that grew most
are printed and written to the JSON. Snapshots take memory in the worker: under
tracemalloc its RSS is no measure (and the RSS checks usually fail).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import re
import signal
import statistics
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from soak_traffic import Counters, Plan, Slot, profiles

WORKER_SCRIPT = Path(__file__).with_name("soak_worker.py")
MB = 1e6
_PROBLEM = re.compile(r"\b(ERROR|CRITICAL)\b|^Exception ignored|^Traceback")


class SoakError(Exception):
    """The soak could not run: the worker did not start or stopped reporting."""


@dataclass(slots=True)
class Sample:
    """One second of the worker: what psutil saw and what it last reported."""

    t: float
    phase: str
    rss: int
    threads: int
    fds: int
    cpu_s: float
    contexts: int | None
    handles: int | None
    tasks: int | None
    tensor_bytes: int | None
    gc: list[int] | None
    malloc: dict[str, int] | None
    traced: int | None


@dataclass(slots=True)
class Worker:
    """The worker process, its reports and its log."""

    process: asyncio.subprocess.Process
    address: str
    pid: int
    stats: dict[str, Any] = field(default_factory=dict)
    stats_at: float = 0.0
    reported: asyncio.Event = field(default_factory=asyncio.Event)
    replies: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    log_tail: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    problems: list[str] = field(default_factory=list)
    warnings: int = 0

    @classmethod
    async def start(cls, args: argparse.Namespace) -> Worker:
        command = [sys.executable, str(WORKER_SCRIPT), "--port", "0"]
        if args.threads:
            command += ["--threads", str(args.threads)]
        if args.trace_malloc:
            command += ["--trace-malloc", str(args.trace_malloc)]
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, limit=1 << 22)
        assert process.stdout is not None and process.stderr is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            hello = json.loads(line) if line else {}
        except (TimeoutError, ValueError):
            hello = {}
        if "listening" not in hello:
            process.kill()
            log = (await process.stderr.read()).decode(errors="replace")
            await process.wait()
            raise SoakError(f"the worker did not start:\n{log[-4000:]}")
        return cls(process, hello["listening"], hello["pid"])

    async def read_stdout(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            record = json.loads(line)
            if "reply" in record:
                await self.replies.put(record["reply"])
            else:
                self.stats, self.stats_at = record, time.monotonic()
                self.reported.set()
                self.reported = asyncio.Event()

    async def read_stderr(self) -> None:
        assert self.process.stderr is not None
        while line := (await self.process.stderr.readline()).decode(errors="replace"):
            self.log_tail.append(line.rstrip())
            if _PROBLEM.search(line):
                self.problems.append(line.rstrip()[:300])
            elif " WARNING " in line:
                self.warnings += 1

    async def wait_stats(self, done: Callable[[dict[str, Any]], bool], *, after: float,
                         timeout: float) -> dict[str, Any]:
        """The first report made after ``after`` for which ``done`` holds, or the last one
        when ``timeout`` runs out first."""
        deadline = time.monotonic() + timeout
        while not (self.stats_at > after and done(self.stats)):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self.reported.wait(), remaining)
            except TimeoutError:
                break
        if self.stats_at <= after:
            raise SoakError("the worker stopped reporting")
        return self.stats

    async def command(self, command: str) -> dict[str, Any]:
        """Send a command (soak_worker.py) and return its reply."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{command}\n".encode())
        await self.process.stdin.drain()
        return await asyncio.wait_for(self.replies.get(), 300)

    async def stop(self) -> int:
        """SIGTERM, then SIGKILL after 30 s; the exit status."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 30)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        assert self.process.returncode is not None
        return self.process.returncode


class Timeline:
    """Seconds since the traffic began, and the phase the run is in."""

    def __init__(self) -> None:
        self.origin = time.monotonic()
        self.phase = "warm-up"

    def now(self) -> float:
        return time.monotonic() - self.origin

    async def until(self, t: float) -> None:
        await asyncio.sleep(max(0.0, t - self.now()))


async def _sample_forever(worker: Worker, timeline: Timeline, samples: list[Sample],
                          stop: asyncio.Event) -> None:
    process = psutil.Process(worker.pid)
    while not stop.is_set():
        try:
            with process.oneshot():
                cpu = process.cpu_times()
                sample = Sample(
                    round(timeline.now(), 3), timeline.phase, process.memory_info().rss,
                    process.num_threads(), process.num_fds(), cpu.user + cpu.system,
                    worker.stats.get("contexts"), worker.stats.get("handles"),
                    worker.stats.get("tasks"), worker.stats.get("tensor_bytes"),
                    worker.stats.get("gc"), worker.stats.get("malloc"),
                    worker.stats.get("traced"))
        except psutil.NoSuchProcess:
            return
        samples.append(sample)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


def _total(slots: list[Slot]) -> Counters:
    total = Counters()
    for slot in slots:
        total += slot.counters
    return total


def _progress(timeline: Timeline, end: float, slots: list[Slot],
              samples: list[Sample]) -> None:
    total = _total(slots)
    last = samples[-1] if samples else None
    rss = f"{last.rss / MB:.1f} MB" if last else "-"
    print(f"[{timeline.now():4.0f}/{end:.0f} s {timeline.phase}] iterations "
          f"{total.iterations:,} | RSS {rss} | contexts {last and last.contexts} | handles "
          f"{last and last.handles} | mismatches {total.mismatches} | unexpected errors "
          f"{sum(total.unexpected_errors.values())}", file=sys.stderr, flush=True)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Start the worker, run the traffic, drain, close; everything the report needs."""
    end = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else max(30.0, 0.2 * end)
    plan = Plan(pause=args.pause, expire_active=min(Plan().expire_active, end / 5))
    worker = await Worker.start(args)
    host, _, port = worker.address.rpartition(":")
    samples: list[Sample] = []
    slots: list[Slot] = []
    traces: list[dict[str, Any]] = []
    result: dict[str, Any] = {"address": worker.address, "pid": worker.pid,
                              "warmup_s": warmup, "traffic_s": end}
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(worker.read_stdout())
            group.create_task(worker.read_stderr())
            await worker.wait_stats(lambda s: True, after=0.0, timeout=30)
            timeline = Timeline()
            sampling = asyncio.Event()
            group.create_task(_sample_forever(worker, timeline, samples, sampling))
            slots = [Slot(profile, host, int(port), plan, started=timeline.origin,
                          seed=args.seed * 1000 + profile.slot)
                     for profile in profiles(args.contexts)]
            stop = asyncio.Event()
            if args.trace_malloc and warmup >= end:  # no warm-up to wait for
                await worker.command("snapshot the start of the traffic")
            traffic = [group.create_task(slot.traffic(stop)) for slot in slots]
            every = min(60.0, max(5.0, end / 10))
            checkpoints = sorted({*(every * i for i in range(1, int(end / every) + 1)),
                                  warmup if warmup < end else end, end})
            for t in checkpoints:
                await timeline.until(t)
                if t == warmup:
                    timeline.phase = "traffic"
                    if args.trace_malloc:
                        await worker.command("snapshot the end of the warm-up")
                if t < end:
                    _progress(timeline, end, slots, samples)
            timeline.phase = "release"
            stop.set()
            await asyncio.gather(*traffic)
            released = time.monotonic()
            result["after_release"] = await worker.wait_stats(
                lambda s: s["handles"] == 0 and not s.get("tensor_bytes"), after=released,
                timeout=15)
            result["release_s"] = round(timeline.now() - end, 3)
            if args.trace_malloc:
                traces.append(await worker.command("compare end of traffic"))
            timeline.phase = "closed"
            await asyncio.gather(*(slot.close() for slot in slots))
            closed = time.monotonic()
            result["after_close"] = await worker.wait_stats(
                lambda s: s["contexts"] == 0 and s["handles"] == 0 and not s.get("tensor_bytes"),
                after=closed, timeout=15)
            await asyncio.sleep(2.5)  # a few samples of the closed worker
            if args.trace_malloc:
                traces.append(await worker.command("compare after close"))
            # What only a full collection frees (reference cycles) is garbage, not a
            # leak, but the worker's collector thresholds may leave it for long.
            timeline.phase = "collected"
            result["collect"] = await worker.command("collect")
            await asyncio.sleep(2.5)
            if args.trace_malloc:
                traces.append(await worker.command("compare after close and gc.collect()"))
            _progress(timeline, end, slots, samples)
            sampling.set()
            result["exit_status"] = await worker.stop()
    finally:
        if worker.process.returncode is None:
            await worker.stop()
    result.update(counters=_total(slots), samples=samples, traces=traces,
                  problems=worker.problems, warnings=worker.warnings,
                  log_tail=list(worker.log_tail), profiles=[p.profile for p in slots])
    return result


def rss_verdict(samples: list[tuple[float, int]], warmup: float, end: float,
                tolerance: float) -> dict[str, Any]:
    """The RSS figures and checks of the module docstring, from (t, rss) samples of the
    traffic (t in seconds since it began)."""
    rss = [r for _, r in samples]
    figures: dict[str, Any] = {
        "start_mb": rss[0] / MB if rss else None,
        "max_mb": max(rss) / MB if rss else None,
        "checked": False,
    }
    window = min(60.0, (end - warmup) / 2)
    if window < 10.0:
        figures["reason"] = (f"run too short: {max(0.0, end - warmup):.0f} s after a "
                             f"{warmup:.0f} s warm-up, the RSS verdict needs 20 s")
        return figures
    first = [r for t, r in samples if warmup <= t < warmup + window]
    last = [r for t, r in samples if end - window <= t <= end]
    half_start = max(end / 2, warmup)
    half = [(t, r) for t, r in samples if half_start <= t <= end]
    if not first or not last or len(half) < 3:
        figures["reason"] = "too few samples"
        return figures
    baseline, end_median, end_max = statistics.median(first), statistics.median(last), max(last)
    fit = statistics.linear_regression([t for t, _ in half], [r for _, r in half])
    slope = fit.slope * 60 / MB  # MB/min
    projected = slope * (end - half_start) / 60
    figures.update(
        checked=True, window_s=window, baseline_mb=baseline / MB, end_median_mb=end_median / MB,
        end_max_mb=end_max / MB, drift=end_median / baseline - 1, peak=end_max / baseline - 1,
        slope_mb_per_min=slope, slope_projected_mb=projected,
        slope_limit_mb=tolerance * baseline / MB,
    )
    figures["checks"] = {
        "drift": abs(figures["drift"]) <= tolerance,
        "peak": figures["peak"] <= tolerance,
        "slope": projected <= tolerance * baseline / MB,
    }
    return figures


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _latency(counters: Counters, start: float, stop: float) -> dict[str, float | None]:
    values = [s * 1e3 for t, s in counters.latencies if start <= t <= stop]
    return {"p50_ms": _percentile(values, 0.5), "p99_ms": _percentile(values, 0.99),
            "n": len(values)}


def report(args: argparse.Namespace, result: dict[str, Any]) -> dict[str, Any]:
    """The JSON document: meta, totals, RSS figures, worker figures, checks."""
    counters: Counters = result["counters"]
    samples: list[Sample] = result["samples"]
    end, warmup = result["traffic_s"], result["warmup_s"]
    traffic = [(s.t, s.rss) for s in samples if s.t <= end]
    rss = rss_verdict(traffic, warmup, end, args.tolerance)
    for phase in ("closed", "collected"):
        last = [s for s in samples if s.phase == phase]
        rss[f"after_{phase}_mb"] = last[-1].rss / MB if last else None
    rss["malloc_mb"] = _malloc_figures(samples, warmup, end)
    rss["end_mb"] = traffic[-1][1] / MB if traffic else None
    window = rss.get("window_s", min(60.0, end / 4))
    after_release, after_close = result["after_release"], result["after_close"]
    unexpected = sum(counters.unexpected_errors.values())
    checks = [
        ("values match NumPy", counters.mismatches == 0 and counters.fetches > 0,
         f"{counters.fetches:,} fetches checked, {counters.mismatches} mismatches"),
        ("no unexpected RPC errors", unexpected == 0,
         ", ".join(f"{k} {v}" for k, v in sorted(counters.unexpected_errors.items())) or "none"),
        ("handles back to 0 once released (contexts still open)",
         after_release["handles"] == 0,
         f"{after_release['handles']} handles, {after_release['contexts']} contexts"),
        ("contexts and handles back to 0 after close",
         after_close["contexts"] == 0 and after_close["handles"] == 0,
         f"{after_close['contexts']} contexts, {after_close['handles']} handles"),
        ("worker logged no errors and exited 0",
         not result["problems"] and result.get("exit_status") == 0,
         f"{len(result['problems'])} error lines, exit status {result.get('exit_status')}"),
    ]
    if "tensor_bytes" in after_close:
        checks.append(("tensor bytes the worker accounts back to 0",
                       after_release["tensor_bytes"] == after_close["tensor_bytes"] == 0,
                       f"{after_release['tensor_bytes']} once released, "
                       f"{after_close['tensor_bytes']} after close"))
    if rss["checked"]:
        tol = args.tolerance
        checks += [
            (f"RSS drift: last-window median within ±{tol:.0%} of baseline",
             rss["checks"]["drift"], f"{rss['drift']:+.1%}"),
            (f"RSS peak: last-window max at most baseline +{tol:.0%}",
             rss["checks"]["peak"], f"{rss['peak']:+.1%}"),
            (f"RSS slope: second-half growth at most {tol:.0%} of baseline",
             rss["checks"]["slope"],
             f"{rss['slope_mb_per_min']:+.3f} MB/min, {rss['slope_projected_mb']:+.2f} MB "
             f"projected (limit {rss['slope_limit_mb']:.1f} MB)"),
        ]
    first_samples = [s for s in samples if s.t >= warmup] or samples
    return {
        "meta": {
            "started_at": result["started_at"], "python": platform.python_version(),
            "machine": platform.platform(), "cpus": psutil.cpu_count(),
            "contexts": args.contexts, "minutes": args.minutes, "warmup_s": warmup,
            "window_s": window, "tolerance": args.tolerance, "pause_s": args.pause,
            "seed": args.seed, "trace_malloc": args.trace_malloc,
            "worker": {"address": result["address"], "pid": result["pid"]},
            "units": {"MB": "10**6 bytes", "t": "seconds since the traffic began"},
        },
        "profiles": [p.name for p in result["profiles"]],
        "totals": {
            "iterations": counters.iterations, "ops": counters.ops, "rpcs": counters.rpcs,
            "tensors_sent": counters.tensors_sent, "fetches": counters.fetches,
            "mismatches": counters.mismatches,
            "contexts_created": counters.contexts_created,
            "contexts_closed": counters.contexts_closed,
            "contexts_expired": counters.contexts_expired, "reconnects": counters.reconnects,
            "expected_errors": dict(sorted(counters.expected_errors.items())),
            "unexpected_errors": dict(sorted(counters.unexpected_errors.items())),
            "samples": counters.samples,
        },
        "latency": {
            "all": _latency(counters, 0, end),
            "first_window": _latency(counters, warmup, warmup + window),
            "last_window": _latency(counters, end - window, end),
        },
        "rss": rss,
        "worker": {
            "after_release": after_release, "after_close": after_close,
            "release_s": result["release_s"], "exit_status": result.get("exit_status"),
            "threads": [first_samples[0].threads, samples[-1].threads] if samples else None,
            "fds": [first_samples[0].fds, samples[-1].fds] if samples else None,
            "tasks": [first_samples[0].tasks, samples[-1].tasks] if samples else None,
            "cpu_s": samples[-1].cpu_s if samples else None,
            "gc_collections": _gc_during(samples, end),
            "full_collection_at_end": result.get("collect"),
            "error_lines": result["problems"][:20], "warning_lines": result["warnings"],
        },
        "tracemalloc": result["traces"],
        "checks": [{"name": n, "ok": ok, "detail": d} for n, ok, d in checks],
        "passed": all(ok for _, ok, _ in checks),
        "completed": True,
        "samples": [{"t": s.t, "phase": s.phase, "rss": s.rss, "threads": s.threads,
                     "fds": s.fds, "cpu_s": round(s.cpu_s, 2), "contexts": s.contexts,
                     "handles": s.handles, "tasks": s.tasks, "tensor_bytes": s.tensor_bytes,
                     "gc": s.gc, "malloc": s.malloc, "traced": s.traced} for s in samples],
    }


def _malloc_figures(samples: list[Sample], warmup: float,
                    end: float) -> dict[str, list[float]] | None:
    """glibc malloc's bytes in use and freed-but-kept, MB, at the end of the warm-up, the
    end of the traffic and the end of the run."""
    if not samples:
        return None
    marks = []
    for last in (warmup if warmup < end else samples[0].t, end, samples[-1].t):
        before = [s for s in samples if s.t <= last and s.malloc is not None]
        if not before:
            return None
        marks.append(before[-1].malloc)
    return {kind: [round(m[kind] / MB, 1) for m in marks if m] for kind in ("in_use", "free")}


def _gc_during(samples: list[Sample], end: float) -> list[int] | None:
    """Collections of each generation the worker made during the traffic."""
    counts = [s.gc for s in samples if s.gc is not None and s.t <= end]
    if not counts:
        return None
    return [last - first for first, last in zip(counts[0], counts[-1], strict=True)]


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _ms(figures: dict[str, float | None]) -> str:
    p50, p99 = figures["p50_ms"], figures["p99_ms"]
    return "-" if p50 is None or p99 is None else f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"


def format_summary(document: dict[str, Any]) -> str:
    """The summary table printed at the end."""
    meta, totals, rss, worker = (document[k] for k in ("meta", "totals", "rss", "worker"))
    names = document["profiles"]
    kinds = [name.split(":")[1].split("/") for name in names]

    def count(position: int) -> str:
        values = [k[position] for k in kinds]
        return ", ".join(f"{v} {values.count(v)}" for v in dict.fromkeys(values))

    expected = ", ".join(f"{k} {v:,}" for k, v in totals["expected_errors"].items()) or "none"
    unexpected = ", ".join(f"{k} {v:,}" for k, v in totals["unexpected_errors"].items())
    lat = document["latency"]
    collected = (worker["full_collection_at_end"] or {}).get("collected", "-")
    rows = [
        ("contexts", f"{meta['contexts']} ({count(0)}; {count(1)}; {count(2)})"),
        ("iterations", f"{totals['iterations']:,}"),
        ("ops", f"{totals['ops']:,} (incl. fetches)"),
        ("RPCs", f"{totals['rpcs']:,}"),
        ("tensors sent", f"{totals['tensors_sent']:,}"),
        ("fetches checked", f"{totals['fetches']:,}, mismatches {totals['mismatches']}"),
        ("contexts", f"created {totals['contexts_created']:,}, closed "
                     f"{totals['contexts_closed']:,}, expired by keep-alive "
                     f"{totals['contexts_expired']}, reconnects {totals['reconnects']}"),
        ("expected errors", expected),
        ("unexpected errors", unexpected or "0"),
        ("iteration time", f"{_ms(lat['all'])}; first window {_ms(lat['first_window'])}; "
                           f"last window {_ms(lat['last_window'])}"),
        ("RSS MB", f"start {_mb(rss['start_mb'])} | after warm-up "
                   f"{_mb(rss.get('baseline_mb'))} | end {_mb(rss.get('end_median_mb'))} "
                   f"(last-window max {_mb(rss.get('end_max_mb'))}) | max "
                   f"{_mb(rss['max_mb'])} | after close {_mb(rss['after_closed_mb'])} | "
                   f"then after gc.collect() {_mb(rss['after_collected_mb'])}"),
        ("malloc MB", "-" if not rss["malloc_mb"] else
         "in use {} | freed but kept {} (after warm-up, end of traffic, end)".format(
             *(" / ".join(map(str, rss["malloc_mb"][k])) for k in ("in_use", "free")))),
        ("RSS slope", f"{rss['slope_mb_per_min']:+.3f} MB/min over the second half"
         if rss["checked"] else rss.get("reason", "-")),
        ("handles", f"after release {worker['after_release']['handles']} (with "
                    f"{worker['after_release']['contexts']} contexts open, "
                    f"{worker['release_s']:.1f} s after the traffic) | after close "
                    f"{worker['after_close']['handles']}"),
        ("contexts at end", str(worker["after_close"]["contexts"])),
        ("worker", f"threads {worker['threads']}, fds {worker['fds']}, asyncio tasks "
                   f"{worker['tasks']} (after warm-up, end); CPU {worker['cpu_s']:.0f} s; "
                   f"log: {len(worker['error_lines'])} error, {worker['warning_lines']} "
                   "warning lines"),
        ("garbage collector", f"collections by generation during the traffic "
                              f"{worker['gc_collections']}; the full collection at the end "
                              f"found {collected} unreachable objects"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"soak: {meta['contexts']} contexts x {meta['minutes']:g} min against "
             f"{meta['worker']['address']} (pid {meta['worker']['pid']}); warm-up "
             f"{meta['warmup_s']:.0f} s, window {meta['window_s']:.0f} s, tolerance "
             f"{meta['tolerance']:.0%}; MB = 10^6 bytes"]
    lines += [f"  {name.ljust(width)}  {value}" for name, value in rows]
    for sample in totals["samples"][:10]:
        lines.append(f"  ! {sample}")
    garbage = (worker["full_collection_at_end"] or {}).get("kinds")
    if garbage:
        lines.append("  unreachable at the end: "
                     + ", ".join(f"{n} {kind}" for kind, n in garbage[:8]))
    for line in worker["error_lines"][:10]:
        lines.append(f"  worker: {line}")
    for check in document["checks"]:
        lines.append(f"  {'PASS' if check['ok'] else 'FAIL'}  {check['name']}: {check['detail']}")
    lines.append("PASS" if document["passed"] else "FAIL")
    return "\n".join(lines)


def format_traces(traces: list[dict[str, Any]], sites: int = 12, tracebacks: int = 5) -> str:
    """The allocation sites (innermost lines) and the call paths that grew most, per
    comparison with the baseline snapshot."""
    lines = []
    for trace in traces:
        if "error" in trace:
            lines.append(f"tracemalloc: {trace['error']}")
            continue
        lines.append(f"tracemalloc, {trace['label']} vs {trace['baseline']}: traced "
                     f"{trace['traced_diff'] / MB:+.2f} MB, now {trace['traced'] / MB:.1f} MB")
        for stat in trace["sites"][:sites]:
            lines.append(f"  {stat['size_diff'] / 1e3:+10.1f} kB {stat['count_diff']:+8d} "
                         f"blocks  {stat['traceback'][0]}")
        lines.append("  largest call paths:")
        for stat in trace["top"][:tracebacks]:
            frames = stat["traceback"]
            lines.append(f"  {stat['size_diff'] / 1e3:+10.1f} kB {stat['count_diff']:+8d} "
                         f"blocks  {frames[0] if frames else '?'}")
            lines.extend(f"{'':35}<- {frame}" for frame in frames[1:6])
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.partition("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.partition("\n\n")[2])
    parser.add_argument("--contexts", type=int, default=50, help="client contexts (50)")
    parser.add_argument("--minutes", type=float, default=10.0, help="traffic time (10)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT",
                        help="write the report, with every sample, to OUT")
    parser.add_argument("--tolerance", type=float, default=0.10,
                        help="allowed RSS change after the warm-up (0.10)")
    parser.add_argument("--warmup", type=float, default=None, metavar="SECONDS",
                        help="default max(30, 20%% of the traffic time)")
    parser.add_argument("--pause", type=float, default=Plan().pause, metavar="SECONDS",
                        help="mean think time between a slot's iterations (%(default)s)")
    parser.add_argument("--threads", type=int, default=None, help="the worker's kernel threads")
    parser.add_argument("--trace-malloc", type=int, default=0, metavar="FRAMES",
                        help="run the worker under tracemalloc and report growing sites")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.contexts < 1 or args.minutes <= 0 or args.tolerance <= 0:
        parser.error("--contexts, --minutes and --tolerance must be positive")
    return args


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _unwrap(error: BaseException) -> SoakError | None:
    while isinstance(error, BaseExceptionGroup):
        group = error.subgroup(SoakError)
        if group is None:
            return None
        error = group.exceptions[0]
    return error if isinstance(error, SoakError) else None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            result = runner.run(run(args))
    except (SoakError, BaseExceptionGroup) as error:
        # A TaskGroup wraps what its body raises.
        cause = _unwrap(error)
        if cause is None:
            raise
        print(f"soak: {cause}", file=sys.stderr)
        return 2
    result["started_at"] = started_at
    document = report(args, result)
    print(format_summary(document))
    if result["traces"]:
        print(format_traces(result["traces"]))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(document, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if document["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
