"""The least a grpclib server can do per RPC: ``/tensorflow.eager.EagerService/Enqueue``
answered with an empty reply, the request's bytes never decoded. benchmarks/profile.py
sends it the same requests as eager_async's sync-unary K=1, so the two figures differ only
by what eager_async does with a request.

    python benchmarks/grpclib_floor.py [--host 127.0.0.1] [--port 0] [--bench]

With ``--bench`` it answers every RPC ``python -m eager_async bench`` sends, none decoded:
CreateContext, WaitQueueDone, CloseContext and KeepAlive with an empty reply, Enqueue and
each StreamingEnqueue message with one empty QueueResponse (so only K=1 runs are valid).
``bench --address`` it, beside ``--compare`` TF's worker, for grpclib's own K=1 figures:

    python -m eager_async bench --address FLOOR --compare TF --batch-sizes 1 \\
        --scenarios sync-unary,async-stream,sync-stream

It runs as ``python -m eager_async serve`` does: uvloop when installed, the same
garbage-collector thresholds (eager_async/cli.py), a ``listening on HOST:PORT`` log line,
and a clean exit on SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import socket
import sys
from typing import Any

from grpclib.const import Cardinality, Handler
from grpclib.server import Server, Stream

PATH = "/tensorflow.eager.EagerService/Enqueue"


class Raw:
    """A message as its bytes: grpclib's protobuf codec calls ``FromString`` and
    ``SerializeToString``, and neither decodes anything."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    @classmethod
    def FromString(cls, data: bytes) -> Raw:  # the protobuf method grpclib calls
        """The message of ``data``, not decoded."""
        return cls(data)

    def SerializeToString(self) -> bytes:  # the protobuf method grpclib calls
        """Its bytes."""
        return self.data


_EMPTY = Raw(b"")


class Floor:
    """One unary method that reads its request and replies with nothing."""

    def __mapping__(self) -> dict[str, Handler]:
        """grpclib's handler table."""
        return {PATH: Handler(self.enqueue, Cardinality.UNARY_UNARY, Raw, Raw)}

    async def enqueue(self, stream: Stream[Any, Any]) -> None:
        """Read the request, answer an empty message."""
        await stream.recv_message()
        await stream.send_message(_EMPTY)


_SERVICE = "/tensorflow.eager.EagerService/"
_ONE_RESPONSE = Raw(b"\x0a\x00")  # EnqueueResponse with one empty QueueResponse


class BenchFloor(Floor):
    """Every RPC of the benchmark's K=1 scenarios, answered without decoding."""

    def __mapping__(self) -> dict[str, Handler]:
        """grpclib's handler table."""
        unary = Cardinality.UNARY_UNARY
        mapping = {
            _SERVICE + name: Handler(self.enqueue, unary, Raw, Raw)
            for name in ("CreateContext", "WaitQueueDone", "CloseContext", "KeepAlive")
        }
        mapping[PATH] = Handler(self.enqueue_one, unary, Raw, Raw)
        mapping[_SERVICE + "StreamingEnqueue"] = Handler(
            self.streaming_enqueue, Cardinality.STREAM_STREAM, Raw, Raw
        )
        return mapping

    async def enqueue_one(self, stream: Stream[Any, Any]) -> None:
        """Read the request, answer one QueueResponse."""
        await stream.recv_message()
        await stream.send_message(_ONE_RESPONSE)

    async def streaming_enqueue(self, stream: Stream[Any, Any]) -> None:
        """One QueueResponse for each message, in turn."""
        async for _ in stream:
            await stream.send_message(_ONE_RESPONSE)


async def serve(host: str, port: int, bench: bool = False) -> None:
    """Serve until SIGINT or SIGTERM, then close gracefully (``bench``: ``BenchFloor``)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    server = Server([BenchFloor() if bench else Floor()])
    # Bound here, as EagerServer binds its own, to learn the port that 0 picked.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    await server.start(sock=sock)
    bound_host, bound_port = sock.getsockname()[:2]
    print(f"grpclib floor listening on {bound_host}:{bound_port}", file=sys.stderr, flush=True)
    try:
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free one (default)")
    parser.add_argument("--bench", action="store_true",
                        help="answer every RPC of the benchmark's K=1 scenarios")
    args = parser.parse_args()
    # serve's settings (eager_async/cli.py: _tune_garbage_collection), repeated rather than
    # imported: importing eager_async would make this floor pay for its start-up.
    gc.set_threshold(50_000, 20, 100)
    gc.freeze()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.host, args.port, args.bench))
    else:
        uvloop.run(serve(args.host, args.port, args.bench))


if __name__ == "__main__":
    main()
