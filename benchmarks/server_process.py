"""A server benchmarks/profile.py measures, in a process of its own: started (perhaps under
an instruction counter), found by its ``listening on HOST:PORT`` log line, and stopped the
way an operator stops it, with SIGTERM, so that it exits by itself and a counter writes
its total.

>>> with ServerProcess(argv, cwd=root, env=env) as server:        # doctest: +SKIP
...     server.wait_listening(timeout=60)
...     call(server.address)
...     server.stop(timeout=60)
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from types import TracebackType

__all__ = ["ServerError", "ServerProcess"]

_LISTENING = re.compile(r"listening on (\S+:\d+)")


class ServerError(Exception):
    """The server did not start, did not stop, or exited with an error (caused by the
    server under test or by the machine: quoted from its log)."""


class ServerProcess:
    """``argv`` started in ``cwd`` with environment ``env``; its address once it listens.

    Leaving the block without ``stop()`` (an error, Ctrl-C) kills the process, and so does
    ``kill()`` from any thread. Only the process started here is ever signalled, and the
    server it runs when a counter such as perf forks it (``wait_listening``).
    """

    def __init__(self, argv: list[str], *, cwd: Path, env: dict[str, str]) -> None:
        self.argv = argv
        self.address = ""
        self._log: deque[str] = deque(maxlen=40)
        self._found: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, errors="replace",
        )
        self.pid = self._process.pid
        # Drained for the server's whole life, so that it never blocks on a full pipe.
        self._reader = threading.Thread(target=self._drain, daemon=True,
                                        name=f"log of pid {self.pid}")  # fmt: skip
        self._reader.start()

    def _drain(self) -> None:
        assert self._process.stderr is not None
        announced = False
        for line in self._process.stderr:
            self._log.append(line)
            match = None if announced else _LISTENING.search(line)
            if match:
                announced = True
                self._found.put(match.group(1))
        if not announced:
            self._found.put(None)

    def wait_listening(self, timeout: float,
                       counted_pid: Callable[[int], int] = lambda pid: pid) -> None:  # fmt: skip
        """Wait up to ``timeout`` s for the log line that gives ``address``; ``pid``
        becomes the server's own, ``counted_pid`` of the launched one. ServerError (after
        killing it) when it exits or times out first."""
        try:
            try:
                address = self._found.get(timeout=timeout)
            except queue.Empty:
                address = None
            if address is None:
                raise ServerError(f"the server did not start (within {timeout:.0f} s): "
                                  f"{' '.join(self.argv)}\n{self.log_tail()}")  # fmt: skip
            self.pid = counted_pid(self._process.pid)
            self.address = address
        except BaseException:
            self.kill()
            raise

    def log_tail(self) -> str:
        """The last lines the server logged."""
        return "".join(self._log)

    def stop(self, timeout: float) -> None:
        """SIGTERM, then wait up to ``timeout`` s for it to exit with status 0;
        ServerError (after killing it) otherwise."""
        if self._process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
        try:
            status = self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ServerError(f"the server did not exit within {timeout:.0f} s of SIGTERM\n"
                              f"{self.log_tail()}") from None  # fmt: skip
        self._reader.join(timeout=5)
        if status != 0:
            raise ServerError(f"the server exited with status {status}\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the process started here (and the server, if a counter forked it)."""
        if self._process.poll() is None:
            if self.pid != self._process.pid:
                with suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:  # fmt: skip
        self.kill()
