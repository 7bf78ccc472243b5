"""``make interop``: ordinary TensorFlow 2.21 client programs against a fresh eager_async
worker and against TensorFlow's own worker, side by side.

    .venv/bin/python tests/interop/run.py [--programs a,b] [--workers eager_async,tf]
                                          [--timeout 300] [--verbose] [--json PATH]
    .venv/bin/python tests/interop/run.py --ops      # ``make interop-ops``

For every program in ``programs/`` and every worker kind, a fresh worker is started (ours
with ``.venv``'s ``python -m eager_async serve --port 0``, TF's with ``.venv-tf``'s
``benchmarks/tf_worker.py --port 0``), its ``listening on HOST:PORT`` line awaited, the
program run with ``.venv-tf``'s Python against that address (under a timeout), and the
worker stopped whatever happens (timeout, Ctrl-C). One at a time: the machine has two
cores and TF's worker and client each want them.

Prints a table (program, then per worker: pass/FAIL, checks passed/total, seconds),
the first failing lines of every failure (``--verbose``: the whole output), and writes
JSON. Exit status: 0 when every program passed on every worker; 1 when one failed on
eager_async; 2 when one failed on TF's worker, which is the reference, so the program
itself is wrong.

``--ops`` runs every program against TF's worker through ``proxy.py``, which records the
ops the client sends, and prints per program and overall the sorted op names sent as
top-level ops and inside functions the worker ran; JSON to ``bench-results/interop-ops.json``.
The harness is stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PROGRAMS = HERE / "programs"
PROXY = HERE / "proxy.py"
LISTENING = re.compile(r"listening on (\S+:\d+)")
# The order of the issue; programs not listed here run after these, by name.
ORDER = ["eager_math", "variables", "tf_function", "gradient_tape", "keras_fit",
         "custom_loop", "async_errors", "checkpoint", "data_pipeline"]
START_TIMEOUT = 180.0  # seconds: TF's worker imports TensorFlow first
STOP_TIMEOUT = 10.0
FIRST_LINES = 3  # failing lines shown per failure without --verbose


@dataclass(frozen=True, slots=True)
class WorkerKind:
    """A kind of worker the programs run against."""

    name: str
    label: str
    command: tuple[str, ...]


class HarnessError(Exception):
    """The harness could not do its part (a worker or the proxy did not start); ``log``
    is the end of what that process printed."""

    def __init__(self, message: str, log: list[str]) -> None:
        super().__init__(message)
        self.log = log


@dataclass(slots=True)
class Outcome:
    """One program run against one worker."""

    status: str  # pass, FAIL, TIMEOUT, CRASH, NO-WORKER
    passed: int = 0
    total: int = 0
    seconds: float = 0.0
    exit_code: int | None = None
    failures: list[str] = field(default_factory=list)
    output: str = ""
    stderr_tail: list[str] = field(default_factory=list)
    worker_note: str = ""
    ops: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "pass"


@dataclass(slots=True)
class Started:
    """A background process that printed its address."""

    process: subprocess.Popen[str]
    address: str
    log: list[str]


def worker_kinds(root: Path) -> dict[str, WorkerKind]:
    """The two workers, by the names ``--workers`` takes."""
    return {
        "eager_async": WorkerKind("eager_async", "eager_async", (
            str(root / ".venv" / "bin" / "python"), "-m", "eager_async", "serve",
            "--host", "127.0.0.1", "--port", "0",
            # The programs keep their checkpoints in temporary directories.
            "--allow-file-io", tempfile.gettempdir())),
        "tf": WorkerKind("tf", "TF 2.21", (
            str(root / ".venv-tf" / "bin" / "python"),
            str(root / "benchmarks" / "tf_worker.py"), "--port", "0")),
    }


def discover() -> list[str]:
    """Every program in ``programs/`` (files starting with ``_`` are helpers)."""
    names = sorted(path.stem for path in PROGRAMS.glob("*.py") if not path.stem.startswith("_"))
    return [name for name in ORDER if name in names] + [n for n in names if n not in ORDER]


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM the process group we started (the process runs in its own session), then
    SIGKILL if it lingers. Until ``wait`` reaps the leader its pid, hence its group id,
    cannot be reused."""
    if process.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def background(command: Sequence[str], what: str, env: dict[str, str]) -> Iterator[Started]:
    """Start ``command``, wait for its ``listening on HOST:PORT`` line, yield its address;
    stop it on the way out, however the block ends."""
    process = subprocess.Popen(list(command), cwd=ROOT, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               start_new_session=True)
    log: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def drain() -> None:  # reads to EOF so the worker never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            log.append(line.rstrip("\n"))
            if not found and (match := LISTENING.search(line)):
                found.append(match.group(1))
                ready.set()
        ready.set()

    reader = threading.Thread(target=drain, name=f"{what} log", daemon=True)
    reader.start()
    try:
        ready.wait(START_TIMEOUT)
        if not found:
            raise HarnessError(f"{what} did not start: {' '.join(command)}", log[-20:])
        yield Started(process, found[0], log)
    finally:
        stop(process)
        reader.join(STOP_TIMEOUT)


