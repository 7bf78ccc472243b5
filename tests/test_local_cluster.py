"""``python -m eager_async cluster`` and LocalCluster, with real processes: every task
answers gRPC under its own job and task, a signal stops them all, a task that dies stops
the rest (or not, with --keep-going), and no process outlives the cluster."""

from __future__ import annotations

import asyncio
import doctest
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from grpclib.client import Channel

from eager_async import cli, local_cluster
from eager_async._proto import tensorflow as tf
from eager_async.local_cluster import LocalCluster, LocalClusterError, Task, TaskExit

STARTUP = 60.0  # seconds for a cluster to come up on a loaded machine
STOP = 30.0  # seconds for it to stop (its own bound is 10 s, then SIGKILL)
_TASK_ROW = re.compile(r"^\s+(\w+/\d+)\s+\S+\s+pid (\d+)$")


class ClusterCommand:
    """``python -m eager_async cluster ARGS`` in a subprocess; threads collect its stdout
    and stderr lines so that it never blocks on a full pipe."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "eager_async", "cluster", *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._changed = threading.Condition()
        self._closed_streams = 0
        self._readers = [
            threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            for stream, lines in (
                (self.process.stdout, self.stdout),
                (self.process.stderr, self.stderr),
            )
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any, lines: list[str]) -> None:
        for line in stream:
            with self._changed:
                lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._closed_streams += 1
            self._changed.notify_all()

    def _until(self, predicate: Callable[[], bool], what: str, timeout: float) -> None:
        # Also stop waiting once both streams are closed: nothing more will come.
        with self._changed:
            self._changed.wait_for(lambda: predicate() or self._closed_streams == 2, timeout)
            if not predicate():
                raise AssertionError(
                    f"{what} not seen; the cluster's stderr:\n" + "\n".join(self.stderr)
                )

    def announced(self) -> tuple[dict[str, list[str]], dict[str, Any]]:
        """The ClusterSpec and TF_CONFIG it printed, once every task is up."""
        self._until(lambda: len(self.stdout) >= 2, "the cluster's two stdout lines", STARTUP)
        spec = json.loads(self.stdout[0])
        name, _, value = shlex.split(self.stdout[1].removeprefix("export "))[0].partition("=")
        assert name == "TF_CONFIG"
        return spec, json.loads(value)

    def pids(self) -> dict[str, int]:
        """Task -> pid, from the table it prints on stderr once up."""
        self._until(lambda: "Clients:" in "\n".join(self.stderr), "the task table", STARTUP)
        return self.pids_so_far()

    def wait_for_stderr(self, pattern: str) -> None:
        """Wait until a stderr line matches ``pattern``."""
        self._until(
            lambda: any(re.search(pattern, line) for line in self.stderr), repr(pattern), STOP
        )

    def exit_code(self) -> int:
        """Wait for it to exit, and its exit status."""
        code = self.process.wait(timeout=STOP)
        for reader in self._readers:
            reader.join(timeout=STOP)
        return code

    def close(self) -> None:
        """Stop it however the test went, and any task it left behind."""
        known = self.pids_so_far()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in known.values():
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)

    def pids_so_far(self) -> dict[str, int]:
        """Task -> pid of the tasks in its table, if it has printed one."""
        with self._changed:
            rows = [_TASK_ROW.match(line) for line in self.stderr]
        return {row[1]: int(row[2]) for row in rows if row}


@pytest.fixture
def run_cluster() -> Iterator[Callable[..., ClusterCommand]]:
    """Starts ``python -m eager_async cluster`` commands; stops each at the end."""
    started: list[ClusterCommand] = []

    def run(*args: str) -> ClusterCommand:
        started.append(ClusterCommand(*args))
        return started[-1]

    try:
        yield run
    finally:
        for command in started:
            command.close()


def _gone(pid: int) -> bool:
    # The cluster's tasks are its children: once it has reaped them, the pids are free.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _accepts(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _devices(address: str) -> list[str]:
    host, _, port = address.rpartition(":")
    channel = Channel(host, int(port))
    try:
        reply = await tf.WorkerServiceStub(channel).get_status(timeout=10)
    finally:
        channel.close()
    return [device.name for device in reply.device_attributes]


def _check_devices(spec: dict[str, list[str]]) -> None:
    for job, addresses in spec.items():
        for index, address in enumerate(addresses):
            assert asyncio.run(_devices(address)) == [
                f"/job:{job}/replica:0/task:{index}/device:CPU:0"
            ]


def test_every_task_answers_and_sigterm_stops_them_all(
    run_cluster: Callable[..., ClusterCommand],
    tmp_path: Path,
) -> None:
    written = tmp_path / "cluster.json"
    cluster = run_cluster("--workers", "2", "--ps", "1", "--json", str(written))
    spec, tf_config = cluster.announced()
    assert list(spec) == ["worker", "ps"]
    assert len(spec["worker"]) == 2 and len(spec["ps"]) == 1
    addresses = [*spec["worker"], *spec["ps"]]
    assert all(re.fullmatch(r"127\.0\.0\.1:\d+", a) for a in addresses)
    (chief,) = tf_config["cluster"].pop("chief")
    assert len({*addresses, chief}) == 4
    assert tf_config == {"cluster": spec, "task": {"type": "chief", "index": 0}}
    tf_config["cluster"]["chief"] = [chief]
    assert json.loads(written.read_text()) == {"cluster": spec, "tf_config": tf_config}
    _check_devices(spec)
    pids = cluster.pids()
    assert set(pids) == {"worker/0", "worker/1", "ps/0"}

    cluster.process.send_signal(signal.SIGTERM)
    assert cluster.exit_code() == 0
    assert all(_gone(pid) for pid in pids.values())
    assert not any(_accepts(a) for a in addresses)


def test_a_task_that_dies_stops_the_cluster(
    run_cluster: Callable[..., ClusterCommand],
) -> None:
    # Under WARNING a worker never logs "listening on": readiness must not depend on it.
    cluster = run_cluster("--workers", "1", "--ps", "1", "--log-level", "WARNING")
    cluster.announced()
    pids = cluster.pids()
    os.kill(pids["ps/0"], signal.SIGKILL)
    assert cluster.exit_code() == 1
    assert any(
        f"ps/0 (pid {pids['ps/0']}) was killed by SIGKILL: stopping the cluster" in line
        for line in cluster.stderr
    ), cluster.stderr
    assert all(_gone(pid) for pid in pids.values())


def test_keep_going_keeps_the_others_and_sigint_stops_them(
    run_cluster: Callable[..., ClusterCommand],
) -> None:
    chief_port = _free_port()
    cluster = run_cluster("--workers", "2", "--keep-going", "--chief-port", str(chief_port))
    spec, tf_config = cluster.announced()
    assert list(spec) == ["worker"]
    assert tf_config["cluster"]["chief"] == [f"127.0.0.1:{chief_port}"]
    pids = cluster.pids()
    os.kill(pids["worker/1"], signal.SIGKILL)
    cluster.wait_for_stderr(
        rf"worker/1 \(pid {pids['worker/1']}\) was killed by SIGKILL; "
        r"the other tasks keep running"
    )
    assert asyncio.run(_devices(spec["worker"][0])) == ["/job:worker/replica:0/task:0/device:CPU:0"]

    cluster.process.send_signal(signal.SIGINT)
    assert cluster.exit_code() == 0
    assert all(_gone(pid) for pid in pids.values())


def test_a_task_that_cannot_start_is_named_with_its_output(
    run_cluster: Callable[..., ClusterCommand],
) -> None:
    cluster = run_cluster("--workers", "2", "--threads", "-1")  # a flag every worker refuses
    assert cluster.exit_code() == 1
    assert cluster.stdout == []
    log = "\n".join(cluster.stderr)
    assert re.search(
        r"worker/\d \(pid \d+\) exited with code 2 before the cluster was up "
        r"\(its address: 127\.0\.0\.1:\d+\); its last output:",
        log,
    ), log
    assert "--threads -1: must be at least 1" in log


@pytest.mark.parametrize(
    "args",
    [
        ["--workers", "0"],
        ["--workers", "two"],
        ["--workers", "1", "--ps", "-1"],
        ["--workers", "1", "--chief-port", "70000"],
        ["--workers", "1", "--log-level", "LOUD"],
        ["--workers", "1", "--allow-file-io", "no/such/dir"],
        ["--workers", "1", "--json", "no/such/dir/cluster.json"],
        ["--ps", "1"],
    ],
)
def test_bad_flags_are_one_error_line_and_status_2(
    args: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["cluster", *args])
    assert stopped.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and err.rstrip("\n").endswith(errors[0]), err
    assert "Traceback" not in err


async def test_local_cluster_describes_its_tasks_and_reaps_them() -> None:
    output: list[tuple[Task, str]] = []
    cluster = LocalCluster(1, 1, chief_port=2222, on_output=lambda t, s: output.append((t, s)))
    async with cluster:
        worker, ps = cluster.tasks
        assert (worker, ps) == (Task("worker", 0), Task("ps", 0))
        assert cluster.cluster_spec() == {
            "worker": [cluster.address(worker)],
            "ps": [cluster.address(ps)],
        }
        assert cluster.tf_config() == {
            "cluster": {**cluster.cluster_spec(), "chief": ["127.0.0.1:2222"]},
            "task": {"type": "chief", "index": 0},
        }
        assert await _devices(cluster.address(ps)) == ["/job:ps/replica:0/task:0/device:CPU:0"]
        pids = [cluster.pid(task) for task in cluster.tasks]
    assert all(_gone(pid) for pid in pids)
    # What the tasks printed reached on_output, each line with its task.
    assert any(task == ps and "listening on" in line for task, line in output)


async def test_next_exit_reports_a_task_that_ended_by_itself() -> None:
    async with LocalCluster(1) as cluster:
        (task,) = cluster.tasks
        os.kill(cluster.pid(task), signal.SIGKILL)
        ended = await asyncio.wait_for(cluster.next_exit(), STOP)
        assert ended == TaskExit(task, cluster.pid(task), -signal.SIGKILL)


async def test_a_failed_start_names_the_task_and_reaps_every_process() -> None:
    cluster = LocalCluster(2, 1, serve_args=["--threads", "-1"])
    failed = r"(worker|ps)/\d \(pid \d+\) exited with code 2 before the cluster was up"
    with pytest.raises(LocalClusterError, match=failed):
        await cluster.start()
    assert all(_gone(cluster.pid(task)) for task in cluster.tasks)


async def test_a_start_that_takes_too_long_is_stopped() -> None:
    # No worker imports NumPy and binds in no time at all: the first look finds none up.
    cluster = LocalCluster(1, startup_timeout=0)
    late = r"worker/0 \(pid \d+\) did not accept connections on \S+ within 0 s"
    with pytest.raises(LocalClusterError, match=late):
        await cluster.start()
    assert _gone(cluster.pid(Task("worker", 0)))


async def test_a_host_of_another_machine_is_refused_before_any_process_starts() -> None:
    cluster = LocalCluster(1, host="192.0.2.1")  # TEST-NET-1: never an address of ours
    with pytest.raises(LocalClusterError, match=r"no free port on 192\.0\.2\.1"):
        await cluster.start()
    with pytest.raises(RuntimeError, match="not started"):
        cluster.pid(Task("worker", 0))


def test_a_cluster_needs_a_worker() -> None:
    with pytest.raises(ValueError, match="workers=0"):
        LocalCluster(0)


def test_doctests() -> None:
    assert doctest.testmod(local_cluster).failed == 0
