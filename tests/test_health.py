"""``grpc.health.v1.Health`` per service name, through a worker's lifetime, and the
``python -m eager_async health`` probe built on it."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

import numpy as np
import pytest
from conftest import Gate
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.health.v1.health_grpc import HealthStub
from grpclib.health.v1.health_pb2 import HealthCheckRequest, HealthCheckResponse
from grpclib.testing import ChannelFor
from messages import create, enqueue, op

from eager_async import EagerServer
from eager_async._proto.tensorflow import eager as pb
from eager_async.exit_status import ExitStatus
from eager_async.health import SERVICES, WorkerHealth, check_health

NAMES = ["", *SERVICES]
SERVING, NOT_SERVING = HealthCheckResponse.SERVING, HealthCheckResponse.NOT_SERVING


async def test_every_name_is_unknown_until_the_worker_serves_then_follows_it() -> None:
    # What a probe would see between the service's creation and the worker's listening.
    health = WorkerHealth()
    async with ChannelFor([health]) as channel:
        for serving, expected in ((None, HealthCheckResponse.UNKNOWN), (True, SERVING),
                                  (False, NOT_SERVING)):  # fmt: skip
            if serving is not None:
                health.set_serving(serving)
            for name in NAMES:
                reply = await HealthStub(channel).Check(HealthCheckRequest(service=name))
                assert reply is not None and reply.status == expected, (serving, name)


async def test_the_worker_and_each_service_are_serving(server: EagerServer) -> None:
    channel = Channel("127.0.0.1", server.port)
    try:
        for name in NAMES:
            reply = await HealthStub(channel).Check(HealthCheckRequest(service=name))
            assert reply is not None and reply.status == SERVING, name
    finally:
        channel.close()


async def test_an_unknown_service_is_not_found(server: EagerServer) -> None:
    with pytest.raises(GRPCError) as caught:
        await check_health("127.0.0.1", server.port, "tensorflow.MasterService")
    assert caught.value.status == Status.NOT_FOUND
    channel = Channel("127.0.0.1", server.port)
    try:
        async with HealthStub(channel).Watch.open() as watch:
            await watch.send_message(HealthCheckRequest(service="nope"), end=True)
            reply = await watch.recv_message()
            assert reply is not None and reply.status == HealthCheckResponse.SERVICE_UNKNOWN
            await watch.cancel()
    finally:
        channel.close()


async def test_health_is_not_serving_while_the_worker_drains(gate: Gate) -> None:
    server = EagerServer(port=0, shutdown_grace=30)
    await server.start()
    channel = Channel("127.0.0.1", server.port)
    try:
        health = HealthStub(channel)
        context_id = (await pb.EagerServiceStub(channel).create_context(create())).context_id
        held = asyncio.create_task(pb.EagerServiceStub(channel).enqueue(
            enqueue(context_id, op(1, "_TestGate", np.float32(1)))
        ))  # fmt: skip
        assert await asyncio.to_thread(gate.entered.wait, 30)
        async with health.Watch.open() as watch:
            await watch.send_message(HealthCheckRequest(service=SERVICES[0]), end=True)
            first = await watch.recv_message()
            assert first is not None and first.status == SERVING
            server.close()
            changed = await asyncio.wait_for(watch.recv_message(), 30)
            assert changed is not None and changed.status == NOT_SERVING
            with pytest.raises(GRPCError):
                await held  # CANCELLED (tests/test_shutdown.py)
            # Draining: the gate still holds a kernel, and the worker answers probes.
            for name in NAMES:
                reply = await health.Check(HealthCheckRequest(service=name))
                assert reply is not None and reply.status == NOT_SERVING, name
            gate.opened.set()
            # Once the worker stops serving RPCs, the watch ends, saying why.
            with pytest.raises(GRPCError) as ended:
                while await asyncio.wait_for(watch.recv_message(), 30) is not None:
                    pass
                await watch.recv_trailing_metadata()
            assert ended.value.status == Status.UNAVAILABLE
            assert "shutting down" in (ended.value.message or "")
    finally:
        gate.opened.set()
        server.close()
        await server.wait_closed()
        channel.close()


def _probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "eager_async", "health", *args],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


async def test_the_health_command_exits_0_only_when_serving(server: EagerServer) -> None:
    serving = await asyncio.to_thread(_probe, server.address)
    assert (serving.returncode, serving.stdout) == (ExitStatus.OK, "SERVING\n"), serving.stderr
    service = await asyncio.to_thread(_probe, server.address, "--service", SERVICES[1])
    assert service.returncode == ExitStatus.OK, service.stdout
    unknown = await asyncio.to_thread(_probe, server.address, "--service", "nope")
    assert unknown.returncode == ExitStatus.FAILED
    assert unknown.stdout.startswith("NOT_FOUND")


def test_the_health_command_fails_with_1_when_nothing_listens() -> None:
    with socket.socket() as unused:  # a port nothing listens on while it is held unbound
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        refused = _probe(f"127.0.0.1:{port}", "--timeout", "10")
    assert refused.returncode == ExitStatus.FAILED  # never 2: Docker reserves it
    assert refused.stdout.startswith("UNREACHABLE")
    assert "Traceback" not in refused.stderr


def test_the_health_command_refuses_a_bad_address() -> None:
    refused = _probe("localhost")
    assert refused.returncode == ExitStatus.USAGE
    assert "not HOST:PORT: 'localhost'" in refused.stderr


def test_the_health_command_imports_neither_the_worker_nor_numpy() -> None:
    # A probe runs every few seconds: `python -m eager_async health` loads grpclib only.
    probe = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "eager_async", "health", "127.0.0.1:1",
         "--timeout", "1"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert probe.returncode == ExitStatus.FAILED, probe.stderr
    assert probe.stdout.startswith("UNREACHABLE")
    imported = {line.rsplit("|", 1)[-1].strip() for line in probe.stderr.splitlines()}
    assert "eager_async.health" in imported
    assert not {"numpy", "eager_async.runtime", "eager_async.cli"} & imported