def run_program(name: str, address: str, timeout: float, env: dict[str, str],
                tf_python: Path) -> Outcome:
    """Run one program against ``address`` and read its check lines."""
    started = time.perf_counter()
    process = subprocess.Popen([str(tf_python), str(PROGRAMS / f"{name}.py"), address],
                               cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, start_new_session=True)
    timed_out = False
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        stop(process)
        stdout, stderr = process.communicate()
    finally:
        stop(process)
    seconds = time.perf_counter() - started
    status, passed, failures = verdict(stdout.splitlines(), process.returncode, timed_out)
    return Outcome(status, passed, passed + len(failures), seconds, process.returncode,
                   failures, stdout, stderr.splitlines()[-25:])


def verdict(lines: Sequence[str], returncode: int | None,
            timed_out: bool) -> tuple[str, int, list[str]]:
    """A program's status (pass, FAIL, TIMEOUT, CRASH), its ``ok`` count and its ``FAIL``
    lines, from what it printed and how it ended."""
    passed = sum(line.startswith("ok ") for line in lines)
    failures = [line for line in lines if line.startswith("FAIL ")]
    if timed_out:
        status = "TIMEOUT"
    elif returncode == 0 and not failures and passed:
        status = "pass"
    elif failures:
        status = "FAIL"
    else:
        status = "CRASH"
    return status, passed, failures


def run_one(name: str, kind: WorkerKind, args: argparse.Namespace,
            env: dict[str, str]) -> Outcome:
    """A fresh worker of ``kind``, optionally the recording proxy, one program."""
    try:
        with background(kind.command, f"the {kind.label} worker", env) as worker:
            if not args.ops:
                outcome = run_program(name, worker.address, args.timeout, env, args.tf_python)
            else:
                with tempfile.TemporaryDirectory() as directory:
                    record = Path(directory) / "ops.json"
                    proxy = (str(args.tf_python), str(PROXY), "--upstream", worker.address,
                             "--log", str(record))
                    with background(proxy, "the proxy", env) as front:
                        outcome = run_program(name, front.address, args.timeout, env,
                                              args.tf_python)
                    if record.exists():
                        outcome.ops = json.loads(record.read_text())
            if worker.process.poll() is not None:
                outcome.worker_note = (f"the worker exited (code {worker.process.returncode})"
                                       " during the run: " + " | ".join(worker.log[-3:]))
            return outcome
    except HarnessError as error:
        return Outcome("NO-WORKER", output=str(error), failures=[str(error)],
                       stderr_tail=error.log)


