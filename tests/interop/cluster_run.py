"""``make interop-cluster``: ordinary TensorFlow 2.21 client programs driving a cluster of
tasks, each an eager_async worker or TensorFlow's own, in every mix, side by side with
an all-TF cluster as the reference.

    .venv/bin/python tests/interop/cluster_run.py [--programs a,b] [--placements p,q]
        [--timeout 240] [--verbose] [--json PATH] [--tf-cluster full|single] [--traffic]

A *placement* says which kind of task runs each task of a program's cluster:

- ``two_tasks``: ``ea+tf`` = worker 0 is eager_async, worker 1 TF (``tf+tf``, ``ea+ea``,
  ``tf+ea``, ``ea+tf``); ``three_tasks``: ``tf*3``, ``ea*3`` (or ``ea+tf+ea``, ...);
- ``ps_training``: ``w:ea+tf/ps:tf`` = workers 0, 1 and ps 0; ``ps:tf+tf`` for two ps;
  ``/kill:w1`` appended SIGKILLs worker 1 mid-training (the coordinator must go on).

For each scenario (program x placement), one at a time: free ports are picked up front,
every task is started (eager_async: ``.venv``'s ``python -m eager_async serve --host
127.0.0.1 --port P --job J --task I``; TF: ``.venv-tf``'s ``benchmarks/tf_worker.py
--job J --task I --cluster SPEC``, a member of the full ClusterSpec, or with
``--tf-cluster single`` a one-task cluster of its own), each awaited by polling its port,
the program run with ``.venv-tf``'s Python under a timeout, and every process stopped
(its own process group: SIGTERM, then SIGKILL) however the scenario ends. The all-TF
placement of each program runs first; ``ps_training``'s all-TF runs hand their losses and
weights to the later runs with as many ps (``--expect``).

Prints a table (program, placement, status, checks, seconds, figures), the first failing
lines of each failure with the end of the eager_async tasks' logs, and writes JSON
(``bench-results/interop-cluster.json``). Exit status: 0 when everything passed; 1 when
a scenario with an eager_async task failed; 2 when an all-TF scenario failed (the
program is wrong); 130 when interrupted.

``--traffic`` (default placements: the all-TF ones) puts ``cluster_proxy.py`` in front of
every task and of the client: the ClusterSpec names ``127.0.0.2:P`` for each, where the
proxy listens, while the task listens on ``127.0.0.1:P`` (TF's server on ``0.0.0.0:P``
with ``TF_GRPC_REUSE_PORT=1``; the more specific address takes the proxy's connections).
Same port, because a TF process checks its own entry's port against the port it bound.
The proxies name each caller by its pid; the table shows, per source -> destination
task, the RPCs, queue item kinds, ops, functions and RecvTensor edges. JSON to
``bench-results/interop-cluster-traffic.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from run import stop, verdict

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROGRAMS = HERE / "cluster_programs"
PROXY = HERE / "cluster_proxy.py"
KINDS = {"ea": "eager_async", "tf": "TF 2.21"}
CLIENT_JOB = {"two_tasks": "localhost", "three_tasks": "localhost", "ps_training": "chief"}
# Per program, the all-TF reference first.
PLACEMENTS = {
    "two_tasks": ["tf+tf", "ea+ea", "tf+ea", "ea+tf"],
    "three_tasks": ["tf*3", "ea*3"],
    "ps_training": ["w:tf+tf/ps:tf", "w:ea+ea/ps:ea", "w:ea+ea/ps:tf", "w:tf+tf/ps:ea",
                    "w:ea+tf/ps:tf", "w:tf+tf/ps:tf+tf", "w:ea+ea/ps:ea+ea",
                    "w:tf+tf/ps:tf/kill:w1", "w:ea+ea/ps:ea/kill:w1"],
}
START_TIMEOUT = 180.0  # seconds for every task to listen: TF imports itself first
POLL = 0.2
PROXY_HOST = "127.0.0.2"  # --traffic: the proxies' address; the tasks keep 127.0.0.1
FIRST_LINES = 3  # failing lines shown per failure without --verbose
LOG_LINES = 6  # lines of each eager_async task's log shown per failure
# Exit codes of a task this runner did not stop: a signal from outside (another session's
# pkill, the OOM killer) spoils the scenario, which then runs once more.
OUTSIDE = {0, -signal.SIGTERM, -signal.SIGINT, -signal.SIGKILL}
FIGURE = re.compile(r"^figure (\S+) (\S+)$")
NOISE = ("WARNING: All log messages before absl", "I0000 ", "To enable the following")


@dataclass(frozen=True, slots=True)
class Task:
    """One task of a scenario's cluster."""

    job: str
    index: int
    kind: str  # "ea" or "tf"

    @property
    def name(self) -> str:
        return f"{self.job}/{self.index}"


