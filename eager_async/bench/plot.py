"""The benchmark's one PNG: a panel per kind of scenario, every axis of figures on a log
scale, each median drawn with its runs' min-max spread.

- tiny ops: ops/s against K (both axes log), a line per mode and worker (ours solid,
  theirs dashed) in a band from the slowest to the fastest run; many-contexts as a
  star at K = 1;
- MatMul: seconds per chain, a bar per worker with min-max error bars;
- transfers: push and pull MB/s, a bar per worker with min-max error bars.

matplotlib (the ``bench`` extra) is imported only here, and only when a plot is drawn.

>>> write_plot(result, Path("bench-results/bench.png"))   # doctest: +SKIP
True
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .report import BenchResult, median, spread
from .runner import Point
from .workloads import TINY

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["MISSING_MATPLOTLIB", "build_figure", "plotting_available", "write_plot"]

MISSING_MATPLOTLIB = ("no plot: matplotlib is not installed (pip install "
                      "'eager_async[bench]'); carrying on as with --no-plot")
_COLOURS = {"sync-unary": "tab:blue", "async-unary": "tab:orange",
            "async-stream": "tab:green", "sync-stream": "tab:red",
            "many-contexts": "tab:purple"}
_ROLES = (("ours", "-", "o"), ("theirs", "--", "s"))


def plotting_available() -> bool:
    """Whether matplotlib can be imported."""
    return importlib.util.find_spec("matplotlib") is not None


def _tiny_panel(axes: Any, result: BenchResult, points: list[Point]) -> None:
    for mode in TINY:
        line = sorted((p for p in points if p.scenario.name == mode), key=lambda p: p.k or 0)
        for role, style, marker in _ROLES:
            target = result.target(role)
            rows = [(p.k or 0, m, *s) for p in line
                    if (m := median(p, role)) is not None and (s := spread(p, role))]
            if target is None or not rows:
                continue
            ks, middles, lows, highs = (list(column) for column in zip(*rows, strict=True))
            axes.plot(ks, middles, linestyle=style, marker=marker, color=_COLOURS[mode],
                      label=f"{mode} ({target.label})")
            axes.fill_between(ks, lows, highs, color=_COLOURS[mode], alpha=0.15, linewidth=0)
    for point in (p for p in points if p.scenario.name == "many-contexts"):
        for role, _, _ in _ROLES:
            target, middle, low_high = result.target(role), median(point, role), spread(point,
                                                                                          role)
            if target is None or middle is None or low_high is None:
                continue
            axes.errorbar([1], [middle], yerr=[[middle - low_high[0]], [low_high[1] - middle]],
                          marker="*", markersize=12, linestyle="none",
                          color=_COLOURS["many-contexts"] if role == "ours" else "tab:gray",
                          label=f"many-contexts ({target.label})")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("ops per Enqueue request (K)")
    axes.set_ylabel("ops/s (median, band: min-max)")
    axes.set_title("Tiny AddV2 ops")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="x-small")


def _bar_panel(axes: Any, result: BenchResult, points: list[Point], ylabel: str,
               title: str) -> None:
    """One group of bars per point, one bar per worker, min-max error bars."""
    roles = [(role, target) for role, _, _ in _ROLES if (target := result.target(role))]
    width = 0.8 / max(1, len(roles))
    extremes: list[float] = []
    for offset, (role, target) in enumerate(roles):
        xs, middles, below, above = [], [], [], []
        for index, point in enumerate(points):
            middle, low_high = median(point, role), spread(point, role)
            if middle is None or low_high is None:
                continue
            xs.append(index + (offset - (len(roles) - 1) / 2) * width)
            middles.append(middle)
            below.append(middle - low_high[0])
            above.append(low_high[1] - middle)
            extremes += low_high
        if xs:
            axes.bar(xs, middles, width=width, yerr=[below, above], capsize=4,
                     label=target.label, color="tab:blue" if role == "ours" else "tab:gray")
    axes.set_xticks(range(len(points)), [p.scenario.name for p in points])
    axes.set_yscale("log")
    if extremes and min(extremes) > 0:
        # Whole decades: a log axis fitted to close values makes small differences look big.
        axes.set_ylim(10 ** math.floor(math.log10(min(extremes))),
                      10 ** math.ceil(math.log10(max(extremes)) + 1e-9))
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    axes.grid(True, axis="y", which="both", alpha=0.3)
    axes.legend(fontsize="x-small")


def build_figure(result: BenchResult) -> Figure | None:
    """The figure for ``result`` (a panel per kind of scenario it ran), or None if it ran
    none that can be drawn. Needs matplotlib."""
    from matplotlib.figure import Figure

    tiny = [p for p in result.points if p.k and p.scenario.name in (*TINY, "many-contexts")]
    matmul = [p for p in result.points if p.scenario.name == "matmul"]
    transfer = [p for p in result.points if p.scenario.name in ("push", "pull")]
    panels = [panel for panel in (tiny, matmul, transfer) if panel]
    if not panels:
        return None
    figure = Figure(figsize=(5.5 * len(panels), 4.8), layout="constrained")
    grid = iter(figure.subplots(1, len(panels), squeeze=False)[0])
    if tiny:
        _tiny_panel(next(grid), result, tiny)
    if matmul:
        size = f"{result.sizes.matmul_chain} x {result.sizes.matmul_n}^2"
        _bar_panel(next(grid), result, matmul, "seconds per chain (log)", f"MatMul ({size})")
    if transfer:
        _bar_panel(next(grid), result, transfer, "MB/s (log)",
                   f"Transfers ({result.sizes.transfer_mib} MiB)")
    return figure


def write_plot(result: BenchResult, path: Path) -> bool:
    """Draw ``build_figure(result)`` into the PNG ``path`` (creating its directory).
    Returns False (and writes nothing) without matplotlib or anything to draw."""
    if not plotting_available():
        return False
    figure = build_figure(result)
    if figure is None:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return True
