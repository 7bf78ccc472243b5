"""The benchmark harness's peak RSS: reset and read from /proc, and reported per run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from eager_async import bench
from eager_async.bench.worker import process_peak_rss, reset_process_peak_rss

pytest.importorskip("grpc")
MB = 1 << 20


@pytest.mark.skipif(reset_process_peak_rss(os.getpid()) is None,
                    reason="no /proc/PID/clear_refs here")  # fmt: skip
def test_the_peak_is_reset_then_follows_what_the_process_touches() -> None:
    start = reset_process_peak_rss(os.getpid())
    assert start is not None
    held = np.ones(64 * MB, np.uint8)  # every page written
    peak = process_peak_rss(os.getpid())
    assert peak is not None and peak - start >= 60 * MB
    del held
    again = reset_process_peak_rss(os.getpid())
    assert again is not None and (process_peak_rss(os.getpid()) or 0) < peak


def test_push_and_pull_report_the_workers_rss_rise(tmp_path: Path) -> None:
    path = tmp_path / "bench.json"
    options = bench.parse(["--scenarios", "transfer", "--transfer-mib", "2", "--repeat", "1",
                           "--json", str(path), "--no-plot"])  # fmt: skip
    assert bench.main(options) == 0
    for result in json.loads(path.read_text())["results"]:
        rise = result["ours"]["server_rss_rise_mib"]
        if reset_process_peak_rss(os.getpid()) is not None:
            assert rise is not None and rise >= 0, result["scenario"]