@dataclass(frozen=True, slots=True)
class Scenario:
    """A program and where each of its tasks runs."""

    program: str
    placement: str
    tasks: tuple[Task, ...]
    kill: str | None = None  # the task the program SIGKILLs mid-run ("worker/1")

    @property
    def reference(self) -> bool:
        """All tasks TF's: the program must pass here."""
        return all(task.kind == "tf" for task in self.tasks)

    @property
    def expect_key(self) -> str:
        """Runs compared with the same all-TF record (ps_training: by ps count)."""
        return f"{self.program}/ps{sum(task.job == 'ps' for task in self.tasks)}"


class PlacementError(ValueError):
    """A placement name this runner cannot read (the user's ``--placements``)."""


def kinds_of(text: str) -> list[str]:
    """``ea+tf`` -> ["ea", "tf"]; ``tf*3`` -> ["tf", "tf", "tf"]."""
    if "*" in text:
        kind, _, count = text.partition("*")
        kinds = [kind] * int(count) if count.isdigit() else []
    else:
        kinds = text.split("+")
    if not kinds or any(kind not in KINDS for kind in kinds):
        raise PlacementError(f"{text!r}: want kinds of {sorted(KINDS)} joined by + (or k*N)")
    return kinds


def scenario(program: str, placement: str) -> Scenario:
    """Read a placement name for ``program``."""
    if program != "ps_training":
        kinds = kinds_of(placement)
        want = {"two_tasks": 2, "three_tasks": 3}.get(program)
        if want is not None and len(kinds) != want:
            raise PlacementError(f"{program} takes {want} tasks, not {placement!r}")
        return Scenario(program, placement,
                        tuple(Task("worker", i, kind) for i, kind in enumerate(kinds)))
    tasks: list[Task] = []
    kill = None
    for part in placement.split("/"):
        key, _, value = part.partition(":")
        if key in ("w", "ps"):
            job = "worker" if key == "w" else "ps"
            tasks += [Task(job, i, kind) for i, kind in enumerate(kinds_of(value))]
        elif key == "kill" and re.fullmatch(r"w\d+", value):
            kill = f"worker/{value[1:]}"
        else:
            raise PlacementError(f"{placement!r}: want w:K+K/ps:K[+K][/kill:wN]")
    if not any(t.job == "worker" for t in tasks) or not any(t.job == "ps" for t in tasks):
        raise PlacementError(f"{placement!r}: needs workers (w:) and ps (ps:)")
    if kill is not None and kill not in {task.name for task in tasks}:
        raise PlacementError(f"{placement!r}: no {kill} to kill")
    return Scenario(program, placement, tuple(tasks), kill)


@dataclass(slots=True)
class Outcome:
    """One scenario's run."""

    status: str  # pass, FAIL, TIMEOUT, CRASH, NO-CLUSTER
    passed: int = 0
    total: int = 0
    seconds: float = 0.0
    exit_code: int | None = None
    failures: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    output: str = ""
    stderr_tail: list[str] = field(default_factory=list)
    task_logs: dict[str, list[str]] = field(default_factory=dict)
    task_notes: list[str] = field(default_factory=list)
    traffic: dict[str, Any] | None = None
    stopped_from_outside: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "pass"


