"""The workers a benchmark measures: one it starts itself, or one at a given address, and
the CPU time and peak memory of their processes.

>>> with started_worker() as (address, pid):   # doctest: +SKIP
...     Target("ours", "eager_async", address, pid).cpu_seconds()
"""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BenchError",
    "Target",
    "cpu_clock",
    "process_cpu_seconds",
    "process_peak_rss",
    "reset_process_peak_rss",
    "started_worker",
]

_LISTENING = re.compile(r"listening on (\S+:\d+)")


class BenchError(Exception):
    """The benchmark could not run: a worker did not start, or replied with something
    other than what the workload asked for (caused by the worker under test)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A worker under test. ``role`` is ``ours`` or ``theirs``; ``pid`` is known when the
    worker runs on this machine (its CPU time is then measured), else None.

    >>> Target("theirs", "tf", "127.0.0.1:2222", None).cpu_seconds() is None
    True
    """

    role: str
    label: str
    address: str
    pid: int | None

    def cpu_seconds(self) -> float | None:
        """User + system CPU seconds the worker process has used, or None if unknown."""
        return None if self.pid is None else process_cpu_seconds(self.pid)

    def cpu_clock(self) -> str | None:
        """Which clock ``cpu_seconds`` reads (see ``cpu_clock``), or None if unknown."""
        return None if self.pid is None else cpu_clock(self.pid)

    def reset_peak_rss(self) -> int | None:
        """Start measuring the worker's peak RSS afresh; its RSS now, in bytes (None if
        unknown)."""
        return None if self.pid is None else reset_process_peak_rss(self.pid)

    def peak_rss(self) -> int | None:
        """The worker's peak RSS since ``reset_peak_rss``, in bytes (None if unknown)."""
        return None if self.pid is None else process_peak_rss(self.pid)


def process_cpu_seconds(pid: int) -> float | None:
    """CPU seconds process ``pid`` has used (all its threads), or None if unknown. See
    ``cpu_clock`` for where the figure comes from."""
    reading = _cpu_reading(pid)
    return None if reading is None else reading[0]


def cpu_clock(pid: int) -> str | None:
    """Which clock ``process_cpu_seconds(pid)`` reads: ``schedstat`` (Linux: the sum of
    every thread's run time in ``/proc/PID/task/*/schedstat``, in nanoseconds),
    ``psutil`` (user + system time, in clock ticks of about 10 ms on Linux) where there
    is no schedstat, or None where neither can read the process.

    >>> import os
    >>> cpu_clock(os.getpid()) in ("schedstat", "psutil", None)
    True
    """
    reading = _cpu_reading(pid)
    return None if reading is None else reading[1]


def _cpu_reading(pid: int) -> tuple[float, str] | None:
    # A thread that exits between two readings takes its run time with it: the worker's
    # threads (event loop, executor pool) live as long as it does, so a run loses none.
    try:
        nanoseconds = sum(int(path.read_text().split()[0])
                          for path in Path(f"/proc/{pid}/task").glob("*/schedstat"))
    except (OSError, ValueError, IndexError):
        nanoseconds = 0
    if nanoseconds:
        return nanoseconds / 1e9, "schedstat"
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:  # no such process, or no right to read it
        return None
    return times.user + times.system, "psutil"


def reset_process_peak_rss(pid: int) -> int | None:
    """Reset the peak RSS the kernel keeps for process ``pid`` (VmHWM) to its RSS now,
    and return that RSS in bytes; None without ``/proc`` or the right to write to the
    process's ``clear_refs`` (Linux 4.0 or later; the process's owner has it)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return None
    return _status_bytes(pid, "VmRSS")


def process_peak_rss(pid: int) -> int | None:
    """The peak RSS of process ``pid`` in bytes (VmHWM, since it started or since
    ``reset_process_peak_rss``); None where there is no ``/proc`` or no such process."""
    return _status_bytes(pid, "VmHWM")


def _status_bytes(pid: int, field: str) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        name, _, value = line.partition(":")
        if name == field:
            return int(value.split()[0]) * 1024  # in kB
    return None


@contextmanager
def started_worker(*, startup_timeout: float = 60.0,
                   extra_args: tuple[str, ...] = ()) -> Iterator[tuple[str, int]]:
    """Run ``python -m eager_async serve --port 0`` for the duration of the block; yields
    its address (from its ``listening on HOST:PORT`` log line) and pid.

    The log is drained by a thread for the worker's whole life, so it never blocks on a
    full pipe; the last lines are quoted if it fails to start. The worker is stopped with
    SIGTERM (then SIGKILL after 30 s) when the block exits.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "eager_async", "serve", "--host", "127.0.0.1", "--port", "0",
         *extra_args],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    log: deque[str] = deque(maxlen=40)
    found: queue.SimpleQueue[str | None] = queue.SimpleQueue()

    def drain() -> None:
        assert process.stderr is not None
        announced = False
        for line in process.stderr:
            log.append(line)
            match = None if announced else _LISTENING.search(line)
            if match:
                announced = True
                found.put(match.group(1))
        if not announced:
            found.put(None)

    reader = threading.Thread(target=drain, name="bench-worker-log", daemon=True)
    reader.start()
    try:
        try:
            address = found.get(timeout=startup_timeout)
        except queue.Empty:
            address = None
        if address is None:
            raise BenchError("the worker did not start:\n" + "".join(log))
        yield address, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=5)
