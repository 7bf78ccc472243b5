"""Shape bombs and an oversized message against a worker with small quotas: each must be
RESOURCE_EXHAUSTED (or INVALID_ARGUMENT where no tensor could have that shape), and the
worker's peak RSS must stay under twice its memory quota.

    python benchmarks/bombs.py [--memory 1G] [--json bench-results/bombs.json]

The worker runs ``serve`` with ``--memory-bytes``, ``--context-memory-bytes`` (half of
it) and ``--max-tensor-bytes`` (a quarter); its peak RSS is the kernel's VmHWM. Exits 1
when a bomb gets another status or the peak is over twice the quota.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from eager_async._proto.tensorflow import DataType, TensorProto
from eager_async._proto.tensorflow import eager as pb
from eager_async.attrs import encode_attr
from eager_async.tensors import encode_shape, encode_tensor

_SIZES = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


@dataclass
class Outcome:
    """What one bomb got."""

    name: str
    status: str
    message: str
    peak_rss: int


def _size(text: str) -> int:
    return int(text[:-1]) * _SIZES[text[-1].upper()] if text[-1:].isalpha() else int(text)


def _op(op_id: int, name: str, *inputs: object, **attrs: object) -> pb.QueueItem:
    operation = pb.Operation(
        id=op_id, name=name,
        op_inputs=[pb.OperationInput(tensor=t if isinstance(t, TensorProto)
                                     else encode_tensor(np.asarray(t))) for t in inputs],
        attrs={k: encode_attr(v) for k, v in attrs.items()},
    )  # fmt: skip
    return pb.QueueItem(operation=operation)


def _bombs() -> list[tuple[str, list[pb.QueueItem], tuple[Status, ...]]]:
    exhausted = (Status.RESOURCE_EXHAUSTED,)
    shapeless = (Status.RESOURCE_EXHAUSTED, Status.INVALID_ARGUMENT)
    big = 100_000
    declared = TensorProto(dtype=DataType.DT_FLOAT, tensor_shape=encode_shape((10**9,)),
                           float_val=[1.0])  # fmt: skip
    strings = TensorProto(dtype=DataType.DT_STRING, tensor_shape=encode_shape((10**7,)),
                          tensor_content=bytes(10**7))  # fmt: skip
    impossible = TensorProto(dtype=DataType.DT_FLOAT,
                             tensor_shape=encode_shape((0, 2**63 - 1)))  # fmt: skip
    f32 = np.dtype(np.float32)
    return [
        ("Fill [1e5, 1e5] float32 (40 GB)",
         [_op(-1, "Fill", np.int64([big, big]), np.float32(1))], exhausted),
        ("Tile [1000, 1000] x [1000, 1000] (4 TB)",
         [_op(-1, "Tile", np.ones((1000, 1000), np.float32), np.int32([1000, 1000]))],
         exhausted),
        ("Range 0..1e10 int64 (80 GB)",
         [_op(-1, "Range", np.int64(0), np.int64(10**10), np.int64(1))], exhausted),
        ("BroadcastTo [1e5, 1e5]",
         [_op(-1, "BroadcastTo", np.float32(1), np.int64([big, big]))], exhausted),
        ("RandomUniform [1e5, 1e5]",
         [_op(-1, "RandomUniform", np.int64([big, big]), dtype=f32)], exhausted),
        ("OneHot depth 1e10",
         [_op(-1, "OneHot", np.int64([1]), np.int32(2**31 - 1), np.float32(1),
              np.float32(0))], exhausted),
        ("AddV2 [1e5, 1] + [1, 1e5] (broadcast, 40 GB)",
         [_op(-1, "AddV2", np.ones((big, 1), np.float32), np.ones((1, big), np.float32))],
         exhausted),
        ("MatMul [1e5, 1] @ [1, 1e5] (40 GB)",
         [_op(-1, "MatMul", np.ones((big, 1), np.float32), np.ones((1, big), np.float32))],
         exhausted),
        ("inline tensor declaring 1e9 floats (33 bytes)",
         [_op(-1, "Identity", declared)], exhausted),
        ("10^7 empty strings in tensor_content", [_op(-1, "Identity", strings)], exhausted),
        ("shape [0, 2**63-1]", [_op(-1, "Identity", impossible)], shapeless),
    ]


async def _call(stub: pb.EagerServiceStub, context_id: int,
                items: list[pb.QueueItem]) -> tuple[str, str]:  # fmt: skip
    try:
        await stub.enqueue(pb.EnqueueRequest(context_id=context_id, queue=items), timeout=120)
    except GRPCError as error:
        return error.status.name, (error.message or "")[:160]
    return "OK", ""


async def _oversized_message(port: int, length: int) -> tuple[str, str]:
    """A SendTensor announcing ``length`` bytes, sent 16 MiB of them over bare HTTP/2."""
    import h2.config
    import h2.connection
    import h2.events

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.send_headers(1, [
        (":method", "POST"), (":scheme", "http"), (":authority", "127.0.0.1"),
        (":path", "/tensorflow.eager.EagerService/SendTensor"),
        ("content-type", "application/grpc"), ("te", "trailers"),
    ])  # fmt: skip
    body = memoryview(struct.pack(">?I", False, length) + bytes(16 << 20))
    trailers: dict[str, str] = {}
    while not trailers:
        window = min(conn.local_flow_control_window(1), conn.max_outbound_frame_size)
        if body and window > 0 and not conn.streams[1].closed:
            conn.send_data(1, bytes(body[:window]))
            body = body[window:]
        writer.write(conn.data_to_send())
        await writer.drain()
        try:
            data = await asyncio.wait_for(reader.read(65536), 0.05 if body else 30)
        except TimeoutError:
            continue
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.TrailersReceived | h2.events.ResponseReceived):
                trailers.update((k.decode(), v.decode()) for k, v in event.headers)
                trailers.pop(":status", None)
                trailers.pop("content-type", None)
        writer.write(conn.data_to_send())
    writer.close()
    status = Status(int(trailers.get("grpc-status", "2"))).name
    return status, trailers.get("grpc-message", "")[:160]


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


async def main() -> int:
    """Run every bomb; print a table and the verdict."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--memory", default="1G", help="the worker's --memory-bytes")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    memory = _size(args.memory)
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "eager_async", "serve", "--port", "0",
        "--memory-bytes", str(memory), "--context-memory-bytes", str(memory // 2),
        "--max-tensor-bytes", str(memory // 4), stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert worker.stderr is not None
    port = 0
    while not port:
        line = (await worker.stderr.readline()).decode()
        if not line:
            print("the worker did not start", file=sys.stderr)
            return 2
        if "listening on" in line:
            port = int(line.rsplit(":", 1)[1])
    outcomes: list[Outcome] = []
    failed = False
    channel = Channel("127.0.0.1", port)
    try:
        stub = pb.EagerServiceStub(channel)
        context_id = (await stub.create_context(pb.CreateContextRequest())).context_id
        quarter_floats = memory // 4 // 4
        for name, items, expected in _bombs():
            status, message = await _call(stub, context_id, items)
            failed |= status not in {s.name for s in expected}
            outcomes.append(Outcome(name, status, message, _peak_rss(worker.pid)))
        # Real allocations: tensors of just under max_tensor_bytes, held; two fit the
        # context's quota (half the worker's), the third does not.
        held = []
        for op_id in (1, 2, 3):
            fill = _op(op_id, "Fill", np.int64([quarter_floats - 1024]), np.float32(1))
            held.append(await _call(stub, context_id, [fill]))
        failed |= [h[0] for h in held] != ["OK", "OK", "RESOURCE_EXHAUSTED"]
        outcomes.append(Outcome("3 Fills of 1/4 quota held (the 3rd over the context's 1/2)",
                                held[2][0], held[2][1], _peak_rss(worker.pid)))
        status, message = await _oversized_message(port, 3 << 30)
        failed |= status != "RESOURCE_EXHAUSTED"
        outcomes.append(Outcome("SendTensor of 3 GB (16 MiB sent)", status, message,
                                _peak_rss(worker.pid)))  # fmt: skip
    finally:
        channel.close()
        worker.terminate()
        await worker.wait()
    peak = max(o.peak_rss for o in outcomes)
    for o in outcomes:
        print(f"{o.name:<62} {o.status:<19} peak RSS {o.peak_rss / 2**20:7.0f} MiB  {o.message}")
    verdict = peak < 2 * memory
    failed |= not verdict
    print(f"peak RSS {peak / 2**20:.0f} MiB, quota (--memory-bytes) {memory / 2**20:.0f} MiB: "
          f"{'under' if verdict else 'OVER'} twice the quota; {'FAIL' if failed else 'PASS'}")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "memory_bytes": memory, "peak_rss": peak, "passed": not failed,
            "bombs": [o.__dict__ for o in outcomes]}, indent=1) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
