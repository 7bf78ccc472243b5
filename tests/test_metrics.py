"""The Prometheus metrics of a real worker, scraped over HTTP after real RPCs."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator

import numpy as np
import pytest
from conftest import Gate
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError
from messages import create, decref, enqueue, handle, op, send
from prometheus_client.parser import text_string_to_metric_families

from eager_async import EagerServer, RuntimeOptions, Security
from eager_async._proto.tensorflow import eager as pb
from eager_async.exit_status import ExitStatus
from eager_async.metrics import MetricsEndpointError

SERVICE = "tensorflow.eager.EagerService"


@pytest.fixture
async def metered() -> AsyncIterator[EagerServer]:
    """A worker serving metrics on a free port."""
    async with EagerServer("127.0.0.1", 0, threads=4, metrics_port=0,
                           options=RuntimeOptions(gc_interval=60)) as running:  # fmt: skip
        yield running


@pytest.fixture
async def metered_stub(metered: EagerServer) -> AsyncIterator[pb.EagerServiceStub]:
    """A grpclib stub connected to ``metered``."""
    channel = Channel("127.0.0.1", metered.port)
    try:
        yield pb.EagerServiceStub(channel)
    finally:
        channel.close()


def _get(url: str, method: str = "GET") -> tuple[int, str]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


async def scrape(server: EagerServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``server``'s /metrics, by name and labels."""
    status, text = await asyncio.to_thread(
        _get, f"http://127.0.0.1:{server.metrics_port}/metrics"
    )
    assert status == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:  # fmt: skip
    """The sample ``name{labels}``; 0 when absent (a labelled counter not yet bumped)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def rpcs(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], method: str,
         code: str = "OK") -> float:  # fmt: skip
    return value(samples, "eager_async_rpcs_total", service=SERVICE, method=method, code=code)


def add(op_id: int, x: int, y: int) -> pb.QueueItem:
    return op(op_id, "AddV2", handle(x), handle(y), attrs={"T": np.float32})


async def test_rpcs_ops_handles_and_bytes_move_by_what_was_done(
    metered: EagerServer, metered_stub: pb.EagerServiceStub
) -> None:
    before = await scrape(metered)
    assert value(before, "eager_async_contexts", kind="sync") == 0
    assert value(before, "eager_async_handles") == 0
    context_id = (await metered_stub.create_context(create(0))).context_id
    tensor = np.ones(1000, np.float32)  # 4000 bytes
    requests = [
        enqueue(context_id, send(1, tensor)),
        enqueue(context_id, *(add(10 + i, 1, 1) for i in range(10))),
    ]
    for request in requests:
        await metered_stub.enqueue(request)
    after = await scrape(metered)
    assert value(after, "eager_async_contexts", kind="sync") == 1
    assert value(after, "eager_async_contexts", kind="async") == 0
    assert value(after, "eager_async_handles") == 11
    assert value(after, "eager_async_handle_bytes") == 11 * tensor.nbytes
    assert rpcs(after, "CreateContext") == 1
    assert rpcs(after, "Enqueue") == 2
    assert value(after, "eager_async_ops_total") == 11
    assert value(after, "eager_async_op_seconds_count") == 2
    assert value(after, "eager_async_rpc_seconds_count", service=SERVICE, method="Enqueue") == 2
    # Each message is its 5-byte gRPC prefix and its protobuf bytes.
    sent_up = 5 + len(bytes(create(0))) + sum(5 + len(bytes(r)) for r in requests)
    assert value(after, "eager_async_received_bytes_total") == sent_up
    assert value(after, "eager_async_sent_bytes_total") > 0

    await metered_stub.enqueue(enqueue(context_id, decref(10), decref(11)))
    fewer = await scrape(metered)
    assert value(fewer, "eager_async_handles") == 9
    assert value(fewer, "eager_async_handle_bytes") == 9 * tensor.nbytes

    await metered_stub.close_context(pb.CloseContextRequest(context_id=context_id))
    closed = await scrape(metered)
    assert value(closed, "eager_async_contexts", kind="sync") == 0
    assert value(closed, "eager_async_handles") == 0
    assert value(closed, "eager_async_handle_bytes") == 0
    assert rpcs(closed, "CloseContext") == 1


async def test_errors_are_counted_under_their_status_code(
    metered: EagerServer, metered_stub: pb.EagerServiceStub
) -> None:
    with pytest.raises(GRPCError) as caught:
        await metered_stub.enqueue(enqueue(12345, send(1, np.float32(1))))
    assert caught.value.status == Status.ABORTED
    context_id = (await metered_stub.create_context(create(0))).context_id
    with pytest.raises(GRPCError) as caught:  # an op that does not exist
        await metered_stub.enqueue(enqueue(context_id, op(1, "NoSuchOp")))
    assert caught.value.status != Status.OK
    samples = await scrape(metered)
    assert rpcs(samples, "Enqueue", "ABORTED") == 1
    assert rpcs(samples, "Enqueue", caught.value.status.name) == 1
    assert rpcs(samples, "Enqueue") == 0
    # Failed requests executed no ops.
    assert value(samples, "eager_async_ops_total") == 0


async def test_queue_depth_of_an_async_context(
    metered: EagerServer, metered_stub: pb.EagerServiceStub, gate: Gate
) -> None:
    context_id = (await metered_stub.create_context(create(0, is_async=True))).context_id
    await metered_stub.enqueue(enqueue(context_id, send(1, np.float32(1))))
    await metered_stub.enqueue(enqueue(
        context_id, op(2, "_TestGate", handle(1), attrs={"T": np.float32})
    ))  # fmt: skip
    await asyncio.to_thread(gate.entered.wait, 30)  # the gate's batch is running
    await metered_stub.enqueue(enqueue(context_id, add(3, 1, 1), add(4, 1, 1)))
    await metered_stub.enqueue(enqueue(context_id, add(5, 1, 1), add(6, 1, 1), add(7, 1, 1)))
    waiting = await scrape(metered)
    assert value(waiting, "eager_async_contexts", kind="async") == 1
    assert value(waiting, "eager_async_queued_requests") == 2
    assert value(waiting, "eager_async_queued_ops") == 5
    gate.opened.set()
    await metered_stub.wait_queue_done(pb.WaitQueueDoneRequest(context_id=context_id))
    done = await scrape(metered)
    assert value(done, "eager_async_queued_requests") == 0
    assert value(done, "eager_async_queued_ops") == 0
    assert value(done, "eager_async_handles") == 7
    assert rpcs(done, "WaitQueueDone") == 1


async def test_streaming_enqueue_counts_each_request(
    metered: EagerServer, metered_stub: pb.EagerServiceStub
) -> None:
    context_id = (await metered_stub.create_context(create(0))).context_id
    requests = [enqueue(context_id, send(1, np.float32(2))),
                enqueue(context_id, add(2, 1, 1), add(3, 1, 1))]
    replies = [reply async for reply in metered_stub.streaming_enqueue(requests)]
    assert len(replies) == 2
    samples = await scrape(metered)
    assert value(samples, "eager_async_ops_total") == 3
    assert value(samples, "eager_async_op_seconds_count") == 2
    assert rpcs(samples, "StreamingEnqueue") == 1


async def test_rpcs_refused_by_authentication_are_counted() -> None:
    security = Security(tokens=frozenset({"s3cret"}))
    async with EagerServer("127.0.0.1", 0, security=security, metrics_port=0) as server:
        channel = Channel("127.0.0.1", server.port)
        try:
            with pytest.raises(GRPCError) as caught:
                await pb.EagerServiceStub(channel).create_context(create(0))
        finally:
            channel.close()
        assert caught.value.status == Status.UNAUTHENTICATED
        samples = await scrape(server)
    assert rpcs(samples, "CreateContext", "UNAUTHENTICATED") == 1
    assert value(samples, "eager_async_contexts", kind="sync") == 0


async def test_an_rpc_whose_client_goes_away_is_counted_cancelled(
    metered: EagerServer, gate: Gate
) -> None:
    channel = Channel("127.0.0.1", metered.port)
    stub = pb.EagerServiceStub(channel)
    context_id = (await stub.create_context(create(0))).context_id
    await stub.enqueue(enqueue(context_id, send(1, np.float32(1))))
    held = asyncio.ensure_future(stub.enqueue(enqueue(
        context_id, op(2, "_TestGate", handle(1), attrs={"T": np.float32})
    )))  # fmt: skip
    await asyncio.to_thread(gate.entered.wait, 30)
    channel.close()  # the connection goes with the RPC in flight
    with pytest.raises((StreamTerminatedError, ConnectionError, asyncio.CancelledError)):
        await held
    gate.opened.set()
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for _ in range(100):  # the worker learns of the lost connection on its own time
        samples = await scrape(metered)
        if rpcs(samples, "Enqueue", "CANCELLED"):
            break
        await asyncio.sleep(0.05)
    assert rpcs(samples, "Enqueue", "CANCELLED") == 1
    assert rpcs(samples, "Enqueue") == 1


async def test_the_endpoint_answers_only_get_metrics(metered: EagerServer) -> None:
    base = f"http://127.0.0.1:{metered.metrics_port}"
    status, text = await asyncio.to_thread(_get, base + "/nowhere")
    assert status == 404 and "/metrics" in text
    status, _ = await asyncio.to_thread(_get, base + "/metrics", "POST")
    assert status == 405
    # Not HTTP at all: the connection is closed, the endpoint keeps serving.
    reader, writer = await asyncio.open_connection("127.0.0.1", metered.metrics_port)
    writer.write(b"\x00garbage\r\n\r\n")
    assert await reader.read() == b""
    writer.close()
    await writer.wait_closed()
    samples = await scrape(metered)
    assert value(samples, "eager_async_contexts", kind="sync") == 0


async def test_no_metrics_port_no_endpoint() -> None:
    async with EagerServer("127.0.0.1", 0) as server:
        assert server.metrics is None
        with pytest.raises(RuntimeError, match="no metrics"):
            _ = server.metrics_port


async def test_a_taken_metrics_port_is_a_clear_error_and_starts_nothing() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = EagerServer("127.0.0.1", 0, metrics_port=port)
        with pytest.raises(MetricsEndpointError, match=f"cannot serve metrics on 127.0.0.1:{port}"):
            await server.start()
        with pytest.raises(RuntimeError, match="not started"):
            _ = server.port


def test_serve_with_a_taken_metrics_port_says_so_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "EAGER_ASYNC_PURE_PYTHON": "1", "EAGER_ASYNC_METRICS_PORT": str(port)}
        done = subprocess.run(
            [sys.executable, "-m", "eager_async", "serve", "--port", "0"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode == ExitStatus.CANNOT_LISTEN
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr
    assert lines[-1] == (
        f"python -m eager_async serve: error: cannot serve metrics on 127.0.0.1:{port}: "
        "Address already in use"
    )


def test_a_bad_metrics_port_is_refused_by_the_parser() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "eager_async", "serve", "--metrics-port", "70000"],
        env={**os.environ, "EAGER_ASYNC_PURE_PYTHON": "1"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--metrics-port: not a port: 70000" in done.stderr
