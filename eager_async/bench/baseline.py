"""A saved run to compare against (``--baseline FILE``): its median and min-max spread per
scenario and batch size, and this run's ratio to it.

A change counts only beyond the baseline's spread: a rate below its slowest run (a time
above its slowest) is a regression, beyond its fastest an improvement, anything between
is within its spread. A baseline of one run has no spread, so any change counts.

>>> old = Figure(median=100.0, low=90.0, high=110.0)
>>> compare(old, 80.0, higher_is_better=True)
Comparison(ratio=0.8, verdict='regression')
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .worker import BenchError

__all__ = ["Baseline", "Comparison", "Figure", "compare", "load_baseline"]


@dataclass(frozen=True, slots=True)
class Figure:
    """One scenario's figure in the baseline: the median and the slowest and fastest
    runs' values (``low`` <= ``high``, in the scenario's unit)."""

    median: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """This run against the baseline: ``ratio`` > 1 means this run is faster (new/old for
    rates, old/new for times); ``verdict`` is ``regression``, ``improvement`` or
    ``within spread``."""

    ratio: float
    verdict: str


@dataclass(frozen=True, slots=True)
class Baseline:
    """A saved run's figures for our worker, keyed by (scenario, K)."""

    path: Path
    started_at: str | None
    commit: str | None
    figures: dict[tuple[str, int | None], Figure]

    def figure(self, scenario: str, k: int | None) -> Figure | None:
        """The baseline's figure for ``scenario`` at ``k``, if it ran it."""
        return self.figures.get((scenario, k))


def compare(old: Figure, new: float, *, higher_is_better: bool) -> Comparison:
    """``new`` (a median) against ``old``."""
    ratio = new / old.median if higher_is_better else old.median / new
    slower = new < old.low if higher_is_better else new > old.high
    faster = new > old.high if higher_is_better else new < old.low
    verdict = "regression" if slower else "improvement" if faster else "within spread"
    return Comparison(ratio, verdict)


def load_baseline(path: Path) -> Baseline:
    """Read a JSON file written by ``--json``; BenchError (naming the file and what is
    wrong with it) if it cannot be read or is not one."""
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise BenchError(f"--baseline {path}: cannot read it ({error.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BenchError(f"--baseline {path}: not JSON ({error}); give a file written "
                         "by `bench --json`") from None
    try:
        figures = dict(_figures(document))
        meta = document.get("meta", {})
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise BenchError(f"--baseline {path}: not a bench result ({error!r}); give a file "
                         "written by `bench --json`") from None
    if not figures:
        raise BenchError(f"--baseline {path}: holds no figure for our worker")
    return Baseline(path, meta.get("started_at"), meta.get("git_commit"), figures)


def _figures(document: Any) -> Iterator[tuple[tuple[str, int | None], Figure]]:
    for result in document["results"]:
        ours = result.get("ours")
        if not ours or ours.get("median") is None:
            continue
        runs = [float(run) for run in ours.get("runs") or [ours["median"]]]
        key = (str(result["scenario"]), None if result["k"] is None else int(result["k"]))
        yield key, Figure(float(ours["median"]), min(runs), max(runs))
