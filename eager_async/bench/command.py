"""A run of the harness from start to report: workers, sessions, warm-up, the runs, and
the table, JSON and plot (and the baseline they are compared with).

>>> main(BenchOptions(scenarios=("sync-unary",), sizes=QUICK, repeat=1))   # doctest: +SKIP
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from datetime import UTC, datetime

import grpc

from .baseline import load_baseline
from .environment import describe
from .options import BenchOptions
from .plot import MISSING_MATPLOTLIB, plotting_available, write_plot
from .progress import Progress
from .report import BenchResult, write_json
from .runner import make_jobs, run_jobs, warm_up
from .session import Session
from .table import print_table
from .worker import BenchError, Target, started_worker

__all__ = ["main", "run"]

logger = logging.getLogger(__name__)


def run(options: BenchOptions) -> BenchResult:
    """Build every request, start or connect to the workers, warm them up, and run each
    scenario ``repeat`` times per worker, alternating workers run by run. A bad
    ``--baseline`` file stops it before anything runs (BenchError)."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    baseline = None if options.baseline is None else load_baseline(options.baseline)
    jobs = make_jobs(options.scenarios, options.sizes, options.load)
    with ExitStack() as stack:
        if options.address:
            ours = Target("ours", "eager_async", options.address, None)
        else:
            address, pid = stack.enter_context(started_worker())
            ours = Target("ours", "eager_async", address, pid)
        targets = [ours]
        if options.compare:
            targets.append(Target("theirs", options.compare_label, options.compare,
                                  options.compare_pid))
        connections = []
        for target in targets:
            sessions = []
            for _ in range(options.load.clients):
                session = Session(target, timeout=options.timeout)
                stack.callback(session.close)
                sessions.append(session)
            connections.append(sessions)
        for sessions in connections:
            try:
                warm_up(sessions)
            except (grpc.RpcError, BenchError) as error:
                logger.warning("warm-up against %s failed: %s", sessions[0].target.label, error)
        progress = Progress(len(jobs) * options.repeat * len(connections),
                            enabled=options.progress)
        try:
            points = run_jobs(connections, jobs, options.repeat, progress)
        finally:
            progress.close()
        clocks = {target.role: target.cpu_clock() for target in targets}
    return BenchResult(tuple(targets), tuple(points), options.sizes, options.repeat, started_at,
                       options.load, describe(), baseline, clocks)


def main(options: BenchOptions) -> int:
    """Run, print the table, write the JSON and the plot; 1 if any run failed, 2 if the
    benchmark could not run at all (a worker did not start or cannot be reached)."""
    plot_path = options.plot_path
    if plot_path is not None and not plotting_available():
        logger.warning("%s", MISSING_MATPLOTLIB)
        plot_path = None
    try:
        result = run(options)
    except BenchError as error:
        logger.error("%s", error)
        return 2
    print_table(result)
    if options.json_path is not None:
        write_json(result, options.json_path)
        print(f"wrote {options.json_path}")
    if plot_path is not None:
        if write_plot(result, plot_path):
            print(f"wrote {plot_path}")
        else:
            logger.warning("no plot written: no scenario that can be drawn ran")
    return 1 if any(point.errors for point in result.points) else 0


