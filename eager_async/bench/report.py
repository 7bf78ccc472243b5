"""What a benchmark found, summarised: medians and their min-max spread, latency
percentiles, ratios to the compared worker and to a baseline, and the JSON for machines.
The table for people is in ``table``, the plot in ``plot``.

>>> write_json(result, Path("bench-results/bench.json"))   # doctest: +SKIP
"""

from __future__ import annotations

import json
import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .baseline import Baseline, Comparison, compare
from .options import Load
from .runner import Point
from .session import Sample
from .worker import Target
from .workloads import Sizes

__all__ = ["BenchResult", "baseline_comparison", "cpu_per_op", "latency_ms", "median",
           "ratio", "rss_rise_mib", "spread", "to_json", "write_json"]

PERCENTILES = (50, 90, 99)

_ROLES = ("ours", "theirs")


@dataclass(frozen=True, slots=True)
class BenchResult:
    """Everything a run of the harness measured: the targets and one Point per scenario
    (and batch size), in the order they ran; how the load was offered, what it ran on,
    the baseline it is compared with, and which clock gave each worker's CPU time (by
    role, read while the workers ran)."""

    targets: tuple[Target, ...]
    points: tuple[Point, ...]
    sizes: Sizes
    repeat: int
    started_at: str
    load: Load = field(default_factory=Load)
    environment: dict[str, Any] = field(default_factory=dict)
    baseline: Baseline | None = None
    cpu_clocks: dict[str, str | None] = field(default_factory=dict)

    def target(self, role: str) -> Target | None:
        """The target playing ``role`` (``ours`` or ``theirs``), if any."""
        return next((t for t in self.targets if t.role == role), None)


def _median(samples: list[Sample], figure: Callable[[Sample], float | None]) -> float | None:
    values = [v for v in map(figure, samples) if v is not None]
    return statistics.median(values) if values else None


def median(point: Point, role: str) -> float | None:
    """The median figure of ``role``'s runs at ``point``, or None if it has none."""
    return _median(point.samples.get(role, []), lambda s: s.value)


def spread(point: Point, role: str) -> tuple[float, float] | None:
    """The lowest and highest figure of ``role``'s runs at ``point``."""
    values = [s.value for s in point.samples.get(role, [])]
    return (min(values), max(values)) if values else None


def latency_ms(point: Point, role: str) -> dict[str, float] | None:
    """The 50th, 90th and 99th percentile of the latency of every request ``role``'s runs
    timed at ``point`` (all runs pooled), in milliseconds, keyed ``p50``, ``p90``, ``p99``;
    None if it timed none."""
    latencies = [x for s in point.samples.get(role, []) for x in s.latencies]
    if not latencies:
        return None
    values = np.percentile(np.array(latencies) * 1e3, PERCENTILES)
    return {f"p{p}": float(v) for p, v in zip(PERCENTILES, values, strict=True)}


def baseline_comparison(result: BenchResult, point: Point) -> Comparison | None:
    """Our median at ``point`` against the baseline's, if both exist."""
    old = None if result.baseline is None else result.baseline.figure(point.scenario.name,
                                                                       point.k)
    new = median(point, "ours")
    if old is None or not new or not old.median:
        return None
    return compare(old, new, higher_is_better=point.scenario.higher_is_better)


def ratio(point: Point) -> float | None:
    """How many times faster ours is than theirs at ``point`` (> 1: ours is faster):
    ours/theirs for rates, theirs/ours for times."""
    ours, theirs = median(point, "ours"), median(point, "theirs")
    if not ours or not theirs:
        return None
    return ours / theirs if point.scenario.higher_is_better else theirs / ours


def cpu_per_op(samples: list[Sample], side: str) -> float | None:
    """Median CPU microseconds per op of ``side`` (``server`` or ``client``)."""
    def per_op(sample: Sample) -> float | None:
        cpu = sample.server_cpu_s if side == "server" else sample.client_cpu_s
        return None if cpu is None else cpu / sample.units * 1e6
    return _median(samples, per_op)


def rss_rise_mib(samples: list[Sample]) -> float | None:
    """The median of how far the worker's peak RSS rose above its RSS at the start, MiB."""
    return _median(samples, lambda s: None if s.server_rss_rise is None
                   else s.server_rss_rise / 2**20)


