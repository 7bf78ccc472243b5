"""A logging gRPC proxy in front of an eager worker: it records which ops a client sends.

    .venv-tf/bin/python tests/interop/proxy.py --upstream HOST:PORT --log ops.json [--trace]

It listens on a free loopback port (``--port`` to choose), prints one line, ``interop
proxy listening on 127.0.0.1:PORT``, and forwards every RPC, whatever its service and
cardinality (``tensorflow.eager.EagerService`` including the StreamingEnqueue stream,
``tensorflow.WorkerService``), byte for byte to the upstream worker, with the client's
metadata and deadline, and relays replies, statuses and trailing metadata back.

On the way it decodes the EagerService requests and records: the RPC methods called; the
name of every op in an Enqueue/StreamingEnqueue queue item (and of RunComponentFunction
calls); every function registered (by queue item or the RegisterFunction RPC) and the ops
inside it and inside the functions of its library. Calls of registered functions are
recorded as function calls, not as ops. On SIGTERM or SIGINT it writes the record as JSON
to ``--log`` and exits 0. ``--trace`` also prints each request and non-OK status to stderr.

Messages are decoded with the descriptor set that ``make proto`` writes from ``proto/``
(``eager_async/_proto/eager_service.desc``; field numbers are TensorFlow's), loaded into a
private pool: TensorFlow's wheel ships no Python module for ``eager_service.proto``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

ROOT = Path(__file__).resolve().parents[2]
DESCRIPTORS = ROOT / "eager_async" / "_proto" / "eager_service.desc"
EAGER = "/tensorflow.eager.EagerService/"
MAX_CALLS = 1024  # threads, one per call in flight
NO_DEADLINE = 1e9  # seconds; beyond this a client's deadline is "none"
UNLIMITED = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]


def message_classes(path: Path) -> dict[str, Any]:
    """The request classes the proxy decodes, built from a FileDescriptorSet."""
    files = descriptor_pb2.FileDescriptorSet.FromString(path.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    names = {
        "Enqueue": "tensorflow.eager.EnqueueRequest",
        "StreamingEnqueue": "tensorflow.eager.EnqueueRequest",
        "RegisterFunction": "tensorflow.eager.RegisterFunctionRequest",
        "RunComponentFunction": "tensorflow.eager.RunComponentFunctionRequest",
    }
    return {method: message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
            for method, name in names.items()}


def referenced_functions(attrs: Any) -> set[str]:
    """Names of the functions an op's or node's attrs name (``f``, ``then_branch``, a
    dataset's map function, lists of them)."""
    names: set[str] = set()
    for value in attrs.values():
        kind = value.WhichOneof("value")
        if kind == "func":
            names.add(value.func.name)
        elif kind == "list":
            names.update(func.name for func in value.list.func)
    return names


@dataclass(slots=True)
class Function:
    """A registered function: the op of each node, and the functions its attrs name."""

    body: list[str]
    attr_functions: set[str] = field(default_factory=set)


class Recorder:
    """What the clients sent, thread-safe (grpcio serves each RPC on its own thread).

    Ops inside functions are counted only for functions the worker was asked to run:
    called by an op or RunComponentFunction, named by an attr of a top-level op (a
    dataset's map function), or reached from those through nested calls and attrs. A TF
    client also registers its local op wrappers (``__wrapped__Op_device_/job:localhost``)
    with the worker; those are listed apart as registered but never run.
    """

    def __init__(self, trace: bool) -> None:
        self.trace = trace
        self.lock = threading.Lock()
        self.rpcs: Counter[str] = Counter()
        self.items: Counter[str] = Counter()
        self.ops: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.attr_roots: set[str] = set()
        self.functions: dict[str, Function] = {}
        self.errors: Counter[str] = Counter()

    def rpc(self, method: str) -> None:
        """Count one call of ``method`` (``/package.Service/Method``)."""
        with self.lock:
            self.rpcs[method.lstrip("/")] += 1

    def enqueue(self, request: Any) -> None:
        """Record the queue items of one EnqueueRequest."""
        for item in request.queue:
            kind = item.WhichOneof("item") or "empty"
            with self.lock:
                self.items[kind] += 1
            detail = ""
            if kind == "operation":
                self.operation(item.operation)
                detail = item.operation.name
            elif kind == "register_function":
                register = item.register_function
                self.register(register.function_def, register.library.function)
                detail = register.function_def.signature.name
            if self.trace:
                print(f"[proxy]   {kind} {detail}", file=sys.stderr, flush=True)

    def operation(self, operation: Any) -> None:
        """Record one op, or one call of a registered function."""
        with self.lock:
            self.attr_roots.update(referenced_functions(operation.attrs))
            if operation.is_function or operation.is_component_function:
                self.calls[operation.name] += 1
            else:  # a call by name alone is sorted out in report()
                self.ops[operation.name] += 1

    def register(self, function_def: Any, library: Sequence[Any] = ()) -> None:
        """Record a registered function and the functions of its library."""
        for function in [function_def, *library]:
            recorded = Function([node.op for node in function.node_def])
            for node in function.node_def:
                recorded.attr_functions |= referenced_functions(node.attr)
            with self.lock:
                self.functions[function.signature.name] = recorded

    def status(self, method: str, code: grpc.StatusCode, details: str) -> None:
        """Count a non-OK status an upstream call ended with."""
        with self.lock:
            self.errors[f"{method.lstrip('/')} {code.name}"] += 1
        if self.trace:
            print(f"[proxy] {method} -> {code.name}: {details[:200]}", file=sys.stderr,
                  flush=True)

    def report(self) -> dict[str, Any]:
        """The record as plain JSON values (counts by name, names sorted)."""
        with self.lock:
            functions = self.functions
            ops = Counter({name: n for name, n in self.ops.items() if name not in functions})
            calls = self.calls + Counter({name: n for name, n in self.ops.items()
                                          if name in functions})
            run: set[str] = set()
            pending = [name for name in [*calls, *self.attr_roots] if name in functions]
            while pending:
                name = pending.pop()
                if name in run:
                    continue
                run.add(name)
                function = functions[name]
                pending.extend(op for op in function.body if op in functions)
                pending.extend(ref for ref in function.attr_functions if ref in functions)

            def body_ops(names: set[str]) -> Counter[str]:
                counted: Counter[str] = Counter()
                for name in names:
                    counted.update(op for op in functions[name].body if op not in functions)
                return counted

            unrun = set(functions) - run
            return {
                "rpcs": dict(sorted(self.rpcs.items())),
                "queue_items": dict(sorted(self.items.items())),
                "ops": dict(sorted(ops.items())),
                "function_ops": dict(sorted(body_ops(run).items())),
                "functions_run": sorted(run),
                "function_calls": dict(sorted(calls.items())),
                "functions_not_run": sorted(unrun),
                "function_ops_not_run": dict(sorted(body_ops(unrun).items())),
                "errors": dict(sorted(self.errors.items())),
            }


class Forwarder(grpc.GenericRpcHandler):  # type: ignore[misc]  # grpc ships no types
    """Serves every method as a bidi stream of raw bytes and forwards it upstream.

    A stream-stream handler also serves unary calls: on the wire a unary call is a stream
    of one message, so one handler covers every method without knowing the services.
    """

    def __init__(self, upstream: str, recorder: Recorder) -> None:
        self.channel = grpc.insecure_channel(upstream, options=UNLIMITED)
        self.recorder = recorder
        self.classes = message_classes(DESCRIPTORS)

    def service(self, handler_call_details: grpc.HandlerCallDetails
                ) -> grpc.RpcMethodHandler | None:
        method: str = handler_call_details.method

        def handle(requests: Iterator[bytes],
                   context: grpc.ServicerContext) -> Iterator[bytes]:
            return self.forward(method, requests, context)

        return grpc.stream_stream_rpc_method_handler(handle)

    def inspect(self, method: str, request: bytes) -> bytes:
        """Record what one request carries; return it unchanged."""
        name = method.removeprefix(EAGER)
        cls = self.classes.get(name) if method.startswith(EAGER) else None
        if self.recorder.trace:
            print(f"[proxy] {method} ({len(request)} bytes)", file=sys.stderr, flush=True)
        if cls is None:
            return request
        try:
            message = cls.FromString(request)
            if name in ("Enqueue", "StreamingEnqueue"):
                self.recorder.enqueue(message)
            elif name == "RegisterFunction":
                self.recorder.register(message.function_def)
            elif name == "RunComponentFunction":
                self.recorder.operation(message.operation)
        except Exception as error:  # never let the log break the session
            print(f"[proxy] cannot decode a {name} request: {error}", file=sys.stderr)
        return request

    def forward(self, method: str, requests: Iterator[bytes],
                context: grpc.ServicerContext) -> Iterator[bytes]:
        """Relay one call: requests up, replies down, then the status."""
        self.recorder.rpc(method)
        remaining = context.time_remaining()
        call = self.channel.stream_stream(method)(
            (self.inspect(method, request) for request in requests),
            metadata=[(key, value) for key, value in context.invocation_metadata()
                      if key != "user-agent"],
            # No deadline reads as ~2**63 ns, which grpcio cannot take as a timeout.
            timeout=remaining if remaining is not None and remaining < NO_DEADLINE else None,
        )
        context.add_callback(call.cancel)
        with contextlib.suppress(grpc.RpcError):  # the call carries the status, read below
            yield from call
        trailing = [(key, value) for key, value in (call.trailing_metadata() or ())
                    if not key.startswith("grpc-")]
        context.set_trailing_metadata(trailing)
        code = call.code()
        if code is not None and code != grpc.StatusCode.OK:
            self.recorder.status(method, code, call.details() or "")
            context.abort(code, call.details() or "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the worker")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks one")
    parser.add_argument("--log", type=Path, help="write the record here as JSON on exit")
    parser.add_argument("--trace", action="store_true", help="print every request")
    args = parser.parse_args(argv)

    recorder = Recorder(args.trace)
    # Every call in flight holds a thread: StreamingEnqueue for the whole session, and a
    # multi-device function's RecvTensor calls wait for tensors that other calls (queued
    # behind them, if threads ran out) produce. Too few threads deadlock the client.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=MAX_CALLS), options=UNLIMITED)
    server.add_generic_rpc_handlers([Forwarder(args.upstream, recorder)])
    port = server.add_insecure_port(f"127.0.0.1:{args.port}")
    serve_until_signalled(server, f"interop proxy listening on 127.0.0.1:{port}")
    write_report(args.log, recorder.report())
    return 0


def serve_until_signalled(server: grpc.Server, banner: str) -> None:
    """Start ``server``, print ``banner`` (the harness waits for it), serve until SIGTERM
    or SIGINT, then stop with a second's grace."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server.start()
    print(banner, flush=True)
    while not stop.wait(0.5):
        pass
    server.stop(grace=1).wait()


def write_report(path: Path | None, report: Any) -> None:
    """``report`` as indented JSON at ``path`` (nothing when None)."""
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
