"""The per-context executor: an asyncio queue of op batches and the worker that runs them.

One worker per context takes every batch that is waiting, runs them in one thread-pool
call (a call costs far more than a tiny kernel), then finishes their nodes on the loop.
Batches run in the order they were submitted, so an op's inputs are always computed
before it, and stateful ops keep their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor as ThreadPool
from typing import TypeVar

import numpy as np

from .errors import CancelledError, EagerError
from .handles import OpNode
from .op_env import running_for

__all__ = ["Batch", "Executor", "offload", "quietly"]

logger = logging.getLogger(__name__)

R = TypeVar("R")

_NODES_PER_TURN = 1000  # ops finished before other coroutines get a turn
_INLINE_OPS = 16  # up to this many cheap ops run on the event loop, not in a thread
_INLINE_ELEMENTS = 1024  # what "small" means for an op's inputs and outputs together


def quietly(fn: Callable[[], R]) -> R:
    """``fn()`` with NumPy's floating-point errors ignored, as kernels run (the
    executor's batches are run this way; so is anything else that runs a kernel)."""
    with np.errstate(all="ignore"):
        return fn()


async def offload(pool: ThreadPool, fn: Callable[..., R], *args: object) -> R:
    """Run ``fn(*args)`` in ``pool`` and await its result.

    Cancelling the await does not stop the thread: ``fn`` runs to the end and its result
    is discarded. Long work should poll a flag of its own to stop early.
    """
    return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)


class Batch:
    """The ops of one Enqueue request, in order.

    With ``stop_on_error`` (sync contexts) the first failure stops the batch and the ops
    after it never run, as in TensorFlow.
    """

    __slots__ = ("done", "failed_at", "interrupted", "nodes", "stop_on_error")

    def __init__(self, nodes: Sequence[OpNode], stop_on_error: bool) -> None:
        self.nodes = nodes
        self.stop_on_error = stop_on_error
        self.failed_at: int | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.interrupted: str | None = None

    def interrupt(self, reason: str) -> None:
        """Its caller gave up: ops not run yet fail with CANCELLED ``reason``, and a
        running kernel that loops stops at its next iteration (``OpEnv.check_cancelled``)."""
        self.interrupted = reason


