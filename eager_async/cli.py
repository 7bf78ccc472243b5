"""``python -m eager_async``: the command line, and the only place that picks the event
loop, logging and signal handling."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
from collections.abc import Callable, Sequence
from pathlib import Path

from . import bench
from .runtime import RuntimeOptions
from .server import EagerServer

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m eager_async")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run an EagerService worker")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=50051, help="port (0 picks a free one)")
    serve.add_argument("--job", default="worker", help="job name when a client sends none")
    serve.add_argument("--task", type=int, default=0, help="task index when a client sends none")
    serve.add_argument("--threads", type=int, default=None, help="kernel threads")
    serve.add_argument("--max-queued-requests", type=int, default=1024,
                       help="Enqueue requests an async context buffers before Enqueue waits")
    serve.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ...")
    serve.add_argument("--allow-file-io", metavar="DIR", type=Path, default=None,
                       help="let clients have the worker read and write files (checkpoints: "
                            "SaveV2, RestoreV2) under DIR only; without it, none at all")
    bench.add_arguments(commands.add_parser(
        "bench", help="measure a worker (ours, started unless --address; --compare another)"))
    args = parser.parse_args(argv)
    if args.command == "bench":
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        return bench.main(bench.options_from_args(args))

    if args.allow_file_io is not None and not args.allow_file_io.is_dir():
        parser.error(f"--allow-file-io {args.allow_file_io}: not a directory")
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    options = RuntimeOptions(
        max_queued_requests=args.max_queued_requests, job=args.job, task=args.task,
        file_root=args.allow_file_io,
    )  # fmt: skip
    if options.file_root is not None:
        logging.getLogger(__name__).info(
            "clients may read and write files under %s (--allow-file-io)", options.file_root
        )
    server = EagerServer(args.host, args.port, threads=args.threads, options=options)
    _tune_garbage_collection()
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_serve_until_signalled(server))
    return 0


def _tune_garbage_collection() -> None:
    # Every enqueued op allocates a few objects and almost none form cycles; with the
    # default threshold the collector runs every 700 allocations and took about a third
    # of a tiny op's CPU time (benchmarks/). Collect young objects less often, and keep
    # the objects of start-up out of every full collection.
    gc.set_threshold(50_000, 20, 100)
    gc.freeze()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _serve_until_signalled(server: EagerServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await server.start()
    try:
        await stop.wait()
        logging.getLogger(__name__).info("signal received, shutting down")
    finally:
        server.close()
        await server.wait_closed()