def cell(outcome: Outcome | None) -> str:
    """One table cell: ``pass       791/791     5.2 s``."""
    if outcome is None:
        return "-"
    return f"{outcome.status:<9} {outcome.passed:>4}/{outcome.total:<4} {outcome.seconds:6.1f} s"


def print_table(results: dict[str, dict[str, Outcome]], kinds: list[WorkerKind]) -> None:
    """The program x worker table and a totals row."""
    width = max([len("program"), *map(len, results)]) + 2
    header = "program".ljust(width) + "".join(f"{kind.label:<29}" for kind in kinds)
    print(header)
    print("-" * len(header))
    for name, row in results.items():
        print(name.ljust(width) + "".join(f"{cell(row.get(kind.name)):<29}" for kind in kinds))
    print("-" * len(header))
    totals = []
    for kind in kinds:
        outcomes = [row[kind.name] for row in results.values() if kind.name in row]
        good = sum(outcome.ok for outcome in outcomes)
        checks = sum(outcome.passed for outcome in outcomes)
        total = sum(outcome.total for outcome in outcomes)
        totals.append(f"{good}/{len(outcomes)} progs {checks}/{total} checks".ljust(29))
    print("total".ljust(width) + "".join(totals))


def print_failures(results: dict[str, dict[str, Outcome]], kinds: dict[str, WorkerKind],
                   verbose: bool) -> None:
    """The first failing lines of each failed run (all of its output with ``verbose``)."""
    for name, row in results.items():
        for kind_name, outcome in row.items():
            if outcome.ok:
                continue
            loud = "  <-- TF's worker is the reference: this PROGRAM is wrong" \
                if kind_name == "tf" else ""
            print(f"\n{name} on {kinds[kind_name].label}: {outcome.status}"
                  f" (exit {outcome.exit_code}){loud}")
            shown = outcome.failures[:FIRST_LINES]
            for line in shown:
                print(f"    {line[:300]}")
            if len(outcome.failures) > len(shown):
                print(f"    ... and {len(outcome.failures) - len(shown)} more FAIL lines")
            if outcome.status == "TIMEOUT":
                for line in outcome.output.splitlines()[-3:]:
                    print(f"    last output: {line[:300]}")
            if not outcome.failures or outcome.status in ("CRASH", "TIMEOUT", "NO-WORKER"):
                for line in outcome.stderr_tail[-(25 if verbose else 6):]:
                    print(f"    | {line[:300]}")
            if outcome.worker_note:
                print(f"    {outcome.worker_note[:600]}")
            if verbose:
                print("    --- program output ---")
                for line in outcome.output.splitlines():
                    print(f"    {line}")


def inventory(results: dict[str, dict[str, Outcome]], kind: str) -> dict[str, Any]:
    """Per program and overall: op names sent at top level and inside functions run."""
    per_program: dict[str, Any] = {}
    overall: dict[str, Counter[str]] = {key: Counter() for key in
                                        ("ops", "function_ops", "rpcs", "queue_items")}
    for name, row in results.items():
        outcome = row.get(kind)
        if outcome is None or outcome.ops is None:
            continue
        record = outcome.ops
        per_program[name] = {"status": outcome.status, **record}
        for key, counter in overall.items():
            counter.update(record.get(key, {}))
    return {"programs": per_program,
            "overall": {key: dict(sorted(counter.items())) for key, counter in overall.items()}}