class Executor:
    """Runs a context's batches in submission order; ``on_done`` sees every finished node.

    ``max_batches`` bounds the queue: a full queue makes ``submit`` wait (backpressure).
    """

    def __init__(
        self,
        pool: ThreadPool,
        on_done: Callable[[OpNode], None],
        max_batches: int = 1024,
    ) -> None:
        self._pool = pool
        self._on_done = on_done
        self._queue: asyncio.Queue[Batch] = asyncio.Queue(max_batches)
        self._last: Batch | None = None
        self._closed: str | None = None  # why, once closed
        self._running: list[Batch] = []
        self._worker = asyncio.get_running_loop().create_task(self._work())

    def closed(self) -> bool:
        """Whether ``close()`` was called (a method: the answer changes across awaits)."""
        return self._closed is not None

    async def submit(self, nodes: Sequence[OpNode], stop_on_error: bool) -> Batch:
        """Queue ``nodes`` to run after everything submitted before (a few cheap ones
        are run at once when nothing is pending)."""
        if self.closed():
            raise CancelledError(f"the context's queue accepts no more ops: {self._closed}")
        batch = Batch(nodes, stop_on_error)
        self._last = batch
        if self._queue.empty() and not self._running and _cheap([batch]):
            # Nothing before it is pending: run it now, rather than two turns of the
            # loop later through the queue and the worker (one tiny op per request).
            self._running = [batch]
            self._run_running()
            await self._finish_all(self._running)
            self._running = []
            return batch
        await self._queue.put(batch)
        if self.closed():  # closed while we waited for room in the queue
            self._cancel([batch])
        return batch

    async def idle(self) -> None:
        """Wait until everything submitted so far has run."""
        if self._last is not None:
            await asyncio.shield(self._last.done)

    async def close(self, reason: str) -> None:
        """Stop the worker; every op not yet run fails with CANCELLED ``reason``.

        A batch already in a thread finishes the op it is running and skips the rest.
        """
        self._closed = reason
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        pending = list(self._running)
        while not self._queue.empty():
            pending.append(self._queue.get_nowait())
        self._cancel(pending)
        # The cancelled worker's traceback keeps its frame, and the frame this list: empty
        # it (and forget the last batch) so the ops' tensors go now, not at the next
        # cyclic collection.
        self._running.clear()
        self._last = None

    def _cancel(self, batches: Sequence[Batch]) -> None:
        for batch in batches:
            for node in batch.nodes:
                if not node.done:
                    node.error = CancelledError(f"{node.describe()}: {self._closed}")
            self._finish(batch)

    async def _work(self) -> None:
        while True:
            self._running = [await self._queue.get()]
            while not self._queue.empty():
                self._running.append(self._queue.get_nowait())
            try:
                if _cheap(self._running):
                    # A thread hop costs more than a few tiny kernels: run them here.
                    self._run_running()
                else:
                    # Not passed as an argument: the pool's work item, which the thread
                    # drops only after the loop has seen the result, would keep the
                    # batches' tensors.
                    await offload(self._pool, self._run_running)
            except Exception as error:  # the pool refused the work; fail it, keep serving
                logger.exception("could not run a batch of ops")
                self._fail_all(self._running, EagerError(f"internal error: {error!r}"))
            # In methods of their own, so that no loop variable of this frame, which waits
            # for the next batch, keeps the last one (and its tensors) alive.
            await self._finish_all(self._running)
            self._running = []

    @staticmethod
    def _fail_all(batches: Sequence[Batch], error: EagerError) -> None:
        for batch in batches:
            for node in batch.nodes:
                if not node.done:
                    node.fail(error)

    async def _finish_all(self, batches: Sequence[Batch]) -> None:
        for batch in batches:
            nodes = batch.nodes
            for start in range(0, len(nodes), _NODES_PER_TURN):
                if start:
                    await asyncio.sleep(0)  # 50,000 ops of one request must not hold the loop
                for node in nodes[start : start + _NODES_PER_TURN]:
                    node.finish()
                    self._on_done(node)
            self._settle(batch)

    def _run_running(self) -> None:
        # NumPy's floating-point errors are silent in kernels, as in TF's; set once per
        # run of batches rather than by each tiny kernel (a third of its cost).
        quietly(self._run_batches)

    def _run_batches(self) -> None:
        try:
            for batch in self._running:
                running_for(batch)
                for index, node in enumerate(batch.nodes):
                    if self.closed():
                        return
                    if batch.failed_at is not None:
                        node.error = _not_run(node, batch.nodes[batch.failed_at])
                        continue
                    if batch.interrupted is not None:
                        node.error = CancelledError(f"{node.describe()}: {batch.interrupted}")
                        continue
                    node.execute()
                    if node.error is not None and batch.stop_on_error:
                        batch.failed_at = index
        finally:
            running_for(None)

    def _finish(self, batch: Batch) -> None:
        for node in batch.nodes:
            node.finish()
            self._on_done(node)
        self._settle(batch)

    def _settle(self, batch: Batch) -> None:
        if self._last is batch:  # nothing left to wait for: let its tensors go
            self._last = None
        if not batch.done.done():
            batch.done.set_result(None)


def _cheap(batches: Sequence[Batch]) -> bool:
    """Whether ``batches`` are a few ops that surely take microseconds: stateless ops of
    the registry (no function, no context, nothing that could block) whose inputs and
    outputs are all known and small."""
    count = 0
    for batch in batches:
        count += len(batch.nodes)
        if count > _INLINE_OPS:
            return False
        for node in batch.nodes:
            if not node.cheap(_INLINE_ELEMENTS):
                return False
    return True


def _not_run(node: OpNode, failed: OpNode) -> EagerError:
    return CancelledError(f"{node.describe()}: not run because {failed.describe()} failed")
