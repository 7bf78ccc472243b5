"""The client side of a soak (benchmarks/soak.py): one loop per context slot, each sending
what a TensorFlow client sends and checking every value it reads back against NumPy.

An iteration: two tensors sent (a send_tensor item, or the 2018 SendTensor RPC), MatMul,
AddV2 with an inline bias, Reshape, a call of the registered function ``SoakStep``
(``x * y + x``), a variable created, assigned, assign-added and read, the function's and
the read's values fetched and compared, and every handle released. Every tenth iteration
adds the failures a client meets (a read of a variable never assigned, a MatMul of
mismatched shapes), which must answer exactly their expected statuses.

A slot's profile picks sync or async, the transport (``client``: ``EagerClient`` one op
per Enqueue; ``stream``: the iteration as one StreamingEnqueue; ``seed``: the 2018
SendTensor and RegisterFunction RPCs) and the lifecycle (``long``: one context for the
whole run; ``recycle``: closed and created again every few iterations, on a new connection
every other time; ``expire``: goes silent holding a handle until its keep-alive runs out,
expects ABORTED, and starts over).

>>> [p.name for p in profiles(4)]
['0:sync/client/long', '1:async/stream/long', '2:sync/seed/recycle', '3:async/client/expire']
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from eager_async._proto import tensorflow as tf
from eager_async._proto.tensorflow import eager as pb
from eager_async.attrs import encode_attr
from eager_async.client import EagerClient, RemoteContext, RemoteTensor
from eager_async.tensors import decode_tensor, encode_shape, encode_tensor

__all__ = ["Counters", "Plan", "Profile", "Slot", "profiles"]

T = TypeVar("T")
F32 = np.dtype(np.float32)
FUNCTION = "SoakStep"
_TRANSPORTS = ("client", "stream", "seed", "client")
# Op ids of items built here, above those RemoteContext counts up from 1.
_RAW_IDS = 1 << 40
_MAX_SAMPLES = 20


@dataclass(frozen=True, slots=True)
class Profile:
    """What one slot does: sync or async, its transport and its lifecycle."""

    slot: int
    is_async: bool
    transport: str
    lifecycle: str

    @property
    def name(self) -> str:
        mode = "async" if self.is_async else "sync"
        return f"{self.slot}:{mode}/{self.transport}/{self.lifecycle}"


def profiles(contexts: int) -> list[Profile]:
    """Half sync, half async; transports in the ratio 2 client : 1 stream : 1 seed, each
    in both modes; every third slot recycles its context; the last slot lets its
    keep-alive expire from 4 contexts on, the last two from 20."""
    expiring = 2 if contexts >= 20 else 1 if contexts >= 4 else 0
    result = []
    for slot in range(contexts):
        lifecycle = "recycle" if slot % 3 == 2 else "long"
        if slot >= contexts - expiring:
            lifecycle = "expire"
        # Every transport in both modes within 8 slots, and each in the first 3.
        transport = _TRANSPORTS[slot % len(_TRANSPORTS)]
        result.append(Profile(slot, (slot + slot // 4) % 2 == 1, transport, lifecycle))
    return result


@dataclass(frozen=True, slots=True)
class Plan:
    """The rhythm of every slot (seconds, or iterations where it says so)."""

    pause: float = 0.05  # think time between iterations, jittered 0-2x
    timeout: float = 60.0  # an iteration taking longer is an error
    error_every: int = 10  # iterations between the expected failures
    keep_alive_every: int = 20  # iterations between KeepAlive RPCs (long-lived contexts)
    wait_every: int = 5  # iterations between WaitQueueDone-for-everything (async)
    big_every: int = 50  # iterations between ones with 128x512 matrices
    recycle_every: int = 25  # iterations a recycled context lives
    expire_keep_alive: int = 3  # keep_alive_secs of an expiring slot's contexts
    expire_idle: float = 7.0  # silence before its keep-alive must have run out
    expire_active: float = 20.0  # traffic between two silences


@dataclass(slots=True)
class Counters:
    """What the slots did, summed with ``+=``. ``latencies`` holds (seconds since the
    start, seconds the iteration took)."""

    iterations: int = 0
    ops: int = 0
    tensors_sent: int = 0
    rpcs: int = 0
    fetches: int = 0
    mismatches: int = 0
    contexts_created: int = 0
    contexts_closed: int = 0
    contexts_expired: int = 0
    reconnects: int = 0
    expected_errors: Counter[str] = field(default_factory=Counter)
    unexpected_errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)  # the first unexpected errors, mismatches
    latencies: list[tuple[float, float]] = field(default_factory=list)

    def __iadd__(self, other: Counters) -> Counters:
        for name in ("iterations", "ops", "tensors_sent", "rpcs", "fetches", "mismatches",
                     "contexts_created", "contexts_closed", "contexts_expired", "reconnects"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.expected_errors += other.expected_errors
        self.unexpected_errors += other.unexpected_errors
        self.samples.extend(other.samples[: _MAX_SAMPLES - len(self.samples)])
        self.latencies.extend(other.latencies)
        return self

    def note(self, text: str) -> None:
        if len(self.samples) < _MAX_SAMPLES:
            self.samples.append(text)


class UnexpectedReply(Exception):
    """The worker answered something other than what the scenario expects."""


@dataclass(frozen=True, slots=True)
class Inputs:
    """One iteration's tensors and the values NumPy says the worker must return."""

    a: np.ndarray
    b: np.ndarray
    bias: np.ndarray
    shape: tuple[int, int]
    f: np.ndarray
    r: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, big: bool) -> Inputs:
        m, k, n = (128, 512, 128) if big else (int(x) for x in rng.integers(1, 33, size=3))
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        bias = rng.standard_normal(n).astype(np.float32)
        e = (a @ b + bias).reshape(n, m)
        f = e * e + e
        return cls(a, b, bias, (n, m), f, e + f)


