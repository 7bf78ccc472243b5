"""The runtime without any transport: shutdown and replacement cancel pending work."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from conftest import Gate

from eager_async import CancelledError, ContextNotFoundError, Runtime
from eager_async._proto.tensorflow import eager as pb
from eager_async.records import HandleRef, OpItem, SendTensorItem

CONTEXT = 31


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    with ThreadPoolExecutor(2) as pool:
        runtime = Runtime(pool)
        runtime.incarnation = INCARNATION  # what the rendezvous keys below name
        await runtime.start()
        try:
            yield runtime
        finally:
            await runtime.close()


async def queue_gated_ops(runtime: Runtime, gate: Gate) -> None:
    await runtime.create_context(pb.CreateContextRequest(context_id=CONTEXT, async_=True))
    await runtime.enqueue(CONTEXT, [
        SendTensorItem(1, (np.float32(2),)),
        OpItem(2, "_TestGate", (HandleRef(1, 0),), {}),
        OpItem(3, "Neg", (HandleRef(2, 0),), {}),
    ])
    await asyncio.to_thread(gate.entered.wait, 10)


async def test_shutdown_fails_pending_ops_with_cancelled(runtime: Runtime, gate: Gate) -> None:
    await queue_gated_ops(runtime, gate)
    waiting = asyncio.ensure_future(runtime.wait_queue_done(CONTEXT, [3]))
    await asyncio.sleep(0)  # one loop step: the task runs until it waits on op 3
    await runtime.close()
    with pytest.raises(CancelledError, match="shutting down"):
        await waiting
    with pytest.raises(ContextNotFoundError):
        await runtime.keep_alive(CONTEXT)


async def test_replacing_a_context_cancels_its_pending_ops(runtime: Runtime, gate: Gate) -> None:
    await queue_gated_ops(runtime, gate)
    waiting = asyncio.ensure_future(runtime.wait_queue_done(CONTEXT, []))
    await asyncio.sleep(0)  # one loop step: the task runs until it waits for the queue
    await runtime.create_context(pb.CreateContextRequest(context_id=CONTEXT, context_view_id=1))
    with pytest.raises(CancelledError, match="replaced"):
        await waiting
    assert await runtime.keep_alive(CONTEXT) == 1


async def test_enqueue_waiting_for_room_is_cancelled_by_close(gate: Gate) -> None:
    from eager_async import Limits, RuntimeOptions

    with ThreadPoolExecutor(2) as pool:
        runtime = Runtime(pool, RuntimeOptions(limits=Limits(max_queued_requests=1)))
        await runtime.start()
        await queue_gated_ops(runtime, gate)
        await runtime.enqueue(CONTEXT, [OpItem(4, "Neg", (HandleRef(1, 0),), {})])
        blocked = asyncio.ensure_future(
            runtime.enqueue(CONTEXT, [OpItem(5, "Neg", (HandleRef(1, 0),), {})]))
        done, _ = await asyncio.wait([blocked], timeout=0.2)
        assert not done, "the queue is full, Enqueue should wait"
        await runtime.close_context(CONTEXT)
        await blocked  # async Enqueue replies once queued; the op itself was cancelled
        gate.opened.set()
        await runtime.close()


class _Unjudgeable:
    """A context whose keep-alive cannot be read, standing for the bug: the compiled
    Context refuses a keep-alive of the wrong type, so one cannot be planted in it."""

    def __init__(self, context: Any) -> None:
        self._context = context

    def expired(self, now: float) -> bool:
        raise TypeError("'>' not supported between instances of 'float' and 'list'")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


async def test_one_context_that_cannot_be_judged_does_not_stop_the_sweep(
    runtime: Runtime, caplog: pytest.LogCaptureFixture,
) -> None:
    # Housekeeping survives any single bad context: a keep-alive that is not a number
    # (a decoder bug once let a list through) is logged, and the others are collected.
    await runtime.create_context(pb.CreateContextRequest(context_id=CONTEXT, keep_alive_secs=1))
    await runtime.create_context(pb.CreateContextRequest(context_id=CONTEXT + 1,
                                                         keep_alive_secs=1))
    runtime._contexts[CONTEXT] = _Unjudgeable(runtime.context(CONTEXT))  # type: ignore[assignment]
    await runtime.sweep(time.monotonic() + 3600)
    assert runtime.context_ids == [CONTEXT]
    assert "keep-alive sweep of context" in caplog.text


async def test_a_context_is_not_collected_while_an_rpc_waits_on_it(
    runtime: Runtime, gate: Gate,
) -> None:
    await runtime.create_context(pb.CreateContextRequest(context_id=CONTEXT, keep_alive_secs=1))
    running = asyncio.ensure_future(runtime.enqueue(CONTEXT, [
        SendTensorItem(1, (np.float32(2),)), OpItem(-1, "_TestGate", (HandleRef(1, 0),), {})]))
    await asyncio.to_thread(gate.entered.wait, 10)
    await runtime.sweep(time.monotonic() + 3600)   # long past the keep-alive
    assert CONTEXT in runtime.context_ids
    gate.opened.set()
    (result,) = (await running)[1:]
    assert result.tensors[0] == np.float32(2)
    await runtime.sweep(time.monotonic() + 3600)   # idle now: collected
    assert CONTEXT not in runtime.context_ids


INCARNATION = (1 << 64) - 2  # as the int64 attr -2
SEND_ATTRS = {"send_device": b"/job:worker/replica:0/task:0/device:CPU:0",
              "recv_device": b"/job:localhost/replica:0/task:0/device:CPU:0",
              "tensor_name": b"t_1", "send_device_incarnation": -2}
KEY = ("/job:worker/replica:0/task:0/device:CPU:0;fffffffffffffffe;"
       "/job:localhost/replica:0/task:0/device:CPU:0;t_1;0:0")


async def test_recv_tensor_waits_for_the_send(runtime: Runtime) -> None:
    await runtime.create_context(pb.CreateContextRequest(context_id=CONTEXT, async_=True))
    receiving = asyncio.ensure_future(runtime.recv_tensor(CONTEXT, KEY))
    await asyncio.sleep(0)  # one loop step: the receiver now waits in the rendezvous
    assert not receiving.done()
    await runtime.enqueue(CONTEXT, [SendTensorItem(1, (np.float32([4, 5]),)),
                                    OpItem(2, "_Send", (HandleRef(1, 0),), SEND_ATTRS)])
    np.testing.assert_array_equal(await receiving, [4, 5])


async def test_closing_the_context_fails_a_waiting_recv_tensor(runtime: Runtime) -> None:
    await runtime.create_context(pb.CreateContextRequest(context_id=CONTEXT))
    receiving = asyncio.ensure_future(runtime.recv_tensor(CONTEXT, KEY))
    await asyncio.sleep(0)
    await runtime.close_context(CONTEXT)
    with pytest.raises(CancelledError, match="closed"):
        await receiving


async def test_a_key_of_another_incarnation_is_aborted_at_once(runtime: Runtime) -> None:
    # A peer asks for a tensor of this worker's previous process (it restarted): TF's
    # worker answers ABORTED rather than wait for a send that will never come.
    from eager_async.errors import AbortedError, InvalidArgumentError

    await runtime.create_context(pb.CreateContextRequest(context_id=CONTEXT))
    stale = KEY.replace("fffffffffffffffe", "0000000000000005")
    with pytest.raises(AbortedError, match="expects a different device incarnation: 5 vs"):
        await runtime.recv_tensor(CONTEXT, stale)
    with pytest.raises(InvalidArgumentError, match="is not <send device>;<incarnation"):
        await runtime.recv_tensor(CONTEXT, "no-incarnation-here")


async def test_send_needs_its_rendezvous_attrs(runtime: Runtime) -> None:
    from eager_async import InvalidArgumentError

    await runtime.create_context(pb.CreateContextRequest(context_id=CONTEXT))
    with pytest.raises(InvalidArgumentError, match="missing attr 'tensor_name'"):
        await runtime.enqueue(CONTEXT, [OpItem(2, "_Send", (np.float32(1),), {})])


async def test_a_component_function_sends_under_its_step_id(runtime: Runtime) -> None:
    # TF's client reads a variable through a function whose only node is a _Send that no
    # output depends on; it runs with func_step_id, and RecvTensor names that step.
    from eager_async.functions import ArgSpec, FunctionSpec, NodeSpec
    from eager_async.records import RegisterFunctionItem

    send = NodeSpec("input/_1", "_Send", ("input",), SEND_ATTRS)
    copy = FunctionSpec("Copy", (ArgSpec("input"),), (), (send,), {})
    await runtime.create_context(pb.CreateContextRequest(context_id=CONTEXT))
    await runtime.enqueue(CONTEXT, [RegisterFunctionItem(copy),
                                    SendTensorItem(1, (np.float32(7),))])
    step = -4719964549420894795
    await runtime.run_component_function(
        CONTEXT, OpItem(2, "Copy", (HandleRef(1, 0),), {}, step_id=step), [])
    assert await runtime.recv_tensor(step, KEY) == np.float32(7)


async def test_a_failing_component_function_fails_the_receive_of_its_send(
    runtime: Runtime,
) -> None:
    # Without this the client's RecvTensor for the value would wait forever; it gets the
    # function's error, naming the function, the node and the op.
    from eager_async import InvalidArgumentError
    from eager_async.functions import ArgSpec, FunctionSpec, NodeSpec
    from eager_async.records import RegisterFunctionItem

    reshape = NodeSpec("bad", "Reshape", ("input", "shape"), {})
    send = NodeSpec("bad/_1", "_Send", ("bad:output:0",), SEND_ATTRS)
    broken = FunctionSpec("Broken", (ArgSpec("input"), ArgSpec("shape")), (),
                          (reshape, send), {})
    await runtime.create_context(pb.CreateContextRequest(context_id=CONTEXT))
    await runtime.enqueue(CONTEXT, [RegisterFunctionItem(broken)])
    step = 1234
    receive = asyncio.ensure_future(runtime.recv_tensor(step, KEY))
    with pytest.raises(InvalidArgumentError):
        await runtime.run_component_function(
            CONTEXT, OpItem(2, "Broken", (np.float32([1, 2, 3]), np.int32([2])), {},
                            step_id=step), [])
    with pytest.raises(InvalidArgumentError, match=r"Function 'Broken', node 'bad' \(Reshape\)"):
        await asyncio.wait_for(receive, 10)


async def test_a_failed_sync_ops_handles_can_be_released(runtime: Runtime) -> None:
    from eager_async import InvalidArgumentError
    from eager_async.records import DecrefItem

    await runtime.create_context(pb.CreateContextRequest(context_id=CONTEXT))
    with pytest.raises(InvalidArgumentError):
        await runtime.enqueue(CONTEXT, [
            OpItem(2, "Reshape", (np.float32([1, 2, 3]), np.int32([2])), {}),
            OpItem(3, "Neg", (np.float32(1),), {}),
        ])
    # TF's client releases the handles of both (the one that failed, the one never run).
    await runtime.enqueue(CONTEXT, [DecrefItem(HandleRef(2, 0)), DecrefItem(HandleRef(3, 0))])
    with pytest.raises(InvalidArgumentError, match="Unable to find the relevant tensor"):
        await runtime.enqueue(CONTEXT, [DecrefItem(HandleRef(9, 0))])


async def test_closing_a_context_stops_a_loop_that_never_ends(runtime: Runtime) -> None:
    # Two While loops whose condition is always true hold both kernel threads; closing
    # their contexts stops them at their next iteration, and another context's op runs.
    from eager_async.attrs import FuncAttr
    from eager_async.functions import ArgSpec, FunctionSpec, NodeSpec
    from eager_async.records import RegisterFunctionItem

    i32 = np.dtype(np.int32)
    forever = FunctionSpec("Forever", (ArgSpec("x", 3),), (ArgSpec("c", 10),), (
        NodeSpec("t", "Const", (), {"dtype": np.dtype(np.bool_), "value": np.array(True)}),
    ), {"c": "t:output:0"})
    same = FunctionSpec("Same", (ArgSpec("x", 3),), (ArgSpec("y", 3),), (
        NodeSpec("i", "Identity", ("x",), {"T": i32}),), {"y": "i:output:0"})
    loop = {"T": [i32], "cond": FuncAttr("Forever"), "body": FuncAttr("Same")}
    for context_id in (CONTEXT, CONTEXT + 1):
        await runtime.create_context(pb.CreateContextRequest(context_id=context_id,
                                                             async_=True))
        await runtime.enqueue(context_id, [RegisterFunctionItem(forever),
                                           RegisterFunctionItem(same),
                                           OpItem(1, "While", (np.array(0, i32),), loop)])
    await asyncio.sleep(0.2)  # both loops now spin in the two kernel threads
    await runtime.create_context(pb.CreateContextRequest(context_id=CONTEXT + 2))
    for context_id in (CONTEXT, CONTEXT + 1):
        await runtime.close_context(context_id)
    (result,) = await asyncio.wait_for(
        runtime.enqueue(CONTEXT + 2, [OpItem(-1, "Neg", (np.array([4], i32),), {"T": i32})]), 30)
    assert result.tensors[0].tolist() == [-4]


_FREED_AT_ONCE = """
import asyncio, gc, weakref
from concurrent.futures import ThreadPoolExecutor
import numpy as np
from eager_async import Runtime
from eager_async._proto.tensorflow import eager as pb
from eager_async.records import DecrefItem, HandleRef, OpItem, SendTensorItem

