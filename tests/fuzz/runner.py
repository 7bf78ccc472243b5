"""Runs fuzz cases against a worker process with the probe beside it, and reports.

A worker that dies is a crash (the case's last request is the example) and is started
again so the run goes on; one that stops answering after a hang is killed and started
again too. At the end the worker is stopped with SIGTERM and must exit 0.
"""

from __future__ import annotations

import collections
import json
import random
import re
import sys
import time
import traceback
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import grpc

from .generators import Case
from .harness import (
    PROBE_SLOW,
    CaseFailed,
    Finding,
    Probe,
    Session,
    Stats,
    Worker,
    call,
    channel,
    worker_incarnation,
)
from .schema import RPCS

Log = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


WORKER_LIMITS = ("--max-tensor-bytes=1G",)
"""The fuzzed worker's limits besides the defaults: a random op may make any tensor the
limits allow, and one of several GB (a Fill within the default 3/4 of memory) takes
longer than a call's deadline to fill; 1 GB takes under a second."""


class Runner:
    """Owns the worker (``WORKER_LIMITS``, then ``worker_args``), its fuzzing channel and
    the probe for one run."""

    def __init__(self, *, python: str = sys.executable, worker_args: tuple[str, ...] = (),
                 memory_limit: int | None = 8 << 30, log: Log = _stderr,
                 verbose: bool = False) -> None:
        self.python = python
        self.worker_args = (*WORKER_LIMITS, *worker_args)
        self.memory_limit = memory_limit
        self.log = log
        self.verbose = verbose
        self.stats = Stats()
        self.latencies: list[float] = []
        self.probe_slow: list[tuple[float, float, str]] = []
        self.spans: list[tuple[float, float, str]] = []  # (start, end, case) in time.time()
        self.probe_errors: list[str] = []
        self.contexts_lost = 0
        self.harness_errors: list[str] = []
        self.slowest: list[tuple[float, str]] = []
        self.shutdown: dict[str, Any] = {}
        self.max_rss = 0
        self.worker: Worker | None = None
        self.probe: Probe | None = None
        self.chan: grpc.Channel | None = None
        self.incarnation = 0
        self.started = time.monotonic()

    # --- the worker ---------------------------------------------------------------
    def _start(self) -> None:
        self.worker = Worker(self.python, self.worker_args, self.memory_limit)
        self.worker.start()
        self.chan = channel(self.worker.address, own_connection="fuzz")
        self.incarnation = worker_incarnation(self.chan)
        self.probe = Probe(self.worker.address)
        self.probe.start()
        self.log(f"worker pid {self.worker.pid} at {self.worker.address}")

    def _retire_probe(self) -> None:
        if self.probe is not None:
            self.probe.stop()
            self.latencies += self.probe.latencies
            self.probe_slow += self.probe.slow
            self.probe_errors += self.probe.errors
            self.contexts_lost += self.probe.contexts_lost
            self.probe = None

    def _restart(self, why: str) -> None:
        self.log(f"restarting the worker: {why}")
        self._retire_probe()
        if self.chan is not None:
            self.chan.close()
        if self.worker is not None:
            tail = "".join(list(self.worker.log)[-30:])
            self.log(f"--- the worker's last log lines ---\n{tail}---")
            if self.worker.alive() and self.worker.process is not None:
                self.worker.process.kill()
            self.worker.stop(timeout=5)
        self.stats.restarts += 1
        self._start()

    def responsive(self) -> bool:
        assert self.chan is not None
        outcome = call(self.chan, RPCS["HealthCheck"], b"", timeout=3)
        return outcome.ok

    # --- cases --------------------------------------------------------------------
    def run(self, cases: Iterable[Case], deadline: float | None = None) -> None:
        """Run ``cases`` in order until they end or ``deadline`` (time.monotonic())."""
        if self.worker is None:
            self._start()
        for index, case in enumerate(cases):
            if deadline is not None and time.monotonic() > deadline:
                break
            self.run_case(case, index)

    def run_case(self, case: Case, index: int) -> None:
        assert self.worker is not None and self.chan is not None
        rng_seed = zlib.crc32(f"{index} {case.name}".encode())
        session = Session(self.chan, self.worker, self.stats, case.klass, case.name,
                          random.Random(rng_seed), self.incarnation)
        self.stats.cases[case.klass] += 1
        start = time.monotonic()
        wall = time.time()
        before = len(self.stats.findings)
        try:
            case.body(session)
        except CaseFailed:
            pass
        except Exception:
            self.harness_errors.append(f"{case.name}: {traceback.format_exc()}")
            self.log(f"harness error in {case.name}:\n{traceback.format_exc()}")
        finally:
            if self.worker.alive():
                try:
                    session.finish()
                except Exception:
                    self.harness_errors.append(f"{case.name} (finish): "
                                               f"{traceback.format_exc()}")
        elapsed = time.monotonic() - start
        self.spans.append((wall, time.time(), case.name))
        self.slowest = sorted([*self.slowest, (elapsed, case.name)], reverse=True)[:8]
        rss, vms = self.worker.memory()
        self.max_rss = max(self.max_rss, rss)
        if self.verbose:
            self.log(f"{elapsed:7.3f}s {case.klass:9} {case.name} "
                     f"[worker rss {rss >> 20} MiB, vm {vms >> 20} MiB]")
        for finding in self.stats.findings[before:]:
            self.log(finding.describe(300))
        if not self.worker.alive():
            method, payload = session.last
            self.stats.add(Finding("crash", case.name, case.klass,
                                   RPCS[method].path if method else "-", payload.hex(),
                                   f"exit status {self.worker.exit_status()}",
                                   "".join(list(self.worker.log)[-5:])))
            self.log(self.stats.findings[-1].describe(300))
            self._restart("it died")
        elif any(f.kind == "hang" for f in self.stats.findings[before:]) and \
                not self.responsive():
            method, payload = session.last
            self.stats.add(Finding("hang", case.name, case.klass,
                                   RPCS[method].path if method else "-", payload.hex(),
                                   "unresponsive", "the worker no longer answers health "
                                   "checks after this case"))
            self._restart("it stopped answering")

    def finish(self) -> dict[str, Any]:
        """Stop the probe and the worker (SIGTERM, which must exit 0); the report."""
        self._retire_probe()
        if self.chan is not None:
            self.chan.close()
        if self.worker is not None:
            alive = self.worker.alive()
            start = time.monotonic()
            status = self.worker.stop(timeout=30)
            self.shutdown = {"exit_status": status, "seconds": round(
                time.monotonic() - start, 2), "alive_before": alive}
            if alive and status != 0:
                self.stats.add(Finding("crash", "shutdown", "-", "SIGTERM", "",
                                       f"exit status {status}",
                                       "".join(list(self.worker.log)[-10:])))
        return self.report()

    # --- the report ---------------------------------------------------------------
    def probe_summary(self) -> dict[str, Any]:
        values = sorted(self.latencies)
        if not values:
            return {"count": 0, "max_ms": None, "p99_ms": None, "over_100ms": 0,
                    "errors": len(self.probe_errors), "contexts_lost": self.contexts_lost}
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        return {"count": len(values), "max_ms": round(values[-1] * 1000, 1),
                "p99_ms": round(p99 * 1000, 1),
                "median_ms": round(values[len(values) // 2] * 1000, 2),
                "over_100ms": sum(v > PROBE_SLOW for v in values),
                "errors": len(self.probe_errors), "first_errors": self.probe_errors[:5],
                "contexts_lost": self.contexts_lost}

    def stalls(self) -> list[dict[str, Any]]:
        """The cases that were running while the probe waited more than 100 ms, with the
        number of such probe calls and the longest."""
        by_case: dict[str, list[float]] = collections.defaultdict(list)
        spans = sorted(self.spans)
        for end, elapsed, _ in self.probe_slow:
            begin = end - elapsed
            for start, stop, name in spans:
                if start <= end and stop >= begin:
                    by_case[name].append(elapsed)
        rows = [{"case": name, "slow_probes": len(values),
                 "max_ms": round(max(values) * 1000, 1)} for name, values in by_case.items()]
        return sorted(rows, key=lambda row: -row["max_ms"])[:10]

    def report(self) -> dict[str, Any]:
        groups: dict[str, list[Finding]] = collections.defaultdict(list)
        for finding in self.stats.findings:
            groups[signature(finding)].append(finding)
        return {
            "seconds": round(time.monotonic() - self.started, 1),
            "cases": dict(self.stats.cases),
            "calls": dict(self.stats.calls),
            "statuses": dict(self.stats.statuses.most_common()),
            "statuses_by_method": dict(sorted(self.stats.by_method.items())),
            "findings": {kind: sum(f.kind == kind for f in self.stats.findings)
                         for kind in ("crash", "hang", "internal", "unknown", "expectation")},
            "distinct": [{"signature": key, "count": len(items), "first": _short(items[0])}
                         for key, items in groups.items()],
            "probe": self.probe_summary(),
            "probe_stalls": self.stalls(),
            "restarts": self.stats.restarts,
            "worker_max_rss_mib": self.max_rss >> 20,
            "harness_errors": self.harness_errors[:10],
            "slowest_cases": [{"seconds": round(s, 2), "case": n} for s, n in self.slowest],
            "slowest_calls": [{"seconds": s, "call": c, "case": n, "request": r}
                              for s, c, n, r in self.stats.slow_calls],
            "shutdown": self.shutdown,
            "worker_error_lines": (self.worker.errors[:20] if self.worker else []),
        }


def _short(finding: Finding, limit: int = 4000) -> dict[str, Any]:
    record = asdict(finding)
    if len(finding.request_hex) > limit:
        record["request_hex"] = finding.request_hex[:limit] + "..."
        record["request_bytes"] = len(finding.request_hex) // 2
    return record


def signature(finding: Finding) -> str:
    """What makes two findings the same bug: kind, method, status and the message with
    its numbers and quoted names blanked."""
    details = re.sub(r"0x[0-9a-f]+|\d+", "N", finding.details)
    details = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", details)[:160]
    method = finding.method.rsplit("/", 1)[-1]
    return f"{finding.kind} {method} {finding.code}: {details}"


def failed(report: dict[str, Any]) -> bool:
    """Whether a run found anything: a crash, hang, INTERNAL/UNKNOWN, an expectation not
    met, a probe error or a probe slower than 100 ms."""
    probe = report["probe"]
    return (any(report["findings"].values()) or probe["over_100ms"] > 0
            or probe["errors"] > 0 or probe["count"] == 0 or bool(report["harness_errors"]))


def format_summary(report: dict[str, Any]) -> str:
    lines = [f"fuzz run: {report['seconds']} s, seed {report.get('seed', '-')}, "
             f"{report.get('engine', 'built-in mutators')}, "
             f"worker restarts: {report['restarts']}, "
             f"worker max RSS after a case: {report['worker_max_rss_mib']} MiB"]
    lines.append("inputs per class (cases / calls):")
    for klass, count in sorted(report["cases"].items()):
        lines.append(f"  {klass:10} {count:7} / {report['calls'].get(klass, 0)}")
    lines.append("statuses: " + ", ".join(f"{k} {v}" for k, v in report["statuses"].items()))
    found = report["findings"]
    lines.append("crashes {crash}, hangs {hang}, INTERNAL {internal}, UNKNOWN {unknown}, "
                 "expectations not met {expectation}".format(**found))
    probe = report["probe"]
    lines.append(f"probe: {probe['count']} calls, max {probe['max_ms']} ms, "
                 f"p99 {probe['p99_ms']} ms, median {probe.get('median_ms')} ms, "
                 f"over 100 ms: {probe['over_100ms']}, errors: {probe['errors']}, "
                 f"contexts lost (cleared by a fuzzed CreateContext): {probe['contexts_lost']}")
    for stall in report["probe_stalls"][:6]:
        lines.append(f"  probe over 100 ms during: {stall['case'][:70]} "
                     f"({stall['slow_probes']}x, max {stall['max_ms']} ms)")
    for error in probe.get("first_errors", [])[:3]:
        lines.append(f"  probe error: {error[:300]}")
    if report["shutdown"]:
        lines.append(f"shutdown: {report['shutdown']}")
    lines.append("slowest cases: " + "; ".join(
        f"{c['case'][:60]} {c['seconds']} s" for c in report["slowest_cases"][:5]))
    for slow in report["slowest_calls"][:5]:
        lines.append(f"  slow call: {slow['seconds']} s {slow['call']} in {slow['case'][:50]}: "
                     f"{slow['request'][:160]}")
    if report["harness_errors"]:
        lines.append(f"harness errors: {len(report['harness_errors'])} (first below)")
        lines.append(report["harness_errors"][0][-1500:])
    if report["distinct"]:
        lines.append(f"distinct findings: {len(report['distinct'])}")
        for group in report["distinct"]:
            first = group["first"]
            request = first["request_hex"]
            shown = request if len(request) <= 400 else f"{request[:400]}... " \
                f"({first.get('request_bytes', len(request) // 2)} bytes)"
            lines.append(f"- [{group['count']}x] {group['signature']}")
            lines.append(f"    case: {first['case']} ({first['klass']})")
            lines.append(f"    {first['method']} -> {first['code']}: {first['details'][:500]}")
            lines.append(f"    request: {shown}")
    lines.append("verdict: " + ("FAIL" if failed(report) else "ok"))
    return "\n".join(lines)


def write_json(report: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1, default=str) + "\n")