def print_inventory(report: dict[str, Any]) -> None:
    """The op names, sorted, per program and overall."""
    def block(title: str, record: dict[str, Any]) -> None:
        print(f"\n== {title}")
        for key, label in (("ops", "top-level ops"), ("function_ops", "ops inside functions")):
            names = sorted(record.get(key, {}))
            print(f"  {label} ({len(names)}): {', '.join(names) or '-'}")
        only = sorted(set(record.get("function_ops", {})) - set(record.get("ops", {})))
        print(f"  only inside functions ({len(only)}): {', '.join(only) or '-'}")
        rpcs = ", ".join(f"{method.split('.')[-1]} x{n}"
                         for method, n in record.get("rpcs", {}).items())
        print(f"  RPCs: {rpcs or '-'}")

    for name, record in report["programs"].items():
        block(f"{name} ({record['status']})", record)
    block("overall", report["overall"])


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    kinds = worker_kinds(ROOT)
    programs = discover()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--programs", help=f"comma-separated, of: {','.join(programs)}")
    parser.add_argument("--workers", help="comma-separated, of: eager_async,tf "
                        "(default: both; with --ops: tf)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds one program may run (default 300)")
    parser.add_argument("--verbose", action="store_true",
                        help="print the whole output of failed programs")
    parser.add_argument("--ops", action="store_true",
                        help="record the ops each program sends, through proxy.py")
    parser.add_argument("--json", type=Path, help="default: bench-results/interop.json, "
                        "with --ops bench-results/interop-ops.json")
    parser.add_argument("--tf-python", type=Path, default=ROOT / ".venv-tf" / "bin" / "python",
                        help="the TensorFlow venv's interpreter (programs, TF worker, proxy)")
    parser.add_argument("--onednn", action="store_true",
                        help="leave TF's oneDNN kernels on (default off: reference kernels)")
    args = parser.parse_args(argv)
    args.tf_python = args.tf_python.absolute()  # the children run with cwd=ROOT

    chosen = args.programs.split(",") if args.programs else programs
    unknown = [name for name in chosen if name not in programs]
    default_workers = "tf" if args.ops else "eager_async,tf"
    chosen_kinds = (args.workers or default_workers).split(",")
    unknown += [name for name in chosen_kinds if name not in kinds]
    if unknown:
        parser.error(f"unknown: {', '.join(unknown)}")
    selected = [kinds[name] for name in chosen_kinds]
    json_path = args.json or ROOT / "bench-results" / (
        "interop-ops.json" if args.ops else "interop.json")

    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env["TF_ENABLE_ONEDNN_OPTS"] = "1" if args.onednn else "0"

    # SIGTERM (and SIGINT, even when started in the background with it ignored) unwind
    # through the context managers, which stop the workers and the running program.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    results: dict[str, dict[str, Outcome]] = {}
    interrupted = False
    started = time.perf_counter()
    try:
        for name in chosen:
            results[name] = {}
            for kind in selected:
                print(f"[interop] {name} on {kind.label} ...", end=" ", flush=True)
                outcome = run_one(name, kind, args, env)
                results[name][kind.name] = outcome
                print(cell(outcome), flush=True)
    except KeyboardInterrupt:  # the workers are stopped already (context managers)
        interrupted = True
        print("\n[interop] interrupted; partial results follow", flush=True)
        results = {name: row for name, row in results.items() if row}

    print()
    print_table(results, selected)
    print_failures(results, kinds, args.verbose)
    report: dict[str, Any] = {
        "seconds": round(time.perf_counter() - started, 1),
        "workers": {kind.name: kind.label for kind in selected},
        "programs": {name: {kind: {key: value for key, value in asdict(outcome).items()
                                   if key != "ops"}
                            for kind, outcome in row.items()}
                     for name, row in results.items()},
    }
    if args.ops:
        report["inventory"] = inventory(results, selected[0].name)
        print_inventory(report["inventory"])
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\n[interop] JSON: {json_path}")

    if interrupted:
        return 130
    tf_failed = [name for name, row in results.items() if "tf" in row and not row["tf"].ok]
    ours_failed = [name for name, row in results.items()
                   if "eager_async" in row and not row["eager_async"].ok]
    if tf_failed:
        print(f"[interop] !!! FAILED ON TF'S OWN WORKER (fix the program): {', '.join(tf_failed)}")
        return 2
    if ours_failed:
        print(f"[interop] failed on eager_async: {', '.join(ours_failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