async def main():
    gc.disable()
    f32 = np.dtype(np.float32)
    with ThreadPoolExecutor(2) as pool:
        runtime = Runtime(pool)
        await runtime.start()
        await runtime.create_context(pb.CreateContextRequest(context_id=7))
        await runtime.enqueue(7, [SendTensorItem(1, (np.ones(1000, np.float32),)),
                                  OpItem(2, "Neg", (HandleRef(1, 0),), {"T": f32}),
                                  OpItem(3, "Abs", (HandleRef(2, 0),), {"T": f32})])
        table = runtime.context(7)._table
        negated = weakref.ref(table.get(2).outputs[0])
        kept = weakref.ref(table.get(3).outputs[0])
        del table
        await runtime.enqueue(7, [DecrefItem(HandleRef(2, 0))])
        print("released", negated() is None, kept() is not None)
        await runtime.close_context(7)
        print("closed", kept() is None)
        await runtime.close()

asyncio.run(main())
"""


def test_tensors_go_when_released_or_closed_without_waiting_for_the_gc() -> None:
    # A released tensor, and every tensor of a closed context, is freed at once by
    # reference counting: nothing (the executor's last batch, its worker's frame, a
    # consumer's inputs) keeps it until the next cyclic collection, which the CLI's GC
    # thresholds make rare. In a fresh interpreter with the collector off.
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _FREED_AT_ONCE], capture_output=True,
                          text=True, timeout=120, check=True)
    assert done.stdout.split("\n")[:2] == ["released True True", "closed True"], done.stderr


async def test_a_failure_waited_for_by_id_is_reported_once(runtime: Runtime) -> None:
    # The kernel thread records a failure before the loop finishes the op: a wait for
    # the op by id must not hear of it first, or the failure counted as unreported would
    # be raised again by the next wait for everything.
    import time

    from eager_async import InvalidArgumentError

    await runtime.create_context(pb.CreateContextRequest(context_id=CONTEXT, async_=True))
    bad = OpItem(1, "CheckNumerics", (np.float32([np.nan]),), {"message": b"bad"})
    await runtime.enqueue(CONTEXT, [bad])
    await asyncio.sleep(0)  # the context's worker hands the op to a kernel thread
    time.sleep(0.3)  # the loop stands still while the kernel thread fails the op
    with pytest.raises(InvalidArgumentError):
        await runtime.wait_queue_done(CONTEXT, [1])
    await runtime.wait_queue_done(CONTEXT, [])  # nothing left to report
