"""Server reflection: grpcio's reflection client (grpcio-reflection, what grpcurl-like
tools speak) lists a real worker's services and resolves EagerService's methods and
messages; grpclib's v1 client checks the answers to bad requests."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from collections.abc import Awaitable, Callable

import pytest
from google.protobuf.descriptor_pb2 import FileDescriptorProto
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.reflection.v1.reflection_grpc import ServerReflectionStub
from grpclib.reflection.v1.reflection_pb2 import (
    ServerReflectionRequest,
    ServerReflectionResponse,
)

from eager_async import EagerServer, Security

if importlib.util.find_spec("grpc_reflection") is None:  # found, not imported: see below
    pytest.skip("grpcio-reflection is not installed", allow_module_level=True)

# In a process of its own: grpcio-reflection and grpclib each register the v1alpha
# reflection messages in protobuf's default pool, under different file names, and the
# second to do so fails (docs/operations-lifecycle.md).
GRPCIO_CLIENT = """
import json, sys
import grpc
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase)

with grpc.insecure_channel(sys.argv[1]) as channel:
    database = ProtoReflectionDescriptorDatabase(channel)
    pool = DescriptorPool(database)
    service = pool.FindServiceByName("tensorflow.eager.EagerService")
    enqueue = service.methods_by_name["Enqueue"]
    try:
        pool.FindServiceByName("tensorflow.NoSuchService")
        missing = None
    except KeyError as error:
        missing = str(error)
    print(json.dumps({
        "services": sorted(database.get_services()),
        "methods": sorted(service.methods_by_name),
        "enqueue": [enqueue.input_type.full_name, enqueue.output_type.full_name],
        "enqueue_fields": [field.name for field in enqueue.input_type.fields],
        "operation_fields": sorted(pool.FindMessageTypeByName(
            "tensorflow.eager.Operation").fields_by_name),
        "health": sorted(pool.FindServiceByName("grpc.health.v1.Health").methods_by_name),
        "missing": missing,
    }))
"""


async def test_grpcio_reflection_lists_the_services_and_resolves_enqueue(
    server: EagerServer,
) -> None:
    client = await asyncio.create_subprocess_exec(
        sys.executable, "-c", GRPCIO_CLIENT, server.address,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(client.communicate(), 60)
    assert client.returncode == 0, err.decode()
    seen = json.loads(out)
    assert seen["services"] == [
        "grpc.health.v1.Health", "tensorflow.WorkerService", "tensorflow.eager.EagerService"
    ]  # fmt: skip
    assert {"CreateContext", "Enqueue", "StreamingEnqueue", "WaitQueueDone",
            "CloseContext"} <= set(seen["methods"])  # fmt: skip
    assert seen["enqueue"] == [
        "tensorflow.eager.EnqueueRequest", "tensorflow.eager.EnqueueResponse"
    ]  # fmt: skip
    assert seen["enqueue_fields"] == ["context_id", "queue"]
    assert {"id", "name", "op_inputs", "attrs", "device"} <= set(seen["operation_fields"])
    assert seen["health"] == ["Check", "Watch"]
    assert "tensorflow.NoSuchService" in seen["missing"]


Ask = Callable[[ServerReflectionRequest], Awaitable[ServerReflectionResponse]]


async def _asking(port: int, test: Callable[[Ask], Awaitable[None]]) -> None:
    channel = Channel("127.0.0.1", port)
    try:
        async with ServerReflectionStub(channel).ServerReflectionInfo.open() as stream:

            async def ask(request: ServerReflectionRequest) -> ServerReflectionResponse:
                await stream.send_message(request)
                reply = await stream.recv_message()
                assert reply is not None
                return reply

            await test(ask)
            await stream.end()
    finally:
        channel.close()


async def test_reflection_answers_files_and_refuses_what_it_does_not_know(
    server: EagerServer,
) -> None:
    async def test(ask: Ask) -> None:
        found = await ask(ServerReflectionRequest(
            file_containing_symbol="tensorflow.eager.EagerService"))  # fmt: skip
        (raw,) = found.file_descriptor_response.file_descriptor_proto
        file = FileDescriptorProto.FromString(raw)
        assert file.name == "tensorflow/core/protobuf/eager_service.proto"
        assert [service.name for service in file.service] == ["EagerService"]
        by_name = await ask(ServerReflectionRequest(file_by_filename=file.dependency[0]))
        assert by_name.WhichOneof("message_response") == "file_descriptor_response"
        for request in (
            ServerReflectionRequest(file_containing_symbol="tensorflow.eager.Nope"),
            ServerReflectionRequest(file_by_filename="nope.proto"),
        ):
            refused = await ask(request)
            assert refused.error_response.error_code == Status.NOT_FOUND.value
        empty = await ask(ServerReflectionRequest())
        assert empty.error_response.error_code == Status.INVALID_ARGUMENT.value

    await _asking(server.port, test)


async def test_reflection_needs_a_token_when_the_worker_does() -> None:
    async with EagerServer(port=0, security=Security(tokens=frozenset({"t" * 32}))) as server:

        async def test(ask: Ask) -> None:
            await ask(ServerReflectionRequest(list_services=""))

        with pytest.raises(GRPCError) as caught:
            await _asking(server.port, test)
        assert caught.value.status == Status.UNAUTHENTICATED
