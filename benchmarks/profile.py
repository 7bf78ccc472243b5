"""Instructions per tiny op: what eager_async's hot path costs, counted rather than timed.

    python benchmarks/profile.py [--ops 5000] [--scenarios LIST] [--checkout DIR]
        [--python PATH] [--counter auto|perf|callgrind] [--jobs 2] [--json PATH]

The worker is a real ``python -m eager_async serve`` process under an instruction counter
(instruction_counter.py: ``perf stat`` where the machine has hardware counters, else
valgrind's callgrind, about 50 times slower); the client is this process, grpcio sending
raw bytes: the requests of ``python -m eager_async bench`` (eager_async/bench/workloads.py).

Start-up and warm-up are kept out by difference. A scenario runs its server twice, and
the runs differ only in how many ops they send: each starts the server, sends a warm-up
in a context of its own, then one measured context (CreateContext, the seed tensor, N or
2N ops, WaitQueueDone, CloseContext), closes its channel and stops the server with
SIGTERM; the counter writes the process's total as it exits. What the two totals do not
share is N ops, so ``(total(2N) - total(N)) / N`` is the instructions per op, including
the cost of freeing their handles when the context closes.

Why totals at exit rather than ``callgrind_control`` dumps between the phases of one run:
a dump goes through valgrind's gdbserver, which must interrupt the process with ptrace
(often forbidden in containers) and lands wherever the process happens to be; a total at
exit needs nothing but a clean exit, and perf works the same way. The price is a start-up
per run (20 to 30 s under callgrind), which ``--jobs`` overlaps. The counts repeat, to
about 0.1%: every server runs with PYTHONHASHSEED=0 (str hashes decide dict and set
layouts) and one OpenBLAS thread (``Setup.env``), and the contexts have fixed ids (their
varints and dict slots are the same in every run). Timings under a counter are not
figures, only what the profile took: they move with the machine's load.

Scenarios (``--scenarios``, comma-separated; default all):

    sync-unary-k1000    the bench's sync-unary at K=1000: one Enqueue of 1000 ops at a time
    async-unary-k1000   the same in an async context, then WaitQueueDone
    sync-unary-k1       one op per Enqueue: the cost of an RPC
    grpclib-k1          grpclib_floor.py, sent the requests of sync-unary-k1: grpclib's own
                        cost per RPC, the floor under eager_async's

K=1 scenarios send a tenth of ``--ops``, as the bench does. Each scenario's wall-clock
rate without a counter is measured too (ops/s, which at K=1 is requests/s): the median of
three runs of the bench's default sizes after a warm-up, with nothing else running.

``--checkout DIR`` profiles another checkout's eager_async (a git worktree of an older
commit, for a before/after figure): its worker starts in DIR with DIR first on
PYTHONPATH, and the script checks that it imports eager_async from there; it runs as built
there (compiled modules only if ``make compile`` ran in DIR; EAGER_ASYNC_PURE_PYTHON=1 is
passed on). The client and the floor are this checkout's, so both figures come from the
same requests. Output: a table, and JSON (``--json``) with the commit, the compiled
modules, Python, the counter and every run's total; ``--keep DIR`` keeps the counters'
files (``callgrind_annotate`` shows where the instructions went).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from grpclib_floor import PATH as FLOOR_PATH
from instruction_counter import Counter, choose_counter
from server_process import ServerError, ServerProcess

from eager_async.bench import workloads as w

ROOT = Path(__file__).resolve().parents[1]
FLOOR_SCRIPT = Path(__file__).with_name("grpclib_floor.py")
SERVICE = "/tensorflow.eager.EagerService/"
# 64-bit, as TF's client picks them, but fixed: see the module's docstring.
WARM_UP_CONTEXT = 2**63 + 1
MEASURED_CONTEXT = 2**63 + 2
WALL_RUNS = 3


@dataclass(frozen=True, slots=True)
class Scenario:
    """What one figure measures: the server, its context kind and ops per request."""

    name: str
    server: str  # "eager_async" or "grpclib"
    k: int
    is_async: bool
    summary: str


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("sync-unary-k1000", "eager_async", 1000, False,
             "sync context, unary Enqueue of 1000 ops at a time"),
    Scenario("async-unary-k1000", "eager_async", 1000, True,
             "async context, unary Enqueue of 1000 ops at a time, then WaitQueueDone"),
    Scenario("sync-unary-k1", "eager_async", 1, False,
             "sync context, unary Enqueue of one op at a time"),
    Scenario("grpclib-k1", "grpclib", 1, False,
             "grpclib_floor.py answering sync-unary-k1's requests empty, undecoded"),
)}  # fmt: skip


def ops_for(scenario: Scenario, ops: int) -> int:
    """Ops sent for ``ops`` at K=1000: a whole number of requests, a tenth at K=1.

    >>> ops_for(SCENARIOS["sync-unary-k1"], 5000), ops_for(SCENARIOS["sync-unary-k1000"], 5500)
    (500, 5000)
    """
    return w.Sizes(ops=ops).ops_for(scenario.k)


@dataclass(frozen=True, slots=True)
class Setup:
    """How servers run: which interpreter, which checkout's code, under which counter."""

    python: Path
    checkout: Path
    counter: Counter
    timeout: float
    pycache: Path

    def argv(self, scenario: Scenario) -> list[str]:
        """The server's command line, uncounted."""
        if scenario.server == "grpclib":
            return [str(self.python), str(FLOOR_SCRIPT), "--port", "0"]
        return [str(self.python), "-m", "eager_async", "serve", "--host", "127.0.0.1",
                "--port", "0"]  # fmt: skip

    def env(self) -> dict[str, str]:
        """The server's environment: the checkout first on PYTHONPATH, a fixed hash seed,
        one OpenBLAS thread, and bytecode cached in ``pycache``.

        OpenBLAS's idle threads spin for as long as the scheduler lets them, a count that
        differs from run to run (1% of a tiny op), and no tiny op calls BLAS. Without a
        bytecode cache every start compiles every module again (a third of a start-up
        under callgrind), and a cache of its own leaves the checkout untouched.
        """
        path = [str(self.checkout), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "PYTHONHASHSEED": "0",
               "OPENBLAS_NUM_THREADS": "1", "PYTHONPYCACHEPREFIX": str(self.pycache)}  # fmt: skip
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        return env


