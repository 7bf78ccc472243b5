"""The eager service's semantics, free of any transport: the context table, keep-alive
garbage collection, and what each RPC does.

When the worker authenticates its callers (``security.CALLER`` is set), a context belongs
to the identity that created it: to every other identity it does not exist. Their RPCs
naming it get the answer an unknown id gets (CloseContext: OK, nothing closed), their
RecvTensor on its steps gets ABORTED and never its tensors, CreateContext with its id is
refused without touching it, and their ``clear_existing_contexts`` leaves it alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import time
from collections.abc import Sequence
from concurrent.futures import Executor as ThreadPool
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._proto import tensorflow as tf
from ._proto.tensorflow import eager
from .cluster import ClusterView
from .context import FETCH_OP_ID, Context
from .devices import WorkerDevices
from .errors import (
    AbortedError,
    AlreadyExistsError,
    ContextNotFoundError,
    InvalidArgumentError,
    ResourceExhaustedError,
    UnavailableError,
)
from .limits import Limits
from .memory import MemoryQuota
from .peers import Peers
from .records import CleanupItem, Item, OpItem, QueueResult
from .rendezvous import Rendezvous
from .security import CALLER, Identity

__all__ = ["Runtime", "RuntimeOptions"]

logger = logging.getLogger(__name__)

_U64 = (1 << 64) - 1
_CLUSTER_BUILT_ON_LOOP = 1000  # tasks and devices of a cluster view built on the loop

# What TF 2.21's worker reports for its CPU; clients only display it.
_CPU_MEMORY_LIMIT = 256 << 20


@dataclass(frozen=True, slots=True)
class RuntimeOptions:
    """Tunables of a runtime.

    ``limits``: what clients may make the worker receive, hold and compute (see
    ``eager_async.limits``). ``gc_interval``: seconds between keep-alive sweeps.
    ``job`` and ``task`` name the devices when a client's ServerDef leaves them out.
    ``file_root``: the directory whose files clients may have the worker read and write
    (checkpoints: SaveV2, RestoreV2, MergeV2Checkpoints), symlinks and ``..`` resolved;
    None (the default) lets them touch no file.
    """

    limits: Limits = field(default_factory=Limits)
    gc_interval: float = 1.0
    job: str = "worker"
    task: int = 0
    file_root: Path | None = None


class Runtime:
    """Every context of one worker process, and the RPCs' semantics over them.

    >>> runtime = Runtime(pool)                      # doctest: +SKIP
    >>> await runtime.start()                        # doctest: +SKIP
    >>> reply = await runtime.create_context(request) # doctest: +SKIP
    """

    def __init__(self, pool: ThreadPool, options: RuntimeOptions | None = None) -> None:
        self.pool = pool
        self.options = options or RuntimeOptions()
        self.incarnation = secrets.randbits(64) or 1
        limits = self.options.limits
        self.memory = MemoryQuota(
            "memory_bytes", limits.memory_bytes, max_tensor_bytes=limits.max_tensor_bytes
        )
        """What the live tensors of every context hold together."""
        self._contexts: dict[int, Context] = {}
        self._owners: dict[int, Identity] = {}  # context id -> its creator, when known
        self._sweeper: asyncio.Task[None] | None = None
        self._closing = False
        self._rendezvous: Rendezvous | None = None
        self._peers: Peers | None = None

    @property
    def rendezvous(self) -> Rendezvous:
        """Where ``_Send`` ops leave tensors for ``WorkerService/RecvTensor``."""
        if self._rendezvous is None:
            raise RuntimeError("call Runtime.start() first")
        return self._rendezvous

    @property
    def peers(self) -> Peers:
        """The channels to the other tasks of the cluster."""
        if self._peers is None:
            raise RuntimeError("call Runtime.start() first")
        return self._peers

    @property
    def closing(self) -> bool:
        """Whether ``close()`` was called: the worker is shutting down."""
        return self._closing

    @property
    def context_ids(self) -> list[int]:
        """Ids of the live contexts."""
        return list(self._contexts)

    async def start(self) -> None:
        """Start the keep-alive sweeper."""
        if self._rendezvous is None:
            self._rendezvous = Rendezvous(
                asyncio.get_running_loop(), self.options.limits.recv_timeout_secs
            )
        if self._peers is None:
            self._peers = Peers(asyncio.get_running_loop())
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def close(self) -> None:
        """Stop sweeping and close every context (pending ops fail with CANCELLED); from
        then on, CreateContext is UNAVAILABLE."""
        self._closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        contexts, self._contexts = list(self._contexts.values()), {}
        self._owners = {}
        for context in contexts:
            await context.close("the server is shutting down")
        if self._peers is not None:
            self._peers.close()

    def context(self, context_id: int) -> Context:
        """The live context ``context_id`` (touched); ABORTED when there is none.
        RPCs that wait hold it with ``Context.in_use``."""
        context = self._contexts.get(context_id)
        if context is None or not self._visible(context_id):
            raise ContextNotFoundError(
                f"Unable to find a context_id matching the specified one ({context_id}). "
                "Perhaps the worker was restarted, or the context was garbage collected "
                "after its keep-alive ran out. Create a new context."
            )
        context.touch()
        return context

    def device_attributes(self, devices: WorkerDevices) -> list[tf.DeviceAttributes]:
        """What CreateContext and UpdateContext report about the local devices."""
        return [
            tf.DeviceAttributes(
                name=name,
                device_type="CPU",
                memory_limit=_CPU_MEMORY_LIMIT,
                locality=tf.DeviceLocality(),
                incarnation=self.incarnation,
                xla_global_id=-1,
            )
            for name in devices.names
        ]

    async def create_context(
        self, request: eager.CreateContextRequest
    ) -> eager.CreateContextResponse:
        """Create (or replace) a context; id 0 gets a fresh random id (the seed's way).
        An id another identity's context has is refused, that context left untouched."""
        devices = self._devices(request.server_def)
        cluster = await self._cluster(
            request.server_def, devices, request.cluster_device_attributes
        )
        if request.clear_existing_contexts:
            for other in [known for known in self._contexts if self._visible(known)]:
                await self._drop(other, "the client asked to clear existing contexts")
        context_id = request.context_id or self._fresh_id()
        existing = self._contexts.get(context_id)
        if existing is not None and not self._visible(context_id):
            # Says only what the caller cannot help learning (the id is taken): not whose,
            # nor its view id.
            raise AlreadyExistsError(
                f"EagerService:CreateContext failed. Context id: {context_id} is in use by "
                "another client: choose another id (context_id 0 lets the worker choose)."
            )
        if existing is not None:
            if request.context_view_id < existing.view_id:
                raise AlreadyExistsError(
                    f"EagerService:CreateContext failed. Context id: {context_id} already "
                    f"exists (its view id {existing.view_id} is newer than the request's "
                    f"{request.context_view_id})."
                )
            await self._drop(context_id, "it was replaced by a new context with the same id")
        if self._closing:  # checked after the awaits above: close() may have run during them
            raise UnavailableError(
                "the worker is shutting down: create the context on another worker, or "
                "on this one once it has restarted"
            )
        if len(self._contexts) >= self.options.limits.max_contexts:
            raise ResourceExhaustedError(
                f"this worker holds {len(self._contexts)} contexts, its max_contexts: close "
                "contexts you no longer use (CloseContext), or raise --max-contexts"
            )
        self._contexts[context_id] = Context(
            context_id,
            view_id=request.context_view_id,
            is_async=request.async_,
            keep_alive_secs=request.keep_alive_secs,
            devices=devices,
            pool=self.pool,
            rendezvous=self.rendezvous,
            cluster=cluster,
            peers=self._peers,
            limits=self.options.limits,
            memory=self.memory,
            file_root=self.options.file_root,
        )
        caller = CALLER.get()
        if caller is not None:
            self._owners[context_id] = caller
        logger.info(
            "created context %d (%s, keep-alive %ds)%s",
            context_id,
            "async" if request.async_ else "sync",
            request.keep_alive_secs,
            "" if caller is None else f" for {caller}",
        )
        return eager.CreateContextResponse(
            context_id=context_id, device_attributes=self.device_attributes(devices)
        )

    async def update_context(
        self, request: eager.UpdateContextRequest
    ) -> eager.UpdateContextResponse:
        """Move a context to a newer view of the cluster (its tensors stay)."""
        context = self.context(request.context_id)
        if request.context_view_id <= context.view_id:
            raise InvalidArgumentError(
                f"EagerService:UpdateContext failed. Context id: {request.context_id}: the "
                f"request's view id {request.context_view_id} is not newer than the "
                f"current view id {context.view_id}."
            )
        if request.server_def is not None:
            devices = self._devices(request.server_def)
            context.cluster = await self._cluster(
                request.server_def, devices, request.cluster_device_attributes
            )
            context.devices = devices
        context.view_id = request.context_view_id
        return eager.UpdateContextResponse(
            device_attributes=self.device_attributes(context.devices)
        )

    async def enqueue(self, context_id: int, items: Sequence[Item]) -> list[QueueResult]:
        """Apply ``items`` to the context; one result per item (see ``Context.enqueue``)."""
        with self.context(context_id).in_use() as context:
            self._refuse_foreign_steps("Enqueue", items)
            return await context.enqueue(items)

    async def wait_queue_done(self, context_id: int, op_ids: Sequence[int]) -> None:
        """Wait for ``op_ids`` (everything when empty); raise the first failure."""
        with self.context(context_id).in_use() as context:
            await context.wait(op_ids)

    async def run_component_function(
        self, context_id: int, item: OpItem, output_nums: Sequence[int]
    ) -> QueueResult:
        """Run a component function (an op) to completion, as TF's worker does: with op
        id -1 the reply carries its outputs; otherwise they become the handles
        ``(op_id, output_nums[i])`` (``i`` without ``output_nums``), those of the
        multi-device function the component is part of, and the reply carries shapes."""
        fetch = OpItem(
            FETCH_OP_ID, item.name, item.inputs, item.attrs, item.device, step_id=item.step_id
        )
        with self.context(context_id).in_use() as context:
            self._refuse_foreign_steps("RunComponentFunction", [item])
            outputs = await context.run_component(fetch)
            if item.op_id == FETCH_OP_ID:
                return QueueResult(tensors=tuple(outputs))
            numbers = list(output_nums) if output_nums else list(range(len(outputs)))
            if len(numbers) != len(outputs) or len(set(numbers)) != len(numbers):
                raise InvalidArgumentError(
                    f"output_num names {len(numbers)} outputs ({numbers}) for {item.name}, "
                    f"which gave {len(outputs)}: name each output once"
                )
            numbered = dict(zip(numbers, outputs, strict=True))
            context.register_outputs(item.op_id, item.name, numbered)
        return QueueResult(shapes=tuple(t.shape for t in outputs))

    async def recv_tensor(self, step_id: int, key: str) -> np.ndarray:
        """The tensor a ``_Send`` op left under (``step_id``, ``key``); waits for it.

        The step is a context's id, or a component function's ``func_step_id``. A key
        naming another incarnation of this worker's device, and sent by no ``_Send`` of
        this process, is ABORTED at once, as on TF's worker: the tensor was to come from
        a process that is gone.

        A step of another identity's context is ABORTED at once, whatever was sent under
        it (see ``_not_your_step``)."""
        step = step_id & _U64
        identified = CALLER.get() is not None
        if identified and not self._step_visible(step):
            raise _not_your_step("RecvTensor", step)
        if not self.rendezvous.sent(step_id, key):
            self._check_incarnation(key)
        context = self._contexts.get(step)
        if context is None:
            value = await self.rendezvous.take(step_id, key)
            if identified and not self._step_visible(step):
                # It waited on a step nobody had yet, and another identity's context sent
                # under it since: the value is theirs. Leave it for their receiver.
                self.rendezvous.put(step_id, key, value)
                raise _not_your_step("RecvTensor", step)
            return value
        with context.in_use():
            return await self.rendezvous.take(context.id, key)

    def _refuse_foreign_steps(self, rpc: str, items: Sequence[Item]) -> None:
        # A _Send under another identity's step would feed its receivers, and cleaning
        # the step up would drop what was sent to them.
        if CALLER.get() is None:
            return
        for item in items:
            if isinstance(item, OpItem | CleanupItem) and item.step_id:
                step = item.step_id & _U64
                if not self._step_visible(step):
                    raise _not_your_step(rpc, step)

    def _step_visible(self, step: int) -> bool:
        """Whether ``step`` belongs to no context, or to one of the caller's: it is a
        context's id, or a step of a component or multi-task function run in it."""
        if step in self._contexts:
            return self._visible(step)
        for context_id, context in self._contexts.items():
            if context.owns_step(step):
                return self._visible(context_id)
        return True

    def _visible(self, context_id: int) -> bool:
        # Without authentication every owner and every caller is None: all is visible.
        return self._owners.get(context_id) == CALLER.get()

    def _check_incarnation(self, key: str) -> None:
        device, _, rest = key.partition(";")
        text = rest.partition(";")[0]
        try:
            if len(text) != 16:
                raise ValueError(text)
            incarnation = int(text, 16)
        except ValueError:
            raise InvalidArgumentError(
                f"RecvTensor: rendezvous key '{key}' is not "
                "<send device>;<incarnation as 16 hex digits>;<recv device>;<name>;<frame>"
            ) from None
        if incarnation != self.incarnation:
            raise AbortedError(
                f"RecvTensor expects a different device incarnation: {incarnation} vs. "
                f"{self.incarnation}. The task serving {device} was probably restarted; "
                "the tensor it was to send is gone."
            )

    def status(self) -> list[tf.DeviceAttributes]:
        """What ``WorkerService/GetStatus`` reports: the devices named by the options."""
        return self.device_attributes(WorkerDevices(job=self.options.job, task=self.options.task))

    async def keep_alive(self, context_id: int) -> int:
        """Postpone the context's collection; returns its view id."""
        return self.context(context_id).view_id

    async def close_context(self, context_id: int, view_id: int = 0) -> None:
        """Close a context; unknown ids and stale view ids are ignored (idempotent)."""
        context = self._contexts.get(context_id)
        if context is None or not self._visible(context_id):
            return
        if view_id and view_id < context.view_id:
            return
        await self._drop(context_id, "the client closed the context")

    async def _drop(self, context_id: int, reason: str) -> None:
        context = self._contexts.pop(context_id, None)
        self._owners.pop(context_id, None)
        if context is not None:
            await context.close(f"context {context_id} is gone: {reason}")
            logger.info("closed context %d: %s", context_id, reason)

    def _devices(self, server_def: tf.ServerDef | None) -> WorkerDevices:
        if server_def is None or not server_def.job_name:
            return WorkerDevices(job=self.options.job, task=self.options.task)
        if server_def.task_index < 0 or server_def.replica < 0:
            raise InvalidArgumentError(
                f"ServerDef task_index ({server_def.task_index}) and replica "
                f"({server_def.replica}) must not be negative"
            )
        return WorkerDevices(
            job=server_def.job_name, task=server_def.task_index, replica=server_def.replica
        )

    async def _cluster(
        self,
        server_def: tf.ServerDef | None,
        devices: WorkerDevices,
        cluster_devices: Sequence[tf.DeviceAttributes],
    ) -> ClusterView:
        # Our own incarnations are known whatever the client sent.
        build = functools.partial(
            ClusterView.from_server_def,
            server_def,
            local=(devices.job, devices.task),
            devices=[*cluster_devices, *self.device_attributes(devices)],
        )
        tasks = 0 if server_def is None or server_def.cluster is None else sum(
            len(job.tasks) for job in server_def.cluster.job
        )  # fmt: skip
        if tasks + len(cluster_devices) <= _CLUSTER_BUILT_ON_LOOP:
            return build()
        return await asyncio.to_thread(build)  # 100,000 devices take a third of a second

    def _fresh_id(self) -> int:
        while True:
            candidate = secrets.randbits(64)
            if candidate and candidate not in self._contexts:
                return candidate

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.options.gc_interval)
            try:
                await self.sweep(time.monotonic())
            except Exception:  # a bug must not stop collection for good
                logger.exception("keep-alive sweep failed")

    async def sweep(self, now: float) -> None:
        """Close every context whose keep-alive ran out by ``now``; a context that
        cannot be judged (a bug) is logged and skipped, never stops the sweep."""
        for context_id, context in list(self._contexts.items()):
            try:
                if context.expired(now):
                    await self._drop(
                        context_id, f"no request for more than {context.keep_alive_secs} s"
                    )
            except Exception:
                logger.exception("keep-alive sweep of context %d failed", context_id)


def _not_your_step(rpc: str, step: int) -> ContextNotFoundError:
    # Answered at once, the same whether or not a value was sent under the step: the
    # caller learns only that it is not one of its own (it had to know the 64-bit id),
    # and nothing of the owner's is taken or disturbed.
    return ContextNotFoundError(
        f"{rpc}: step {step} belongs to another client's context, so nothing of it is "
        "yours to send, receive or clean up. Use your own context's id, or a step of your "
        "own (a fresh random func_step_id)."
    )
