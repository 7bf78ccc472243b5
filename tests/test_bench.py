"""The benchmark harness, run with tiny sizes against real workers in subprocesses: every
scenario must report positive figures (nothing here depends on how fast they are)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eager_async import bench, cli
from eager_async.bench import workloads as w
from eager_async.bench.worker import started_worker

pytest.importorskip("grpc")

TINY_ARGS = ["--quick", "--ops", "100", "--batch-sizes", "1,10", "--matmul-size", "16",
             "--transfer-mib", "1", "--repeat", "2", "--many-contexts", "4"]


@pytest.fixture(scope="module")
def worker() -> Iterator[tuple[str, int]]:
    """``python -m eager_async serve --port 0`` in a subprocess: its address and pid."""
    with started_worker() as running:
        yield running


def check_results(document: dict[str, Any], roles: tuple[str, ...]) -> None:
    found = {(r["scenario"], r["k"]) for r in document["results"]}
    expected = {(name, k if scenario.batched else None)
                for name, scenario in bench.SCENARIOS.items() for k in (1, 10)}
    expected.remove(("many-contexts", 10))  # one op per request, whatever --batch-sizes says
    assert found == expected
    for result in document["results"]:
        for role in roles:
            figures = result[role]
            assert figures["error"] is None, (result["scenario"], role, figures["error"])
            assert len(figures["runs"]) == 2
            assert figures["median"] > 0 and all(run > 0 for run in figures["runs"])
            assert figures["min"] <= figures["median"] <= figures["max"]
            assert figures["client_cpu_s"] >= 0
            latency = figures["latency_ms"]
            assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"], result["scenario"]


def test_cli_against_a_given_worker(worker: tuple[str, int], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    address, _ = worker
    json_path, plot_path = tmp_path / "bench.json", tmp_path / "bench.png"
    status = cli.main(["bench", *TINY_ARGS, "--address", address,
                       "--json", str(json_path), "--plot", str(plot_path)])
    assert status == 0
    document = json.loads(json_path.read_text())
    check_results(document, ("ours",))
    # An external worker's CPU is unknown; there is nothing to compare with.
    assert all(r["ours"]["server_cpu_s"] is None and r["theirs"] is None
               for r in document["results"])
    table = capsys.readouterr().out
    assert all(name in table for name in bench.SCENARIOS)
    pytest.importorskip("matplotlib")
    assert plot_path.stat().st_size > 0


def test_compare_alternates_and_measures_both_workers(worker: tuple[str, int],
                                                      tmp_path: Path) -> None:
    address, pid = worker
    options = bench.parse([*TINY_ARGS, "--compare", address, "--compare-pid", str(pid),
                           "--compare-label", "other", "--json", str(tmp_path / "b.json"),
                           "--no-plot"])
    assert bench.main(options) == 0
    document = json.loads((tmp_path / "b.json").read_text())
    check_results(document, ("ours", "theirs"))
    assert [t["role"] for t in document["targets"]] == ["ours", "theirs"]
    for result in document["results"]:
        assert result["ratio"] > 0
        for role in ("ours", "theirs"):
            # Both pids are known: CPU is measured (a tick may be 0 at these sizes).
            assert result[role]["server_cpu_s"] >= 0
            if result["k"] is not None:
                assert result[role]["server_cpu_us_per_op"] >= 0


def test_requests_are_what_tensorflow_expects() -> None:
    create = w.CreateContextRequest.FromString(w.create_context(5, "127.0.0.1:1", is_async=True))
    assert create.context_id == 5 and getattr(create, "async") and create.keep_alive_secs == 600
    assert create.server_def.job_name == "worker"
    assert dict(create.server_def.cluster.job[0].tasks) == {0: "127.0.0.1:1"}
    bodies = w.tiny_bodies(ops=6, k=3)
    request = w.EnqueueRequest.FromString(w.enqueue_head(9) + bodies[1])
    assert len(bodies) == 2 and request.context_id == 9
    assert [item.operation.id for item in request.queue] == [5, 6, 7]
    op = request.queue[0].operation
    assert (op.name, op.device, op.attrs["T"].type) == ("AddV2", w.DEVICE, 1)
    handle = op.op_inputs[0].remote_handle
    assert (handle.op_id, handle.device, handle.op_device, handle.dtype) == (1, w.DEVICE,
                                                                             w.DEVICE, 1)
    fetch = w.EnqueueRequest.FromString(w.fetch_body(21)).queue[0].operation
    assert fetch.id == -1 and fetch.op_inputs[0].remote_handle.op_id == 21


def test_scenario_names_are_checked() -> None:
    assert bench.parse(["--scenarios", "transfer,matmul"]).scenarios == ("matmul", "push",
                                                                         "pull")
    with pytest.raises(SystemExit):
        bench.parse(["--scenarios", "nope"])
