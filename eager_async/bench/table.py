"""The benchmark's table for people, drawn by rich: in colour on a terminal, and as plain
Markdown (no escape codes) when the output is a pipe or a file.

>>> print_table(result)                 # doctest: +SKIP
>>> "| scenario" in format_table(result)  # doctest: +SKIP
True
"""

from __future__ import annotations

import io
import sys
from typing import TextIO

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .report import (
    BenchResult,
    baseline_comparison,
    cpu_per_op,
    latency_ms,
    median,
    ratio,
    rss_rise_mib,
    spread,
)
from .runner import Point

__all__ = ["format_table", "print_table"]

# Wide enough for every column: a pipe has no width, and rich would wrap at 80.
_PLAIN_WIDTH = 400


def print_table(result: BenchResult, stream: TextIO | None = None) -> None:
    """Print the notes and the table of ``result`` on ``stream`` (stdout by default):
    styled on a terminal, else ``format_table``'s plain text."""
    stream = stream if stream is not None else sys.stdout
    if stream.isatty():
        _print(Console(file=stream, highlight=False), result, terminal=True)
    else:
        stream.write(format_table(result) + "\n")


def format_table(result: BenchResult) -> str:
    """The notes and table of ``result`` as plain text: a Markdown table, no escape
    codes, no trailing spaces."""
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, color_system=None, highlight=False,
                      width=_PLAIN_WIDTH, soft_wrap=True)
    _print(console, result, terminal=False)
    lines = (line.rstrip() for line in buffer.getvalue().splitlines())
    return "\n".join(line for line in lines if line)


def _print(console: Console, result: BenchResult, *, terminal: bool) -> None:
    for line in _notes_before(result):
        console.print(line, markup=False)
    table = _table(result, terminal=terminal)
    # Never squeeze a figure onto two lines: past the terminal's edge, it wraps whole rows.
    console.print(table, width=max(console.width, console.measure(table).maximum))
    for line in _notes_after(result):
        console.print(line, markup=False)


def _notes_before(result: BenchResult) -> list[str]:
    theirs = result.target("theirs")
    lines = []
    for target in result.targets:
        clock = result.cpu_clocks.get(target.role)
        cpu = f"pid {target.pid}, CPU from {clock}" if clock else "server CPU unknown"
        lines.append(f"{target.role}: {target.label} at {target.address} ({cpu})")
    load = result.load
    how = [f"{load.clients} connection(s) x {load.contexts} context(s)"]
    if load.rate is not None:
        how.append(f"open loop at {load.rate:,.0f} ops/s")
    if load.duration is not None:
        how.append(f"{load.duration:g} s per run")
    lines.append("tiny ops: " + ", ".join(how))
    lines.append(f"median of {result.repeat} run(s), +-: half the min-max spread; "
                 "MB = 10^6 bytes; p50/p90/p99: request latency in ms; us/op = CPU "
                 "microseconds per tiny op (srv: worker, cli: this client)")
    if theirs is not None:
        lines.append("ratio > 1 means ours is faster: ours/theirs for ops/s and MB/s, "
                      "theirs/ours for seconds")
    if result.baseline is not None:
        lines.append(f"vs baseline {result.baseline.path}: > 1 means this run is faster; "
                     "flagged beyond the baseline's min-max spread")
    return lines


def _notes_after(result: BenchResult) -> list[str]:
    lines = []
    for point in result.points:
        rises = [f"{target.label} +{rise:,.0f} MiB" for target in result.targets
                 if (rise := rss_rise_mib(point.samples.get(target.role, []))) is not None]
        if rises and not point.scenario.batched:
            lines.append(f"{point.scenario.name}: worker peak RSS over its RSS at the start: "
                         + ", ".join(rises))
    for point in result.points:
        for role, error in point.errors.items():
            lines.append(f"{point.scenario.name} K={point.k} {role} failed: {error}")
    return lines


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f} s"
    return f"{value:,.0f} {unit}" if unit == "ops/s" else f"{value:,.1f} {unit}"


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _with_spread(point: Point, role: str) -> str:
    if role in point.errors:
        return "error"
    middle, low_high = median(point, role), spread(point, role)
    text = _figure(middle, point.scenario.unit)
    if middle and low_high is not None and low_high[1] > low_high[0]:
        text += f" +-{(low_high[1] - low_high[0]) / 2 / middle:.0%}"
    return text


def _latency(point: Point, role: str) -> str:
    percentiles = latency_ms(point, role)
    if percentiles is None:
        return "-"
    return "/".join(f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
                    for value in percentiles.values())


def _ratio_cell(value: float | None, *, terminal: bool) -> Text:
    if value is None:
        return Text("-")
    style = ("green" if value >= 1 else "red") if terminal else ""
    return Text(f"{value:.2f}x", style=style)


def _baseline_cell(result: BenchResult, point: Point, *, terminal: bool) -> Text:
    comparison = baseline_comparison(result, point)
    if comparison is None:
        return Text("-")
    styles = {"regression": "bold red", "improvement": "green"}
    text = f"{comparison.ratio:.2f}x"
    if comparison.verdict != "within spread":
        text += f" {comparison.verdict}"
    return Text(text, style=styles.get(comparison.verdict, "") if terminal else "")


def _table(result: BenchResult, *, terminal: bool) -> Table:
    ours, theirs = result.target("ours"), result.target("theirs")
    ours_label = ours.label if ours else "ours"
    table = Table(box=box.SIMPLE_HEAVY if terminal else box.MARKDOWN, show_edge=not terminal,
                  header_style="bold" if terminal else "")
    table.add_column("scenario")
    table.add_column("K")
    table.add_column(ours_label, justify="right")
    if theirs is not None:
        table.add_column(theirs.label, justify="right")
        table.add_column("ratio", justify="right")
    table.add_column(f"{ours_label} p50/p90/p99", justify="right")
    if theirs is not None:
        table.add_column(f"{theirs.label} p50/p90/p99", justify="right")
    table.add_column("srv us/op", justify="right")
    table.add_column("cli us/op", justify="right")
    if theirs is not None:
        table.add_column(f"{theirs.label} srv us/op", justify="right")
    if result.baseline is not None:
        table.add_column("vs baseline", justify="right")
    for point in result.points:
        batched = point.scenario.batched
        ours_samples = point.samples.get("ours", [])
        row: list[str | Text] = [point.scenario.name, str(point.k or ""),
                                 _with_spread(point, "ours")]
        if theirs is not None:
            row += [_with_spread(point, "theirs"), _ratio_cell(ratio(point), terminal=terminal)]
        row.append(_latency(point, "ours"))
        if theirs is not None:
            row.append(_latency(point, "theirs"))
        row += [_number(cpu_per_op(ours_samples, "server")) if batched else "",
                _number(cpu_per_op(ours_samples, "client")) if batched else ""]
        if theirs is not None:
            row.append(_number(cpu_per_op(point.samples.get("theirs", []), "server"))
                       if batched else "")
        if result.baseline is not None:
            row.append(_baseline_cell(result, point, terminal=terminal))
        table.add_row(*row)
    return table
