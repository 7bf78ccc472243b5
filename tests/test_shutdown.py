"""Graceful shutdown as the README and docs/operations-lifecycle.md describe it: health
NOT_SERVING, no new connection, pending ops and the RPCs waiting on them CANCELLED (a
status the client receives, not a dropped connection), then a prompt exit with status 0."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import grpclib.const
import numpy as np
import pytest
from conftest import Gate
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import DataReceived
from h2.settings import SettingCodes
from messages import create, enqueue, op
from serve_process import serve_process

from eager_async import EagerServer, Runtime, RuntimeOptions
from eager_async import server as server_module
from eager_async._proto.tensorflow import eager as pb
from eager_async.errors import UnavailableError

F32 = np.dtype(np.float32)
DEVICE = b"/job:worker/replica:0/task:0/device:CPU:0"
# A _Recv of a tensor nobody sends: its op waits, in a kernel thread, until its context
# closes (the worker's own way to hold an op pending, no test op needed).
NEVER_SENT = {"tensor_type": F32, "tensor_name": b"never_sent", "send_device": DEVICE,
              "send_device_incarnation": 3, "recv_device": DEVICE}  # fmt: skip


async def _status_of(call: Awaitable[Any]) -> tuple[Status, str]:
    """The status a pending call ends with (a dropped connection fails the test)."""
    try:
        await call
    except GRPCError as error:
        return error.status, error.message or ""
    except StreamTerminatedError as error:
        pytest.fail(f"the client got no status, its stream ended: {error}")
    pytest.fail("the call succeeded during shutdown")


async def _streaming_enqueue(channel: Channel, request: pb.EnqueueRequest) -> None:
    async with channel.request(
        "/tensorflow.eager.EagerService/StreamingEnqueue",
        grpclib.const.Cardinality.STREAM_STREAM,
        pb.EnqueueRequest,
        pb.EnqueueResponse,
    ) as stream:
        await stream.send_message(request)
        await stream.recv_message()
        await stream.recv_trailing_metadata()


async def _pending_calls(channel: Channel) -> list[asyncio.Task[tuple[Status, str]]]:
    """A sync Enqueue, an async op awaited by WaitQueueDone and a StreamingEnqueue, each
    waiting on a _Recv that never completes."""
    stub = pb.EagerServiceStub(channel)
    sync = (await stub.create_context(create())).context_id
    streamed = (await stub.create_context(create())).context_id
    background = (await stub.create_context(create(is_async=True))).context_id
    await stub.enqueue(enqueue(background, op(1, "_Recv", attrs=NEVER_SENT)))
    calls = [
        stub.enqueue(enqueue(sync, op(1, "_Recv", attrs=NEVER_SENT))),
        stub.wait_queue_done(pb.WaitQueueDoneRequest(context_id=background, op_id=[1])),
        _streaming_enqueue(channel, enqueue(streamed, op(1, "_Recv", attrs=NEVER_SENT))),
    ]
    return [asyncio.create_task(_status_of(call)) for call in calls]


@pytest.fixture
async def worker_process() -> AsyncIterator[tuple[asyncio.subprocess.Process, int]]:
    """``python -m eager_async serve --port 0`` and its port; killed if a test leaves it."""
    async with serve_process({"EAGER_ASYNC_PURE_PYTHON": "1"}) as started:
        yield started


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_cancels_pending_ops_and_the_process_exits_0(
    worker_process: tuple[asyncio.subprocess.Process, int], signum: signal.Signals
) -> None:
    process, port = worker_process
    channel = Channel("127.0.0.1", port)
    try:
        pending = await _pending_calls(channel)
        await asyncio.sleep(0.5)  # not synchronisation: the ops wait for good either way
        assert not any(call.done() for call in pending)
        process.send_signal(signum)
        statuses = await asyncio.wait_for(asyncio.gather(*pending), 30)
    finally:
        channel.close()
    for status, message in statuses:
        assert status == Status.CANCELLED, message
        assert "shutting down" in message
    assert process.stderr is not None
    log = (await asyncio.wait_for(process.stderr.read(), 30)).decode()
    # A generous bound: the point is that it exits by itself, not how fast.
    assert await asyncio.wait_for(process.wait(), 30) == 0, log
    assert "eager_async worker stopped" in log
    assert "Traceback" not in log


async def test_shutdown_refuses_new_connections_and_contexts_while_it_drains(
    gate: Gate,
) -> None:
    server = EagerServer(port=0, shutdown_grace=30)
    await server.start()
    port = server.port
    channel = Channel("127.0.0.1", port)
    try:
        stub = pb.EagerServiceStub(channel)
        context_id = (await stub.create_context(create())).context_id
        held = asyncio.create_task(_status_of(stub.enqueue(
            enqueue(context_id, op(1, "_TestGate", np.float32(1)))
        )))  # fmt: skip
        assert await asyncio.to_thread(gate.entered.wait, 30)
        server.close()
        status, message = await asyncio.wait_for(held, 30)
        assert status == Status.CANCELLED, message
        # The kernel still runs (the gate is shut): the worker is draining.
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", port)
        status, message = await _status_of(stub.create_context(create()))
        assert status == Status.UNAVAILABLE
        assert "shutting down" in message
        status, message = await _status_of(
            stub.keep_alive(pb.KeepAliveRequest(context_id=context_id))
        )
        assert status == Status.ABORTED, message  # closed, as an unknown context
    finally:
        gate.opened.set()
        server.close()
        await server.wait_closed()
        channel.close()
    assert not server.kernels_abandoned


async def test_a_closed_runtime_refuses_new_contexts() -> None:
    runtime = Runtime(pool=None, options=RuntimeOptions())  # type: ignore[arg-type]
    await runtime.start()
    assert not runtime.closing
    await runtime.close()
    assert runtime.closing
    with pytest.raises(UnavailableError, match="shutting down"):
        await runtime.create_context(create())


def _grpc_call(connection: H2Connection, stream_id: int, method: str, request: Any) -> None:
    connection.send_headers(stream_id, [
        (":method", "POST"), (":scheme", "http"), (":authority", "worker"),
        (":path", f"/tensorflow.eager.EagerService/{method}"),
        ("te", "trailers"), ("content-type", "application/grpc"),
    ])  # fmt: skip
    body = bytes(request)
    connection.send_data(stream_id, b"\0" + len(body).to_bytes(4, "big") + body, end_stream=True)


async def test_a_client_that_stops_reading_cannot_hold_the_shutdown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its RPC waiting on an op cannot write its CANCELLED status once the replies it does
    # not read fill the connection: shutdown waits _STATUS_GRACE for it, then goes on.
    monkeypatch.setattr(server_module, "_STATUS_GRACE", 0.5)
    server = EagerServer(port=0)
    await server.start()
    channel = Channel("127.0.0.1", server.port)
    stub = pb.EagerServiceStub(channel)
    sync = (await stub.create_context(create())).context_id
    background = (await stub.create_context(create(is_async=True))).context_id
    await stub.enqueue(enqueue(background, op(1, "_Recv", attrs=NEVER_SENT)))
    channel.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        connection = H2Connection(H2Configuration(client_side=True))
        connection.initiate_connection()
        # Windows wide open, so that only the socket, unread, stops the worker's writes.
        connection.update_settings({SettingCodes.INITIAL_WINDOW_SIZE: 2**31 - 1})
        connection.increment_flow_control_window(2**31 - 1 - 65535)
        _grpc_call(connection, 1, "WaitQueueDone",
                   pb.WaitQueueDoneRequest(context_id=background, op_id=[1]))  # fmt: skip
        fill = op(-1, "Fill", np.array([4096, 4096], np.int32), np.float32(1))  # 64 MiB back
        for stream_id in (3, 5, 7):
            _grpc_call(connection, stream_id, "Enqueue", enqueue(sync, fill))
        writer.write(connection.data_to_send())
        # Read until the replies flow, then never again.
        while not any(isinstance(event, DataReceived)
                      for event in connection.receive_data(await reader.read(1 << 16))):
            pass  # fmt: skip
        server.close()
        await asyncio.wait_for(server.wait_closed(), 60)
    finally:
        writer.close()


def test_a_kernel_left_behind_ends_quietly_after_the_loop_has_closed(gate: Gate) -> None:
    # The shutdown thread waits for the kernel pool; when a kernel outlives the grace
    # period and the loop, its last act (waking the loop) must not raise in that thread.
    async def serve_and_leave_a_kernel() -> None:
        server = EagerServer(port=0, threads=1, shutdown_grace=0.1)
        await server.start()
        channel = Channel("127.0.0.1", server.port)
        try:
            stub = pb.EagerServiceStub(channel)
            await stub.create_context(create(4242, is_async=True))
            await stub.enqueue(enqueue(4242, op(1, "_TestGate", np.float32(1))))
            assert await asyncio.to_thread(gate.entered.wait, 30)
            server.close()
            await server.wait_closed()
            assert server.kernels_abandoned
        finally:
            channel.close()

    raised: list[BaseException | None] = []
    hook = threading.excepthook
    threading.excepthook = lambda args: raised.append(args.exc_value)
    try:
        asyncio.run(serve_and_leave_a_kernel())  # its loop is closed when this returns
        (shutdown,) = [t for t in threading.enumerate() if t.name == "eager-shutdown"]
        gate.opened.set()
        shutdown.join(30)
        assert not shutdown.is_alive()
    finally:
        threading.excepthook = hook
    assert raised == []
