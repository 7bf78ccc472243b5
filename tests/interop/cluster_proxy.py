"""A logging gRPC proxy in front of one task of a cluster: it records, per calling task,
what the other tasks and the client send this one.

    .venv-tf/bin/python tests/interop/cluster_proxy.py --listen 127.0.0.2:PORT \\
        --upstream 127.0.0.1:PORT --name worker/0 --log traffic.json [--trace]

It listens on ``--listen``, prints ``cluster proxy listening on HOST:PORT``, and forwards
every RPC of any service and cardinality byte for byte to ``--upstream`` (``proxy.py``'s
``Forwarder``, with the caller's metadata and deadline). The calling process is found from
the connection: the peer's port is looked up in ``/proc/net/tcp{,6}`` for the socket's
inode, and ``/proc/*/fd`` for the process holding it (the record keeps pids; the runner,
which started every task, names them). Per caller it records:

- the RPC methods, with counts and request/response bytes;
- for EagerService ``Enqueue``/``StreamingEnqueue``: the queue item kinds
  (``operation``, ``register_function``, ``send_tensor``, ...), the op names of
  ``operation`` items (function calls marked ``fn:``), the functions registered and the
  ops in their bodies;
- for ``RunComponentFunction``: the function names; for ``CreateContext``: the task the
  ServerDef makes of the callee, the cluster's jobs and the flags; for WorkerService
  ``RecvTensor``: the rendezvous key's source and destination devices.

Function names lose TensorFlow's numeric suffixes (``__inference_step_12_partitioned_345``
-> ``__inference_step_partitioned``), so that runs compare. On SIGTERM or SIGINT it writes
the record as JSON to ``--log`` and exits 0. Runs with the TF venv's Python (grpcio,
protobuf).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

sys.path.insert(0, str(Path(__file__).resolve().parent))
from proxy import (
    DESCRIPTORS,
    MAX_CALLS,
    NO_DEADLINE,
    UNLIMITED,
    serve_until_signalled,
    write_report,
)

EAGER = "/tensorflow.eager.EagerService/"
WORKER = "/tensorflow.WorkerService/"
# __inference_f_252_partitioned_63248224 -> __inference_f_partitioned
SUFFIX = re.compile(r"_\d+(?=_partitioned|$)|(?<=_partitioned)_\d+")
REQUESTS = {
    "Enqueue": "tensorflow.eager.EnqueueRequest",
    "StreamingEnqueue": "tensorflow.eager.EnqueueRequest",
    "RegisterFunction": "tensorflow.eager.RegisterFunctionRequest",
    "RunComponentFunction": "tensorflow.eager.RunComponentFunctionRequest",
    "CreateContext": "tensorflow.eager.CreateContextRequest",
    "UpdateContext": "tensorflow.eager.UpdateContextRequest",
    "RecvTensor": "tensorflow.RecvTensorRequest",
}


def short(name: str) -> str:
    """A function name without TensorFlow's unique numeric suffix."""
    return SUFFIX.sub("", name)


def short_device(device: str) -> str:
    """``/job:worker/replica:0/task:1/device:CPU:0`` -> ``worker/1:CPU:0``."""
    match = re.match(r"/job:([^/]+)/replica:\d+/task:(\d+)(?:/device:(.*))?", device)
    if not match:
        return device
    job, task, rest = match.groups()
    return f"{job}/{task}" + (f":{rest}" if rest else "")


def request_classes() -> dict[str, Any]:
    """The request classes decoded, by method name, from ``make proto``'s descriptors."""
    files = descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTORS.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    return {method: message_factory.GetMessageClass(pool.FindMessageTypeByName(name))
            for method, name in REQUESTS.items()}


class Peers:
    """Which process holds the other end of a connection, from ``/proc`` (no psutil)."""

    def __init__(self, listen: tuple[str, int]) -> None:
        self.listen = listen
        self.lock = threading.Lock()
        self.cache: dict[str, int | None] = {}

    def pid_of(self, peer: str) -> int | None:
        """The pid owning the client socket of ``peer`` (grpc's ``ipv4:127.0.0.1:5000``
        or ``ipv6:[::1]:5000``), or None if it cannot be found (a closed connection)."""
        with self.lock:
            if peer in self.cache:
                return self.cache[peer]
        pid = None
        with contextlib.suppress(ValueError, OSError):
            host, port = peer.split(":", 1)[1].rsplit(":", 1)
            inode = self.inode(host.strip("[]"), int(port))
            pid = self.owner(inode) if inode else None
        with self.lock:
            if pid is not None:
                self.cache[peer] = pid
        return pid

    def inode(self, host: str, port: int) -> str | None:
        """The inode of the socket bound to (host, port) that is connected to us."""
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            with contextlib.suppress(OSError), open(table) as lines:
                next(lines)
                for line in lines:
                    fields = line.split()
                    local, remote, inode = fields[1], fields[2], fields[9]
                    if (int(local.rsplit(":", 1)[1], 16) == port
                            and int(remote.rsplit(":", 1)[1], 16) == self.listen[1]):
                        return inode
        return None

    @staticmethod
    def owner(inode: str) -> int | None:
        """The first process with an open fd on ``socket:[inode]``."""
        target = f"socket:[{inode}]"
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                for fd in os.scandir(f"/proc/{entry.name}/fd"):
                    with contextlib.suppress(OSError):
                        if os.readlink(fd.path) == target:
                            return int(entry.name)
        return None