def _part(sample: Sample, name: str) -> float | None:
    return dict(sample.parts).get(name)


def _summary(point: Point, role: str) -> dict[str, Any] | None:
    samples = point.samples.get(role, [])
    if not samples and role not in point.errors:
        return None
    low, high = spread(point, role) or (None, None)
    summary: dict[str, Any] = {
        "median": median(point, role),
        "runs": [s.value for s in samples],
        "seconds": [s.seconds for s in samples],
        "server_cpu_s": _median(samples, lambda s: s.server_cpu_s),
        "client_cpu_s": _median(samples, lambda s: s.client_cpu_s),
        "server_cpu_us_per_op": cpu_per_op(samples, "server") if point.scenario.batched else None,
        "client_cpu_us_per_op": cpu_per_op(samples, "client") if point.scenario.batched else None,
        "server_rss_rise_mib": rss_rise_mib(samples),
        "error": point.errors.get(role),
        "min": low,
        "max": high,
        "ops_per_run": [s.units for s in samples],
        "latency_ms": latency_ms(point, role),
        "requests_timed": sum(len(s.latencies) for s in samples),
    }
    for name in dict(p for s in samples for p in s.parts):
        summary[name] = _median(samples, partial(_part, name=name))
    return summary


def _baseline_json(result: BenchResult, point: Point) -> dict[str, Any] | None:
    comparison = baseline_comparison(result, point)
    old = None if result.baseline is None else result.baseline.figure(point.scenario.name,
                                                                       point.k)
    if comparison is None or old is None:
        return None
    return {"median": old.median, "min": old.low, "max": old.high,
            "ratio": comparison.ratio, "verdict": comparison.verdict}


def to_json(result: BenchResult) -> dict[str, Any]:
    """The result as a JSON-ready dict: ``meta``, ``targets`` and one entry per point with
    ``ours``, ``theirs`` (null without ``--compare``), ``ratio`` (> 1: ours faster) and
    ``baseline`` (null without ``--baseline``; its ratio > 1: this run faster)."""
    baseline = result.baseline
    return {
        "meta": {
            "started_at": result.started_at,
            "python": platform.python_version(),
            "machine": platform.platform(),
            "repeat": result.repeat,
            "sizes": {"ops": result.sizes.ops, "batch_sizes": list(result.sizes.batch_sizes),
                      "matmul_n": result.sizes.matmul_n,
                      "matmul_chain": result.sizes.matmul_chain,
                      "transfer_mib": result.sizes.transfer_mib,
                      "many_contexts": result.sizes.many_contexts,
                      "ops_per_context": result.sizes.ops_per_context},
            "load": {"clients": result.load.clients, "contexts": result.load.contexts,
                     "rate_ops_per_s": result.load.rate,
                     "duration_s": result.load.duration},
            "units": {"MB": "10**6 bytes", "ratio": "> 1 means ours is faster",
                      "latency_ms": "percentiles of every timed request, runs pooled",
                      "baseline.ratio": "> 1 means this run is faster than the baseline"},
            "server_cpu_clock": {t.role: result.cpu_clocks.get(t.role) for t in result.targets},
            "baseline": None if baseline is None else {
                "path": str(baseline.path), "started_at": baseline.started_at,
                "git_commit": baseline.commit},
            **result.environment,
        },
        "targets": [{"role": t.role, "label": t.label, "address": t.address, "pid": t.pid,
                     "cpu_clock": result.cpu_clocks.get(t.role)}
                    for t in result.targets],
        "results": [{
            "scenario": p.scenario.name,
            "summary": p.scenario.summary,
            "k": p.k,
            "ops": p.ops,
            "unit": p.scenario.unit,
            "higher_is_better": p.scenario.higher_is_better,
            **{role: _summary(p, role) for role in _ROLES},
            "ratio": ratio(p),
            "baseline": _baseline_json(result, p),
        } for p in result.points],
    }


def write_json(result: BenchResult, path: Path) -> None:
    """Write ``to_json(result)`` to ``path``, creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(result), indent=2) + "\n")
