"""One client context: its handles, functions, executor and keep-alive clock.

Sync contexts run each Enqueue request to its end before replying, stop at the first
failing item and register nothing for it, as TensorFlow does. Async contexts reply once
the items are validated and queued, with the output shapes the shape functions inferred;
a failure poisons only the ops that consume the failed op's outputs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Hashable, Iterator, Sequence
from concurrent.futures import Executor as ThreadPool
from pathlib import Path
from typing import Any

import numpy as np

from . import kernels
from .cluster import ClusterView
from .devices import WorkerDevices
from .errors import (
    CancelledError,
    EagerError,
    InvalidArgumentError,
    ResourceExhaustedError,
)
from .executor import Executor, offload, quietly
from .functions import FunctionLibrary, FunctionSpec
from .handles import HandleTable, NodeInput, OpNode
from .kernels import TensorSpec
from .limits import Limits
from .memory import MemoryQuota
from .multi_task import MultiTaskFunction, live_steps
from .op_env import CANCELLED, OpEnv, OpKernel
from .partition import needs_partition
from .peers import Peers
from .records import (
    CleanupItem,
    DecrefItem,
    HandleRef,
    InvalidItem,
    Item,
    NoopItem,
    OpItem,
    QueueResult,
    RegisterFunctionItem,
    RemoveFunctionItem,
    SendTensorItem,
)
from .rendezvous import Rendezvous

__all__ = ["Context"]

FETCH_OP_ID = -1
"""``Operation.id`` asking for the outputs inline; nothing is registered for it."""

_MAX_UNREPORTED = 10_000
_ITEMS_PER_TURN = 1000  # items a request applies before letting other RPCs run
_MAX_OUTPUT_NUM = 1 << 16
_MAX_STEPS = 10_000
_U64 = (1 << 64) - 1  # a multi-device function's outputs, numbered


class Context:
    """The state of one client context on this worker."""

    def __init__(
        self,
        context_id: int,
        *,
        view_id: int,
        is_async: bool,
        keep_alive_secs: int,
        devices: WorkerDevices,
        pool: ThreadPool,
        rendezvous: Rendezvous,
        cluster: ClusterView | None = None,
        peers: Peers | None = None,
        limits: Limits | None = None,
        memory: MemoryQuota | None = None,
        file_root: Path | None = None,
    ) -> None:
        self.id = context_id
        self.view_id = view_id
        self.is_async = is_async
        self.keep_alive_secs = keep_alive_secs
        self.devices = devices
        self.last_used = time.monotonic()
        self._requests = 0  # RPCs in flight
        self._rendezvous = rendezvous
        self.cluster = cluster or ClusterView(local=(devices.job, devices.task))
        self._peers = peers
        self._table = HandleTable()
        self._functions = FunctionLibrary()
        # Steps of component functions run here and not cleaned up yet (see close).
        self._steps: dict[int, None] = {}
        self._spanning: dict[str, tuple[FunctionSpec, ClusterView, bool]] = {}  # see _spans_tasks
        self._kernel_state: dict[Hashable, Any] = {}  # see OpEnv.state
        self._file_root = file_root  # see OpEnv.file_root
        self._pool = pool
        self.limits = limits or Limits()
        # What its live tensors hold, against its own quota and the worker's (``memory``).
        self.quota = MemoryQuota(
            "context_memory_bytes",
            self.limits.context_memory_bytes,
            memory,
            max_tensor_bytes=self.limits.max_tensor_bytes,
        )
        self._executor = Executor(pool, self._on_done, self.limits.max_queued_requests)
        self._applying = asyncio.Lock()  # see enqueue
        # Async failures nobody has been told about yet, oldest first.
        self._unreported: OrderedDict[int, EagerError] = OrderedDict()
        self._closed: str | None = None  # why, once closed

    @property
    def live_ops(self) -> int:
        """How many ops hold live handles or are still pending."""
        return len(self._table)

    def owns_step(self, step: int) -> bool:
        """Whether ``step`` is this context's: its id, or the step of a component or
        multi-task function run in it."""
        return step == self.id or step in self._steps or step in live_steps(self._kernel_state)

    def touch(self) -> None:
        """Note activity, postponing garbage collection."""
        self.last_used = time.monotonic()

    @contextlib.contextmanager
    def in_use(self) -> Iterator[Context]:
        """Hold the context for one RPC: it is not collected while the RPC runs, however
        long that takes, and its keep-alive restarts when the RPC ends."""
        self._requests += 1
        self.touch()
        try:
            yield self
        finally:
            self._requests -= 1
            self.touch()

    def expired(self, now: float) -> bool:
        """Whether the keep-alive ran out (``keep_alive_secs <= 0`` never expires); a
        context with an RPC in flight has not."""
        if self.keep_alive_secs <= 0 or self._requests:
            return False
        return now - self.last_used > self.keep_alive_secs

    def kernel(self, name: str, step_id: int = 0) -> OpKernel:
        """The function registered as ``name`` in this context, or the registered op; ops
        that need their context see it through an ``OpEnv`` whose ``_Send``s send under
        ``step_id`` (0: the context's id)."""
        if not self._functions.defines(name):
            spec = kernels.lookup(name)
            if not spec.needs_env:  # nearly every op: no env to build
                return spec
        env = self._env(step_id)
        return self._functions.lookup(name, env)

    def _env(self, step_id: int) -> OpEnv:
        if step_id and step_id != self.id:
            self._steps[step_id & _U64] = None
            if len(self._steps) > _MAX_STEPS:  # a client that never cleans up
                self._end_step(next(iter(self._steps)))
        return OpEnv(
            context_id=self.id,
            step_id=step_id or self.id,
            rendezvous=self._rendezvous,
            lookup=self._functions.lookup,
            state=self._kernel_state,
            cluster=self.cluster,
            peers=self._peers,
            file_root=self._file_root,
            max_depth=self.limits.max_function_depth,
        )

    def lookup(self, name: str, env: OpEnv) -> OpKernel:
        """``name`` as a function registered in this context or an op, bound to ``env``."""
        return self._functions.lookup(name, env)

    async def enqueue(self, items: Sequence[Item]) -> list[QueueResult]:
        """Apply ``items`` in order; one result per item, or the first item's error."""
        replies: list[QueueResult | OpNode] = []
        nodes: list[OpNode] = []
        must_wait = False
        error: EagerError | None = None
        # One request at a time is applied and queued, so that its ops keep their order
        # although a long one lets other RPCs run between its items.
        async with self._applying:
            for index, item in enumerate(items):
                if index and not index % _ITEMS_PER_TURN:
                    await asyncio.sleep(0)
                try:
                    if isinstance(item, NoopItem):
                        must_wait |= item.wait
                        replies.append(QueueResult())
                    else:
                        replies.append(self._apply(item, nodes))
                except EagerError as failure:
                    error = failure
                    # TF's client releases the handles of these ops although none was made.
                    rest = items[index:]
                    self._table.forget(o.op_id for o in rest if isinstance(o, OpItem))
                    break
            batch = (
                await self._executor.submit(nodes, stop_on_error=not self.is_async)
                if nodes else None
            )  # fmt: skip
        if batch is not None:
            if not self.is_async or must_wait:
                try:
                    await asyncio.shield(batch.done)
                except asyncio.CancelledError:
                    # The caller went away (its connection, its deadline): a sync request
                    # is only worth finishing for it. Async ops run regardless.
                    if not self.is_async:
                        batch.interrupt("the client cancelled the request or disconnected")
                    raise
            if not self.is_async:
                self._raise_first_failure(nodes)
        elif must_wait:
            await self._executor.idle()
        if error is not None:
            raise error
        if must_wait:  # sync_remote_executor_for_stream reports failures, as TF does
            self._raise_unreported()
        results = []
        for index, reply in enumerate(replies):
            if index and not index % _ITEMS_PER_TURN:
                await asyncio.sleep(0)
            if isinstance(reply, OpNode) and reply.op_id == FETCH_OP_ID:
                results.append(await self._fetched(reply))
            else:
                results.append(self._reply(reply))
        return results

    async def run_component(self, item: OpItem) -> list[np.ndarray]:
        """Run a component function (an op) to its end, beside the context's queue, and
        return its outputs: TF runs component functions as they come, so the parts of
        two workers' steps on a parameter server do not wait for each other. What was
        enqueued before it runs first (a variable assigned, then read by the function)."""
        if self._closed is not None:
            raise CancelledError(f"the context is closed: {self._closed}")
        async with self._applying:  # a request being applied is queued first
            pass
        await self._executor.idle()
        node = self._prepare(item)
        await offload(self._pool, quietly, node.execute)
        node.finish()
        if node.error is not None:
            raise node.error
        assert node.outputs is not None
        return node.outputs

    async def wait(self, op_ids: Sequence[int]) -> None:
        """Wait for ``op_ids`` (all pending ops when empty) and raise the first failure.

        With ids, a failed op's error is raised every time it is asked for. Without,
        the oldest failure not yet reported is raised once, and the rest are dropped.
        """
        if not op_ids:
            await self._executor.idle()
            if self._closed is not None:
                raise CancelledError(f"the ops waited for were cancelled: {self._closed}")
            self._raise_unreported()
            return
        nodes = [self._table.get(op_id) for op_id in op_ids]
        for index, node in enumerate(nodes):
            if index and not index % _ITEMS_PER_TURN:
                await asyncio.sleep(0)  # a million ids must not hold the loop
            if node is not None:
                await node.wait()
        for op_id, node in zip(op_ids, nodes, strict=True):
            error = self._unreported.pop(op_id, None)
            if node is not None and node.error is not None:
                error = node.error
            if error is not None:
                raise error

    async def close(self, reason: str) -> None:
        """Fail every pending op with CANCELLED ``reason`` and free every tensor."""
        self._closed = reason
        await self._executor.close(reason)
        for step in [self.id, *self._steps, *live_steps(self._kernel_state)]:
            self._end_step(step, reason)
        self._table.clear()
        self._functions.clear()
        self._kernel_state.clear()
        self._kernel_state[CANCELLED] = reason  # loops still running stop (OpEnv)
        self._unreported.clear()

    def _apply(self, item: Item, nodes: list[OpNode]) -> QueueResult | OpNode:
        if isinstance(item, OpItem):
            node = self._prepare(item)
            if node.op_id != FETCH_OP_ID:
                self._table.add(node)
            nodes.append(node)
            return node
        if isinstance(item, SendTensorItem):
            self.devices.resolve(item.device)
            self._table.add(OpNode.constant(item.op_id, "SendTensor", item.tensors, self.quota))
        elif isinstance(item, DecrefItem):
            self._table.release(item.handle)
        elif isinstance(item, RegisterFunctionItem):
            count = sum(len(f.nodes) for f in (*item.library, item.function))
            if count > self.limits.max_function_nodes:
                raise ResourceExhaustedError(
                    f"function {item.function.name} has {count} nodes with its library, "
                    f"over this worker's max_function_nodes ({self.limits.max_function_nodes})"
                )
            for function in (*item.library, item.function):
                self._functions.add(function)
        elif isinstance(item, RemoveFunctionItem):
            self._functions.remove(item.name)
        elif isinstance(item, CleanupItem):
            self._end_step(item.step_id)
        elif isinstance(item, InvalidItem):
            raise item.error
        return QueueResult()

    def _end_step(self, step_id: int, reason: str = "the step was cleaned up") -> None:
        """Drop what the step's sends left, fail its receives here and in flight."""
        step = step_id & _U64
        self._steps.pop(step, None)
        self._rendezvous.abort(step, reason)
        if self._peers is not None:
            self._peers.abort(step, CancelledError(reason))
            self._peers.end_step(step)

    def register_outputs(self, op_id: int, name: str, outputs: dict[int, np.ndarray]) -> None:
        """Hold ``outputs[n]`` as the handle ``(op_id, n)`` (a component function's
        outputs, numbered as its multi-device function's)."""
        if any(not 0 <= n < _MAX_OUTPUT_NUM for n in outputs):
            raise InvalidArgumentError(
                f"output_num {sorted(outputs)} of {name}: each must be in [0, {_MAX_OUTPUT_NUM})"
            )
        width = max(outputs, default=-1) + 1
        empty = np.zeros(0, np.float32)
        arrays = [outputs.get(n, empty) for n in range(width)]
        node = OpNode.constant(op_id, name, arrays, self.quota)
        self._table.add(node, live=set(outputs))

    def _raise_unreported(self) -> None:
        """Raise the oldest async failure nobody has been told about, once: the others
        are its consequences or later, and TF's client stops at the first."""
        if self._unreported:
            first = next(iter(self._unreported.values()))
            self._unreported.clear()
            raise first

    def _raise_first_failure(self, nodes: Sequence[OpNode]) -> None:
        """Sync contexts: the failing op and those after it registered nothing."""
        for index, node in enumerate(nodes):
            if node.error is not None:
                for dropped in nodes[index:]:
                    self._table.discard(dropped)
                raise node.error

    def _prepare(self, item: OpItem) -> OpNode:
        try:
            self.devices.resolve(item.device)
            remote = self._remote_inputs(item)
            kernel = self.kernel(item.name, item.step_id)
            spec = self._functions.get(item.name)
            if remote or (spec is not None and self._spans_tasks(spec)):
                kernel = self._multi_task(item, spec, remote)
            inputs: list[NodeInput] = []
            specs: list[TensorSpec] = []
            for position, source in enumerate(item.inputs):
                if position in remote:
                    continue
                if isinstance(source, HandleRef):
                    node, output = self._table.resolve(source)
                    inputs.append((node, output))
                    specs.append(node.spec(output))
                else:
                    inputs.append(source)
                    specs.append(TensorSpec(source.dtype, source.shape, source))
            out_specs = kernel.shapes(specs, item.attrs)
        except EagerError as error:
            raise type(error)(f"{item.name} (op id {item.op_id}): {error.message}") from error
        return OpNode(item.op_id, item.name, kernel, item.attrs, inputs, out_specs, self.quota)

    def _remote_inputs(self, item: OpItem) -> dict[int, HandleRef]:
        """The inputs that are handles on other tasks of the cluster, by position. A
        handle naming no device is ours (TF 2.21 would treat it as remote and may crash)."""
        remote: dict[int, HandleRef] = {}
        for position, source in enumerate(item.inputs):
            if not isinstance(source, HandleRef) or not source.device:
                continue
            if source.device == self.devices.cpu:
                continue
            if self.cluster.address_of(source.device) is not None:
                remote[position] = source
            else:
                self.devices.resolve(source.device)  # ours by task: is it a device we have?
        return remote

    def _spans_tasks(self, spec: FunctionSpec) -> bool:
        """Whether a node of ``spec`` names another task's device (once per definition
        and view of the cluster)."""
        cached = self._spanning.get(spec.name)
        if cached is None or cached[0] is not spec or cached[1] is not self.cluster:
            cached = (spec, self.cluster, needs_partition(spec, self.cluster))
            self._spanning[spec.name] = cached
        return cached[2]

    def _multi_task(
        self, item: OpItem, spec: FunctionSpec | None, remote: dict[int, HandleRef]
    ) -> OpKernel:
        if spec is None:
            ref = next(iter(remote.values()))
            raise InvalidArgumentError(
                f"Input handle (op {ref.op_id}, output {ref.output_num}) lives on "
                f"'{ref.device}', another task: only a function can take inputs from other "
                "tasks (TF's client copies them for an op); run the op on that task, or copy "
                "the tensor here first"
            )
        env = self._env(item.step_id)
        arg_devices = [
            self.cluster.full_name(remote[i].device) if i in remote else self.devices.cpu
            for i in range(len(item.inputs))
        ]
        return MultiTaskFunction(
            spec,
            env,
            arg_devices=arg_devices,
            remote_inputs=remote,
            local_device=self.devices.cpu,
            library=self._functions.get,
        )

    @staticmethod
    async def _fetched(node: OpNode) -> QueueResult:
        """The reply to an op with id -1: its outputs, once computed."""
        await node.wait()
        if node.error is not None:
            raise node.error
        assert node.outputs is not None
        return QueueResult(tensors=tuple(node.outputs))

    @staticmethod
    def _reply(reply: QueueResult | OpNode) -> QueueResult:
        """The reply to an item: the output shapes of an op (computed, or inferred)."""
        if isinstance(reply, QueueResult):
            return reply
        if reply.finished:  # its specs hold the computed shapes (see OpNode.finish)
            return QueueResult(shapes=tuple([spec.shape for spec in reply.specs]))
        if reply.outputs is not None:
            return QueueResult(shapes=tuple([output.shape for output in reply.outputs]))
        return QueueResult(shapes=tuple([spec.shape for spec in reply.specs]))

    def _on_done(self, node: OpNode) -> None:
        self._table.settle(node)
        error = node.error
        if (
            self.is_async
            and error is not None
            and node.op_id != FETCH_OP_ID
            and not isinstance(error, CancelledError)
        ):
            self._unreported[node.op_id] = error
            if len(self._unreported) > _MAX_UNREPORTED:
                self._unreported.popitem(last=False)