class Source:
    """What one calling process sent."""

    def __init__(self) -> None:
        self.rpcs: Counter[str] = Counter()
        self.bytes_in: Counter[str] = Counter()
        self.bytes_out: Counter[str] = Counter()
        self.items: Counter[str] = Counter()
        self.ops: Counter[str] = Counter()
        self.registered: dict[str, Counter[str]] = {}
        self.component_functions: Counter[str] = Counter()
        self.recv_edges: Counter[str] = Counter()
        self.contexts: list[dict[str, Any]] = []
        self.errors: Counter[str] = Counter()

    def report(self) -> dict[str, Any]:
        """As plain JSON values, names sorted."""
        def ordered(counter: Counter[str]) -> dict[str, int]:
            return dict(sorted(counter.items()))

        return {
            "rpcs": ordered(self.rpcs), "bytes_in": ordered(self.bytes_in),
            "bytes_out": ordered(self.bytes_out), "items": ordered(self.items),
            "ops": ordered(self.ops),
            "functions_registered": {name: ordered(body)
                                     for name, body in sorted(self.registered.items())},
            "component_functions": ordered(self.component_functions),
            "recv_tensor_edges": ordered(self.recv_edges), "contexts": self.contexts,
            "errors": ordered(self.errors),
        }


class Traffic:
    """Per calling pid, what it sent; thread-safe (grpcio serves each call on a thread)."""

    def __init__(self, trace: bool) -> None:
        self.trace = trace
        self.lock = threading.Lock()
        self.sources: dict[str, Source] = defaultdict(Source)
        self.classes = request_classes()

    def rpc(self, source: str, method: str) -> None:
        """Count one call."""
        with self.lock:
            self.sources[source].rpcs[method.lstrip("/")] += 1

    def sizes(self, source: str, method: str, sent: int, received: int) -> None:
        """Add the request (``sent`` by the caller) and response bytes of one call."""
        with self.lock:
            record = self.sources[source]
            record.bytes_in[method.lstrip("/")] += sent
            record.bytes_out[method.lstrip("/")] += received

    def status(self, source: str, method: str, code: grpc.StatusCode, details: str) -> None:
        """Count a non-OK status."""
        with self.lock:
            self.sources[source].errors[f"{method.lstrip('/')} {code.name}"] += 1
        if self.trace:
            print(f"[cluster-proxy] {source} {method} -> {code.name}: {details[:200]}",
                  file=sys.stderr, flush=True)

    def inspect(self, source: str, method: str, request: bytes) -> None:
        """Record what one request carries."""
        name = method.rsplit("/", 1)[-1]
        cls = self.classes.get(name) if method.startswith((EAGER, WORKER)) else None
        if self.trace:
            print(f"[cluster-proxy] {source} {method} ({len(request)} bytes)",
                  file=sys.stderr, flush=True)
        if cls is None:
            return
        try:
            message = cls.FromString(request)
            with self.lock:
                record = self.sources[source]
                if name in ("Enqueue", "StreamingEnqueue"):
                    self.enqueue(record, message)
                elif name == "RegisterFunction":
                    self.register(record, message.function_def, message.library.function)
                elif name == "RunComponentFunction":
                    record.component_functions[short(message.operation.name)] += 1
                elif name in ("CreateContext", "UpdateContext"):
                    record.contexts.append(self.context(name, message))
                elif name == "RecvTensor":
                    parts = message.rendezvous_key.split(";")
                    if len(parts) >= 3:
                        edge = f"{short_device(parts[0])} -> {short_device(parts[2])}"
                        record.recv_edges[edge] += 1
        except Exception as error:  # never let the log break the session
            print(f"[cluster-proxy] cannot decode a {name} request: {error}", file=sys.stderr)

    def enqueue(self, record: Source, request: Any) -> None:
        """Record the queue items of one EnqueueRequest."""
        for item in request.queue:
            kind = item.WhichOneof("item") or "empty"
            record.items[kind] += 1
            if kind == "operation":
                operation = item.operation
                called = operation.is_function or operation.is_component_function \
                    or short(operation.name) in record.registered
                record.ops[f"fn:{short(operation.name)}" if called else operation.name] += 1
            elif kind == "register_function":
                register = item.register_function
                self.register(record, register.function_def, register.library.function)

    @staticmethod
    def register(record: Source, function_def: Any, library: Any) -> None:
        """Record a registered function (and its library's) with the ops of its body."""
        for function in [function_def, *library]:
            body = Counter(node.op for node in function.node_def)
            record.registered[short(function.signature.name)] = Counter(
                {short(op): n for op, n in body.items()})

    @staticmethod
    def context(name: str, request: Any) -> dict[str, Any]:
        """What a CreateContext/UpdateContext says to the callee."""
        server_def = request.server_def
        described: dict[str, Any] = {
            "rpc": name, "as": f"{server_def.job_name}/{server_def.task_index}",
            "cluster": {job.name: {str(k): v for k, v in sorted(job.tasks.items())}
                        for job in server_def.cluster.job},
        }
        if name == "CreateContext":
            described.update({
                "async": getattr(request, "async"),
                "keep_alive_secs": request.keep_alive_secs,
                "lazy_copy_remote_function_inputs": request.lazy_copy_remote_function_inputs,
                "clear_existing_contexts": request.clear_existing_contexts,
                "devices": len(request.cluster_device_attributes),
            })
        return described

    def report(self, name: str, peers: Peers) -> dict[str, Any]:
        """The record: this task's name, and per calling pid what it sent."""
        with self.lock, peers.lock:
            return {"task": name,
                    "peers": {peer: pid for peer, pid in sorted(peers.cache.items())},
                    "by_pid": {pid: source.report()
                               for pid, source in sorted(self.sources.items())}}


