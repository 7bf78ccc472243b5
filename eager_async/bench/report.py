"""Reporting a benchmark: medians and ratios, a table for people, JSON for machines, and a
PNG of tiny-op throughput against batch size.

>>> print(format_table(result))   # doctest: +SKIP
"""

from __future__ import annotations

import json
import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from .runner import Point
from .session import Sample
from .worker import Target
from .workloads import TINY, Sizes

__all__ = ["BenchResult", "format_table", "ratio", "to_json", "write_json", "write_plot"]

_ROLES = ("ours", "theirs")


@dataclass(frozen=True, slots=True)
class BenchResult:
    """Everything a run of the harness measured: the targets and one Point per scenario
    (and batch size), in the order they ran."""

    targets: tuple[Target, ...]
    points: tuple[Point, ...]
    sizes: Sizes
    repeat: int
    started_at: str

    def target(self, role: str) -> Target | None:
        """The target playing ``role`` (``ours`` or ``theirs``), if any."""
        return next((t for t in self.targets if t.role == role), None)


def _median(samples: list[Sample], figure: Callable[[Sample], float | None]) -> float | None:
    values = [v for v in map(figure, samples) if v is not None]
    return statistics.median(values) if values else None


def median(point: Point, role: str) -> float | None:
    """The median figure of ``role``'s runs at ``point``, or None if it has none."""
    return _median(point.samples.get(role, []), lambda s: s.value)


def ratio(point: Point) -> float | None:
    """How many times faster ours is than theirs at ``point`` (> 1: ours is faster):
    ours/theirs for rates, theirs/ours for times."""
    ours, theirs = median(point, "ours"), median(point, "theirs")
    if not ours or not theirs:
        return None
    return ours / theirs if point.scenario.higher_is_better else theirs / ours


def _cpu_per_op(samples: list[Sample], side: str) -> float | None:
    def per_op(sample: Sample) -> float | None:
        cpu = sample.server_cpu_s if side == "server" else sample.client_cpu_s
        return None if cpu is None else cpu / sample.units * 1e6
    return _median(samples, per_op)


def _rss_rise_mib(samples: list[Sample]) -> float | None:
    """The median of how far the worker's peak RSS rose above its RSS at the start, MiB."""
    return _median(samples, lambda s: None if s.server_rss_rise is None
                   else s.server_rss_rise / 2**20)


def _part(sample: Sample, name: str) -> float | None:
    return dict(sample.parts).get(name)


def _summary(point: Point, role: str) -> dict[str, Any] | None:
    samples = point.samples.get(role, [])
    if not samples and role not in point.errors:
        return None
    summary: dict[str, Any] = {
        "median": median(point, role),
        "runs": [s.value for s in samples],
        "seconds": [s.seconds for s in samples],
        "server_cpu_s": _median(samples, lambda s: s.server_cpu_s),
        "client_cpu_s": _median(samples, lambda s: s.client_cpu_s),
        "server_cpu_us_per_op": _cpu_per_op(samples, "server") if point.scenario.batched else None,
        "client_cpu_us_per_op": _cpu_per_op(samples, "client") if point.scenario.batched else None,
        "server_rss_rise_mib": _rss_rise_mib(samples),
        "error": point.errors.get(role),
    }
    for name in dict(p for s in samples for p in s.parts):
        summary[name] = _median(samples, partial(_part, name=name))
    return summary


def to_json(result: BenchResult) -> dict[str, Any]:
    """The result as a JSON-ready dict: ``meta``, ``targets`` and one entry per point with
    ``ours``, ``theirs`` (null without ``--compare``) and ``ratio`` (> 1: ours faster)."""
    return {
        "meta": {
            "started_at": result.started_at,
            "python": platform.python_version(),
            "machine": platform.platform(),
            "repeat": result.repeat,
            "sizes": {"ops": result.sizes.ops, "batch_sizes": list(result.sizes.batch_sizes),
                      "matmul_n": result.sizes.matmul_n,
                      "matmul_chain": result.sizes.matmul_chain,
                      "transfer_mib": result.sizes.transfer_mib},
            "units": {"MB": "10**6 bytes", "ratio": "> 1 means ours is faster"},
        },
        "targets": [{"role": t.role, "label": t.label, "address": t.address, "pid": t.pid}
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
        } for p in result.points],
    }


