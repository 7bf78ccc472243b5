"""The fuzzer's side of the wire: a worker in its own process, raw-bytes gRPC calls, the
oracle that judges every answer, and a probe that measures how well the worker keeps
serving others while it is being fuzzed.

The oracle, per call: the status is never INTERNAL or UNKNOWN; a call that runs into its
deadline is a hang, unless the case said it may wait by design (a RecvTensor for a key
nobody sends); after every case the worker process is alive. Cases add expectations of
their own (``Session.expect``), e.g. that closing a context ends the calls waiting on it
with CANCELLED.

>>> Outcome("Enqueue", grpc.StatusCode.OK, "", b"", 0.001).ok
True
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import os
import random
import re
import resource
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from . import protowire as pw
from .schema import RPCS, Rpc

ROOT = Path(__file__).resolve().parents[2]
UNLIMITED = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
BAD = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)
DEADLINE = 10.0  # seconds a call may take before it counts as a hang
PROBE_SLOW = 0.100  # seconds: a probe slower than this is counted
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one call ended. ``reply``: the last reply's bytes (None on error)."""

    method: str
    code: grpc.StatusCode
    details: str
    reply: bytes | None
    elapsed: float
    replies: tuple[bytes, ...] = ()

    @property
    def ok(self) -> bool:
        return self.code == grpc.StatusCode.OK


@dataclass(slots=True)
class Finding:
    """Something the oracle rejects: ``kind`` is internal, unknown, hang, crash,
    expectation or probe."""

    kind: str
    case: str
    klass: str
    method: str
    request_hex: str
    code: str
    details: str

    def describe(self, limit: int = 600) -> str:
        request = self.request_hex
        shown = request if len(request) <= limit else (
            f"{request[:limit]}... ({len(request) // 2} bytes)")
        return (f"[{self.kind}] class={self.klass} case={self.case}\n"
                f"  method: {self.method}\n  status: {self.code}: {self.details[:800]}\n"
                f"  request: {shown}")


