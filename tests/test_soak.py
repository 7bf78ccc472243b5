"""The soak harness (benchmarks/soak.py) itself, run for a few seconds with 3 contexts:
it must complete with every value checked and every handle and context gone at the end.
Nothing here depends on timing or memory figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("psutil")

SOAK = Path(__file__).resolve().parents[1] / "benchmarks" / "soak.py"


def test_a_short_soak_completes_clean(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    run = subprocess.run(
        [sys.executable, str(SOAK), "--contexts", "3", "--minutes", "0.17", "--json", str(out)],
        capture_output=True, text=True, timeout=180,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    document = json.loads(out.read_text())
    totals, worker = document["totals"], document["worker"]
    assert document["completed"] and document["passed"]
    assert totals["iterations"] > 0 and totals["fetches"] == 2 * totals["iterations"]
    assert totals["mismatches"] == 0
    assert totals["unexpected_errors"] == {}
    assert set(totals["expected_errors"]) <= {"ABORTED", "FAILED_PRECONDITION",
                                              "INVALID_ARGUMENT"}
    assert worker["after_release"]["handles"] == 0
    assert worker["after_close"] == {**worker["after_close"], "contexts": 0, "handles": 0}
    assert sorted(document["profiles"]) == ["0:sync/client/long", "1:async/stream/long",
                                            "2:sync/seed/recycle"]
    assert not document["rss"]["checked"]  # far too short for the RSS verdict
