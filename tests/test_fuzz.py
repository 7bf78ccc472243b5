"""A short fuzz run against ``python -m eager_async serve`` in its own process: every RPC
gets random bytes and mutations of real TF 2.21 client requests, the hostile list is sent
whole, and a fixed sample of the registered ops gets random inputs and attrs. Seeded, so
every run sends the same requests (``tests/fuzz/plan.py``); ``make fuzz`` is the long run.

The oracle (``tests/fuzz/harness.py``): no INTERNAL or UNKNOWN status, no call running into
its deadline unless it waits by design, the worker alive after every case and stopping
cleanly at the end, each case's own expectations (closing a context ends the calls that
wait on it, with CANCELLED), and a probe client on its own connection answered
throughout. Timings are reported, not asserted: speed is the benchmarks' business.
"""

from __future__ import annotations

import sys

from fuzz import corpus, plan
from fuzz.runner import Runner, format_summary

SEED = 20261130


def test_a_short_fixed_seed_fuzz_run_finds_nothing() -> None:
    runner = Runner(python=sys.executable)
    try:
        runner.run(plan.short(SEED, corpus.load()))
    finally:
        report = runner.finish()
    report["seed"] = SEED
    summary = format_summary(report)
    print(summary)
    assert report["harness_errors"] == [], summary
    assert report["findings"] == {"crash": 0, "hang": 0, "internal": 0, "unknown": 0,
                                  "expectation": 0}, summary
    assert report["restarts"] == 0, summary
    assert report["shutdown"]["exit_status"] == 0, summary
    probe = report["probe"]
    assert probe["count"] > 0 and probe["errors"] == 0, summary
