"""What the benchmark reports, from real runs on loopback: latency percentiles, the JSON's
meta, the comparison with a baseline, the PNG and its log-scale panels, and plain output
when nothing is a terminal. Nothing here depends on how fast the worker is."""

from __future__ import annotations

import io
import json
import logging
import re
import struct
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from eager_async import bench
from eager_async.bench.baseline import Figure, compare, load_baseline
from eager_async.bench.progress import Progress
from eager_async.bench.report import BenchResult, to_json, write_json
from eager_async.bench.table import format_table, print_table
from eager_async.bench.worker import BenchError

pytest.importorskip("grpc")

SMALL = ["--ops", "100", "--batch-sizes", "1,10", "--matmul-size", "16", "--transfer-mib",
         "1", "--many-contexts", "4", "--repeat", "2"]
ANSI = re.compile(r"\x1b\[")


@dataclass(frozen=True)
class FirstRun:
    """A run with the harness's own worker (so its CPU is measured): the result, its JSON
    document and where that was written."""

    result: BenchResult
    document: dict[str, Any]
    json_path: Path


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    result = bench.run(bench.parse([*SMALL, "--no-plot"]))
    path = tmp_path_factory.mktemp("bench") / "first.json"
    write_json(result, path)
    return FirstRun(result, json.loads(path.read_text()), path)


def test_every_scenario_reports_ordered_latency_percentiles(first: FirstRun) -> None:
    for result in first.document["results"]:
        ours = result["ours"]
        assert ours["requests_timed"] > 0, result["scenario"]
        latency = ours["latency_ms"]
        assert set(latency) == {"p50", "p90", "p99"}
        assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"], result["scenario"]
    table = format_table(first.result)
    assert "p50/p90/p99" in table


def test_meta_names_the_code_the_machine_and_the_cpu_clock(first: FirstRun) -> None:
    meta = first.document["meta"]
    assert meta["eager_async_version"] == metadata.version("eager_async")
    commit = meta["git_commit"]
    assert commit is None or re.fullmatch(r"[0-9a-f]{40}", commit)
    assert meta["git_dirty"] in (True, False, None)
    assert meta["python"] == ".".join(map(str, sys.version_info[:3]))
    assert meta["cpu"]["count"] > 0 and meta["cpu"]["usable"] > 0
    assert meta["cpu"]["model"] is None or meta["cpu"]["model"].strip()
    assert meta["blas"]["numpy"] and "name" in meta["blas"]
    assert set(meta["blas_env"]) == {"OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
                                     "OMP_NUM_THREADS", "MKL_NUM_THREADS"}
    assert "bench" in meta["command_line"] or "pytest" in meta["command_line"]
    # The harness started this worker, so its CPU clock is known and named.
    assert meta["server_cpu_clock"]["ours"] in ("schedstat", "psutil")
    [target] = first.document["targets"]
    assert target["cpu_clock"] == meta["server_cpu_clock"]["ours"]
    assert all(r["ours"]["server_cpu_s"] >= 0 for r in first.document["results"])
    # Keys earlier notes quote stay.
    assert {"started_at", "machine", "repeat", "sizes", "units"} <= set(meta)


def test_a_second_run_is_compared_with_the_first(first: FirstRun, tmp_path: Path) -> None:
    path = tmp_path / "second.json"
    options = bench.parse([*SMALL, "--repeat", "1", "--baseline", str(first.json_path),
                           "--json", str(path), "--no-plot"])
    assert bench.main(options) == 0
    document = json.loads(path.read_text())
    assert document["meta"]["baseline"]["path"] == str(first.json_path)
    assert document["meta"]["baseline"]["started_at"] == first.document["meta"]["started_at"]
    for result in document["results"]:
        compared = result["baseline"]
        assert compared["ratio"] > 0
        assert compared["verdict"] in ("regression", "improvement", "within spread")
        assert compared["min"] <= compared["median"] <= compared["max"]


def test_changes_beyond_the_baselines_spread_are_flagged(first: FirstRun,
                                                         tmp_path: Path) -> None:
    # A baseline a million times faster than anything: every scenario regressed.
    document = json.loads(first.json_path.read_text())
    for result in document["results"]:
        factor = 1e6 if result["higher_is_better"] else 1e-6
        ours = result["ours"]
        ours["runs"] = [run * factor for run in ours["runs"]]
        ours["median"] *= factor
    fast = tmp_path / "fast.json"
    fast.write_text(json.dumps(document))
    result = first.result
    compared = to_json(BenchResult(result.targets, result.points, result.sizes, result.repeat,
                                   result.started_at, baseline=load_baseline(fast)))
    verdicts = {(r["scenario"], r["k"]): r["baseline"]["verdict"] for r in compared["results"]}
    assert set(verdicts.values()) == {"regression"}, verdicts
    assert all(r["baseline"]["ratio"] < 1 for r in compared["results"])
    table = format_table(BenchResult(result.targets, result.points, result.sizes,
                                     result.repeat, result.started_at,
                                     baseline=load_baseline(fast)))
    assert "vs baseline" in table and "regression" in table


