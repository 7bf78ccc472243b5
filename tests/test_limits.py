"""Every limit of ``eager_async.limits``, against a real worker: RESOURCE_EXHAUSTED naming
the limit, nothing allocated first, and the worker serving on."""

from __future__ import annotations

import asyncio
import gc
import os
import struct
import subprocess
import sys
import tracemalloc
from collections.abc import AsyncIterator

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import numpy as np
import pytest
from grpclib import GRPCError
from grpclib.client import Channel
from grpclib.const import Status
from messages import create, decref, enqueue, handle, op, send
from serve_process import serve_process

from eager_async import EagerServer, Limits, RuntimeOptions
from eager_async._proto.tensorflow import DataType, FunctionDef, TensorProto
from eager_async._proto.tensorflow import eager as pb
from eager_async.tensors import encode_shape

MB = 1 << 20


@pytest.fixture
async def limited() -> AsyncIterator[EagerServer]:
    """A worker with small limits, so that tests reach them cheaply."""
    limits = Limits(
        max_message_bytes=8 * MB,
        max_receiving_bytes=12 * MB,
        max_tensor_bytes=2 * MB,
        context_memory_bytes=3 * MB,
        memory_bytes=5 * MB + MB // 4,
        max_contexts=4,
        max_function_nodes=50,
        max_function_depth=3,
        max_string_bytes=1000,
    )
    async with EagerServer(port=0, threads=2, options=RuntimeOptions(limits=limits)) as server:
        yield server


@pytest.fixture
async def stub(limited: EagerServer) -> AsyncIterator[pb.EagerServiceStub]:
    channel = Channel("127.0.0.1", limited.port)
    try:
        yield pb.EagerServiceStub(channel)
    finally:
        channel.close()


async def _context(stub: pb.EagerServiceStub) -> int:
    return (await stub.create_context(create())).context_id


