"""Shared fixtures: a real worker on a free loopback port and a grpclib stub for it."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import AsyncIterator, Iterator

import numpy as np
import pytest
from grpclib.client import Channel
from hypothesis import settings

from eager_async import EagerServer, RuntimeOptions, compilation
from eager_async._proto.tensorflow import eager as pb
from eager_async.kernels import registry
from eager_async.kernels.op_defs import op_def
from eager_async.kernels.registry import make_spec, same_shape


def pytest_sessionstart(session: pytest.Session) -> None:
    """Refuse to test a compiled hot path older than its source: the extension, not
    the edited .py, would be what runs (``make compile`` rebuilds it)."""
    stale = compilation.stale_extensions()
    if stale and not os.environ.get(compilation.PURE_PYTHON_VARIABLE):
        pytest.exit(f"compiled modules older than their source: {stale}; run `make compile`",
                    returncode=3)  # fmt: skip


# Property tests check values, not speed: no per-example deadline on a loaded machine.
settings.register_profile("eager_async", deadline=None)
settings.load_profile("eager_async")


@pytest.fixture
async def server() -> AsyncIterator[EagerServer]:
    """A worker on a free port; fast keep-alive sweeps so expiry tests stay short."""
    async with EagerServer("127.0.0.1", 0, threads=4,
                           options=RuntimeOptions(gc_interval=0.05)) as running:
        yield running


@pytest.fixture
async def stub(server: EagerServer) -> AsyncIterator[pb.EagerServiceStub]:
    """A grpclib client stub connected to ``server``."""
    channel = Channel("127.0.0.1", server.port)
    try:
        yield pb.EagerServiceStub(channel)
    finally:
        channel.close()


class Gate:
    """Backs the test op ``_TestGate`` (Identity that blocks until opened), which lets a
    test hold ops pending without sleeping."""

    def __init__(self) -> None:
        self.opened = threading.Event()
        self.entered = threading.Event()

    def kernel(self, x: np.ndarray) -> np.ndarray:
        self.entered.set()
        if not self.opened.wait(timeout=30):
            raise RuntimeError("test gate was never opened")
        return x


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    """Registers ``_TestGate`` for one test; opens it at the end so no thread hangs."""
    gate = Gate()
    # Identity's contract under another name: TensorFlow has no such op.
    # Stateful, as an op that blocks is: the executor never runs it on the event loop.
    definition = dataclasses.replace(op_def("Identity"), name="_TestGate", stateful=True)
    spec = make_spec("_TestGate", gate.kernel, same_shape, definition)
    monkeypatch.setitem(registry._REGISTRY, "_TestGate", spec)
    yield gate
    gate.opened.set()
