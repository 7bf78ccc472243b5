"""A cluster on one machine: N workers (and M parameter servers), one
``python -m eager_async serve`` process each on a free port, started, described and
stopped as one. ``python -m eager_async cluster`` runs one from the command line.

>>> async with LocalCluster(workers=2, ps=1) as cluster:   # doctest: +SKIP
...     print(cluster.cluster_spec())
{'worker': ['127.0.0.1:40411', '127.0.0.1:40413'], 'ps': ['127.0.0.1:40415']}
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType

__all__ = ["LocalCluster", "LocalClusterError", "Task", "TaskExit"]

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.05  # how often start() tries the ports of tasks not listening yet
_TAIL_LINES = 30  # output lines of a task quoted when it fails to come up


class LocalClusterError(Exception):
    """The cluster did not come up: a task's process exited first, or did not accept
    connections within the start-up timeout, or the host has no free port. Caused by the
    worker's flags or by the machine (``host`` is not one of its addresses, another
    program took the port chosen for a task); the message names the task and quotes its
    last lines of output."""


@dataclass(frozen=True, slots=True)
class Task:
    """One task of a cluster: its job (``worker`` or ``ps``) and index in that job.

    >>> str(Task("ps", 0))
    'ps/0'
    """

    job: str
    index: int

    def __str__(self) -> str:
        return f"{self.job}/{self.index}"


@dataclass(frozen=True, slots=True)
class TaskExit:
    """A task whose process ended while its cluster was running: its pid and exit status
    (negative: killed by that signal, as in :mod:`subprocess`).

    >>> str(TaskExit(Task("worker", 1), 4242, -9))
    'worker/1 (pid 4242) was killed by SIGKILL'
    """

    task: Task
    pid: int
    returncode: int

    def __str__(self) -> str:
        return f"{self.task} (pid {self.pid}) {_describe(self.returncode)}"


@dataclass(slots=True)
class _Member:
    task: Task
    port: int
    process: asyncio.subprocess.Process
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=_TAIL_LINES))
    # Drains the output, then reaps the process; awaited by wait_closed().
    watcher: asyncio.Task[None] = field(init=False)

    def signal(self, signum: signal.Signals) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):  # it has just exited
                self.process.send_signal(signum)


class LocalCluster:
    """``workers`` worker tasks and ``ps`` parameter-server tasks on ``host``, each a
    ``python -m eager_async serve --job worker|ps --task i`` process with ``serve_args``
    added (e.g. ``["--threads", "4"]``); ``chief_port`` is where the coordinator of a
    ``tf.distribute`` program will listen (None: a free port is chosen).

    ``tasks`` lists the worker tasks, then the ps tasks. Use it as an async context
    manager, or call ``start()``, then ``close()`` and ``await wait_closed()``. Each
    process runs in its own session, so a terminal's Ctrl-C reaches only the program that
    owns the cluster, which decides how to stop it.
    ``on_output(task, line)`` receives every line a task prints (stdout and stderr).

    >>> cluster = LocalCluster(workers=1, serve_args=["--log-level", "WARNING"])
    >>> await cluster.start()                              # doctest: +SKIP
    >>> cluster.address(Task("worker", 0))                 # doctest: +SKIP
    '127.0.0.1:40411'
    >>> cluster.close(); await cluster.wait_closed()       # doctest: +SKIP
    """

    def __init__(
        self,
        workers: int,
        ps: int = 0,
        *,
        host: str = "127.0.0.1",
        chief_port: int | None = None,
        serve_args: Sequence[str] = (),
        on_output: Callable[[Task, str], None] | None = None,
        startup_timeout: float = 60.0,
        stop_timeout: float = 10.0,
    ) -> None:
        if workers < 1 or ps < 0:
            raise ValueError(
                f"a cluster needs a worker or more and no negative number of "
                f"ps tasks; got workers={workers}, ps={ps}"
            )
        self.host = host
        self.tasks = (
            *(Task("worker", i) for i in range(workers)),
            *(Task("ps", i) for i in range(ps)),
        )
        self._chief_port = chief_port
        self._serve_args = tuple(serve_args)
        self._on_output = on_output
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._members: dict[Task, _Member] = {}
        self._exits: asyncio.Queue[TaskExit] = asyncio.Queue()
        self._closing = False

    async def start(self) -> None:
        """Start every task and wait until each accepts connections.

        Raises LocalClusterError when a task exits first or is not listening after
        ``startup_timeout`` seconds; every process started is stopped and reaped before
        it (or any other error, cancellation included) propagates.
        """
        if self._members or self._closing:
            raise RuntimeError("a LocalCluster starts once")
        extra = 1 if self._chief_port is None else 0
        try:
            ports = _free_ports(self.host, len(self.tasks) + extra)
        except OSError as error:
            raise LocalClusterError(f"no free port on {self.host}: {error}") from error
        if self._chief_port is None:
            self._chief_port = ports.pop()
        try:
            for task, port in zip(self.tasks, ports, strict=True):
                await self._spawn(task, port)
            await self._until_listening()
        except BaseException:
            self.close()
            await self.wait_closed()
            raise

    def cluster_spec(self) -> dict[str, list[str]]:
        """Job -> addresses, as ``tf.train.ClusterSpec`` takes it (``ps`` only when the
        cluster has some).

        >>> LocalCluster(2).cluster_spec()                    # doctest: +SKIP
        {'worker': ['127.0.0.1:40411', '127.0.0.1:40413']}
        """
        spec: dict[str, list[str]] = {}
        for task in self.tasks:
            spec.setdefault(task.job, []).append(self.address(task))
        return spec

    def tf_config(self) -> dict[str, object]:
        """The ``TF_CONFIG`` of the coordinator (chief) of a ``tf.distribute`` program
        using this cluster, e.g. with ParameterServerStrategy.

        >>> LocalCluster(1, 1, chief_port=2222).tf_config()   # doctest: +SKIP
        {'cluster': {'worker': [...], 'ps': [...], 'chief': ['127.0.0.1:2222']},
         'task': {'type': 'chief', 'index': 0}}
        """
        if self._chief_port is None:
            raise RuntimeError("the cluster is not started")
        chief = _address(self.host, self._chief_port)
        return {
            "cluster": {**self.cluster_spec(), "chief": [chief]},
            "task": {"type": "chief", "index": 0},
        }

    def address(self, task: Task) -> str:
        """``host:port`` of ``task`` (known once ``start()`` has begun)."""
        return _address(self.host, self._member(task).port)

    def pid(self, task: Task) -> int:
        """The process id of ``task`` (still known after it has exited)."""
        return self._member(task).process.pid

    async def next_exit(self) -> TaskExit:
        """Wait for the next task to end while the cluster runs; each is reported once.
        Tasks stopped by ``close()`` are not reported, so this waits forever once every
        task has been reported or the cluster is closing."""
        return await self._exits.get()

    def close(self) -> None:
        """Begin stopping: SIGTERM each task still running (a worker then shuts down
        gracefully). ``wait_closed()`` waits for them."""
        self._closing = True
        for member in self._members.values():
            member.signal(signal.SIGTERM)

    async def wait_closed(self) -> None:
        """Wait until every task's process has ended and been reaped: those still running
        after ``stop_timeout`` seconds, or when this wait is cancelled, get SIGKILL."""
        if not self._closing:
            raise RuntimeError("call close() before wait_closed()")
        watchers = [member.watcher for member in self._members.values()]
        if not watchers:
            return
        waited = f"did not stop within {self._stop_timeout:g} s"
        try:
            await asyncio.wait(watchers, timeout=self._stop_timeout)
        except asyncio.CancelledError:
            waited = "is still stopping, and the wait was cut short"
            raise
        finally:
            for member in self._members.values():
                if not member.watcher.done():
                    logger.warning("%s (pid %d) %s: killing it", member.task,
                                   member.process.pid, waited)  # fmt: skip
                    member.signal(signal.SIGKILL)
            # A killed process ends at once; wait for it even if this wait was cancelled,
            # so that no task outlives the cluster.
            await asyncio.wait(watchers)
        for watcher in watchers:
            watcher.result()  # an on_output callback that raised: say so

    async def __aenter__(self) -> LocalCluster:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
        await self.wait_closed()

    def _member(self, task: Task) -> _Member:
        member = self._members.get(task)
        if member is None:
            raise RuntimeError(
                f"task {task} is not started (tasks: {', '.join(map(str, self.tasks))})"
            )
        return member

    async def _spawn(self, task: Task, port: int) -> None:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "eager_async", "serve", "--host", self.host,
            "--port", str(port), "--job", task.job, "--task", str(task.index),
            *self._serve_args,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        member = _Member(task, port, process)
        self._members[task] = member
        member.watcher = asyncio.create_task(self._watch(member), name=f"watch {task}")

    async def _watch(self, member: _Member) -> None:
        try:
            await self._drain(member)
        finally:
            returncode = await member.process.wait()
        if not self._closing:
            self._exits.put_nowait(TaskExit(member.task, member.process.pid, returncode))

    async def _drain(self, member: _Member) -> None:
        assert member.process.stdout is not None
        # Chunks rather than readline(): a line longer than the stream's limit must not
        # end the draining (the process would then block on a full pipe).
        pending = b""
        while chunk := await member.process.stdout.read(1 << 16):
            *lines, pending = (pending + chunk).split(b"\n")
            for line in lines:
                self._emit(member, line)
        if pending:
            self._emit(member, pending)

    def _emit(self, member: _Member, raw: bytes) -> None:
        line = raw.decode(errors="replace").rstrip("\r")
        member.tail.append(line)
        if self._on_output is not None:
            self._on_output(member.task, line)

    async def _until_listening(self) -> None:
        # Readiness is a port that accepts a connection, not the worker's "listening on"
        # log line: that line is gone under --log-level WARNING.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._startup_timeout
        waiting = list(self._members.values())
        while True:
            for member in self._members.values():
                returncode = member.process.returncode
                # Watcher done too: all the output of the process is in the tail.
                if returncode is not None and member.watcher.done():
                    raise LocalClusterError(
                        f"{member.task} (pid {member.process.pid}) {_describe(returncode)} "
                        f"before the cluster was up (its address: "
                        f"{_address(self.host, member.port)}){_quoted(member.tail)}"
                    )
            waiting = [m for m in waiting if not await _accepts(self.host, m.port)]
            if not waiting:
                return
            if loop.time() >= deadline:
                late = waiting[0]
                raise LocalClusterError(
                    f"{late.task} (pid {late.process.pid}) did not accept connections on "
                    f"{_address(self.host, late.port)} within {self._startup_timeout:g} s"
                    f"{_quoted(late.tail)}"
                )
            await asyncio.sleep(_POLL_SECONDS)


def _free_ports(host: str, count: int) -> list[int]:
    # Held open together so that the ports differ. Once closed, another program could
    # take one before its worker binds it; that worker then exits and start() says why.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with contextlib.ExitStack() as stack:
        sockets = [
            stack.enter_context(socket.socket(family, socket.SOCK_STREAM)) for _ in range(count)
        ]
        for sock in sockets:
            sock.bind((host, 0))
        return [int(sock.getsockname()[1]) for sock in sockets]


async def _accepts(host: str, port: int) -> bool:
    try:
        async with asyncio.timeout(1.0):  # a refused connect is instant; a lost one is not
            _, writer = await asyncio.open_connection(host, port)
    except OSError:  # TimeoutError included
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _describe(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with code {returncode}"


def _quoted(tail: deque[str]) -> str:
    if not tail:
        return " (it printed nothing)"
    return "; its last output:\n" + "\n".join(f"  | {line}" for line in tail)