def write_json(result: BenchResult, path: Path) -> None:
    """Write ``to_json(result)`` to ``path``, creating its directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_json(result), indent=2) + "\n")


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f} s"
    return f"{value:,.0f} {unit}" if unit == "ops/s" else f"{value:,.1f} {unit}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def format_table(result: BenchResult) -> str:
    """A plain-text table of medians, CPU per tiny op and, when comparing, ratios."""
    ours, theirs = result.target("ours"), result.target("theirs")
    lines = []
    for target in result.targets:
        cpu = f"pid {target.pid}" if target.pid else "server CPU unknown"
        lines.append(f"{target.role}: {target.label} at {target.address} ({cpu})")
    lines.append(f"median of {result.repeat} run(s); MB = 10^6 bytes; "
                 "us/op = CPU microseconds per tiny op (srv: worker, cli: this client)")
    if theirs is not None:
        lines.append("ratio > 1 means ours is faster: ours/theirs for ops/s and MB/s, "
                     "theirs/ours for seconds")
    header = ["scenario", "K", ours.label if ours else "ours", "srv us/op", "cli us/op"]
    if theirs is not None:
        header[3:3] = [theirs.label, "ratio"]
        header.append(f"{theirs.label} srv us/op")
    rows = [header]
    for point in result.points:
        samples = point.samples.get("ours", [])
        row = [point.scenario.name, str(point.k or ""),
               "error" if "ours" in point.errors else _figure(median(point, "ours"),
                                                              point.scenario.unit),
               _number(_cpu_per_op(samples, "server")) if point.scenario.batched else "",
               _number(_cpu_per_op(samples, "client")) if point.scenario.batched else ""]
        if theirs is not None:
            value = ratio(point)
            row[3:3] = ["error" if "theirs" in point.errors else
                        _figure(median(point, "theirs"), point.scenario.unit),
                        "-" if value is None else f"{value:.2f}x"]
            row.append(_number(_cpu_per_op(point.samples.get("theirs", []), "server"))
                       if point.scenario.batched else "")
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = [c.ljust(wd) if i < 2 else c.rjust(wd) for i, (c, wd) in
                 enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    for point in result.points:
        rises = [f"{target.label} +{rise:,.0f} MiB" for target in result.targets
                 if (rise := _rss_rise_mib(point.samples.get(target.role, []))) is not None]
        if rises and not point.scenario.batched:
            lines.append(f"{point.scenario.name}: worker peak RSS over its RSS at the start: "
                         + ", ".join(rises))
    for point in result.points:
        for role, error in point.errors.items():
            lines.append(f"{point.scenario.name} K={point.k} {role} failed: {error}")
    return "\n".join(lines)


def write_plot(result: BenchResult, path: Path) -> bool:
    """Tiny-op throughput against K (log x), one colour per mode, ours solid and theirs
    dashed. Returns False (and writes nothing) without matplotlib or tiny-op results."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return False
    tiny = [p for p in result.points if p.scenario.name in TINY and p.k]
    if not tiny:
        return False
    figure = Figure(figsize=(8, 5), layout="constrained")
    axes = figure.add_subplot()
    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    for colour, mode in zip(colours, TINY, strict=True):
        points = sorted((p for p in tiny if p.scenario.name == mode), key=lambda p: p.k or 0)
        for role, style, marker in (("ours", "-", "o"), ("theirs", "--", "s")):
            target = result.target(role)
            xy = [(p.k or 0, m) for p in points if (m := median(p, role)) is not None]
            if target is not None and xy:
                axes.plot([x for x, _ in xy], [y for _, y in xy], linestyle=style,
                          marker=marker, color=colour, label=f"{mode} ({target.label})")
    axes.set_xscale("log")
    axes.set_xlabel("ops per Enqueue request (K)")
    axes.set_ylabel("ops/s (median)")
    axes.set_title("Tiny AddV2 ops: throughput by batch size")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return True
