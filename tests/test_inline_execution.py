"""Which ops run on the event loop: a few cheap ones (a thread hop costs more than they
do); anything large, unknown in size, stateful, or of strings runs in the thread pool."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from eager_async import Runtime
from eager_async._proto.tensorflow import eager as pb
from eager_async.kernels import registry
from eager_async.kernels.op_defs import op_def
from eager_async.kernels.registry import make_spec, same_shape
from eager_async.records import HandleRef, OpItem, SendTensorItem

CONTEXT = 11


class Threads:
    """Backs ``_TestWhere`` (Identity, stateless or stateful), which notes the thread it
    ran on."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    def kernel(self, x: np.ndarray) -> np.ndarray:
        self.seen.append(threading.get_ident())
        return x


@pytest.fixture
def threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[Threads]:
    threads = Threads()
    for name, stateful in (("_TestWhere", False), ("_TestWhereStateful", True)):
        definition = dataclasses.replace(op_def("Identity"), name=name, stateful=stateful)
        monkeypatch.setitem(registry._REGISTRY, name,
                            make_spec(name, threads.kernel, same_shape, definition))
    yield threads


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    with ThreadPoolExecutor(2) as pool:
        runtime = Runtime(pool)
        await runtime.start()
        await runtime.create_context(pb.CreateContextRequest(context_id=CONTEXT))
        try:
            yield runtime
        finally:
            await runtime.close()


async def _ran_on_loop(runtime: Runtime, threads: Threads, op: str, value: np.ndarray,
                       copies: int = 1) -> list[bool]:
    items = [SendTensorItem(1, (value,))]
    items += [OpItem(2 + i, op, (HandleRef(1, 0),), {}) for i in range(copies)]
    await runtime.enqueue(CONTEXT, items)
    return [ident == threading.get_ident() for ident in threads.seen]


async def test_a_cheap_op_runs_on_the_event_loop(runtime: Runtime, threads: Threads) -> None:
    assert await _ran_on_loop(runtime, threads, "_TestWhere", np.float32(1)) == [True]


async def test_a_large_op_runs_in_the_pool(runtime: Runtime, threads: Threads) -> None:
    assert await _ran_on_loop(runtime, threads, "_TestWhere", np.zeros(5000, np.float32)) == [
        False]


async def test_a_stateful_op_runs_in_the_pool(runtime: Runtime, threads: Threads) -> None:
    assert await _ran_on_loop(runtime, threads, "_TestWhereStateful", np.float32(1)) == [False]


async def test_strings_run_in_the_pool(runtime: Runtime, threads: Threads) -> None:
    value = np.array(b"x" * 10, dtype=object)
    assert await _ran_on_loop(runtime, threads, "_TestWhere", value) == [False]


async def test_many_cheap_ops_run_in_the_pool(runtime: Runtime, threads: Threads) -> None:
    ran = await _ran_on_loop(runtime, threads, "_TestWhere", np.float32(1), copies=100)
    assert ran == [False] * 100