def test_the_verdict_follows_the_direction_of_the_unit() -> None:
    old = Figure(median=10.0, low=9.0, high=11.0)
    assert compare(old, 8.0, higher_is_better=True).verdict == "regression"
    assert compare(old, 12.0, higher_is_better=True).verdict == "improvement"
    assert compare(old, 10.5, higher_is_better=True).verdict == "within spread"
    # Seconds: more is worse, and the ratio still says > 1 when this run is faster.
    slower = compare(old, 12.0, higher_is_better=False)
    assert slower.verdict == "regression" and slower.ratio == pytest.approx(10 / 12)
    assert compare(old, 8.0, higher_is_better=False).verdict == "improvement"


@pytest.mark.parametrize(("content", "complaint"), [
    (None, "cannot read it"),
    ("{not json", "not JSON"),
    ('{"results": 3}', "not a bench result"),
    ('{"results": [{"scenario": "x", "k": null, "ours": null}]}', "no figure"),
])
def test_a_bad_baseline_stops_the_run_before_it_starts(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str | None,
        complaint: str) -> None:
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(BenchError, match=complaint):
        load_baseline(path)
    options = bench.parse(["--baseline", str(path), "--address", "127.0.0.1:9",
                           "--no-plot", "--json", str(tmp_path / "out.json")])
    with caplog.at_level(logging.ERROR):
        assert bench.main(options) == 2
    assert complaint in caplog.text and str(path) in caplog.text
    assert not (tmp_path / "out.json").exists()


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_plot_has_a_log_scale_panel_per_kind_of_scenario(first: FirstRun,
                                                             tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from eager_async.bench.plot import build_figure, write_plot

    path = tmp_path / "plots" / "bench.png"
    assert write_plot(first.result, path)
    width, height = png_size(path)
    assert width > height > 0
    figure = build_figure(first.result)
    assert figure is not None
    tiny, matmul, transfer = figure.get_axes()
    assert (tiny.get_xscale(), tiny.get_yscale()) == ("log", "log")
    assert matmul.get_yscale() == "log" and transfer.get_yscale() == "log"
    assert "MatMul" in matmul.get_title() and "Transfers" in transfer.get_title()
    # The spread: one band per tiny mode (min-max), error bars on every bar.
    assert len(tiny.collections) >= 4
    assert [t.get_text() for t in transfer.get_xticklabels()] == ["push", "pull"]


def test_without_matplotlib_the_run_goes_on_without_a_plot(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # what an import of it finds
    plot = tmp_path / "bench.png"
    options = bench.parse([*SMALL, "--scenarios", "sync-unary", "--repeat", "1",
                           "--plot", str(plot), "--json", str(tmp_path / "b.json")])
    with caplog.at_level(logging.WARNING):
        assert bench.main(options) == 0
    assert "matplotlib is not installed" in caplog.text
    assert not plot.exists() and (tmp_path / "b.json").exists()


def test_output_to_pipes_is_plain_text(tmp_path: Path) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "eager_async", "bench", *SMALL, "--repeat", "1",
         "--scenarios", "sync-unary,matmul", "--json", str(tmp_path / "b.json"),
         "--plot", str(tmp_path / "b.png")],
        capture_output=True, text=True, timeout=120, check=False)
    assert process.returncode == 0, process.stderr
    assert not ANSI.search(process.stdout) and not ANSI.search(process.stderr)
    assert "\r" not in process.stderr
    # Progress: one plain line per step, with an ETA; the table: Markdown.
    assert re.search(r"^bench \[1/\d+\] .*ETA", process.stderr, re.MULTILINE)
    assert re.search(r"^\| sync-unary +\| 1 ", process.stdout, re.MULTILINE)
    assert all(line == line.rstrip() for line in process.stdout.splitlines())


class Terminal(io.StringIO):
    """Text written as to a terminal."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_rich_drawing_not_plain_lines(first: FirstRun) -> None:
    screen = Terminal()
    print_table(first.result, screen)
    drawn = screen.getvalue()
    assert "sync-unary" in drawn and "\u2501" in drawn  # a heavy rule under the header
    assert "|---" not in drawn
    screen = Terminal()
    progress = Progress(2, stream=screen)
    progress.step("sync-unary K=1 ours (1/1)")
    progress.step("matmul ours (1/1)")
    progress.close()
    assert progress.done == 1 and "bench [" not in screen.getvalue()