class Forwarder(grpc.GenericRpcHandler):  # type: ignore[misc]  # grpc ships no types
    """Serves every method as a bidi stream of raw bytes, forwards it upstream, and charges
    it to the calling process (a unary call is a stream of one message on the wire)."""

    def __init__(self, upstream: str, traffic: Traffic, peers: Peers) -> None:
        self.channel = grpc.insecure_channel(upstream, options=UNLIMITED)
        self.traffic = traffic
        self.peers = peers

    def service(self, handler_call_details: grpc.HandlerCallDetails
                ) -> grpc.RpcMethodHandler | None:
        method: str = handler_call_details.method

        def handle(requests: Iterator[bytes],
                   context: grpc.ServicerContext) -> Iterator[bytes]:
            return self.forward(method, requests, context)

        return grpc.stream_stream_rpc_method_handler(handle)

    def forward(self, method: str, requests: Iterator[bytes],
                context: grpc.ServicerContext) -> Iterator[bytes]:
        """Relay one call: requests up, replies down, then the status."""
        pid = self.peers.pid_of(context.peer())
        source = str(pid) if pid is not None else f"?{context.peer()}"
        self.traffic.rpc(source, method)
        sent = [0]

        def upward() -> Iterator[bytes]:
            for request in requests:
                sent[0] += len(request)
                self.traffic.inspect(source, method, request)
                yield request

        remaining = context.time_remaining()
        call = self.channel.stream_stream(method)(
            upward(),
            metadata=[(key, value) for key, value in context.invocation_metadata()
                      if key != "user-agent"],
            # No deadline reads as ~2**63 ns, which grpcio cannot take as a timeout.
            timeout=remaining if remaining is not None and remaining < NO_DEADLINE else None,
        )
        context.add_callback(call.cancel)
        received = 0
        with contextlib.suppress(grpc.RpcError):  # the call carries the status, read below
            for reply in call:
                received += len(reply)
                yield reply
        self.traffic.sizes(source, method, sent[0], received)
        trailing = [(key, value) for key, value in (call.trailing_metadata() or ())
                    if not key.startswith("grpc-")]
        context.set_trailing_metadata(trailing)
        code = call.code()
        if code is not None and code != grpc.StatusCode.OK:
            self.traffic.status(source, method, code, call.details() or "")
            context.abort(code, call.details() or "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="HOST:PORT to listen on")
    parser.add_argument("--upstream", required=True, help="HOST:PORT of the task")
    parser.add_argument("--name", default="task", help="the task's name, for the record")
    parser.add_argument("--log", type=Path, help="write the record here as JSON on exit")
    parser.add_argument("--trace", action="store_true", help="print every request")
    args = parser.parse_args(argv)

    host, port = args.listen.rsplit(":", 1)
    traffic = Traffic(args.trace)
    peers = Peers((host, int(port)))
    # Many threads: StreamingEnqueue holds one for the whole session, and RecvTensor calls
    # wait for tensors that calls queued behind them would produce (see proxy.py).
    # SO_REUSEPORT lets the proxy take HOST:PORT while the task itself listens on
    # 0.0.0.0:PORT (TF's server, with TF_GRPC_REUSE_PORT=1): the more specific address wins.
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=MAX_CALLS),
                         options=[*UNLIMITED, ("grpc.so_reuseport", 1)])
    server.add_generic_rpc_handlers([Forwarder(args.upstream, traffic, peers)])
    bound = server.add_insecure_port(args.listen)
    serve_until_signalled(server, f"cluster proxy listening on {host}:{bound}")
    write_report(args.log, traffic.report(args.name, peers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