def soak_function() -> tf.FunctionDef:
    """``SoakStep(x, y) = x * y + x``, a tf.function-like body with a type placeholder."""
    def node(name: str, op: str, *inputs: str) -> tf.NodeDef:
        return tf.NodeDef(name=name, op=op, input=list(inputs),
                          attr={"T": tf.AttrValue(placeholder="T")})
    return tf.FunctionDef(
        signature=tf.OpDef(
            name=FUNCTION,
            input_arg=[tf.OpDefArgDef(name=n, type_attr="T") for n in ("x", "y")],
            output_arg=[tf.OpDefArgDef(name="out", type_attr="T")],
            attr=[tf.OpDefAttrDef(name="T", type="type")],
        ),
        node_def=[node("mul", "Mul", "x", "y"), node("add", "AddV2", "mul:z:0", "x")],
        ret={"out": "add:z:0"},
    )


def _handle(op_id: int, output_num: int = 0) -> pb.RemoteTensorHandle:
    return pb.RemoteTensorHandle(op_id=op_id, output_num=output_num)


def _op(op_id: int, name: str, *inputs: pb.RemoteTensorHandle | np.ndarray,
        attrs: dict[str, Any] | None = None) -> pb.QueueItem:
    return pb.QueueItem(operation=pb.Operation(
        id=op_id, name=name,
        op_inputs=[pb.OperationInput(remote_handle=x) if isinstance(x, pb.RemoteTensorHandle)
                   else pb.OperationInput(tensor=encode_tensor(x)) for x in inputs],
        attrs={key: encode_attr(value) for key, value in (attrs or {}).items()},
    ))


def _variable(shape: tuple[int, ...]) -> dict[str, Any]:
    return {"dtype": F32, "shape": encode_shape(shape)}


