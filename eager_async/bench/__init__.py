"""The benchmark harness behind ``python -m eager_async bench`` (docs/benchmark.md).

It measures an EagerService worker from a grpcio client in this process: tiny-op
throughput by protocol mode and batch size (closed or open loop, over several
connections and contexts, or many contexts at once), a MatMul chain, big-tensor push
and pull, request latency percentiles, CPU per op on both sides, and how far each
worker's peak RSS rose during a run. It starts its own worker unless given
``--address``, and with ``--compare`` runs the same requests against a second worker
(TensorFlow's, say) in alternation; ``--baseline`` compares with an earlier run.
Modules: ``workloads`` (what is sent), ``lanes`` (how a tiny-op run sends it),
``runner`` (each scenario's runs), ``session`` (connections and clocks), ``worker`` (the
processes), ``report`` (summaries and JSON), ``environment`` (what it ran on),
``baseline``, ``table``, ``plot``, ``progress``, ``options`` and ``command`` (the
command line and a whole run).

grpcio, rich and matplotlib (the ``bench`` extra) are imported only when a benchmark
runs; without matplotlib it runs as with ``--no-plot``.

>>> from eager_async import bench
>>> bench.main(bench.parse(["--quick", "--scenarios", "tiny"]))   # doctest: +SKIP
0
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .options import BenchOptions, Load, add_arguments, options_from_args, parse
from .worker import BenchError
from .workloads import QUICK, SCENARIOS, Scenario, Sizes

if TYPE_CHECKING:
    from .report import BenchResult

__all__ = [
    "QUICK",
    "SCENARIOS",
    "BenchError",
    "BenchOptions",
    "Load",
    "Scenario",
    "Sizes",
    "add_arguments",
    "main",
    "options_from_args",
    "parse",
    "run",
]


def run(options: BenchOptions) -> BenchResult:
    """Run the benchmark described by ``options``; returns what it measured."""
    from .command import run as run_bench

    return run_bench(options)


def main(options: BenchOptions) -> int:
    """Run, print the table, write the JSON and plot; the exit status (1 if a run failed)."""
    from .command import main as run_main

    return run_main(options)
