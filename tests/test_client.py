"""The client (eager_async.client) against a real worker: remote tensors and their
operators, batching, errors, releases, timeouts, TLS and tokens."""

from __future__ import annotations

import asyncio
import doctest
import gc
import importlib
import operator
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trustme
from conftest import Gate
from grpclib.events import RecvRequest, SendMessage, listen

from eager_async import EagerClient, EagerServer, Security
from eager_async._proto.tensorflow import eager as pb
from eager_async.client import BatchOptions, RemoteContext
from eager_async.errors import (
    CancelledError,
    DeadlineExceededError,
    EagerError,
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    StatusCode,
    UnauthenticatedError,
    UnavailableError,
    error_for_status,
)
from eager_async.queue_items import EnqueueRequest
from eager_async.remote_tensor import RemoteTensor
from eager_async.tensors import encode_shape, encode_tensor

TOKEN = "token-of-the-client-0123456789"


@pytest.fixture
async def client(server: EagerServer) -> AsyncIterator[EagerClient]:
    async with EagerClient("127.0.0.1", server.port) as opened:
        yield opened


@pytest.fixture(params=[False, True], ids=["sync", "async"])
async def ctx(request: pytest.FixtureRequest, client: EagerClient) -> AsyncIterator[RemoteContext]:
    async with client.context(is_async=request.param) as context:
        yield context


def live_ops(server: EagerServer, context: RemoteContext) -> int:
    """How many ops the worker holds handles of (or runs) in ``context``."""
    return server.runtime.context(context.id).live_ops


# Operators, against NumPy.

BINARY: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("+", operator.add), ("-", operator.sub), ("*", operator.mul), ("/", operator.truediv),
    ("**", operator.pow), ("<", operator.lt), ("<=", operator.le), (">", operator.gt),
    (">=", operator.ge), ("==", operator.eq), ("!=", operator.ne), ("//", operator.floordiv),
    ("%", operator.mod),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
@pytest.mark.parametrize(("name", "apply"), BINARY, ids=[n for n, _ in BINARY])
async def test_binary_operators_match_numpy(
    ctx: RemoteContext, dtype: type, name: str, apply: Callable[[Any, Any], Any]
) -> None:
    x = np.array([[1, 2, 3], [4, 5, 6]], dtype)
    y = np.array([3, 2, 1], dtype)
    a, b = ctx.constant(x), ctx.constant(y)
    cases = [(apply(a, b), apply(x, y)), (apply(a, 2), apply(x, dtype(2))),
             (apply(3, a), apply(dtype(3), x)), (apply(y, a), apply(y, x))]
    for remote, expected in cases:
        assert remote.dtype == expected.dtype and remote.shape == expected.shape
        got = await remote
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.complex64])
async def test_unary_operators_and_matmul(ctx: RemoteContext, dtype: type) -> None:
    x = np.arange(6).reshape(2, 3).astype(dtype)
    a = ctx.constant(x)
    assert np.array_equal(await (-a), -x)
    assert np.array_equal(await abs(a - 2), np.abs(x - 2))
    product = a @ a.T
    assert product.shape == (2, 2)
    np.testing.assert_allclose(await product, x @ x.T)
    batched = ctx.constant(np.stack([x, x + 1]))
    result = batched @ a.T
    assert result.shape == (2, 2, 2)
    np.testing.assert_allclose(await result, np.stack([x, x + 1]) @ x.T)


async def test_integer_division_is_true_division_as_in_tf(ctx: RemoteContext) -> None:
    a = ctx.constant(np.array([1, 2, 3], np.int32))
    half = a / 2
    assert half.dtype == np.float64
    assert np.array_equal(await half, [0.5, 1.0, 1.5])
    small = ctx.constant(np.array([1, 4], np.int16)) / np.int16(8)
    assert (await small).dtype == np.float32