class Worker:
    """``python -m eager_async serve --port 0`` in its own process (and session), its
    address read from its log line ``eager_async worker listening on HOST:PORT``.

    ``memory_limit``: the process's data-segment limit in bytes (RLIMIT_DATA), so an
    allocation it cannot hold fails inside it (as on a smaller machine) instead of
    taking this machine's memory from everything else on it."""

    def __init__(self, python: str = sys.executable, args: Sequence[str] = (),
                 memory_limit: int | None = 8 << 30) -> None:
        self.python = python
        self.args = list(args)
        self.memory_limit = memory_limit
        self.process: subprocess.Popen[str] | None = None
        self.address = ""
        self.log: collections.deque[str] = collections.deque(maxlen=400)
        self.errors: list[str] = []  # ERROR lines and tracebacks from the worker's log
        self._reader: threading.Thread | None = None

    def start(self, timeout: float = 60) -> None:
        limit = self.memory_limit

        def limits() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
            # Killed with us however we end (libFuzzer may _exit): no orphaned workers.
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [self.python, "-m", "eager_async", "serve", "--host", "127.0.0.1", "--port", "0",
             *self.args],
            cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
            preexec_fn=limits, start_new_session=True, env=env, errors="replace",
        )
        assert self.process.stderr is not None
        deadline = time.monotonic() + timeout
        for line in self.process.stderr:
            self.log.append(line)
            match = re.search(r"listening on (\S+:\d+)", line)
            if match:
                self.address = match.group(1)
                break
            if time.monotonic() > deadline:
                break
        if not self.address:
            self.stop()
            raise RuntimeError("the worker did not start:\n" + "".join(self.log))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line)
            if " ERROR " in line or "Traceback" in line:
                self.errors.append(line.rstrip())

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def memory(self) -> tuple[int, int]:
        """The process's resident and virtual memory in bytes (0, 0 once it is gone)."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return 0, 0
        sizes = dict(re.findall(r"^(VmRSS|VmSize):\s+(\d+) kB", status, re.M))
        return int(sizes.get("VmRSS", 0)) * 1024, int(sizes.get("VmSize", 0)) * 1024

    def exit_status(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM (a graceful stop), then SIGKILL; the exit status."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        return self.process.returncode


def channel(address: str, own_connection: str = "") -> grpc.Channel:
    """A channel with no message size limits; ``own_connection`` names a connection of its
    own (grpcio otherwise shares one between channels to the same address)."""
    options = list(UNLIMITED)
    if own_connection:
        options += [("grpc.use_local_subchannel_pool", 1), ("fuzz.connection", own_connection)]
    return grpc.insecure_channel(address, options=options)


def call(chan: grpc.Channel, rpc: Rpc, payload: bytes | Sequence[bytes],
         timeout: float = DEADLINE) -> Outcome:
    """One call with raw bytes: unary, or for a streaming RPC a stream of ``payload``
    (one request or a list of them)."""
    start = time.monotonic()
    if rpc.streaming:
        requests = [payload] if isinstance(payload, bytes) else list(payload)
        stream = chan.stream_stream(rpc.path)(iter(requests), timeout=timeout)
        replies: list[bytes] = []
        try:
            for reply in stream:
                replies.append(reply)
            code, details = stream.code(), stream.details() or ""
        except grpc.RpcError as error:
            code, details = error.code(), error.details() or ""
        return Outcome(rpc.name, code, details, replies[-1] if replies else None,
                       time.monotonic() - start, tuple(replies))
    assert isinstance(payload, bytes)
    try:
        reply = chan.unary_unary(rpc.path)(payload, timeout=timeout)
    except grpc.RpcError as error:
        return Outcome(rpc.name, error.code(), error.details() or "", None,
                       time.monotonic() - start)
    return Outcome(rpc.name, grpc.StatusCode.OK, "", reply, time.monotonic() - start,
                   (reply,))


@dataclass(slots=True)
class Stats:
    """What a run saw: cases and calls per class, statuses, findings."""

    cases: collections.Counter[str] = field(default_factory=collections.Counter)
    calls: collections.Counter[str] = field(default_factory=collections.Counter)
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    by_method: collections.Counter[str] = field(default_factory=collections.Counter)
    findings: list[Finding] = field(default_factory=list)
    slow_calls: list[tuple[float, str, str, str]] = field(default_factory=list)
    restarts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, klass: str, outcome: Outcome, case: str = "", payload: bytes = b""
              ) -> None:
        with self.lock:
            if outcome.elapsed > 1.0:  # the ten slowest calls, with what they sent
                shown = payload[:200].hex() + (f"... ({len(payload)} bytes)"
                                               if len(payload) > 200 else "")
                entry = (round(outcome.elapsed, 2), f"{outcome.method} {outcome.code.name}",
                         case, shown)
                self.slow_calls = sorted([*self.slow_calls, entry], reverse=True)[:10]
            self.calls[klass] += 1
            self.statuses[outcome.code.name] += 1
            self.by_method[f"{outcome.method} {outcome.code.name}"] += 1

    def add(self, finding: Finding) -> None:
        with self.lock:
            self.findings.append(finding)


class CaseFailed(Exception):
    """Raised inside a case to stop it once a finding makes going on pointless."""


class Session:
    """What a case runs with: the worker's channel, the oracle, the contexts it made
    (closed at the end), a random generator of its own."""

    def __init__(self, chan: grpc.Channel, worker: Worker, stats: Stats, klass: str,
                 name: str, rng: random.Random, incarnation: int) -> None:
        self.chan = chan
        self.worker = worker
        self.stats = stats
        self.klass = klass
        self.name = name
        self.rng = rng
        self.incarnation = incarnation
        self.contexts: set[int] = set()
        self.last: tuple[str, bytes] = ("", b"")
        self._pool: futures.ThreadPoolExecutor | None = None

    # --- calls --------------------------------------------------------------------
    def call(self, method: str, payload: bytes | Sequence[bytes], *,
             timeout: float = DEADLINE, may_wait: bool = False) -> Outcome:
        """Call ``method`` and judge the answer; ``may_wait``: running into the deadline
        is what this call does by design, not a hang."""
        rpc = RPCS[method]
        shown = payload if isinstance(payload, bytes) else b"".join(payload)
        self.last = (method, shown)
        outcome = call(self.chan, rpc, payload, timeout)
        self.judge(outcome, shown, may_wait=may_wait)
        if method == "CreateContext" and outcome.ok and outcome.reply is not None:
            created = created_context(outcome.reply)
            if created:
                self.contexts.add(created)
        return outcome

    def background(self, method: str, payload: bytes | Sequence[bytes], *,
                   timeout: float = DEADLINE) -> futures.Future[Outcome]:
        """Start a call on another thread; judge it with ``judge`` once it ends."""
        if self._pool is None:
            self._pool = futures.ThreadPoolExecutor(8, thread_name_prefix="fuzz-bg")
        return self._pool.submit(call, self.chan, RPCS[method], payload, timeout)

    def judge(self, outcome: Outcome, payload: bytes, *, may_wait: bool = False) -> None:
        self.stats.count(self.klass, outcome, self.name, payload)
        if outcome.code in BAD:
            self.finding(outcome.code.name.lower(), outcome, payload)
        elif outcome.code == grpc.StatusCode.DEADLINE_EXCEEDED and not may_wait:
            self.finding("hang", outcome, payload)

    def finding(self, kind: str, outcome: Outcome, payload: bytes, details: str = "") -> None:
        self.stats.add(Finding(kind, self.name, self.klass, RPCS[outcome.method].path,
                               payload.hex(), outcome.code.name,
                               details or outcome.details))

    def expect(self, ok: bool, what: str, outcome: Outcome | None = None,
               payload: bytes = b"") -> bool:
        """A case's own expectation; a finding when it does not hold."""
        if not ok:
            method = outcome.method if outcome else self.last[0] or "GetStatus"
            self.stats.add(Finding(
                "expectation", self.name, self.klass, RPCS[method].path,
                (payload or self.last[1]).hex(), outcome.code.name if outcome else "-",
                what + (f" (got {outcome.code.name}: {outcome.details[:300]})"
                        if outcome else "")))
        return ok

    # --- contexts -----------------------------------------------------------------
    def new_context(self, *, is_async: bool | None = None, keep_alive_secs: int = 60) -> int:
        """A context of this case (sync or async at random unless told), closed at the
        end of the case."""
        context_id = self.rng.getrandbits(64) or 1
        if is_async is None:
            is_async = self.rng.random() < 0.5
        payload = (pw.field_varint(2, int(is_async)) + pw.field_varint(3, keep_alive_secs)
                   + pw.field_fixed64(7, context_id))
        outcome = self.call("CreateContext", payload)
        if not outcome.ok:
            self.expect(False, "a plain CreateContext must succeed", outcome, payload)
            raise CaseFailed
        self.contexts.add(context_id)
        return context_id

    def close_context(self, context_id: int) -> Outcome:
        self.contexts.discard(context_id)
        return self.call("CloseContext", pw.field_fixed64(1, context_id))

    def finish(self) -> None:
        for context_id in list(self.contexts):
            if not self.worker.alive():
                break
            self.close_context(context_id)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


