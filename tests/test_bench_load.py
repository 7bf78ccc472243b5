"""The benchmark's load knobs against a real worker in a subprocess: open loop
(``--rate``), concurrency (``--clients`` x ``--contexts``), the many-contexts scenario and
``--duration`` each send exactly the ops they promise, counted from the worker's replies.
Nothing here depends on how fast the worker is."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eager_async import bench
from eager_async.bench.session import Session
from eager_async.bench.worker import Target, started_worker

pytest.importorskip("grpc")

SMALL = ["--ops", "100", "--batch-sizes", "1,10", "--repeat", "1", "--no-plot"]


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    """A worker in a subprocess (``python -m eager_async serve --port 0``)."""
    with started_worker() as (running, _):
        yield running


def run_bench(address: str, tmp_path: Path, *args: str) -> dict[str, Any]:
    path = tmp_path / "bench.json"
    options = bench.parse([*SMALL, "--address", address, "--json", str(path), *args])
    assert bench.main(options) == 0
    document: dict[str, Any] = json.loads(path.read_text())
    for result in document["results"]:
        assert result["ours"]["error"] is None, result
    return document


def by_scenario(document: dict[str, Any]) -> dict[tuple[str, int | None], dict[str, Any]]:
    return {(r["scenario"], r["k"]): r for r in document["results"]}


def test_open_loop_sends_every_request_and_times_each(address: str, tmp_path: Path) -> None:
    document = run_bench(address, tmp_path, "--scenarios", "tiny", "--rate", "4000")
    assert document["meta"]["load"]["rate_ops_per_s"] == 4000
    results = by_scenario(document)
    assert set(results) == {(name, k) for name in bench.workloads.TINY for k in (1, 10)}
    for (_, k), result in results.items():
        assert k is not None
        ops = 10 if k == 1 else 100  # K=1 sends a tenth of --ops
        ours = result["ours"]
        assert result["ops"] == ops and ours["ops_per_run"] == [ops]
        assert ours["requests_timed"] == ops // k
        latency = ours["latency_ms"]
        assert 0 < latency["p50"] <= latency["p90"] <= latency["p99"]


def test_clients_times_contexts_each_send_the_whole_run(address: str, tmp_path: Path) -> None:
    document = run_bench(address, tmp_path, "--scenarios", "sync-unary,async-stream,sync-stream",
                         "--clients", "2", "--contexts", "3")
    assert document["meta"]["load"] == {"clients": 2, "contexts": 3, "rate_ops_per_s": None,
                                        "duration_s": None}
    for (_, k), result in by_scenario(document).items():
        assert k is not None
        ops = 6 * (10 if k == 1 else 100)
        assert result["ops"] == ops and result["ours"]["ops_per_run"] == [ops]
        assert result["ours"]["requests_timed"] == ops // k


def established_connections(port: int) -> int:
    """TCP connections to ``port`` on this machine, from /proc/net (both families)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and int(fields[2].rpartition(":")[2], 16) == port:
                count += 1  # state 01 is ESTABLISHED; fields[2] is the remote address
    return count


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="no /proc/net here")
def test_each_client_is_its_own_connection(address: str) -> None:
    port = int(address.rpartition(":")[2])
    before = established_connections(port)
    sessions = [Session(Target("ours", "eager_async", address, None)) for _ in range(3)]
    try:
        assert established_connections(port) - before == 3
    finally:
        for session in sessions:
            session.close()


def test_many_contexts_run_at_once(address: str, tmp_path: Path) -> None:
    # 120 contexts, each sending --ops // 500 = 2 single-op requests.
    document = run_bench(address, tmp_path, "--scenarios", "many-contexts",
                         "--many-contexts", "120", "--ops", "1000", "--clients", "2")
    assert document["meta"]["sizes"]["many_contexts"] == 120
    [result] = document["results"]
    assert (result["scenario"], result["k"], result["ops"]) == ("many-contexts", 1, 240)
    assert result["ours"]["ops_per_run"] == [240]
    assert result["ours"]["requests_timed"] == 240


def test_many_contexts_open_loop(address: str, tmp_path: Path) -> None:
    document = run_bench(address, tmp_path, "--scenarios", "many-contexts",
                         "--many-contexts", "100", "--ops", "100", "--rate", "5000")
    [result] = document["results"]
    assert result["ours"]["ops_per_run"] == [100]
    assert result["ours"]["requests_timed"] == 100


def test_duration_repeats_whole_passes_until_the_time_is_up(address: str,
                                                            tmp_path: Path) -> None:
    document = run_bench(address, tmp_path, "--scenarios", "sync-unary,matmul",
                         "--batch-sizes", "10", "--matmul-size", "8", "--duration", "0.3")
    results = by_scenario(document)
    tiny = results["sync-unary", 10]["ours"]
    [ops] = tiny["ops_per_run"]
    assert ops >= 100 and ops % 100 == 0  # whole passes of 100 ops
    assert tiny["requests_timed"] == ops // 10
    assert tiny["seconds"][0] >= 0.3
    matmul = results["matmul", None]["ours"]
    assert matmul["seconds"][0] >= 0.3 and matmul["requests_timed"] == matmul["ops_per_run"][0]


@pytest.mark.parametrize("argv", [
    ["--rate", "0"], ["--rate", "fast"], ["--clients", "0"], ["--contexts", "-2"],
    ["--duration", "-1"], ["--many-contexts", "0"], ["--clients", "1.5"],
])
def test_bad_load_options_are_refused(argv: list[str],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        bench.parse(argv)
    assert exit_info.value.code == 2
    assert argv[0] in capsys.readouterr().err
