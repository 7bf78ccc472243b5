"""benchmarks/grpclib_floor.py --bench answers what the benchmark's K=1 scenarios send."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from grpclib.client import Channel

from eager_async._proto.tensorflow import eager as pb

FLOOR = Path(__file__).resolve().parents[1] / "benchmarks" / "grpclib_floor.py"


@pytest.fixture
async def floor() -> AsyncIterator[pb.EagerServiceStub]:
    process = subprocess.Popen([sys.executable, str(FLOOR), "--bench"],
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    channel = None
    try:
        assert process.stderr is not None
        found = re.search(r"listening on (\S+):(\d+)", process.stderr.readline())
        assert found, "the floor did not start"
        channel = Channel(found.group(1), int(found.group(2)))
        yield pb.EagerServiceStub(channel)
    finally:
        if channel is not None:
            channel.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0


async def test_every_k1_rpc_of_the_benchmark_is_answered(floor: pb.EagerServiceStub) -> None:
    await floor.create_context(pb.CreateContextRequest(context_id=1))
    reply = await floor.enqueue(pb.EnqueueRequest(context_id=1))
    assert len(reply.queue_response) == 1
    requests = [pb.EnqueueRequest(context_id=1) for _ in range(3)]
    replies = [r async for r in floor.streaming_enqueue(requests)]
    assert [len(r.queue_response) for r in replies] == [1, 1, 1]
    await floor.wait_queue_done(pb.WaitQueueDoneRequest(context_id=1))
    await floor.close_context(pb.CloseContextRequest(context_id=1))