def created_context(reply: bytes) -> int:
    """The context id a CreateContextResponse names (field 1, fixed64), or 0."""
    try:
        for f in pw.parse(reply):
            if f.number == 1 and f.wire == pw.I64 and isinstance(f.value, bytes):
                return int(struct.unpack("<Q", f.value)[0])
    except pw.WireError:
        pass
    return 0


def worker_incarnation(chan: grpc.Channel) -> int:
    """The incarnation GetStatus reports for the worker's device (0 if none)."""
    outcome = call(chan, RPCS["GetStatus"], b"")
    if not outcome.ok or outcome.reply is None:
        return 0
    for device in pw.parse(outcome.reply):
        if device.number == 1 and isinstance(device.value, bytes):
            for f in pw.parse(device.value):
                if f.number == 6 and isinstance(f.value, bytes):
                    return int(struct.unpack("<Q", f.value)[0])
    return 0


class Probe:
    """``probe.py`` in its own process beside the fuzzer (so the fuzzer's own work never
    delays it), on its own connection: health, KeepAlive and a tiny AddV2 every
    ``interval``. Collects each call's latency, and the failures; a context lost to a
    fuzzed ``clear_existing_contexts`` is counted, not a failure."""

    def __init__(self, address: str, interval: float = 0.05,
                 python: str = sys.executable) -> None:
        self.latencies: list[float] = []
        self.slow: list[tuple[float, float, str]] = []  # (end time, seconds, method)
        self.errors: list[str] = []
        self.contexts_lost = 0
        self._process = subprocess.Popen(
            [python, str(Path(__file__).with_name("probe.py")), address,
             "--interval", str(interval)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self._reader = threading.Thread(target=self._read, daemon=True)

    def start(self) -> None:
        self._reader.start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            end, elapsed, method, status, details = [
                *line.rstrip("\n").split(" ", 4), ""][:5]
            if status == "context-lost":
                self.contexts_lost += 1
                continue
            if method != "CreateContext":
                self.latencies.append(float(elapsed))
                if float(elapsed) > PROBE_SLOW:
                    self.slow.append((float(end), float(elapsed), method))
            if status != "OK":
                self.errors.append(f"{method}: {status}: {details}")

    def stop(self) -> None:
        if self._process.poll() is None:
            assert self._process.stdin is not None
            self._process.stdin.close()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._reader.join(timeout=10)
