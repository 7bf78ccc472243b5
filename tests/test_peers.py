"""A _Recv whose sender is another task of the cluster: this worker calls that task's
WorkerService/RecvTensor, as when a client runs part of a function itself. Two real
workers on loopback ports; the client's ServerDef tells each where the other is."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from eager_async import EagerServer
from eager_async._proto import tensorflow as tf
from eager_async._proto.tensorflow import eager as pb
from eager_async.attrs import encode_attr
from eager_async.tensors import decode_tensor, encode_tensor

CONTEXT = 4242
STEP = 77
TASK0 = "/job:worker/replica:0/task:0/device:CPU:0"
TASK1 = "/job:worker/replica:0/task:1/device:CPU:0"
EDGE = {"tensor_name": b"edge_5_x", "send_device": TASK1.encode(),
        "send_device_incarnation": 11, "recv_device": TASK0.encode()}


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[EagerServer, EagerServer]]:
    async with EagerServer("127.0.0.1", 0) as task0, EagerServer("127.0.0.1", 0) as task1:
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
            component(1, "Receiver")))
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