SLICES: list[Any] = [
    1, -1, slice(1, 3), slice(None, None, -1), (slice(None), 1), (Ellipsis, 0),
    (None, slice(1, None)), (1, slice(None, None, 2)), (slice(-2, None), slice(None, -1)),
    (0, -1, 1), (slice(None), None, 2), (Ellipsis,), (slice(3, 1, -1), Ellipsis, None),
]


@pytest.mark.parametrize("key", SLICES, ids=[repr(k) for k in SLICES])
async def test_indexing_and_slicing_match_numpy(ctx: RemoteContext, key: Any) -> None:
    x = np.arange(60, dtype=np.float32).reshape(4, 5, 3)
    sliced = ctx.constant(x)[key]
    expected = x[key]
    assert sliced.shape == expected.shape
    got = await sliced
    assert got.shape == expected.shape and np.array_equal(got, expected)


async def test_bad_indices_are_refused(ctx: RemoteContext) -> None:
    a = ctx.constant(np.arange(4))
    with pytest.raises(TypeError, match="ints, slices"):
        a[[0, 1]]
    with pytest.raises(ValueError, match="step cannot be zero"):
        a[::0]
    with pytest.raises(InvalidArgumentError):
        await a[7]  # the worker's words, as TF's


async def test_shaping_and_reductions(ctx: RemoteContext) -> None:
    x = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    a = ctx.constant(x)
    assert np.array_equal(await a.reshape(4, -1), x.reshape(4, -1))
    assert a.reshape((6, -1)).shape == (6, 4)
    assert np.array_equal(await a.T, x.T)
    assert np.array_equal(await a.transpose([1, 0, 2]), x.transpose(1, 0, 2))
    for axis in (None, 0, -1, (0, 2)):
        for keepdims in (False, True):
            for method in ("sum", "max", "min"):
                remote = getattr(a, method)(axis=axis, keepdims=keepdims)
                expected = getattr(x, method)(axis=axis, keepdims=keepdims)
                assert remote.shape == np.shape(expected)
                assert np.array_equal(await remote, expected)
    assert await ctx.constant(x.astype(np.float32)).mean(axis=1) == pytest.approx(
        x.mean(axis=1))
    assert np.array_equal(await a.mean(), np.int64(x.sum() // x.size))  # TF truncates
    assert (await a.astype(np.float32)).dtype == np.float32


async def test_python_values_take_the_tensor_dtype_or_are_refused(ctx: RemoteContext) -> None:
    floats = ctx.constant(np.ones(2, np.float32))
    assert (floats + 1).dtype == np.float32
    assert (await (floats + np.float64(0.5))).dtype == np.float32
    ints = ctx.constant(np.ones(2, np.int32))
    with pytest.raises(TypeError, match="without changing it"):
        ints + 2.5
    with pytest.raises(TypeError, match="without changing it"):
        floats + "abc"
    with pytest.raises(TypeError, match="without changing it"):
        ints + 2**40
    assert (ints == None) is False and (ints != None) is True  # noqa: E711  (identity)


async def test_values_that_cannot_be_sent_are_refused_at_once(ctx: RemoteContext) -> None:
    with pytest.raises(InvalidArgumentError, match="no TF equivalent"):
        ctx.constant(np.array(["text"]))  # NumPy's fixed-width strings
    a = ctx.constant(np.ones(2))
    with pytest.raises(InvalidArgumentError, match="no TF equivalent"):
        ctx.op("AddV2", [a, np.array(["x", "y"])])
    with pytest.raises(InvalidArgumentError, match="cannot encode"):
        ctx.op("Cast", [a], {"DstT": object()})
    assert np.array_equal(await a, [1.0, 1.0])  # nothing half-queued


async def test_mixed_dtypes_fail_on_the_tensor(ctx: RemoteContext) -> None:
    mixed = ctx.constant(np.ones(2, np.float32)) + ctx.constant(np.ones(2, np.int32))
    with pytest.raises(InvalidArgumentError, match="AddV2"):
        await mixed


async def test_a_tensor_is_fetched_by_await_only(ctx: RemoteContext) -> None:
    a = ctx.constant([1.0, 2.0])
    with pytest.raises(TypeError, match="await tensor"):
        np.asarray(a)
    with pytest.raises(TypeError, match="truth value"):
        bool(a)
    assert np.array_equal(await a.numpy(), [1.0, 2.0])
    assert np.array_equal(np.asarray(a), [1.0, 2.0])  # fetched: the cached value
    assert "fetched" in repr(a)
    rows = [await row for row in ctx.constant(np.eye(2))]
    assert len(rows) == 2 and np.array_equal(rows[1], [0.0, 1.0])


async def test_generic_ops_know_their_dtypes(ctx: RemoteContext) -> None:
    a = ctx.constant(np.zeros((2, 3), np.float32))
    (shape,) = ctx.op("Shape", [a])
    assert shape.dtype == np.int32 and np.array_equal(await shape, [2, 3])
    (cast,) = ctx.op("Cast", [a], {"DstT": np.float16})
    assert cast.dtype == np.float16
    parts = ctx.op("Unpack", [a], {"num": 2})
    assert [p.dtype for p in parts] == [np.float32, np.float32]
    assert parts[1].shape is None  # until the worker answers
    await ctx.flush()
    assert parts[1].shape == (3,)
    values, index = ctx.op("Unique", [ctx.constant(np.array([3, 3, 1]))])
    assert values.dtype == np.int64 and index.dtype == np.int32
    assert np.array_equal(await values, [3, 1])


async def test_a_value_that_cannot_be_fetched_fails_alone(ctx: RemoteContext) -> None:
    (variable,) = ctx.op("VarHandleOp", [], {"dtype": np.float32, "shape": encode_shape([])})
    ctx.op("AssignVariableOp", [variable, np.float32(3)])
    (read,) = ctx.op("ReadVariableOp", [variable], {"dtype": np.float32})
    fetched = await asyncio.gather(variable.numpy(), read.numpy(), return_exceptions=True)
    assert isinstance(fetched[0], InvalidArgumentError) and "DT_RESOURCE" in str(fetched[0])
    assert fetched[1] == 3


async def test_unknown_ops(ctx: RemoteContext) -> None:
    with pytest.raises(ValueError, match="num_outputs"):
        ctx.op("NoSuchOp", [])
    (out,) = ctx.op("NoSuchOp", [], num_outputs=1)
    assert out.dtype is None
    with pytest.raises(NotFoundError, match="NoSuchOp"):
        await out
    with pytest.raises(NotFoundError):
        await ctx.run("NoSuchOp", [])


# Batching.


async def test_many_ops_go_in_one_request(server: EagerServer, client: EagerClient) -> None:
    sent: list[Any] = []
    calls: list[str] = []

    async def on_send(event: SendMessage) -> None:
        sent.append(event.message)

    async def on_call(event: RecvRequest) -> None:
        calls.append(event.method_name)

    listen(client.channel, SendMessage, on_send)
    listen(server._server, RecvRequest, on_call)  # type: ignore[arg-type]
    async with client.context() as ctx:
        before = len(sent)
        x = ctx.constant(np.float32(0))
        for _ in range(1000):
            x = x + 1
        assert await x == 1000
        await ctx.flush()
        enqueued = [m for m in sent[before:] if isinstance(m, EnqueueRequest)]
        ops = [[i.operation.name for i in m.queue if i.HasField("operation")] for m in enqueued]
        assert [len(names) for names in ops if names] == [1000, 1]  # AddV2s, then IdentityN
        assert len(enqueued[0].queue) == 1001  # with the constant
        # Each x but the last was dropped: released (with the constant), in one request.
        releases = [sum(1 for i in m.queue if i.HasField("handle_to_decref")) for m in enqueued]
        assert sum(releases) == 1000 and max(releases) == 1000
        assert len(enqueued) == ctx.requests_sent == 3
    assert calls.count("/tensorflow.eager.EagerService/StreamingEnqueue") == 1


async def test_max_batch_splits_and_in_flight_is_bounded(client: EagerClient) -> None:
    options = BatchOptions(max_batch=100, max_in_flight=2)
    async with client.context(is_async=True, batch=options) as ctx:
        outs = [ctx.constant(np.int32(i)) * 2 for i in range(250)]
        values = await asyncio.gather(*(o.numpy() for o in outs))
        assert [int(v) for v in values] == [2 * i for i in range(250)]
        # 500 items in requests of 100, and 250 fetches in IdentityNs of up to 100.
        assert 8 <= ctx.requests_sent <= 9


async def test_a_batch_window_gathers_across_awaits(client: EagerClient) -> None:
    async with client.context(batch=BatchOptions(batch_window=0.05)) as ctx:
        first = ctx.constant(np.int32(1))
        await asyncio.sleep(0)
        second = first + 1
        assert int(await second) == 2
        assert ctx.requests_sent == 2  # the constant and the op, then the fetch


def test_batch_options_are_checked() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        BatchOptions(max_batch=0)
    with pytest.raises(ValueError, match="batch_window"):
        BatchOptions(batch_window=-1)


# Errors: on the failed tensor and its dependants only.


async def test_an_error_reaches_dependants_and_not_unrelated(ctx: RemoteContext) -> None:
    a = ctx.constant(np.arange(6, dtype=np.float32))
    bad = a.reshape(4, 5)
    dependant = (bad + 1).sum()
    unrelated = a * 2
    later = a - 1  # issued in the same batch, after the failing op
    with pytest.raises(InvalidArgumentError, match=r"Reshape \(op id \d+\): Input to reshape"):
        await bad
    with pytest.raises(InvalidArgumentError, match="which failed: Reshape") as caught:
        await dependant
    assert caught.value.code is StatusCode.INVALID_ARGUMENT
    assert np.array_equal(await unrelated, np.arange(6) * 2)
    assert np.array_equal(await later, np.arange(6) - 1)
    with pytest.raises(InvalidArgumentError):
        await (bad * 3)  # issued after the failure was known: never sent
    assert np.array_equal(await (a + 1), np.arange(6) + 1)


async def test_a_value_awaited_before_a_failure_in_its_batch_is_known(ctx: RemoteContext) -> None:
    # The fetch of `later` is in flight behind the request that fails: it must be sent
    # again after `later` itself, which the failure kept from running.
    a = ctx.constant(np.arange(6, dtype=np.float32))
    bad = a.reshape(4, 5)
    later = a - 1
    assert np.array_equal(await later, np.arange(6) - 1)
    with pytest.raises(InvalidArgumentError, match=r"Reshape \(op id \d+\)"):
        await bad


async def test_a_failure_behind_an_answered_release_is_not_sent_twice(
    ctx: RemoteContext,
) -> None:
    # A release-only request is in flight ahead of the failing one, and grpclib drops its
    # reply when the worker resets the stream: the release must not be sent again (the
    # worker would refuse the unknown handle, failing everything after it).
    a = ctx.constant(np.arange(6, dtype=np.float32))
    total = (a * 2).sum()
    assert float(await total) == 30.0
    del total
    gc.collect()
    bad = a.reshape(4, 5)
    later = a - 1
    assert np.array_equal(await later, np.arange(6) - 1)
    with pytest.raises(InvalidArgumentError, match=r"Reshape \(op id \d+\)"):
        await bad


async def test_a_runtime_failure_in_an_async_context(server: EagerServer,
                                                     client: EagerClient) -> None:
    async with client.context(is_async=True) as ctx:
        x = ctx.constant(np.array([1.0, np.nan], np.float32))
        (checked,) = ctx.op("CheckNumerics", [x], {"message": "found it"})
        dependant = checked * 2
        unrelated = x + 1
        await ctx.flush()  # queued without an error: it fails when it runs
        assert not np.isnan((await unrelated)[0])
        with pytest.raises(InvalidArgumentError, match="found it") as caught:
            await dependant
        assert "Mul" in str(caught.value)
        with pytest.raises(InvalidArgumentError, match="found it"):
            await checked
        assert live_ops(server, ctx) >= 3


async def test_errors_of_the_low_level_calls_are_eager_errors(ctx: RemoteContext) -> None:
    with pytest.raises(InvalidArgumentError, match="MatMul"):
        await ctx.call("MatMul", [np.zeros((2, 3), np.float32), np.zeros((4, 5), np.float32)])
    (variable,) = await ctx.run("VarHandleOp", [], {"dtype": np.float32,
                                                    "shape": encode_shape([])})
    with pytest.raises(FailedPreconditionError):
        (read,) = await ctx.run("ReadVariableOp", [variable], {"dtype": np.float32})
        await ctx.wait(read)


def test_every_status_has_an_error_class() -> None:
    for code in StatusCode:
        if code is StatusCode.OK:
            with pytest.raises(ValueError):
                error_for_status(code, "fine")
            continue
        error = error_for_status(code, "message")
        assert isinstance(error, EagerError) and error.code is code and error.message == "message"


# Releases.


async def test_a_collected_tensor_is_released(server: EagerServer, ctx: RemoteContext) -> None:
    kept = ctx.constant(np.ones(3))
    dropped = [kept + i for i in range(5)]
    await ctx.flush()
    before = live_ops(server, ctx)
    assert before == 6
    del dropped
    gc.collect()
    await ctx.flush()
    assert live_ops(server, ctx) == 1
    assert np.array_equal(await kept, np.ones(3))


async def test_a_tensor_dropped_before_it_is_sent_is_released_after(
    server: EagerServer, ctx: RemoteContext
) -> None:
    x = ctx.constant(np.ones(2))
    (x + 1).sum()  # dropped at once: its release must wait for the op's reply
    gc.collect()
    await ctx.flush()
    assert live_ops(server, ctx) == 1
    del x
    gc.collect()
    await ctx.flush()
    assert live_ops(server, ctx) == 0


async def test_close_releases_everything(server: EagerServer, client: EagerClient) -> None:
    ctx = await client.create_context()
    tensors = [ctx.constant(np.ones(4)) * i for i in range(10)]
    await ctx.flush()
    assert live_ops(server, ctx) == 10  # the constants were dropped: released
    pending = tensors[0] + 1
    await ctx.close()
    assert ctx.id not in server.runtime.context_ids
    with pytest.raises(CancelledError, match="closed"):
        await pending
    with pytest.raises(CancelledError, match="closed"):
        ctx.constant(1)
    del tensors
    gc.collect()  # releases after close send nothing


async def test_release_by_hand_and_bare_handles(server: EagerServer, ctx: RemoteContext) -> None:
    a, b = await ctx.send(np.ones(2), np.zeros(2))
    await ctx.release(a, b)
    assert live_ops(server, ctx) == 0
    del a, b
    gc.collect()
    await ctx.flush()  # no second release: it would be an error
    await ctx.enqueue(pb.QueueItem(send_tensor=pb.SendTensorOp(
        op_id=1000, tensors=[encode_tensor(np.ones(1))])))
    bare = RemoteTensor(1000, 0)
    with pytest.raises(TypeError, match="bare handle"):
        bare + 1
    await ctx.release(bare)


# Timeouts.


async def test_a_fetch_times_out_with_deadline_exceeded(client: EagerClient, gate: Gate) -> None:
    async with client.context(is_async=True) as ctx:
        x = ctx.constant(np.float32(1))
        (held,) = ctx.op("_TestGate", [x], num_outputs=1)
        with pytest.raises(DeadlineExceededError, match=r"timeout of 0\.2 s") as caught:
            await held.numpy(timeout=0.2)
        assert caught.value.code is StatusCode.DEADLINE_EXCEEDED
        gate.opened.set()
        assert await held == 1


async def test_a_call_times_out_with_deadline_exceeded(client: EagerClient, gate: Gate) -> None:
    async with client.context(is_async=True) as ctx:
        held = pb.QueueItem(operation=pb.Operation(id=7, name="_TestGate", op_inputs=[
            pb.OperationInput(tensor=encode_tensor(np.float32(1)))]))
        await ctx.enqueue(held)  # raw: nothing queued in the client
        with pytest.raises(DeadlineExceededError, match="WaitQueueDone") as caught:
            await ctx.wait(timeout=0.2)  # the RPC's own deadline
        assert caught.value.code is StatusCode.DEADLINE_EXCEEDED
        gate.opened.set()
        await ctx.wait()


async def test_the_client_default_timeout(server: EagerServer, gate: Gate) -> None:
    async with (
        EagerClient("127.0.0.1", server.port, timeout=0.2) as client,
        client.context() as ctx,
    ):
        (held,) = ctx.op("_TestGate", [ctx.constant(np.float32(2))], num_outputs=1)
        with pytest.raises(DeadlineExceededError):
            await held
        gate.opened.set()
        assert await held.numpy(timeout=30) == 2


async def test_an_unreachable_worker_is_unavailable(unused_tcp_port: int) -> None:
    async with EagerClient("127.0.0.1", unused_tcp_port) as client:
        with pytest.raises(UnavailableError, match="cannot be reached"):
            await client.create_context()


# TLS and tokens.


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[trustme.CA, Path, Path]:
    ca = trustme.CA()
    directory = tmp_path_factory.mktemp("client-pki")
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(directory / "server.pem"))
    cert.private_key_pem.write_to_path(str(directory / "server.key"))
    return ca, directory / "server.pem", directory / "server.key"


def trusting(ca: trustme.CA | None) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if ca is not None:
        ca.configure_trust(context)
    context.set_alpn_protocols(["h2"])
    return context


async def test_tls_and_a_token_are_accepted(pki: tuple[trustme.CA, Path, Path]) -> None:
    ca, cert, key = pki
    security = Security(cert, key, None, frozenset({TOKEN}))
    async with (
        EagerServer("127.0.0.1", 0, threads=2, security=security) as server,
        EagerClient("127.0.0.1", server.port, ssl=trusting(ca), token=TOKEN) as client,
        client.context() as ctx,
    ):
        assert np.array_equal(await (ctx.constant([1, 2]) * 3), [3, 6])
        assert (await ctx.call("AddV2", [2.0, 3.0]))[0] == 5.0


async def test_a_wrong_token_or_untrusted_tls_is_refused(
    pki: tuple[trustme.CA, Path, Path]
) -> None:
    ca, cert, key = pki
    security = Security(cert, key, None, frozenset({TOKEN}))
    async with EagerServer("127.0.0.1", 0, threads=2, security=security) as server:
        async with EagerClient("127.0.0.1", server.port, ssl=trusting(ca),
                               token="not-the-token") as client:
            with pytest.raises(UnauthenticatedError, match="bearer token") as caught:
                await client.create_context()
            assert caught.value.code is StatusCode.UNAUTHENTICATED
            assert "not-the-token" not in str(caught.value)
        async with EagerClient("127.0.0.1", server.port, ssl=trusting(None),
                               token=TOKEN) as client:
            with pytest.raises(UnavailableError, match="TLS"):
                await asyncio.wait_for(client.create_context(), 30)
        assert server.runtime.context_ids == []


@pytest.mark.parametrize("module", [
    "eager_async.client", "eager_async.client_batcher", "eager_async.remote_tensor",
    "eager_async.remote_errors", "eager_async.op_outputs", "eager_async.errors",
    "eager_async.queue_items",
])
def test_doctests(module: str) -> None:
    failed, _ = doctest.testmod(importlib.import_module(module),
                                optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failed == 0
