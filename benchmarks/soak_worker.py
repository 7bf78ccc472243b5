"""The worker a soak runs against (benchmarks/soak.py): an ``EagerServer`` run as
``python -m eager_async serve`` runs it (the same event loop and garbage-collector
settings), which also reports what it holds, one JSON line a second on stdout:

    {"listening": "127.0.0.1:40123", "pid": 4242}                    first, once
    {"t": 12.0, "contexts": 50, "handles": 131, "tasks": 57, ...}   then every second

``handles`` is the sum of ``Context.live_ops`` (ops holding live handles or pending) over
the live contexts; ``tasks`` the asyncio tasks of the process; ``tensor_bytes`` (where the
runtime has a memory quota) the bytes of live tensors it accounts; ``gc`` the collections
the garbage collector has made of each generation; ``malloc`` what glibc's malloc holds
(``mallinfo2``: bytes in use, and bytes freed but kept); ``traced`` (under tracemalloc)
the bytes of live Python and NumPy allocations. SIGTERM or SIGINT stop it as ``serve``
stops.

Commands on stdin, each answered by one line ``{"reply": {...}}``: ``collect`` runs a
full garbage collection (how many objects it found unreachable, of which kinds, and how
long it took); with
``--trace-malloc N`` (tracemalloc keeping N frames), ``snapshot`` records a baseline and
``compare LABEL`` lists the allocation sites (innermost line, and whole tracebacks) that
grew most since. Snapshots take memory of their own: RSS under tracemalloc is no measure.

    python benchmarks/soak_worker.py [--threads N] [--trace-malloc 10]
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import gc
import json
import logging
import os
import signal
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from typing import Any

from eager_async.cli import _loop_factory, _tune_garbage_collection
from eager_async.server import EagerServer

_TOP = 25


def _emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def _stats(server: EagerServer, started: float) -> dict[str, Any]:
    # The table itself, not Runtime.context(id): that touches a context, and would keep
    # the ones the soak lets expire alive.
    contexts = list(server.runtime._contexts.values())
    record = {
        "t": round(time.monotonic() - started, 3),
        "contexts": len(contexts),
        "handles": sum(context.live_ops for context in contexts),
        "tasks": len(asyncio.all_tasks()),
        "gc": [generation["collections"] for generation in gc.get_stats()],
    }
    memory = getattr(server.runtime, "memory", None)  # a runtime with a memory quota
    if memory is not None:
        record["tensor_bytes"] = memory.used
    malloc = _malloc()
    if malloc is not None:
        record["malloc"] = malloc
    if tracemalloc.is_tracing():
        record["traced"] = tracemalloc.get_traced_memory()[0]
    return record


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


def _mallinfo2() -> Callable[[], _MallInfo2] | None:
    try:
        function = ctypes.CDLL(None).mallinfo2  # glibc 2.33 and later
    except (OSError, AttributeError):
        return None
    function.restype = _MallInfo2
    return function


_MALLINFO2 = _mallinfo2()


def _malloc() -> dict[str, int] | None:
    """What C malloc (glibc) holds: bytes in use (NumPy's buffers, upb's arenas, ...) and
    bytes freed but kept, which RSS counts too. Python's own small objects live in
    pymalloc's arenas, outside both."""
    if _MALLINFO2 is None:
        return None
    info = _MALLINFO2()
    return {"in_use": info.uordblks + info.hblkhd, "free": info.fordblks}


async def _report_forever(server: EagerServer, started: float) -> None:
    while True:
        _emit(_stats(server, started))
        await asyncio.sleep(1.0)


def _growth(baseline: tracemalloc.Snapshot, baseline_label: str, label: str) -> dict[str, Any]:
    ignored = [tracemalloc.Filter(False, tracemalloc.__file__),
               tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    now = tracemalloc.take_snapshot().filter_traces(ignored)
    before = baseline.filter_traces(ignored)

    def top(group_by: str) -> list[dict[str, Any]]:
        return [{
            "size_diff": stat.size_diff, "count_diff": stat.count_diff,
            "size": stat.size, "count": stat.count,
            # The innermost frame first (tracemalloc keeps the oldest first).
            "traceback": [f"{frame.filename}:{frame.lineno}"
                          for frame in reversed(stat.traceback)],
        } for stat in now.compare_to(before, group_by)[:_TOP]]

    traced, peak = tracemalloc.get_traced_memory()
    return {
        "label": label, "baseline": baseline_label, "traced": traced, "peak": peak,
        "traced_diff": sum(t.size for t in now.traces) - sum(t.size for t in before.traces),
        "sites": top("lineno"), "top": top("traceback"),
    }


def _collect() -> dict[str, Any]:
    """A full collection, and what kinds of objects it found unreachable."""
    began = time.perf_counter()
    gc.set_debug(gc.DEBUG_SAVEALL)  # keep them in gc.garbage, to be counted
    try:
        unreachable = gc.collect()
    finally:
        gc.set_debug(0)
    seconds = time.perf_counter() - began
    kinds = Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.garbage)
    gc.garbage.clear()
    gc.collect()  # now free them
    return {"collected": unreachable, "seconds": round(seconds, 3),
            "kinds": kinds.most_common(12)}


async def _obey_stdin() -> None:
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    try:
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    except ValueError:  # stdin is a regular file: no commands
        return
    baseline: tracemalloc.Snapshot | None = None
    baseline_label = ""
    while line := (await reader.readline()).decode():
        command, _, label = line.strip().partition(" ")
        reply: dict[str, Any] = {"error": f"unknown command {command!r}"}
        if command == "collect":
            reply = _collect()
        elif command == "snapshot" and tracemalloc.is_tracing():
            baseline, baseline_label = tracemalloc.take_snapshot(), label
            reply = {"label": label, "traced": tracemalloc.get_traced_memory()[0]}
        elif command == "compare" and baseline is not None:
            reply = _growth(baseline, baseline_label, label)
        _emit({"reply": reply})


async def _serve(server: EagerServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    started = time.monotonic()
    await server.start()
    _emit({"listening": server.address, "pid": os.getpid()})
    try:
        async with asyncio.TaskGroup() as group:
            helpers = [group.create_task(_report_forever(server, started)),
                       group.create_task(_obey_stdin())]
            await stop.wait()
            for helper in helpers:
                helper.cancel()
    finally:
        server.close()
        await server.wait_closed()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None, help="kernel threads")
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--trace-malloc", type=int, default=0, metavar="FRAMES",
                        help="trace allocations, keeping FRAMES frames")
    args = parser.parse_args()
    logging.basicConfig(level=args.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.trace_malloc:
        tracemalloc.start(args.trace_malloc)
    server = EagerServer(args.host, args.port, threads=args.threads)
    _tune_garbage_collection()
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_serve(server))
    return 0


if __name__ == "__main__":
    sys.exit(main())