class Client:
    """A grpcio channel to one server, sending raw bytes as the bench does."""

    def __init__(self, address: str, timeout: float) -> None:
        self.address = address
        self.timeout = timeout
        self._channel = grpc.insecure_channel(address)
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            self._channel.close()
            raise ServerError(f"cannot connect to {address}") from None
        self._calls = {name: self._channel.unary_unary(SERVICE + name) for name in
                       ("CreateContext", "Enqueue", "WaitQueueDone", "CloseContext")}
        self._floor = self._channel.unary_unary(FLOOR_PATH)

    def call(self, method: str, payload: bytes) -> bytes:
        """One unary EagerService call; the serialized reply."""
        return self._calls[method](payload, timeout=self.timeout)  # type: ignore[no-any-return]

    def send(self, scenario: Scenario, ops: int, context_id: int) -> float:
        """``ops`` tiny ops of ``scenario`` in a context of their own; the seconds from the
        first Enqueue to the last reply (WaitQueueDone's)."""
        payloads = [w.enqueue_head(context_id) + body for body in w.tiny_bodies(ops, scenario.k)]
        if scenario.server == "grpclib":
            return self._send_to_floor(payloads)
        # No cleanup on failure: a failed run is void, and its server is killed.
        self.call("CreateContext",
                  w.create_context(context_id, self.address, is_async=scenario.is_async))
        self.call("Enqueue", w.enqueue_head(context_id) + w.seed_body())
        started, last = time.perf_counter(), b""
        for payload in payloads:
            last = self.call("Enqueue", payload)
        self.call("WaitQueueDone", w.wait_queue_done(context_id))
        seconds = time.perf_counter() - started
        self.call("CloseContext", w.close_context(context_id))
        if w.replied_items(last) != scenario.k:
            raise ServerError(f"an Enqueue of {scenario.k} ops got "
                              f"{w.replied_items(last)} responses")  # fmt: skip
        return seconds

    def _send_to_floor(self, payloads: list[bytes]) -> float:
        started = time.perf_counter()
        for payload in payloads:
            if self._floor(payload, timeout=self.timeout) != b"":
                raise ServerError("the grpclib floor replied something other than nothing")
        return time.perf_counter() - started

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()