async def _refused(call: object, limit: str) -> str:
    with pytest.raises(GRPCError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.status == Status.RESOURCE_EXHAUSTED, caught.value.message
    assert limit in (caught.value.message or "")
    return caught.value.message or ""


def _fill(op_id: int, dims: list[int]) -> pb.QueueItem:
    return op(op_id, "Fill", np.array(dims, np.int64), np.float32(1))


async def test_a_fill_of_ten_billion_elements_is_refused_not_attempted(
    stub: pb.EagerServiceStub, limited: EagerServer
) -> None:
    context_id = await _context(stub)
    await _refused(stub.enqueue(enqueue(context_id, _fill(1, [100_000, 100_000]))),
                   "max_tensor_bytes")  # fmt: skip
    # Dims known only when the op runs (they come from another op) are checked then.
    dims = send(2, np.array([100_000, 100_000], np.int64))
    shaped = op(3, "Fill", handle(2), np.float32(1))
    await _refused(stub.enqueue(enqueue(context_id, dims, shaped)), "max_tensor_bytes")
    assert limited.runtime.memory.used < MB  # only the dims are held


async def test_live_tensors_are_held_to_the_context_and_worker_quotas(
    stub: pb.EagerServiceStub, limited: EagerServer
) -> None:
    a, b = await _context(stub), await _context(stub)
    # 1.25 MB tensors: a context holds two (3 MB quota), the worker four (5.25 MB).
    await stub.enqueue(enqueue(a, _fill(1, [320, 1024]), _fill(2, [320, 1024])))
    message = await _refused(stub.enqueue(enqueue(a, _fill(3, [320, 1024]))),
                             "context_memory_bytes")  # fmt: skip
    assert "release handles" in message
    await stub.enqueue(enqueue(b, _fill(1, [320, 1024]), _fill(2, [320, 1024])))
    c = await _context(stub)
    await _refused(stub.enqueue(enqueue(c, _fill(1, [320, 1024]))), "memory_bytes")
    # Released handles give their bytes back.
    await stub.enqueue(enqueue(a, decref(1), decref(2)))
    await stub.enqueue(enqueue(c, _fill(1, [320, 1024])))
    # And so does a closed context.
    await stub.close_context(pb.CloseContextRequest(context_id=b))
    await stub.enqueue(enqueue(a, _fill(4, [320, 1024]), _fill(5, [320, 1024])))
    assert limited.runtime.memory.used == 3 * 320 * 1024 * 4  # inline inputs are not held


async def test_a_tensor_whose_shape_outgrows_its_values_is_refused_before_it_is_built(
    stub: pb.EagerServiceStub, limited: EagerServer
) -> None:
    # 33 bytes that declare a billion floats (TF fills them with the last value given).
    bomb = TensorProto(dtype=DataType.DT_FLOAT, tensor_shape=encode_shape((10**9,)),
                       float_val=[1.0])  # fmt: skip
    context_id = await _context(stub)
    item = pb.QueueItem(send_tensor=pb.SendTensorOp(op_id=1, tensors=[bomb]))
    await _refused(stub.enqueue(enqueue(context_id, item)), "max_tensor_bytes")
    inline = pb.QueueItem(operation=pb.Operation(
        id=2, name="Identity", op_inputs=[pb.OperationInput(tensor=bomb)]))
    await _refused(stub.enqueue(enqueue(context_id, inline)), "max_tensor_bytes")
    strings = TensorProto(dtype=DataType.DT_STRING, tensor_shape=encode_shape((10**7,)))
    item = pb.QueueItem(send_tensor=pb.SendTensorOp(op_id=3, tensors=[strings]))
    await _refused(stub.enqueue(enqueue(context_id, item)), "max_tensor_bytes")
    await _refused(stub.send_tensor(pb.SendTensorRequest(context_id=context_id, op_id=4,
                                                         tensors=[bomb])),
                   "max_tensor_bytes")  # fmt: skip
    long = np.array([b"x" * 1001], dtype=object)
    await _refused(stub.enqueue(enqueue(context_id, send(5, long))), "max_string_bytes")
    assert limited.runtime.memory.used == 0


async def test_a_function_body_is_held_to_the_quota_node_by_node(
    stub: pb.EagerServiceStub,
) -> None:
    from eager_async.attrs import encode_attr

    def node(name: str, op_name: str, inputs: list[str], **attrs: object) -> object:
        from eager_async._proto.tensorflow import NodeDef

        return NodeDef(name=name, op=op_name, input=inputs,
                       attr={k: encode_attr(v) for k, v in attrs.items()})  # fmt: skip

    from eager_async._proto.tensorflow import OpDef, OpDefArgDef

    signature = OpDef(name="Big", input_arg=[OpDefArgDef(name="dims", type=DataType.DT_INT64)],
                      output_arg=[OpDefArgDef(name="total", type=DataType.DT_FLOAT)])
    body = [
        node("one", "Const", [], dtype=np.dtype(np.float32), value=np.array(1, np.float32)),
        node("fill", "Fill", ["dims", "one:output:0"], T=np.dtype(np.float32),
             index_type=np.dtype(np.int64)),
        node("axes", "Const", [], dtype=np.dtype(np.int32), value=np.array([0, 1], np.int32)),
        node("sum", "Sum", ["fill:output:0", "axes:output:0"], T=np.dtype(np.float32),
             Tidx=np.dtype(np.int32)),
    ]  # fmt: skip
    function = FunctionDef(signature=signature, node_def=body, ret={"total": "sum:output:0"})
    context_id = await _context(stub)
    await stub.register_function(pb.RegisterFunctionRequest(context_id=context_id,
                                                            function_def=function))  # fmt: skip
    small = op(-1, "Big", np.array([4, 4], np.int64))
    reply = await stub.enqueue(enqueue(context_id, small))
    assert reply.queue_response[0].tensor
    big = op(-1, "Big", np.array([100_000, 100_000], np.int64))
    message = await _refused(stub.enqueue(enqueue(context_id, big)), "max_tensor_bytes")
    assert "Fill" in message


async def test_function_size_and_depth_limits(stub: pb.EagerServiceStub) -> None:
    from eager_async._proto.tensorflow import NodeDef, OpDef, OpDefArgDef
    from eager_async.attrs import encode_attr

    context_id = await _context(stub)
    nodes = [NodeDef(name=f"n{i}", op="NoOp") for i in range(51)]
    function = FunctionDef(signature=OpDef(name="Wide"), node_def=nodes)
    await _refused(stub.register_function(pb.RegisterFunctionRequest(
        context_id=context_id, function_def=function)), "max_function_nodes")  # fmt: skip
    # f0 calls f1 calls f2 calls f3, whose Const is a fifth level of ops: two too many.
    for level in range(4):
        if level == 3:
            body = [NodeDef(name="c", op="Const", attr={
                "dtype": encode_attr(np.dtype(np.float32)),
                "value": encode_attr(np.array(1, np.float32))})]
            ret = {"y": "c:output:0"}
        else:
            body, ret = [NodeDef(name="call", op=f"f{level + 1}")], {"y": "call:y:0"}
        signature = OpDef(name=f"f{level}",
                          output_arg=[OpDefArgDef(name="y", type=DataType.DT_FLOAT)])
        await stub.register_function(pb.RegisterFunctionRequest(
            context_id=context_id,
            function_def=FunctionDef(signature=signature, node_def=body, ret=ret)))
    await _refused(stub.enqueue(enqueue(context_id, op(1, "f0"))), "max_function_depth")
    await stub.enqueue(enqueue(context_id, op(2, "f2")))  # f2, f3 and its Const: 3 levels


async def test_max_contexts(stub: pb.EagerServiceStub) -> None:
    ids = [await _context(stub) for _ in range(4)]
    await _refused(stub.create_context(create()), "max_contexts")
    await stub.close_context(pb.CloseContextRequest(context_id=ids[0]))
    await _context(stub)


class RawCall:
    """One gRPC call over a bare HTTP/2 connection (h2), written byte by byte as a test
    says: a client that stops in the middle of a message, or never sends it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.stream = 1
        self.trailers: dict[str, str] = {}
        self.ended = asyncio.Event()
        self._reading = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def start(cls, port: int, method: str) -> RawCall:
        """Open a connection and send the call's headers."""
        call = cls(*await asyncio.open_connection("127.0.0.1", port))
        call.h2.initiate_connection()
        call.h2.send_headers(call.stream, [
            (":method", "POST"), (":scheme", "http"), (":authority", "127.0.0.1"),
            (":path", "/tensorflow.eager.EagerService/" + method),
            ("content-type", "application/grpc"), ("te", "trailers"),
        ])  # fmt: skip
        await call._flush()
        return call

    async def send(self, data: bytes) -> None:
        """Send ``data`` on the call, as fast as flow control lets it go, until the
        server ends the call."""
        view = memoryview(data)
        while view and not self.ended.is_set():
            window = min(self.h2.local_flow_control_window(self.stream),
                         self.h2.max_outbound_frame_size)  # fmt: skip
            if window <= 0:
                await asyncio.sleep(0.01)  # the reader applies WINDOW_UPDATEs
                continue
            try:
                self.h2.send_data(self.stream, bytes(view[:window]))
            except h2.exceptions.StreamClosedError:
                return
            view = view[window:]
            await self._flush()

    def close(self) -> None:
        """Drop the connection mid-call, as a killed client does."""
        self._reading.cancel()
        self.writer.close()

    async def _flush(self) -> None:
        self.writer.write(self.h2.data_to_send())
        await self.writer.drain()

    async def _read(self) -> None:
        while data := await self.reader.read(65536):
            for event in self.h2.receive_data(data):
                if isinstance(event, h2.events.TrailersReceived | h2.events.ResponseReceived):
                    self.trailers.update((k.decode(), v.decode()) for k, v in event.headers)
                if isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    self.ended.set()
            self.writer.write(self.h2.data_to_send())


def _prefix(length: int) -> bytes:
    return struct.pack(">?I", False, length)


async def test_a_message_over_the_limit_is_refused_from_its_prefix(limited: EagerServer) -> None:
    call = await RawCall.start(limited.port, "SendTensor")
    try:
        await call.send(_prefix(3 << 30))  # 3 GB announced, none of it sent
        await asyncio.wait_for(call.ended.wait(), 10)
        assert call.trailers["grpc-status"] == str(Status.RESOURCE_EXHAUSTED.value)
        assert "max_message_bytes" in call.trailers["grpc-message"]
    finally:
        call.close()


async def test_uploads_in_progress_are_bounded_and_freed_when_their_client_goes(
    limited: EagerServer,
) -> None:
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        # A stalls after 6 of its 8 MB: the worker holds what arrived.
        stalled = await RawCall.start(limited.port, "SendTensor")
        await stalled.send(_prefix(8 * MB) + bytes(6 * MB))
        for _ in range(500):
            if limited.receiver.receiving >= 6 * MB:
                break
            await asyncio.sleep(0.01)
        assert limited.receiver.receiving == 6 * MB  # counted as it arrived
        # B would take the worker past max_receiving_bytes (12 MB): refused, not queued.
        other = await RawCall.start(limited.port, "SendTensor")
        await other.send(_prefix(8 * MB) + bytes(8 * MB))
        await asyncio.wait_for(other.ended.wait(), 10)
        assert other.trailers["grpc-status"] == str(Status.RESOURCE_EXHAUSTED.value)
        assert "max_receiving_bytes" in other.trailers["grpc-message"]
        other.close()
        # A's client goes: what it had sent is freed.
        stalled.close()
        for _ in range(500):
            if limited.receiver.receiving == 0:
                break
            await asyncio.sleep(0.01)
        assert limited.receiver.receiving == 0
        await asyncio.sleep(0.2)
        gc.collect()
        assert tracemalloc.get_traced_memory()[0] - before < MB
    finally:
        tracemalloc.stop()


def test_bad_limits_are_one_line_errors_from_flags_and_environment() -> None:
    def serve(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "eager_async", "serve", "--port", "0",
                               *args], capture_output=True, text=True, timeout=60,
                              env={**os.environ, **env})  # fmt: skip

    refused = serve("--max-contexts", "0")
    assert refused.returncode == 2
    assert "--max-contexts: must be at least 1" in refused.stderr
    assert "Traceback" not in refused.stderr
    refused = serve(EAGER_ASYNC_MAX_FUNCTION_DEPTH="40")
    assert refused.returncode == 2
    assert "max_function_depth may be at most 32" in refused.stderr
    refused = serve(EAGER_ASYNC_MAX_TENSOR_BYTES="lots")
    assert refused.returncode == 2
    assert "not a size: 'lots'" in refused.stderr