class ClusterError(Exception):
    """A task or proxy did not start (listen) in time; ``logs`` holds their ends, and
    ``outside`` the ones stopped by a signal this runner did not send."""

    def __init__(self, message: str, logs: dict[str, list[str]],
                 outside: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.logs = logs
        self.outside = list(outside)


@dataclass(slots=True)
class Process:
    """A started task, proxy or program, and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int) -> list[str]:
        """The last ``lines`` lines of its output, without TensorFlow's start-up noise."""
        with suppress(OSError):
            text = self.log.read_text(errors="replace").splitlines()
            return [line for line in text if not line.startswith(NOISE)][-lines:]
        return []


def free_ports(count: int) -> list[int]:
    """``count`` distinct TCP ports free on every local address a moment ago."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("0.0.0.0", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def listening(host: str, port: int) -> bool:
    """Whether something accepts connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0


@contextmanager
def started(name: str, command: Sequence[str], log: Path, env: dict[str, str]
            ) -> Iterator[Process]:
    """Start ``command`` in its own session with its output to ``log``; stop its process
    group on the way out, however the block ends."""
    with log.open("wb") as out:
        process = subprocess.Popen(list(command), cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    try:
        yield Process(name, process, log)
    finally:
        stop(process)  # type: ignore[arg-type]  # run.stop only polls, kills and waits


def await_listening(waiting: dict[str, tuple[Process, str, int]], deadline: float) -> None:
    """Poll every (process, host, port) until each accepts connections; ClusterError if
    one exits first or the deadline passes."""
    pending = dict(waiting)
    while pending:
        for name, (proc, host, port) in list(pending.items()):
            if listening(host, port):
                del pending[name]
            elif (code := proc.process.poll()) is not None:
                raise ClusterError(f"{name} exited (code {code}) before listening on "
                                   f"{host}:{port}", {name: proc.tail(20)},
                                   [name] if code in OUTSIDE else [])
        if pending and time.monotonic() > deadline:
            raise ClusterError(f"not listening after {START_TIMEOUT:.0f} s: "
                               f"{', '.join(pending)}",
                               {name: proc.tail(20) for name, (proc, _, _) in pending.items()})
        if pending:
            time.sleep(POLL)


class Runner:
    """Runs scenarios one at a time with the options of the command line."""

    def __init__(self, args: argparse.Namespace, scratch: Path) -> None:
        self.args = args
        self.scratch = scratch
        self.env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
                        TF_ENABLE_ONEDNN_OPTS="0")
        if args.traffic:
            self.env["TF_GRPC_REUSE_PORT"] = "1"
        self.expect: dict[str, Path] = {}  # ps_training's all-TF records

    def task_command(self, task: Task, port: int, spec: dict[str, list[str]]) -> list[str]:
        """How to start ``task`` listening on ``port`` as a member of ``spec``."""
        if task.kind == "ea":
            return [str(ROOT / ".venv" / "bin" / "python"), "-m", "eager_async", "serve",
                    "--host", "127.0.0.1", "--port", str(port), "--job", task.job,
                    "--task", str(task.index)]
        command = [str(self.args.tf_python), str(ROOT / "benchmarks" / "tf_worker.py"),
                   "--job", task.job, "--task", str(task.index)]
        if self.args.tf_cluster == "single":
            return [*command, "--port", str(port)]
        return [*command, "--cluster", json.dumps(spec), "--port", str(port)]

    def run(self, scene: Scenario) -> Outcome:
        """``attempt``, once more if a task was stopped from outside the first time."""
        outcome = self.attempt(scene)
        if outcome.stopped_from_outside:
            print(f"(again: {', '.join(outcome.stopped_from_outside)} stopped by a signal "
                  "from outside) ...", end=" ", flush=True)
            first = outcome.stopped_from_outside
            outcome = self.attempt(scene)
            outcome.task_notes.append(f"second attempt: the first had {', '.join(first)} "
                                      "stopped by a signal from outside this runner")
        return outcome

    def attempt(self, scene: Scenario) -> Outcome:
        """Start the cluster, run the program, stop everything."""
        directory = Path(tempfile.mkdtemp(prefix=f"{scene.program}-", dir=self.scratch))
        client_job = CLIENT_JOB.get(scene.program, "localhost")
        names = [task.name for task in scene.tasks] + [f"{client_job}/0"]
        ports = dict(zip(names, free_ports(len(names)), strict=True))
        host = PROXY_HOST if self.args.traffic else "127.0.0.1"
        spec: dict[str, list[str]] = {}
        for name in names:
            spec.setdefault(name.split("/")[0], []).append(f"{host}:{ports[name]}")
        try:
            with ExitStack() as stack:
                proxies: dict[str, Path] = {}
                if self.args.traffic:
                    proxies = self.start_proxies(stack, names, ports, directory)
                tasks = {}
                for task in scene.tasks:
                    tasks[task.name] = (task, stack.enter_context(started(
                        task.name, self.task_command(task, ports[task.name], spec),
                        directory / f"{task.name.replace('/', '-')}.log", self.env)))
                await_listening({name: (proc, "127.0.0.1", ports[name])
                                 for name, (_, proc) in tasks.items()},
                                time.monotonic() + START_TIMEOUT)
                outcome, client_pid = self.run_program(scene, spec, tasks, directory)
                for name, (task, proc) in tasks.items():
                    if task.kind == "ea" or not outcome.ok:
                        outcome.task_logs[name] = proc.tail(25)
                    code = proc.process.poll()
                    if code is not None and name != scene.kill:
                        outcome.task_notes.append(
                            f"{name} ({KINDS[task.kind]}) exited with code {code} during "
                            "the run")
                        if code in OUTSIDE:
                            outcome.stopped_from_outside.append(name)
            # The proxies have written their records now (stopped with the stack).
            if self.args.traffic:
                pids = {str(proc.process.pid): name for name, (_, proc) in tasks.items()}
                pids[str(client_pid)] = f"client ({client_job}/0)"
                outcome.traffic = collect_traffic(proxies, pids)
            return outcome
        except ClusterError as error:
            return Outcome("NO-CLUSTER", failures=[str(error)], task_logs=error.logs,
                           stopped_from_outside=error.outside)

    def start_proxies(self, stack: ExitStack, names: list[str], ports: dict[str, int],
                      directory: Path) -> dict[str, Path]:
        """A recording proxy at PROXY_HOST:P in front of each task (and the client) at
        127.0.0.1:P; returns where each writes its record."""
        records, waiting = {}, {}
        for name in names:
            port = ports[name]
            record = directory / f"traffic-{name.replace('/', '-')}.json"
            command = [str(self.args.tf_python), str(PROXY), "--listen", f"{PROXY_HOST}:{port}",
                       "--upstream", f"127.0.0.1:{port}", "--name", name, "--log", str(record)]
            proc = stack.enter_context(started(
                f"proxy {name}", command, directory / f"proxy-{name.replace('/', '-')}.log",
                self.env))
            records[name] = record
            waiting[f"proxy {name}"] = (proc, PROXY_HOST, port)
        await_listening(waiting, time.monotonic() + START_TIMEOUT)
        return records

    def run_program(self, scene: Scenario, spec: dict[str, list[str]],
                    tasks: dict[str, tuple[Task, Process]], directory: Path
                    ) -> tuple[Outcome, int]:
        """Run the program against the cluster under the timeout; read its check lines."""
        command = [str(self.args.tf_python), str(PROGRAMS / f"{scene.program}.py"),
                   "--cluster", json.dumps(spec)]
        if scene.program == "ps_training":
            record = directory / "run.json"
            command += ["--out", str(record)]
            if not scene.reference and scene.expect_key in self.expect:
                command += ["--expect", str(self.expect[scene.expect_key])]
        if scene.kill is not None:
            command += ["--kill-worker", str(tasks[scene.kill][1].process.pid)]
        out, err = directory / "program.out", directory / "program.err"
        begun = time.perf_counter()
        with out.open("wb") as stdout, err.open("wb") as stderr:
            process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=stdout,
                                       stderr=stderr, stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        timed_out = False
        try:
            process.wait(self.args.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            stop(process)  # type: ignore[arg-type]
        seconds = time.perf_counter() - begun
        text = out.read_text(errors="replace")
        lines = text.splitlines()
        status, passed, failures = verdict(lines, process.returncode, timed_out)
        figures = {match.group(1): float(match.group(2))
                   for line in lines if (match := FIGURE.match(line))}
        stderr_tail = [line for line in err.read_text(errors="replace").splitlines()
                       if not line.startswith(NOISE)][-30:]
        outcome = Outcome(status, passed, passed + len(failures), seconds, process.returncode,
                          failures, figures, text, stderr_tail)
        if scene.program == "ps_training" and scene.reference and outcome.ok \
                and scene.kill is None and record.exists():
            self.expect[scene.expect_key] = record
        return outcome, process.pid


def collect_traffic(records: dict[str, Path], pids: dict[str, str]) -> dict[str, Any]:
    """The proxies' records as ``{"source -> destination": what was sent}``."""
    edges: dict[str, Any] = {}
    for destination, path in records.items():
        if not path.exists():
            edges[f"? -> {destination}"] = {"note": "the proxy wrote no record"}
            continue
        record = json.loads(path.read_text())
        for pid, sent in record["by_pid"].items():
            source = pids.get(pid, f"pid {pid} (not started by the runner)")
            edges[f"{source} -> {destination}"] = sent
    return dict(sorted(edges.items()))


def figures_text(figures: dict[str, float]) -> str:
    """``transfer_64MiB_s=0.14 steps_per_s=120``."""
    return " ".join(f"{name}={value:.3g}" for name, value in figures.items())


def print_table(results: list[tuple[Scenario, Outcome]]) -> None:
    """One row per scenario and a totals row."""
    program_width = max([len("program"), *(len(s.program) for s, _ in results)]) + 2
    place_width = max([len("placement"), *(len(s.placement) for s, _ in results)]) + 2
    header = (f"{'program':<{program_width}}{'placement':<{place_width}}"
              f"{'status':<11}{'checks':<9}{'seconds':>8}  figures")
    print(header)
    print("-" * max(len(header), 90))
    for scene, outcome in results:
        print(f"{scene.program:<{program_width}}{scene.placement:<{place_width}}"
              f"{outcome.status:<11}{f'{outcome.passed}/{outcome.total}':<9}"
              f"{outcome.seconds:8.1f}  {figures_text(outcome.figures)}")
    print("-" * max(len(header), 90))
    good = sum(outcome.ok for _, outcome in results)
    checks = sum(outcome.passed for _, outcome in results)
    total = sum(outcome.total for _, outcome in results)
    print(f"{good}/{len(results)} scenarios passed, {checks}/{total} checks")


def print_failures(results: list[tuple[Scenario, Outcome]], verbose: bool) -> None:
    """The first failing lines of each failed scenario, the program's stderr when it gave
    no FAIL line, and the end of the eager_async tasks' logs."""
    for scene, outcome in results:
        if outcome.ok:
            continue
        loud = "  <-- all TF: this PROGRAM is wrong" if scene.reference else ""
        print(f"\n{scene.program} {scene.placement}: {outcome.status} "
              f"(exit {outcome.exit_code}){loud}")
        shown = outcome.failures if verbose else outcome.failures[:FIRST_LINES]
        for line in shown:
            print(f"    {line[:400]}")
        if len(outcome.failures) > len(shown):
            print(f"    ... and {len(outcome.failures) - len(shown)} more FAIL lines")
        if outcome.status in ("CRASH", "TIMEOUT") or not outcome.failures or verbose:
            if outcome.status == "TIMEOUT":
                for line in outcome.output.splitlines()[-3:]:
                    print(f"    last output: {line[:300]}")
            for line in outcome.stderr_tail[-(30 if verbose else 8):]:
                print(f"    | {line[:300]}")
        for note in outcome.task_notes:
            print(f"    {note}")
        for name, lines in outcome.task_logs.items():
            task = next((t for t in scene.tasks if t.name == name), None)
            if task is not None and task.kind != "ea" and not verbose \
                    and outcome.status != "NO-CLUSTER":
                continue
            if lines:
                label = KINDS[task.kind] if task else "?"
                print(f"    {name} ({label}) log, last lines:")
                for line in lines[-(25 if verbose else LOG_LINES):]:
                    print(f"      {line[:300]}")
        if verbose:
            print("    --- program output ---")
            for line in outcome.output.splitlines():
                print(f"    {line}")


def counts(record: dict[str, int], limit: int = 0) -> str:
    """``A 3, B 1`` (most first, then by name); ``limit`` names at most, then ``+N``."""
    ordered = sorted(record.items(), key=lambda item: (-item[1], item[0]))
    shown = ordered[:limit] if limit else ordered
    text = ", ".join(f"{name} {n}" for name, n in shown)
    return text + (f", +{len(ordered) - len(shown)} more" if len(shown) < len(ordered) else "")


WRAPPED = re.compile(r"_device_/job:([^/]+)/replica:\d+/task:(\d+)/device:[^_]*")


def display(name: str) -> str:
    """``__wrapped__Mul_device_/job:localhost/replica:0/task:0/device:CPU:0`` (a client's
    one-op function) -> ``__wrapped__Mul@localhost/0``."""
    return WRAPPED.sub(r"@\1/\2", name)


def megabytes(record: dict[str, int]) -> str:
    """Total bytes of a per-method record, in MB."""
    return f"{sum(record.values()) / 1e6:.2f} MB"


def print_traffic(results: list[tuple[Scenario, Outcome]]) -> None:
    """Per scenario, per source -> destination: what was sent."""
    for scene, outcome in results:
        if outcome.traffic is None:
            continue
        print(f"\n== {scene.program} {scene.placement} ({outcome.status}): "
              "source -> destination")
        for edge, sent in outcome.traffic.items():
            print(f"  {edge}")
            if "note" in sent:
                print(f"    {sent['note']}")
                continue
            rpcs = {name.split("/")[-1] + ("" if "eager" in name else " [WorkerService]"
                                           if "WorkerService" in name else
                                           f" [{name.split('/')[0]}]"): n
                    for name, n in sent["rpcs"].items()}
            print(f"    RPCs: {counts(rpcs)}")
            print(f"    bytes: requests {megabytes(sent['bytes_in'])}, "
                  f"responses {megabytes(sent['bytes_out'])}")
            if sent["items"]:
                print(f"    queue items: {counts(sent['items'])}")
            if sent["ops"]:
                print(f"    operations: {counts(sent['ops'])}")
            if sent["functions_registered"]:
                body: dict[str, int] = {}
                for ops in sent["functions_registered"].values():
                    for op, n in ops.items():
                        body[op] = body.get(op, 0) + n
                # A client registers a one-op __wrapped__ function for most ops it runs
                # eagerly (the ops are listed above): counted, not named, unless it is
                # a multi-device (_partitioned) one.
                names = [display(name) for name in sent["functions_registered"]]
                wrapped = [name for name in names if name.startswith("__wrapped__")
                           and not name.endswith("_partitioned")]
                shown = [name for name in names if name not in wrapped]
                more = f" + {len(wrapped)} one-op __wrapped__ functions" if wrapped else ""
                print(f"    functions registered: {', '.join(shown) or '-'}{more}")
                print(f"    ops inside them: {counts(body)}")
            if sent["component_functions"]:
                components = {display(name): n
                              for name, n in sent["component_functions"].items()}
                print(f"    RunComponentFunction: {counts(components)}")
            if sent["recv_tensor_edges"]:
                print(f"    RecvTensor (rendezvous src -> dst): "
                      f"{counts(sent['recv_tensor_edges'])}")
            for context in sent["contexts"]:
                flags = {key: value for key, value in context.items()
                         if key not in ("rpc", "as", "cluster")}
                jobs = ", ".join(f"{job}:{len(tasks)}" for job, tasks in
                                 context["cluster"].items())
                print(f"    {context['rpc']} as {context['as']} (cluster {jobs}) {flags}")
            if sent["errors"]:
                print(f"    non-OK statuses: {counts(sent['errors'])}")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def choose(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[Scenario]:
    """The scenarios of the command line, the all-TF ones of each program first. A
    ``--placements`` name runs for every chosen program it fits."""
    programs = [name for name in PLACEMENTS if (PROGRAMS / f"{name}.py").exists()]
    chosen = args.programs.split(",") if args.programs else programs
    unknown = [name for name in chosen if name not in programs]
    if unknown:
        parser.error(f"unknown programs: {', '.join(unknown)} (have {', '.join(programs)})")
    wanted = args.placements.split(",") if args.placements else None
    scenes: list[Scenario] = []
    fitted: set[str] = set()
    for program in chosen:
        parsed = []
        for name in wanted or PLACEMENTS[program]:
            try:
                parsed.append(scenario(program, name))
                fitted.add(name)
            except PlacementError:
                continue
        if args.traffic and wanted is None:
            parsed = [scene for scene in parsed if scene.reference and scene.kill is None]
        scenes += sorted(parsed, key=lambda scene: not scene.reference)
    misfits = [name for name in wanted or [] if name not in fitted]
    if misfits:
        parser.error(f"placements that fit none of {', '.join(chosen)}: {', '.join(misfits)}")
    return scenes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", help=f"comma-separated, of: {','.join(PLACEMENTS)}")
    parser.add_argument("--placements", help="comma-separated placement names (see above); "
                        "each runs for the programs it fits")
    parser.add_argument("--timeout", type=float, default=240.0,
                        help="seconds one program may run (default 240)")
    parser.add_argument("--verbose", action="store_true",
                        help="print whole outputs and logs of failed scenarios")
    parser.add_argument("--json", type=Path, help="default bench-results/interop-cluster.json"
                        ", with --traffic bench-results/interop-cluster-traffic.json")
    parser.add_argument("--tf-cluster", choices=("full", "single"), default="full",
                        help="start a TF task with the full ClusterSpec (default) or a "
                        "one-task cluster of its own")
    parser.add_argument("--traffic", action="store_true",
                        help="record what the tasks send each other, through proxies")
    parser.add_argument("--tf-python", type=Path, default=ROOT / ".venv-tf" / "bin" / "python",
                        help="the TensorFlow venv's interpreter (programs, TF tasks, proxies)")
    args = parser.parse_args(argv)
    args.tf_python = args.tf_python.absolute()  # the children run with cwd=ROOT
    scenes = choose(args, parser)
    json_path = args.json or ROOT / "bench-results" / (
        "interop-cluster-traffic.json" if args.traffic else "interop-cluster.json")

    # SIGTERM (and SIGINT, even when started in the background with it ignored) unwind
    # through the context managers, which stop every task, proxy and program.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    results: list[tuple[Scenario, Outcome]] = []
    interrupted = False
    begun = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="interop-cluster-") as scratch:
        runner = Runner(args, Path(scratch))
        try:
            for scene in scenes:
                print(f"[interop-cluster] {scene.program} {scene.placement} ...", end=" ",
                      flush=True)
                outcome = runner.run(scene)
                results.append((scene, outcome))
                print(f"{outcome.status} {outcome.passed}/{outcome.total} "
                      f"{outcome.seconds:.1f} s {figures_text(outcome.figures)}", flush=True)
        except KeyboardInterrupt:  # every process is stopped already (context managers)
            interrupted = True
            print("\n[interop-cluster] interrupted; partial results follow", flush=True)

    print()
    print_table(results)
    print_failures(results, args.verbose)
    if args.traffic:
        print_traffic(results)
    report = {
        "seconds": round(time.perf_counter() - begun, 1),
        "tf_cluster": args.tf_cluster,
        "traffic": args.traffic,
        "scenarios": [{"program": scene.program, "placement": scene.placement,
                       "tasks": {task.name: KINDS[task.kind] for task in scene.tasks},
                       "kill": scene.kill, "reference": scene.reference, **asdict(outcome)}
                      for scene, outcome in results],
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\n[interop-cluster] JSON: {json_path}")

    if interrupted:
        return 130
    wrong = [f"{s.program} {s.placement}" for s, o in results if s.reference and not o.ok]
    failed = [f"{s.program} {s.placement}" for s, o in results if not s.reference and not o.ok]
    if wrong:
        print(f"[interop-cluster] !!! FAILED ON AN ALL-TF CLUSTER (fix the program): "
              f"{', '.join(wrong)}")
        return 2
    if failed:
        print(f"[interop-cluster] failed with eager_async tasks: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