@dataclass(frozen=True, slots=True)
class CountedRun:
    """One counted server run: the ops it measured (after ``warm_up`` ops), the
    instructions its process ran from start to exit, its wall seconds (launch to exit)
    and those of sending the measured ops."""

    ops: int
    warm_up: int
    instructions: int
    seconds: float
    send_seconds: float


class Servers:
    """The servers running now, so that a failed or interrupted profile kills them all
    instead of waiting minutes for the runs in other threads to end."""

    def __init__(self) -> None:
        self._live: set[ServerProcess] = set()
        self._lock = threading.Lock()
        self._stopping = False

    @contextmanager
    def started(self, argv: list[str], setup: Setup,
                counted_pid: Callable[[int], int] = lambda pid: pid) -> Iterator[ServerProcess]:
        """Start a server and wait until it listens (see ServerProcess); it is killed if
        still running after the block, and ServerError once ``kill_all`` has run."""
        with self._lock:
            # Known from its first moment, so that kill_all misses none still starting.
            if self._stopping:
                raise ServerError("the profile is stopping")
            server = ServerProcess(argv, cwd=setup.checkout, env=setup.env())
            self._live.add(server)
        try:
            with server:
                server.wait_listening(setup.timeout, counted_pid)
                yield server
        finally:
            with self._lock:
                self._live.discard(server)

    def kill_all(self) -> None:
        """Kill every server still running, and any that a thread is starting now."""
        with self._lock:
            self._stopping = True
            live = list(self._live)
        for server in live:
            server.kill()


def counted_run(servers: Servers, setup: Setup, scenario: Scenario, warm_up: int, ops: int,
                out: Path) -> CountedRun:  # fmt: skip
    """Run ``scenario``'s server under the counter: ``warm_up`` ops, then ``ops`` measured
    ops; the counter's total once the server has exited."""
    started = time.perf_counter()
    argv = setup.counter.wrap(setup.argv(scenario), out)
    with servers.started(argv, setup, setup.counter.counted_pid) as server:
        client = Client(server.address, setup.timeout)
        try:
            client.send(scenario, warm_up, WARM_UP_CONTEXT)
            send_seconds = client.send(scenario, ops, MEASURED_CONTEXT)
        finally:
            client.close()
        server.stop(setup.timeout)
    return CountedRun(ops, warm_up, setup.counter.total(out), time.perf_counter() - started,
                      send_seconds)  # fmt: skip


