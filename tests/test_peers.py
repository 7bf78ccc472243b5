"""A _Recv whose sender is another task of the cluster: this worker calls that task's
WorkerService/RecvTensor, as when a client runs part of a function itself. Two real
workers on loopback ports; the client's ServerDef tells each where the other is."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from eager_async import EagerServer
from eager_async._proto import tensorflow as tf
from eager_async._proto.tensorflow import eager as pb
from eager_async.attrs import FuncAttr, encode_attr
from eager_async.tensors import decode_tensor, encode_tensor

CONTEXT = 4242
STEP = 77
TASK0 = "/job:worker/replica:0/task:0/device:CPU:0"
TASK1 = "/job:worker/replica:0/task:1/device:CPU:0"
INCARNATIONS = (12, 11)
EDGE = {"tensor_name": b"edge_5_x", "send_device": TASK1.encode(),
        "send_device_incarnation": 11, "recv_device": TASK0.encode()}


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[EagerServer, EagerServer]]:
    async with EagerServer("127.0.0.1", 0) as task0, EagerServer("127.0.0.1", 0) as task1:
        # The incarnations the rendezvous keys below name (a worker answers a key of
        # another incarnation with ABORTED).
        task0.runtime.incarnation, task1.runtime.incarnation = INCARNATIONS
        yield task0, task1


def server_def(task: int, ports: tuple[int, int]) -> tf.ServerDef:
    jobs = tf.JobDef(name="worker", tasks={i: f"127.0.0.1:{port}" for i, port in enumerate(ports)})
    return tf.ServerDef(cluster=tf.ClusterDef(job=[jobs]), job_name="worker", task_index=task,
                        protocol="grpc")


def node(name: str, op: str, inputs: list[str], attrs: dict[str, object]) -> tf.NodeDef:
    return tf.NodeDef(name=name, op=op, input=inputs,
                      attr={k: encode_attr(v) for k, v in attrs.items()})


async def create_both(stubs: list[pb.EagerServiceStub], ports: tuple[int, int]) -> None:
    for task, stub in enumerate(stubs):
        await stub.create_context(pb.CreateContextRequest(
            context_id=CONTEXT, server_def=server_def(task, ports)))


def component(op_id: int, name: str, *inputs: np.ndarray) -> pb.RunComponentFunctionRequest:
    return pb.RunComponentFunctionRequest(context_id=CONTEXT, operation=pb.Operation(
        id=op_id, name=name, func_step_id=STEP,
        op_inputs=[pb.OperationInput(tensor=encode_tensor(x)) for x in inputs]))


async def test_recv_fetches_from_the_sending_task(
    cluster: tuple[EagerServer, EagerServer],
) -> None:
    task0, task1 = cluster
    channels = [Channel("127.0.0.1", s.port) for s in (task0, task1)]
    try:
        stubs = [pb.EagerServiceStub(c) for c in channels]
        await create_both(stubs, (task0.port, task1.port))
        f32 = np.dtype(np.float32)
        # Task 1 sends x + 1 under the edge's key; task 0 receives it and doubles it.
        sender = tf.FunctionDef(
            signature=tf.OpDef(name="Sender", input_arg=[tf.OpDefArgDef(name="x", type=1)]),
            node_def=[node("plus", "AddV2", ["x", "x"], {"T": f32}),
                      node("send", "_Send", ["plus:z:0"], {**EDGE, "T": f32})])
        receiver = tf.FunctionDef(
            signature=tf.OpDef(name="Receiver",
                               output_arg=[tf.OpDefArgDef(name="y", type=1)]),
            node_def=[node("recv", "_Recv", [], {**EDGE, "tensor_type": f32}),
                      node("twice", "Mul", ["recv:tensor:0", "recv:tensor:0"], {"T": f32})],
            ret={"y": "twice:z:0"})
        register = pb.EnqueueRequest(context_id=CONTEXT, queue=[pb.QueueItem(
            register_function=pb.RegisterFunctionOp(function_def=sender))])
        await stubs[1].enqueue(register)
        await stubs[0].enqueue(pb.EnqueueRequest(context_id=CONTEXT, queue=[pb.QueueItem(
            register_function=pb.RegisterFunctionOp(function_def=receiver))]))
        # The receive starts first and waits for the send, on another connection.
        received = asyncio.ensure_future(stubs[0].run_component_function(
            component(-1, "Receiver")))
        await asyncio.sleep(0)
        await stubs[1].run_component_function(component(2, "Sender", np.float32([1.5, 2])))
        reply = await asyncio.wait_for(received, 30)
        np.testing.assert_array_equal(decode_tensor(reply.tensor[0]), np.float32([9, 16]))
    finally:
        for channel in channels:
            channel.close()


async def test_a_device_of_no_task_is_refused_when_queued(
    cluster: tuple[EagerServer, EagerServer],
) -> None:
    task0, task1 = cluster
    channel = Channel("127.0.0.1", task0.port)
    try:
        stub = pb.EagerServiceStub(channel)
        await stub.create_context(pb.CreateContextRequest(
            context_id=CONTEXT, server_def=server_def(0, (task0.port, task1.port))))
        attrs = {**EDGE, "send_device": b"/job:ps/replica:0/task:0/device:CPU:0",
                 "tensor_type": np.dtype(np.float32)}
        request = pb.EnqueueRequest(context_id=CONTEXT, queue=[pb.QueueItem(
            operation=pb.Operation(id=-1, name="_Recv",
                                   attrs={k: encode_attr(v) for k, v in attrs.items()}))])
        with pytest.raises(GRPCError) as caught:
            await stub.enqueue(request)
        assert caught.value.status == Status.INVALID_ARGUMENT
        assert "/job:worker/task:1" in (caught.value.message or "")
    finally:
        channel.close()


# -- functions across tasks -------------------------------------------------------------

F32 = np.dtype(np.float32)
RESOURCE = 20  # DT_RESOURCE


def function(name: str, inputs: list[tuple[str, int]], outputs: list[tuple[str, int]],
             nodes: list[tf.NodeDef], ret: dict[str, str]) -> tf.FunctionDef:
    return tf.FunctionDef(
        signature=tf.OpDef(name=name,
                           input_arg=[tf.OpDefArgDef(name=n, type=t) for n, t in inputs],
                           output_arg=[tf.OpDefArgDef(name=n, type=t) for n, t in outputs]),
        node_def=nodes, ret=ret)


def register(function_def: tf.FunctionDef) -> pb.QueueItem:
    return pb.QueueItem(register_function=pb.RegisterFunctionOp(function_def=function_def))


def enqueue(*items: pb.QueueItem) -> pb.EnqueueRequest:
    return pb.EnqueueRequest(context_id=CONTEXT, queue=list(items))


def operation(op_id: int, name: str, *inputs: pb.RemoteTensorHandle | np.ndarray,
              attrs: dict[str, object] | None = None, device: str = TASK0) -> pb.QueueItem:
    return pb.QueueItem(operation=pb.Operation(
        id=op_id, name=name, device=device,
        op_inputs=[pb.OperationInput(remote_handle=x) if isinstance(x, pb.RemoteTensorHandle)
                   else pb.OperationInput(tensor=encode_tensor(x)) for x in inputs],
        attrs={k: encode_attr(v) for k, v in (attrs or {}).items()}))


def remote_handle(op_id: int, device: str, dtype: int = RESOURCE) -> pb.RemoteTensorHandle:
    return pb.RemoteTensorHandle(op_id=op_id, output_num=0, device=device, op_device=device,
                                 dtype=dtype)


@pytest.fixture
async def stubs(
    cluster: tuple[EagerServer, EagerServer],
) -> AsyncIterator[list[pb.EagerServiceStub]]:
    channels = [Channel("127.0.0.1", s.port) for s in cluster]
    try:
        stubs = [pb.EagerServiceStub(c) for c in channels]
        await create_both(stubs, (cluster[0].port, cluster[1].port))
        yield stubs
    finally:
        for channel in channels:
            channel.close()


async def make_variable(stub: pb.EagerServiceStub, op_id: int, value: np.ndarray) -> None:
    """A variable on task 1 (its handle is (op_id, 0) there), holding ``value``."""
    await stub.enqueue(enqueue(
        operation(op_id, "VarHandleOp", device=TASK1, attrs={
            "dtype": F32, "shape": tf.TensorShapeProto(), "shared_name": b"v", "container": b""}),
        operation(op_id + 1, "AssignVariableOp", remote_handle(op_id, TASK1), value,
                  device=TASK1, attrs={"dtype": F32})))


async def test_a_function_reads_a_variable_on_another_task(
    stubs: list[pb.EagerServiceStub],
) -> None:
    # The parameter-server pattern: the function runs on task 0, its input is a variable
    # on task 1. Task 0 places the read (and the update) beside the variable, registers
    # that part on task 1 and runs it there; the value comes back through RecvTensor.
    await make_variable(stubs[1], 1, np.float32([1, 2]))
    step = function("ReadPlus", [("v", RESOURCE), ("x", 1)], [("y", 1)], [
        node("read", "ReadVariableOp", ["v"], {"dtype": F32}),
        node("sum", "AddV2", ["read:value:0", "x"], {"T": F32}),
        node("update", "AssignAddVariableOp", ["v", "x"], {"dtype": F32}),
    ], {"y": "sum:z:0"})
    step.control_ret["update"] = "update"
    await stubs[0].enqueue(enqueue(register(step)))
    for expected in ([11, 22], [21, 42]):
        reply = await stubs[0].enqueue(enqueue(operation(
            -1, "ReadPlus", remote_handle(1, TASK1), np.float32([10, 20]))))
        np.testing.assert_array_equal(decode_tensor(reply.queue_response[0].tensor[0]),
                                      np.float32(expected))
    reply = await stubs[1].enqueue(enqueue(operation(
        -1, "ReadVariableOp", remote_handle(1, TASK1), device=TASK1, attrs={"dtype": F32})))
    np.testing.assert_array_equal(decode_tensor(reply.queue_response[0].tensor[0]),
                                  np.float32([21, 42]))


async def test_a_function_whose_nodes_name_another_task_runs_there(
    stubs: list[pb.EagerServiceStub],
) -> None:
    # As TF's client sends a tf.function with `with tf.device(task 1)` inside: whole.
    span = function("Span", [("x", 1)], [("z", 1)], [
        node("twice", "AddV2", ["x", "x"], {"T": F32}),
        tf.NodeDef(name="square", op="Mul", input=["twice:z:0", "twice:z:0"], device=TASK1,
                   attr={"T": encode_attr(F32)}),
        tf.NodeDef(name="check", op="CheckNumerics", input=["square:z:0"], device=TASK1,
                   attr={"T": encode_attr(F32), "message": encode_attr(b"boom")}),
    ], {"z": "check:output:0"})
    await stubs[0].enqueue(enqueue(register(span)))
    reply = await stubs[0].enqueue(enqueue(operation(-1, "Span", np.float32([1, 2]))))
    np.testing.assert_array_equal(decode_tensor(reply.queue_response[0].tensor[0]),
                                  np.float32([4, 16]))
    # The part on task 1 fails: the step fails with its status and message, and waits
    # for nothing (task 0 was waiting for the result task 1 never sends).
    with pytest.raises(GRPCError) as caught:
        await asyncio.wait_for(stubs[0].enqueue(enqueue(operation(
            -1, "Span", np.float32([np.inf])))), 30)
    assert caught.value.status == Status.INVALID_ARGUMENT
    assert "boom : Tensor had Inf values" in (caught.value.message or "")
    reply = await stubs[0].enqueue(enqueue(operation(-1, "Span", np.float32([3]))))
    np.testing.assert_array_equal(decode_tensor(reply.queue_response[0].tensor[0]), [36])


async def test_an_op_cannot_take_an_input_from_another_task(
    stubs: list[pb.EagerServiceStub],
) -> None:
    await make_variable(stubs[1], 1, np.float32([1, 2]))
    with pytest.raises(GRPCError) as caught:
        await stubs[0].enqueue(enqueue(operation(
            -1, "ReadVariableOp", remote_handle(1, TASK1), attrs={"dtype": F32})))
    assert caught.value.status == Status.INVALID_ARGUMENT
    assert "only a function can take inputs from other tasks" in (caught.value.message or "")


# -- peers that fail --------------------------------------------------------------------

def recv_from_task1(op_id: int) -> pb.QueueItem:
    return operation(op_id, "_Recv", attrs={**EDGE, "tensor_type": F32})


async def test_a_peer_that_is_down_is_unavailable_naming_it() -> None:
    async with EagerServer("127.0.0.1", 0) as task0:
        with socket.socket() as unused:  # a port nobody listens on
            unused.bind(("127.0.0.1", 0))
            dead_port = unused.getsockname()[1]
        channel = Channel("127.0.0.1", task0.port)
        try:
            stub = pb.EagerServiceStub(channel)
            await stub.create_context(pb.CreateContextRequest(
                context_id=CONTEXT, server_def=server_def(0, (task0.port, dead_port))))
            with pytest.raises(GRPCError) as caught:
                await asyncio.wait_for(stub.enqueue(enqueue(recv_from_task1(-1))), 30)
            assert caught.value.status == Status.UNAVAILABLE
            assert f"127.0.0.1:{dead_port}" in (caught.value.message or "")
            assert "cannot be reached" in (caught.value.message or "")
        finally:
            channel.close()


async def test_closing_a_context_cancels_its_pending_receives(
    stubs: list[pb.EagerServiceStub], cluster: tuple[EagerServer, EagerServer],
) -> None:
    # Task 0 waits for a tensor task 1 never sends; closing the context ends the wait
    # with CANCELLED and frees what it held on both tasks.
    pending = asyncio.ensure_future(stubs[0].enqueue(enqueue(recv_from_task1(-1))))
    for _ in range(200):  # until task 1 serves the RecvTensor it waits in
        if cluster[1].runtime.rendezvous.pending:
            break
        await asyncio.sleep(0.01)
    assert cluster[1].runtime.rendezvous.pending == 1
    await stubs[0].close_context(pb.CloseContextRequest(context_id=CONTEXT))
    with pytest.raises(GRPCError) as caught:
        await asyncio.wait_for(pending, 30)
    assert caught.value.status == Status.CANCELLED
    for _ in range(200):
        if not cluster[1].runtime.rendezvous.pending:
            break
        await asyncio.sleep(0.01)
    assert cluster[1].runtime.rendezvous.pending == 0


async def test_a_recv_tensor_whose_send_never_comes_ends_at_its_deadline(
    stubs: list[pb.EagerServiceStub], cluster: tuple[EagerServer, EagerServer],
) -> None:
    channel = Channel("127.0.0.1", cluster[1].port)
    try:
        worker = tf.WorkerServiceStub(channel)
        key = f"{TASK1};000000000000000b;{TASK0};never_sent;0:0"
        with pytest.raises(TimeoutError):  # grpclib's client: "Deadline exceeded"
            await worker.recv_tensor(
                tf.RecvTensorRequest(step_id=CONTEXT, rendezvous_key=key), timeout=0.3)
        for _ in range(200):  # the server side of the call is cancelled: its wait is freed
            if not cluster[1].runtime.rendezvous.pending:
                break
            await asyncio.sleep(0.01)
        assert cluster[1].runtime.rendezvous.pending == 0
    finally:
        channel.close()


async def test_an_eager_copy_follows_the_cluster_of_update_context() -> None:
    # What TF's client sends to copy a tensor from task 1 to task 0: a _Send on task 1
    # and a _Recv on task 0, in the context's own step. The first cluster names a dead
    # address for task 1; UpdateContext gives the right one.
    async with EagerServer("127.0.0.1", 0) as task0, EagerServer("127.0.0.1", 0) as task1:
        task0.runtime.incarnation, task1.runtime.incarnation = INCARNATIONS
        with socket.socket() as unused:
            unused.bind(("127.0.0.1", 0))
            dead_port = unused.getsockname()[1]
        channels = [Channel("127.0.0.1", s.port) for s in (task0, task1)]
        try:
            stubs = [pb.EagerServiceStub(c) for c in channels]
            await stubs[0].create_context(pb.CreateContextRequest(
                context_id=CONTEXT, context_view_id=1,
                server_def=server_def(0, (task0.port, dead_port))))
            await stubs[1].create_context(pb.CreateContextRequest(
                context_id=CONTEXT, server_def=server_def(1, (task0.port, task1.port))))
            await stubs[1].enqueue(enqueue(
                operation(1, "Mul", np.float32([3, 4]), np.float32(2), device=TASK1,
                          attrs={"T": F32}),
                operation(2, "_Send", remote_handle(1, TASK1, dtype=1), device=TASK1,
                          attrs={**EDGE, "T": F32})))
            with pytest.raises(GRPCError) as caught:
                await stubs[0].enqueue(enqueue(recv_from_task1(-1)))
            assert caught.value.status == Status.UNAVAILABLE
            await stubs[0].update_context(pb.UpdateContextRequest(
                context_id=CONTEXT, context_view_id=2,
                server_def=server_def(0, (task0.port, task1.port))))
            reply = await stubs[0].enqueue(enqueue(recv_from_task1(-1)))
            np.testing.assert_array_equal(decode_tensor(reply.queue_response[0].tensor[0]),
                                          np.float32([6, 8]))
        finally:
            for channel in channels:
                channel.close()


async def test_component_functions_of_one_context_run_side_by_side(
    stubs: list[pb.EagerServiceStub],
) -> None:
    # Two workers' parts of a step on one parameter server: the first waits for a
    # tensor only the second sends. Queued one after the other they would never end.
    local = {**EDGE, "send_device": TASK0.encode(), "recv_device": TASK0.encode()}
    receiver = function("WaitsForTheOther", [], [("y", 1)], [
        node("recv", "_Recv", [], {**local, "tensor_type": F32})], {"y": "recv:tensor:0"})
    sender = function("SendsToTheOther", [("x", 1)], [], [
        node("send", "_Send", ["x"], {**local, "T": F32})], {})
    await stubs[0].enqueue(enqueue(register(receiver), register(sender)))
    waiting = asyncio.ensure_future(stubs[0].run_component_function(
        component(-1, "WaitsForTheOther")))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await asyncio.wait_for(stubs[0].run_component_function(
        component(-1, "SendsToTheOther", np.float32([5, 6]))), 30)
    reply = await asyncio.wait_for(waiting, 30)
    np.testing.assert_array_equal(decode_tensor(reply.tensor[0]), np.float32([5, 6]))


async def test_a_component_function_runs_after_what_was_enqueued_before_it(
    cluster: tuple[EagerServer, EagerServer],
) -> None:
    # An async context replies before its ops run; a component function that arrives
    # next (RunComponentFunction) must still see their effects, as on TF's worker.
    channel = Channel("127.0.0.1", cluster[0].port)
    try:
        stub = pb.EagerServiceStub(channel)
        await stub.create_context(pb.CreateContextRequest(context_id=CONTEXT, async_=True))
        read = function("Read", [("v", RESOURCE)], [("y", 1)],
                        [node("read", "ReadVariableOp", ["v"], {"dtype": F32})],
                        {"y": "read:value:0"})
        await stub.enqueue(enqueue(register(read), operation(1, "VarHandleOp", attrs={
            "dtype": F32, "shape": tf.TensorShapeProto(), "shared_name": b"n", "container": b""}),
            operation(2, "AssignVariableOp", remote_handle(1, TASK0), np.float32(0),
                      attrs={"dtype": F32})))
        big = np.ones((1200, 1200), np.float32)
        value = remote_handle(13, TASK0, dtype=1)
        await stub.enqueue(enqueue(  # slow to compute: the assignment comes late
            operation(10, "MatMul", big, big, attrs={"T": F32}),
            operation(11, "Sum", remote_handle(10, TASK0, dtype=1), np.int32([0, 1]),
                      attrs={"T": F32, "Tidx": np.dtype(np.int32)}),
            operation(12, "Mul", remote_handle(11, TASK0, dtype=1), np.float32(0),
                      attrs={"T": F32}),
            operation(13, "AddV2", remote_handle(12, TASK0, dtype=1), np.float32(7),
                      attrs={"T": F32}),
            operation(14, "AssignVariableOp", remote_handle(1, TASK0), value,
                      attrs={"dtype": F32})))
        reply = await stub.run_component_function(pb.RunComponentFunctionRequest(
            context_id=CONTEXT, operation=pb.Operation(
                id=-1, name="Read", op_inputs=[pb.OperationInput(
                    remote_handle=remote_handle(1, TASK0))])))
        assert decode_tensor(reply.tensor[0]) == np.float32(7)
    finally:
        channel.close()


async def test_a_peer_that_dies_mid_receive_is_unavailable(tmp_path: Path) -> None:
    # Task 1 waits in RecvTensor for a tensor of task 0, a real process that is then
    # killed: the wait ends with UNAVAILABLE naming task 0, not a hang.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port0 = probe.getsockname()[1]
    log = (tmp_path / "task0.log").open("w")
    task0 = subprocess.Popen(
        [sys.executable, "-m", "eager_async", "serve", "--port", str(port0)],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        async with EagerServer("127.0.0.1", 0) as task1:
            ports = (port0, task1.port)
            incarnations = []
            for task, port in enumerate(ports):
                for _ in range(300):  # until task 0 accepts connections
                    try:
                        async with Channel("127.0.0.1", port) as own:
                            created = await pb.EagerServiceStub(own).create_context(
                                pb.CreateContextRequest(context_id=CONTEXT,
                                                        server_def=server_def(task, ports)))
                        incarnations.append(created.device_attributes[0].incarnation)
                        break
                    except (ConnectionError, OSError):
                        await asyncio.sleep(0.05)
            async with Channel("127.0.0.1", task1.port) as channel:
                stub = pb.EagerServiceStub(channel)
                from_task0 = {**EDGE, "send_device": TASK0.encode(),
                              "recv_device": TASK1.encode(),
                              "send_device_incarnation": int(np.uint64(incarnations[0])
                                                             .astype(np.int64))}
                pending = asyncio.ensure_future(stub.enqueue(enqueue(operation(
                    -1, "_Recv", device=TASK1, attrs={**from_task0, "tensor_type": F32}))))
                for _ in range(500):  # until task 1 waits on task 0
                    if task1.runtime.peers.receiving:
                        break
                    await asyncio.sleep(0.01)
                assert task1.runtime.peers.receiving == 1
                task0.kill()
                with pytest.raises(GRPCError) as caught:
                    await asyncio.wait_for(pending, 30)
                assert caught.value.status == Status.UNAVAILABLE
                assert f"127.0.0.1:{port0}" in (caught.value.message or "")
    finally:
        task0.kill()
        task0.wait()
        log.close()


async def test_remote_call_runs_its_function_on_another_task(
    stubs: list[pb.EagerServiceStub], cluster: tuple[EagerServer, EagerServer],
) -> None:
    # What a MultiDeviceIterator's per-device datasets send when their source is
    # another task: the function runs there, registered as a component function, and
    # its inputs and outputs travel with the call.
    where = function("Where", [("x", 1)], [("y", 1), ("d", 7)], [
        node("twice", "AddV2", ["x", "x"], {"T": F32}),
        node("name", "Const", [], {"dtype": np.dtype(object),
                                   "value": np.array(b"ran", dtype=object)}),
    ], {"y": "twice:z:0", "d": "name:output:0"})
    await stubs[0].enqueue(enqueue(register(where)))
    attrs = {"f": FuncAttr("Where"), "Tin": [F32], "Tout": [F32, np.dtype(object)]}
    reply = await stubs[0].enqueue(enqueue(operation(
        -1, "RemoteCall", np.array(TASK1.encode(), dtype=object), np.float32([1, 2]),
        attrs=attrs)))
    outputs = [decode_tensor(t) for t in reply.queue_response[0].tensor]
    np.testing.assert_array_equal(outputs[0], np.float32([2, 4]))
    assert outputs[1].item() == b"ran"
    assert cluster[1].runtime.context(CONTEXT).kernel("Where")  # registered there to run
    with pytest.raises(GRPCError) as caught:  # a task the cluster does not have
        await stubs[0].enqueue(enqueue(operation(
            -1, "RemoteCall", np.array(b"/job:ps/task:0", dtype=object), np.float32(1),
            attrs=attrs)))
    assert caught.value.status == Status.INVALID_ARGUMENT
    assert "belongs to no task of this context's cluster" in (caught.value.message or "")


async def test_closing_a_context_cancels_a_step_waiting_on_another_task(
    stubs: list[pb.EagerServiceStub], cluster: tuple[EagerServer, EagerServer],
) -> None:
    # A function whose part on task 1 waits forever (for a tensor nobody sends): closing
    # the context on task 0 ends the call with CANCELLED, and the step's calls to task 1
    # (its RunComponentFunction, the receive of its result) end too: no thread stays
    # blocked in them.
    never = {**EDGE, "tensor_name": b"never_sent", "send_device": TASK0.encode(),
             "send_device_incarnation": INCARNATIONS[0], "recv_device": TASK1.encode()}
    stuck = function("Stuck", [], [("y", 1)], [
        tf.NodeDef(name="wait", op="_Recv", device=TASK1,
                   attr={k: encode_attr(v) for k, v in {**never, "tensor_type": F32}.items()}),
        node("out", "Identity", ["wait:tensor:0"], {"T": F32}),
    ], {"y": "out:output:0"})
    await stubs[0].enqueue(enqueue(register(stuck)))
    pending = asyncio.ensure_future(stubs[0].enqueue(enqueue(operation(-1, "Stuck"))))
    done, _ = await asyncio.wait([pending], timeout=0.3)
    assert not done  # it waits on task 1, which waits on task 0
    assert cluster[0].runtime.peers.receiving == 2
    await stubs[0].close_context(pb.CloseContextRequest(context_id=CONTEXT))
    with pytest.raises(GRPCError) as caught:
        await asyncio.wait_for(pending, 30)
    assert caught.value.status == Status.CANCELLED
    for _ in range(200):
        if not cluster[0].runtime.peers.receiving:
            break
        await asyncio.sleep(0.01)
    assert cluster[0].runtime.peers.receiving == 0
