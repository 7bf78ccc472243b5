"""The probe: a well-behaved client of a worker being fuzzed, in a process of its own so
that the fuzzer's own work (building megabyte requests) never delays it.

    python tests/fuzz/probe.py HOST:PORT [--interval 0.05]

Every ``interval`` seconds it checks health (grpc.health.v1 Check), keeps its own context
alive (KeepAlive) and runs a tiny AddV2 of two inline scalars fetched inline (Enqueue,
op id -1), on a connection of its own, and prints one line per call:
``<end time> <seconds> <method> <status> <details>``; the end time is ``time.time()``, so
the fuzzer can tell which of its cases a slow call overlapped. A context lost to a fuzzed
CreateContext with ``clear_existing_contexts`` (ABORTED, or CANCELLED while a call ran) is
made again and reported as status ``context-lost``; a wrong AddV2 result as ``WRONG``.
It runs until its standard input closes or it gets SIGTERM. Only grpcio and the standard
library: the bytes are written by hand.
"""

from __future__ import annotations

import argparse
import random
import signal
import struct
import sys
import threading
import time

import grpc

CHECK = "/grpc.health.v1.Health/Check"
CREATE = "/tensorflow.eager.EagerService/CreateContext"
KEEP_ALIVE = "/tensorflow.eager.EagerService/KeepAlive"
ENQUEUE = "/tensorflow.eager.EagerService/Enqueue"
DEADLINE = 10.0


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _bytes(number: int, data: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def _fixed64(number: int, value: int) -> bytes:
    return _varint(number << 3 | 1) + struct.pack("<Q", value)


def _scalar(value: float) -> bytes:  # TensorProto {DT_FLOAT, shape {}, tensor_content}
    return b"\x08\x01" + _bytes(2, b"") + _bytes(4, struct.pack("<f", value))


ADD = _bytes(3, _bytes(2, b"\x08" + _varint(-1) + _bytes(2, b"AddV2")
                       + _bytes(10, _bytes(2, _scalar(1.0))) + _bytes(10, _bytes(2, _scalar(2.0)))))
THREE = struct.pack("<f", 3.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address")
    parser.add_argument("--interval", type=float, default=0.05)
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    channel = grpc.insecure_channel(args.address, options=[
        ("grpc.use_local_subchannel_pool", 1)])
    context = 0

    def call(method: str, payload: bytes) -> tuple[float, str, str, bytes]:
        start = time.monotonic()
        try:
            reply = channel.unary_unary(method)(payload, timeout=DEADLINE)
            return time.monotonic() - start, "OK", "", reply
        except grpc.RpcError as error:
            return (time.monotonic() - start, error.code().name,
                    (error.details() or "").replace("\n", " ")[:300], b"")

    def report(line: str) -> None:
        print(f"{time.time():.6f} {line}", flush=True)

    def create() -> None:
        nonlocal context
        context = random.getrandbits(64) | 1
        elapsed, status, details, _ = call(CREATE, b"\x18" + _varint(600)
                                           + _fixed64(7, context))
        report(f"{elapsed:.6f} CreateContext {status} {details}")

    create()
    while not stop.wait(args.interval):
        for name, method, payload in [("HealthCheck", CHECK, b""),
                                      ("KeepAlive", KEEP_ALIVE, _fixed64(1, context)),
                                      ("Enqueue", ENQUEUE, _fixed64(1, context) + ADD)]:
            elapsed, status, details, reply = call(method, payload)
            if name != "HealthCheck" and status in ("ABORTED", "CANCELLED") \
                    and "context" in details:
                report(f"{elapsed:.6f} {name} context-lost {details}")
                create()
                break
            if name == "Enqueue" and status == "OK" and THREE not in reply:
                status, details = "WRONG", reply.hex()
            report(f"{elapsed:.6f} {name} {status} {details}")
    channel.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