def wall_rates(servers: Servers, setup: Setup, scenario: Scenario) -> list[float]:
    """Ops/s of ``scenario`` without a counter: ``WALL_RUNS`` runs of the bench's default
    size, each in a context of its own, after a warm-up."""
    ops = w.Sizes().ops_for(scenario.k)
    with servers.started(setup.argv(scenario), setup) as server:
        client = Client(server.address, setup.timeout)
        try:
            client.send(scenario, ops // 5, WARM_UP_CONTEXT)
            rates = [ops / client.send(scenario, ops, MEASURED_CONTEXT + run)
                     for run in range(WALL_RUNS)]  # fmt: skip
        finally:
            client.close()
        server.stop(setup.timeout)
    return rates


def profile(setup: Setup, scenarios: Sequence[Scenario], ops: int, jobs: int,
            out_dir: Path) -> list[dict[str, Any]]:  # fmt: skip
    """Every scenario's wall-clock rates (first, one at a time, on an idle machine), then
    its two counted runs (``jobs`` at a time); one result per scenario."""
    servers = Servers()
    try:
        rates = {}
        for scenario in scenarios:
            rates[scenario.name] = wall_rates(servers, setup, scenario)
            _progress(f"{scenario.name}: {statistics.median(rates[scenario.name]):,.0f} ops/s "
                      "without a counter")  # fmt: skip
        runs = [(scenario, n) for n in (2, 1) for scenario in scenarios]  # longest first

        def run(job: tuple[Scenario, int]) -> CountedRun:
            scenario, n = job
            # The same warm-up in both runs of a scenario: they may differ in nothing else.
            base = ops_for(scenario, ops)
            measured = base * n
            result = counted_run(servers, setup, scenario, max(scenario.k, base // 5), measured,
                                 out_dir / f"{scenario.name}-{measured}.{setup.counter.name}")
            _progress(f"{scenario.name} with {measured} ops: {result.instructions:,} "
                      f"instructions in {result.seconds:.0f} s")
            return result

        pool = ThreadPoolExecutor(max_workers=jobs)
        try:
            counted = dict(zip(runs, pool.map(run, runs), strict=True))
        finally:
            # No waiting here: after a failure the servers are killed first (below), and
            # then the runs still going end at once.
            pool.shutdown(wait=False, cancel_futures=True)
    except BaseException:
        servers.kill_all()
        raise
    results = []
    for scenario in scenarios:
        single, double = counted[scenario, 1], counted[scenario, 2]
        results.append({
            "scenario": scenario.name, "server": scenario.server, "k": scenario.k,
            "summary": scenario.summary, "ops": single.ops,
            "instructions_per_op": (double.instructions - single.instructions) / single.ops,
            "runs": [asdict(single), asdict(double)],
            "wall_ops_per_s": statistics.median(rates[scenario.name]),
            "wall_runs_ops_per_s": rates[scenario.name],
        })  # fmt: skip
    return results


# What the worker's interpreter imports: where eager_async comes from, and which of its
# modules are compiled extensions (mypyc's, where the checkout was built) rather than source.
_PROBE = """
import json, sys, eager_async, eager_async.server
compiled = sorted(name for name, module in sys.modules.items()
                  if name.startswith("eager_async.")
                  and (getattr(module, "__file__", None) or "").endswith((".so", ".pyd")))
print(json.dumps([eager_async.__file__, sys.version, compiled]))
"""


def describe(setup: Setup) -> dict[str, Any]:
    """What was measured: the worker's code (its commit, whether eager_async/ has changes
    not committed) and its compiled modules, its interpreter and the counter. SystemExit
    if the worker would not import eager_async from the checkout."""
    probe = subprocess.run(
        [str(setup.python), "-c", _PROBE], cwd=setup.checkout, env=setup.env(),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    if probe.returncode != 0:
        raise SystemExit(f"{setup.python} cannot import eager_async:\n{probe.stderr}")
    code, version, compiled = json.loads(probe.stdout)
    if not Path(code).resolve().is_relative_to(setup.checkout):
        raise SystemExit(f"--checkout {setup.checkout}: the worker would run {code}")
    git = ["git", "-C", str(setup.checkout)]
    commit = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
    changes = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no", "--",
                              "eager_async"], capture_output=True, text=True)  # fmt: skip
    return {
        "commit": commit.stdout.strip() or None,
        "uncommitted_changes": bool(changes.stdout.strip()),
        "checkout": str(setup.checkout), "worker_code": str(Path(code).parent),
        "compiled_modules": compiled,
        "python": version, "python_path": str(setup.python),
        "counter": setup.counter.name, "counter_version": setup.counter.version(),
        "machine": platform.platform(),
    }  # fmt: skip


def table(results: Sequence[dict[str, Any]]) -> str:
    """The results as a table, and how far sync-unary-k1 is from grpclib's floor."""
    lines = [f"{'scenario':<19} {'K':>5} {'N ops':>6} {'instr/op':>11} "
             f"{'counted runs (s)':>17} {'ops/s, no counter':>18}"]  # fmt: skip
    for r in results:
        seconds = " + ".join(f"{run['seconds']:.0f}" for run in r["runs"])
        lines.append(f"{r['scenario']:<19} {r['k']:>5} {r['ops']:>6} "
                     f"{r['instructions_per_op']:>11,.0f} {seconds:>17} "
                     f"{r['wall_ops_per_s']:>18,.0f}")  # fmt: skip
    by_name = {r["scenario"]: r for r in results}
    if "sync-unary-k1" in by_name and "grpclib-k1" in by_name:
        ours, floor = by_name["sync-unary-k1"], by_name["grpclib-k1"]
        lines.append(
            f"sync-unary-k1 costs {ours['instructions_per_op'] / floor['instructions_per_op']:.2f}"
            f" times grpclib's floor per RPC ({ours['instructions_per_op']:,.0f} against "
            f"{floor['instructions_per_op']:,.0f} instructions); the floor serves "
            f"{floor['wall_ops_per_s']:,.0f} requests/s without a counter"
        )
    return "\n".join(lines)


def _scenarios(text: str) -> list[Scenario]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"{'unknown: ' + ', '.join(unknown) if unknown else 'none given'}; "
            f"choose from {', '.join(SCENARIOS)}")
    return [SCENARIOS[name] for name in names]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (see the module's docstring)."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--ops", type=_positive, default=5000, metavar="N",
                        help="ops measured at K=1000, a tenth at K=1 (default 5000); "
                        "the second run of each scenario sends twice as many")
    parser.add_argument("--scenarios", type=_scenarios, default=list(SCENARIOS.values()),
                        metavar="LIST", help=f"comma-separated: {', '.join(SCENARIOS)} (all)")
    parser.add_argument("--checkout", type=Path, default=ROOT, metavar="DIR",
                        help="the checkout whose eager_async the worker runs (this one)")
    parser.add_argument("--python", type=Path, default=Path(sys.executable), metavar="PATH",
                        help="the interpreter of the servers (this one)")
    parser.add_argument("--counter", choices=("auto", "perf", "callgrind"), default="auto",
                        help="perf stat, or valgrind's callgrind; auto: perf where it "
                        "counts instructions here (default)")
    parser.add_argument("--jobs", type=_positive, default=2,
                        help="counted runs at a time (default 2)")
    parser.add_argument("--timeout", type=float, default=1800.0, metavar="SECONDS",
                        help="for each RPC, and for a server to start or stop (1800)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench-results" / "profile.json",
                        metavar="PATH", help="where to write the results "
                        "(bench-results/profile.json)")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="keep the counters' output files in DIR (for callgrind_annotate)")
    args = parser.parse_args(argv)
    args.checkout = args.checkout.resolve()
    return args


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Profile, print the table, write the JSON; the exit status."""
    args = parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so that the servers started here are killed on the way.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="profile-") as scratch:
        setup = Setup(args.python, args.checkout, choose_counter(args.counter), args.timeout,
                      Path(scratch) / "pycache")  # fmt: skip
        about = describe(setup)
        _progress(f"profiling {about['worker_code']} (commit {about['commit']}"
                  f"{', with uncommitted changes' if about['uncommitted_changes'] else ''}; "
                  f"{len(about['compiled_modules'])} modules compiled) "
                  f"under {about['counter_version']}")  # fmt: skip
        out_dir = args.keep or Path(scratch)
        out_dir.mkdir(parents=True, exist_ok=True)
        try:
            results = profile(setup, args.scenarios, args.ops, args.jobs, out_dir)
        except (ServerError, grpc.RpcError) as error:
            print(f"profile failed: {error}", file=sys.stderr)
            return 1
    print(table(results))
    document = {**about, "started": started.isoformat(timespec="seconds"),
                "seconds": round((datetime.now(UTC) - started).total_seconds(), 1),
                "ops": args.ops, "results": results}  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