async def test_limits_come_from_the_environment() -> None:
    limits = {"EAGER_ASYNC_MAX_CONTEXTS": "1", "EAGER_ASYNC_MAX_TENSOR_BYTES": "1K"}
    async with serve_process(limits) as (_, port):
        channel = Channel("127.0.0.1", port)
        try:
            stub = pb.EagerServiceStub(channel)
            context_id = await _context(stub)
            await _refused(stub.enqueue(enqueue(context_id, send(1, np.zeros(300, np.float32)))),
                           "max_tensor_bytes (1024)")  # fmt: skip
            await _refused(stub.create_context(create()), "max_contexts")
        finally:
            channel.close()


async def test_a_receive_without_a_send_ends_after_recv_timeout_secs() -> None:
    from eager_async._proto.tensorflow import RecvTensorRequest, WorkerServiceStub

    options = RuntimeOptions(limits=Limits(recv_timeout_secs=1))
    async with EagerServer(port=0, options=options) as server:
        channel = Channel("127.0.0.1", server.port)
        try:
            key = f"/job:worker/replica:0/task:0/device:CPU:0;{server.runtime.incarnation:016x};" \
                "/job:localhost/replica:0/task:0/device:CPU:0;never;0:0"
            with pytest.raises(GRPCError) as caught:
                await WorkerServiceStub(channel).recv_tensor(
                    RecvTensorRequest(step_id=5, rendezvous_key=key))
            assert caught.value.status == Status.DEADLINE_EXCEEDED
            assert "recv_timeout_secs" in (caught.value.message or "")
        finally:
            channel.close()


async def test_a_failed_op_gives_its_reservation_back(
    stub: pb.EagerServiceStub, limited: EagerServer
) -> None:
    # An async op reserves its output, then fails in its kernel: its handle stays (as a
    # failed op's does until released), but the bytes it never made are not held.
    context_id = (await stub.create_context(create(is_async=True))).context_id
    bad = op(1, "CheckNumerics", np.full(1000, np.nan, np.float32), attrs={"message": "x"})
    await stub.enqueue(enqueue(context_id, bad))
    with pytest.raises(GRPCError):
        await stub.wait_queue_done(pb.WaitQueueDoneRequest(context_id=context_id, op_id=[1]))
    assert limited.runtime.memory.used == 0
