"""Async contexts: Enqueue answers before ops run, WaitQueueDone by id, errors poison only
their dependents, CloseContext fails pending work."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from conftest import Gate
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from messages import create, decref, enqueue, handle, op, send

from eager_async._proto.tensorflow import eager as pb
from eager_async.tensors import decode_shape, decode_tensor

CONTEXT = 5150


async def wait(stub: pb.EagerServiceStub, *op_ids: int) -> pb.WaitQueueDoneResponse:
    return await stub.wait_queue_done(pb.WaitQueueDoneRequest(context_id=CONTEXT,
                                                              op_id=list(op_ids)))


async def status_of(call: object) -> tuple[Status, str]:
    with pytest.raises(GRPCError) as caught:
        await call  # type: ignore[misc]
    return caught.value.status, caught.value.message or ""


@pytest.fixture
async def context(stub: pb.EagerServiceStub) -> int:
    await stub.create_context(create(CONTEXT, is_async=True))
    return CONTEXT


async def test_enqueue_answers_before_the_op_runs(
    stub: pb.EagerServiceStub, context: int, gate: Gate,
) -> None:
    reply = await stub.enqueue(enqueue(
        context, send(1, np.ones((2, 3), np.float32)), op(2, "_TestGate", handle(1)),
        op(3, "Sum", handle(2), np.array([1], np.int32))))
    # The gate is still closed, so these shapes come from the shape functions.
    assert not gate.opened.is_set()
    assert [decode_shape(s) for s in reply.queue_response[1].shape] == [(2, 3)]
    assert [decode_shape(s) for s in reply.queue_response[2].shape] == [(2,)]
    waiting = asyncio.ensure_future(wait(stub, 3))
    await asyncio.to_thread(gate.entered.wait, 10)
    done, _ = await asyncio.wait([waiting], timeout=0.2)
    assert not done, "WaitQueueDone returned while op 3 was still pending"
    gate.opened.set()
    await waiting
    fetched = await stub.enqueue(enqueue(context, op(-1, "Identity", handle(3))))
    np.testing.assert_array_equal(decode_tensor(fetched.queue_response[0].tensor[0]), [3, 3])


async def test_unknown_shapes_are_reported_as_unknown(
    stub: pb.EagerServiceStub, context: int, gate: Gate,
) -> None:
    reply = await stub.enqueue(enqueue(
        context, send(1, np.arange(6, dtype=np.int32), np.array([2, 3], np.int32)),
        op(2, "_TestGate", handle(1, 1)), op(3, "Reshape", handle(1, 0), handle(2))))
    (shape,) = reply.queue_response[2].shape
    assert decode_shape(shape) in (None, (-1, -1))
    gate.opened.set()
    await wait(stub)
    fetched = await stub.enqueue(enqueue(context, op(-1, "Shape", handle(3))))
    np.testing.assert_array_equal(decode_tensor(fetched.queue_response[0].tensor[0]), [2, 3])


async def test_a_failure_poisons_only_its_dependents(
    stub: pb.EagerServiceStub, context: int, gate: Gate,
) -> None:
    gate.opened.set()
    await stub.enqueue(enqueue(
        context, send(1, np.arange(6, dtype=np.float32), np.array([4, 4], np.int32)),
        op(2, "_TestGate", handle(1, 1)),
        op(3, "Reshape", handle(1, 0), handle(2)),      # fails when it runs: 6 vs 16 values
        op(4, "Neg", handle(3)),                        # poisoned by op 3
        op(5, "Neg", handle(1, 0)),                     # unrelated: runs
    ))
    # An empty WaitQueueDone waits for everything and reports the oldest failure once.
    status, message = await status_of(wait(stub))
    assert status == Status.INVALID_ARGUMENT
    assert message.startswith("Reshape (op id 3)")
    await wait(stub)
    # Asked for by id, a failed op reports its error every time; unrelated ops are fine.
    status, message = await status_of(wait(stub, 4))
    assert status == Status.INVALID_ARGUMENT
    assert "Neg (op id 4)" in message and "Reshape (op id 3)" in message
    status, message = await status_of(wait(stub, 5, 3))
    assert "Reshape (op id 3)" in message
    await wait(stub, 5)
    fetched = await stub.enqueue(enqueue(context, op(-1, "Identity", handle(5))))
    assert decode_tensor(fetched.queue_response[0].tensor[0])[1] == np.float32(-1)
    # Fetching a poisoned tensor fails with the cause; the context stays usable.
    status, message = await status_of(
        stub.enqueue(enqueue(context, op(-1, "Identity", handle(4)))))
    assert status == Status.INVALID_ARGUMENT and "Reshape (op id 3)" in message
    await stub.enqueue(enqueue(context, op(6, "Neg", handle(5))))
    await wait(stub, 6)


async def test_errors_found_before_running_are_returned_by_enqueue(
    stub: pb.EagerServiceStub, context: int,
) -> None:
    status, message = await status_of(stub.enqueue(enqueue(
        context, send(1, np.float32(1)), op(2, "AddV2", np.zeros((2, 3), np.float32),
                                             np.zeros((4, 5), np.float32)),
        send(3, np.float32(1)))))
    assert status == Status.INVALID_ARGUMENT and "Incompatible shapes" in message
    await wait(stub)  # validation errors do not poison anything
    fetched = await stub.enqueue(enqueue(context, op(-1, "Identity", handle(1))))
    assert decode_tensor(fetched.queue_response[0].tensor[0]) == np.float32(1)


async def test_sync_remote_executor_for_stream_waits(
    stub: pb.EagerServiceStub, context: int, gate: Gate,
) -> None:
    await stub.enqueue(enqueue(context, send(1, np.float32(3)), op(2, "_TestGate", handle(1))))
    sync = pb.QueueItem(sync_remote_executor_for_stream=pb.SyncRemoteExecutorForStream())
    waiting = asyncio.ensure_future(stub.enqueue(enqueue(context, sync)))
    done, _ = await asyncio.wait([waiting], timeout=0.2)
    assert not done
    gate.opened.set()
    reply = await waiting
    assert reply.queue_response == [pb.QueueResponse()]


async def test_sync_remote_executor_for_stream_reports_a_failure_once(
    stub: pb.EagerServiceStub, context: int,
) -> None:
    # An op whose output nobody reads fails; the client learns it when async_scope()
    # exits (it sends sync_remote_executor_for_stream), as from TF's worker.
    await stub.enqueue(enqueue(context, op(1, "FloorDiv", np.int32(1), np.int32(0))))
    sync = pb.QueueItem(sync_remote_executor_for_stream=pb.SyncRemoteExecutorForStream())
    status, message = await status_of(stub.enqueue(enqueue(context, sync)))
    assert status == Status.INVALID_ARGUMENT and message.startswith("FloorDiv (op id 1)")
    reply = await stub.enqueue(enqueue(context, sync))
    assert reply.queue_response == [pb.QueueResponse()]


async def test_close_context_fails_pending_ops(
    stub: pb.EagerServiceStub, context: int, gate: Gate,
) -> None:
    await stub.enqueue(enqueue(context, send(1, np.float32(3)), op(2, "_TestGate", handle(1)),
                               op(3, "Neg", handle(2))))
    waiting = asyncio.ensure_future(wait(stub, 3))
    await asyncio.to_thread(gate.entered.wait, 10)
    await stub.close_context(pb.CloseContextRequest(context_id=context))
    status, message = await status_of(waiting)
    assert status == Status.CANCELLED
    assert "closed" in message
    status, _ = await status_of(wait(stub))
    assert status == Status.ABORTED


async def test_streaming_enqueue_pipelines_requests(
    stub: pb.EagerServiceStub, context: int,
) -> None:
    requests = [enqueue(context, send(1, np.float32(1)))]
    requests += [enqueue(context, op(i, "AddV2", handle(i - 1), handle(1))) for i in range(2, 50)]
    replies = [r async for r in stub.streaming_enqueue(requests)]
    assert len(replies) == 49
    await wait(stub)
    fetched = await stub.enqueue(enqueue(context, op(-1, "Identity", handle(49))))
    assert decode_tensor(fetched.queue_response[0].tensor[0]) == np.float32(49)


async def test_enqueue_waits_when_the_queue_is_full(gate: Gate) -> None:
    from eager_async import EagerServer, Limits, RuntimeOptions
    from eager_async.client import EagerClient

    small = EagerServer(port=0, options=RuntimeOptions(limits=Limits(max_queued_requests=1)))
    async with small, EagerClient("127.0.0.1", small.port) as client:
        ctx = await client.create_context(is_async=True)
        (x,) = await ctx.send(np.float32(1))
        await ctx.run("_TestGate", [x])        # running, holds the worker
        await asyncio.to_thread(gate.entered.wait, 10)
        await ctx.run("Neg", [x])              # fills the one queue slot
        third = asyncio.ensure_future(ctx.run("Neg", [x]))
        done, _ = await asyncio.wait([third], timeout=0.2)
        assert not done, "Enqueue should wait while the queue is full"
        gate.opened.set()
        (y,) = await third
        assert await ctx.fetch(y) == np.float32(-1)


async def test_decref_never_frees_a_tensor_a_queued_op_needs(
    stub: pb.EagerServiceStub, context: int, gate: Gate,
) -> None:
    await stub.enqueue(enqueue(context, send(1, np.arange(3, dtype=np.int32)),
                               op(2, "_TestGate", handle(1)), op(3, "Neg", handle(1)),
                               op(4, "AddV2", handle(2), handle(1))))
    await stub.enqueue(enqueue(context, decref(1)))   # ops 2-4 still need it
    gate.opened.set()
    await wait(stub, 3, 4)
    reply = await stub.enqueue(enqueue(context, op(-1, "Identity", handle(3)),
                                       op(-1, "Identity", handle(4))))
    np.testing.assert_array_equal(decode_tensor(reply.queue_response[0].tensor[0]), [0, -1, -2])
    np.testing.assert_array_equal(decode_tensor(reply.queue_response[1].tensor[0]), [0, 2, 4])
    status, _ = await status_of(stub.enqueue(enqueue(context, op(5, "Neg", handle(1)))))
    assert status == Status.INVALID_ARGUMENT


async def test_shutdown_leaves_a_kernel_that_outlasts_the_grace_period(gate: Gate) -> None:
    # A kernel that never polls for cancellation (the gate) must not hold shutdown: after
    # the grace period the server is closed and says it left the kernel behind.
    from eager_async import EagerServer

    server = EagerServer(port=0, threads=2, shutdown_grace=0.5)
    await server.start()
    channel = Channel("127.0.0.1", server.port)
    try:
        stub = pb.EagerServiceStub(channel)
        await stub.create_context(create(CONTEXT, is_async=True))
        await stub.enqueue(enqueue(CONTEXT, op(1, "_TestGate", np.float32(1))))
        assert await asyncio.to_thread(gate.entered.wait, 30)
        server.close()
        await asyncio.wait_for(server.wait_closed(), 20)
        assert server.kernels_abandoned
    finally:
        channel.close()
        gate.opened.set()