class Slot:
    """One client context slot; ``traffic()`` runs it until ``stop``, ``close()`` ends it."""

    def __init__(self, profile: Profile, host: str, port: int, plan: Plan, *,
                 started: float, seed: int) -> None:
        self.profile = profile
        self.counters = Counters()
        self._host, self._port = host, port
        self._plan = plan
        self._started = started
        self._rng = np.random.default_rng(seed)
        self._random = random.Random(seed)
        self._client: EagerClient | None = None
        self._context: RemoteContext | None = None
        self._context_born = 0.0
        self._recycled = 0
        self._ids: Iterator[int] = itertools.count(_RAW_IDS)

    async def traffic(self, stop: asyncio.Event) -> None:
        """Iterate until ``stop`` is set, ending with every handle released (an expiring
        slot caught in its silence closes its context instead)."""
        iteration = 0
        while not stop.is_set():
            iteration += 1
            try:
                async with asyncio.timeout(self._plan.timeout):
                    if self._context is None:
                        await self._open()
                    await self._iteration(iteration)
                    if self.profile.lifecycle == "expire" and (
                        time.monotonic() - self._context_born >= self._plan.expire_active
                    ):
                        await self._let_expire(stop)
                    elif self.profile.lifecycle == "recycle" and (
                        iteration % self._plan.recycle_every == 0
                    ):
                        await self._recycle()
            except Exception as error:  # counted; the slot starts over on a fresh context
                self._unexpected(error)
                await self._abandon()
            await asyncio.sleep(self._plan.pause * self._random.uniform(0, 2))

    async def close(self) -> None:
        """Close the context (if any) and the connection."""
        try:
            if self._context is not None:
                async with asyncio.timeout(self._plan.timeout):
                    await self._rpc(self._context.close())
                self.counters.contexts_closed += 1
        except Exception as error:
            self._unexpected(error)
        finally:
            self._context = None
            if self._client is not None:
                self._client.close()
                self._client = None

    async def _rpc(self, call: Awaitable[T]) -> T:
        self.counters.rpcs += 1
        return await call

    async def _open(self) -> None:
        if self._client is None:
            self._client = EagerClient(self._host, self._port)
        keep_alive = (self._plan.expire_keep_alive if self.profile.lifecycle == "expire"
                      else 600)
        context = await self._rpc(self._client.create_context(
            is_async=self.profile.is_async, keep_alive_secs=keep_alive))
        self._context, self._context_born = context, time.monotonic()
        self._ids = itertools.count(_RAW_IDS)
        self.counters.contexts_created += 1
        if self.profile.transport == "seed":
            await self._rpc(context.stub.register_function(pb.RegisterFunctionRequest(
                context_id=context.id, function_def=soak_function())))
        else:
            await self._rpc(context.register_function(soak_function()))

    async def _abandon(self) -> None:
        # After an unexpected error the context's state is unknown: close it (freeing
        # whatever this iteration held) and start over on a new connection.
        context, client = self._context, self._client
        self._context = self._client = None
        try:
            if context is not None:
                async with asyncio.timeout(self._plan.timeout):
                    await self._rpc(context.close())
                self.counters.contexts_closed += 1
        except Exception as error:
            self._unexpected(error)
        finally:
            if client is not None:
                client.close()

    async def _recycle(self) -> None:
        assert self._context is not None
        await self._rpc(self._context.close())
        self.counters.contexts_closed += 1
        self._context = None
        self._recycled += 1
        if self._recycled % 2 == 0 and self._client is not None:
            self._client.close()
            self._client = None
            self.counters.reconnects += 1
        await self._open()

    async def _let_expire(self, stop: asyncio.Event) -> None:
        """Hold a handle and go silent until the keep-alive must have run out; the
        release that follows must find the context gone (ABORTED)."""
        context = self._context
        assert context is not None
        (held,) = await self._rpc(context.send(np.ones(4, np.float32)))
        self.counters.tensors_sent += 1
        silent = True
        try:
            await asyncio.wait_for(stop.wait(), self._plan.expire_idle)
            silent = False  # the run ends: the context may or may not be gone yet
        except TimeoutError:
            pass
        try:
            await self._rpc(context.release(held))
        except GRPCError as error:
            if error.status is not Status.ABORTED:
                raise
            self.counters.expected_errors[Status.ABORTED.name] += 1
            self.counters.contexts_expired += 1
            self._context = None
        else:
            if silent:
                raise UnexpectedReply(
                    f"context {context.id} still answered after {self._plan.expire_idle} s "
                    f"of silence (keep-alive {self._plan.expire_keep_alive} s)")

    async def _iteration(self, iteration: int) -> None:
        context = self._context
        assert context is not None
        inputs = Inputs.draw(self._rng, big=iteration % self._plan.big_every == 0)
        began = time.monotonic()
        if self.profile.transport == "stream":
            f, r = await self._streamed(context, inputs)
        else:
            f, r = await self._one_by_one(context, inputs)
        self.counters.latencies.append((began - self._started, time.monotonic() - began))
        self.counters.iterations += 1
        self.counters.tensors_sent += 2
        self.counters.ops += 10  # 8 ops and 2 fetches
        self.counters.fetches += 2
        self._check("SoakStep", f, inputs.f)
        self._check("ReadVariableOp", r, inputs.r)
        if iteration % self._plan.error_every == 0:
            await self._failures(context)
        if self.profile.is_async and iteration % self._plan.wait_every == 0:
            await self._rpc(context.wait())
        if self.profile.lifecycle != "expire" and iteration % self._plan.keep_alive_every == 0:
            await self._rpc(context.keep_alive())

    async def _one_by_one(self, context: RemoteContext,
                          x: Inputs) -> tuple[np.ndarray, np.ndarray]:
        rpc = self._rpc
        if self.profile.transport == "seed":
            op_id = next(self._ids)
            await rpc(context.stub.send_tensor(pb.SendTensorRequest(
                context_id=context.id, op_id=op_id,
                tensors=[encode_tensor(x.a), encode_tensor(x.b)])))
            a, b = RemoteTensor(op_id, 0), RemoteTensor(op_id, 1)
        else:
            a, b = await rpc(context.send(x.a, x.b))
        (c,) = await rpc(context.run("MatMul", [a, b]))
        (d,) = await rpc(context.run("AddV2", [c, x.bias]))
        (e,) = await rpc(context.run("Reshape", [d, np.array(x.shape, np.int32)]))
        (f,) = await rpc(context.run(FUNCTION, [e, e]))
        (v,) = await rpc(context.run("VarHandleOp", [], _variable(x.shape)))
        await rpc(context.run("AssignVariableOp", [v, e]))
        await rpc(context.run("AssignAddVariableOp", [v, f]))
        (r,) = await rpc(context.run("ReadVariableOp", [v], {"dtype": F32}))
        got_f = await rpc(context.fetch(f))
        got_r = await rpc(context.fetch(r))
        await rpc(context.release(a, b, c, d, e, f, v, r))
        return got_f, got_r

    async def _streamed(self, context: RemoteContext,
                        x: Inputs) -> tuple[np.ndarray, np.ndarray]:
        s, c, d, e, f, v, assign, add, r = (next(self._ids) for _ in range(9))
        h = _handle
        steps = [
            [pb.QueueItem(send_tensor=pb.SendTensorOp(
                op_id=s, tensors=[encode_tensor(x.a), encode_tensor(x.b)]))],
            [_op(c, "MatMul", h(s, 0), h(s, 1))],
            [_op(d, "AddV2", h(c), x.bias)],
            [_op(e, "Reshape", h(d), np.array(x.shape, np.int32))],
            [_op(f, FUNCTION, h(e), h(e))],
            [_op(v, "VarHandleOp", attrs=_variable(x.shape))],
            [_op(assign, "AssignVariableOp", h(v), h(e))],
            [_op(add, "AssignAddVariableOp", h(v), h(f))],
            [_op(r, "ReadVariableOp", h(v), attrs={"dtype": F32})],
            [_op(-1, "Identity", h(f)), _op(-1, "Identity", h(r))],
            [pb.QueueItem(handle_to_decref=h(op_id, n)) for op_id, n in
             ((s, 0), (s, 1), (c, 0), (d, 0), (e, 0), (f, 0), (v, 0), (r, 0))],
        ]
        requests = [pb.EnqueueRequest(context_id=context.id, queue=items) for items in steps]
        self.counters.rpcs += 1
        replies = [reply async for reply in context.stub.streaming_enqueue(requests)]
        if len(replies) != len(requests):
            raise UnexpectedReply(f"StreamingEnqueue answered {len(replies)} of "
                                  f"{len(requests)} requests")
        fetched = replies[9].queue_response
        return decode_tensor(fetched[0].tensor[0]), decode_tensor(fetched[1].tensor[0])

    async def _failures(self, context: RemoteContext) -> None:
        """What a client meets: each must fail with exactly its status, and the handles
        of the failed ops are released all the same, as TF's client does."""
        variable, read, product = (next(self._ids) for _ in range(3))
        await self._rpc(context.enqueue(_op(variable, "VarHandleOp", attrs=_variable((2,)))))
        self.counters.ops += 1

        async def read_unassigned() -> None:
            await self._rpc(context.enqueue(
                _op(read, "ReadVariableOp", _handle(variable), attrs={"dtype": F32})))
            # Async: reported once by the next WaitQueueDone for everything. (Not by one
            # naming the op: that may answer before the failure is recorded, and the next
            # WaitQueueDone reports it again, a race of the worker's.)
            if self.profile.is_async:
                await self._rpc(context.wait())

        await self._expect(Status.FAILED_PRECONDITION, read_unassigned())
        await self._expect(Status.INVALID_ARGUMENT, self._rpc(context.enqueue(_op(
            product, "MatMul", np.zeros((2, 3), np.float32), np.zeros((4, 5), np.float32)))))
        self.counters.ops += 2
        await self._rpc(context.release(*(RemoteTensor(i, 0) for i in (variable, read, product))))

    async def _expect(self, status: Status, call: Awaitable[Any]) -> None:
        try:
            await call
        except GRPCError as error:
            if error.status is not status:
                raise
            self.counters.expected_errors[status.name] += 1
        else:
            raise UnexpectedReply(f"expected {status.name}, the worker answered OK")

    def _check(self, what: str, got: np.ndarray, expected: np.ndarray) -> None:
        if (got.dtype != expected.dtype or got.shape != expected.shape
                or not np.allclose(got, expected, rtol=1e-4, atol=1e-4)):
            self.counters.mismatches += 1
            self.counters.note(f"{self.profile.name}: {what} mismatch: got {got.dtype}"
                               f"{got.shape}, expected {expected.dtype}{expected.shape}")

    def _unexpected(self, error: BaseException) -> None:
        if isinstance(error, GRPCError):
            kind = error.status.name
            text = f"{kind}: {error.message}"
        else:
            kind = type(error).__name__
            text = f"{kind}: {error}"
        self.counters.unexpected_errors[kind] += 1
        self.counters.note(f"{self.profile.name}: {text[:300]}")
