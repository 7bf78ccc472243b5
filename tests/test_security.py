"""Security: TLS, mutual TLS and bearer tokens against real workers on loopback ports
(with grpclib and grpcio clients), identity-bound contexts (through the service and in
the runtime alone), context ids, the token file and the ``serve`` flags."""

from __future__ import annotations

import asyncio
import contextlib
import doctest
import functools
import re
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import grpc
import numpy as np
import pytest
import trustme
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError, StreamTerminatedError
from grpclib.health.v1.health_grpc import HealthStub
from grpclib.health.v1.health_pb2 import HealthCheckRequest, HealthCheckResponse

from eager_async import ContextNotFoundError, EagerClient, EagerServer, Runtime
from eager_async import security as security_module
from eager_async._proto import tensorflow as tf
from eager_async._proto.tensorflow import eager as pb
from eager_async.attrs import encode_attr
from eager_async.cli import main as cli_main
from eager_async.kernels import registered_ops
from eager_async.kernels.op_defs import op_def
from eager_async.records import CleanupItem, HandleRef, OpItem, SendTensorItem
from eager_async.security import CALLER, Identity, Security, read_tokens
from eager_async.tensors import decode_tensor, encode_tensor

T = TypeVar("T")

SERVICE = "/tensorflow.eager.EagerService/"
CPU = "/job:worker/replica:0/task:0/device:CPU:0"
INCARNATION = (1 << 64) - 2  # as the int64 attr -2, what KEY names
SEND_ATTRS = {"send_device": CPU.encode(),
              "recv_device": b"/job:localhost/replica:0/task:0/device:CPU:0",
              "tensor_name": b"t_1", "send_device_incarnation": -2}
KEY = f"{CPU};fffffffffffffffe;/job:localhost/replica:0/task:0/device:CPU:0;t_1;0:0"
TOKEN_A, TOKEN_B = "token-of-alice-0123456789abcdef", "token-of-bob-fedcba9876543210"
A_CONTEXT = 0x5EC0_0000_0000_0A11  # what identity A creates
UNKNOWN = 0x0DD0_0000_0000_0001  # no context has it


@dataclass(frozen=True)
class Pki:
    """A CA that issued the worker's certificate and two clients', and another CA."""

    ca: trustme.CA
    other_ca: trustme.CA
    server_cert: Path
    server_key: Path
    ca_file: Path
    alice: trustme.LeafCert
    bob: trustme.LeafCert
    mallory: trustme.LeafCert  # from the other CA

    def tls(self, *, client_ca: bool = False, tokens: frozenset[str] = frozenset()) -> Security:
        """The worker's settings: TLS, plus mutual TLS with ``client_ca``."""
        return Security(self.server_cert, self.server_key,
                        self.ca_file if client_ca else None, tokens)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Certificates for 127.0.0.1, written where the worker reads them."""
    ca, other_ca = trustme.CA(), trustme.CA()
    directory = tmp_path_factory.mktemp("pki")
    server = ca.issue_cert("localhost", "127.0.0.1")
    server.cert_chain_pems[0].write_to_path(str(directory / "server.pem"))
    server.private_key_pem.write_to_path(str(directory / "server.key"))
    ca.cert_pem.write_to_path(str(directory / "ca.pem"))
    return Pki(
        ca, other_ca, directory / "server.pem", directory / "server.key", directory / "ca.pem",
        alice=ca.issue_cert("alice@example.org", common_name="alice"),
        bob=ca.issue_cert("bob@example.org", common_name="bob"),
        mallory=other_ca.issue_cert("mallory@example.org", common_name="mallory"),
    )


def client_tls(ca: trustme.CA, cert: trustme.LeafCert | None = None) -> ssl.SSLContext:
    """A grpclib client's TLS: trusting ``ca``, presenting ``cert``."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    if cert is not None:
        cert.configure_cert(context)
    context.set_alpn_protocols(["h2"])
    return context


@contextlib.asynccontextmanager
async def worker(security: Security | None) -> AsyncIterator[EagerServer]:
    """A worker on a free loopback port with ``security``; always shut down."""
    async with EagerServer("127.0.0.1", 0, threads=2, security=security) as server:
        server.runtime.incarnation = INCARNATION
        yield server


@contextlib.contextmanager
def channel(server: EagerServer, tls: ssl.SSLContext | None = None) -> Iterator[Channel]:
    """A grpclib channel to ``server``; always closed."""
    opened = Channel("127.0.0.1", server.port, ssl=tls)
    try:
        yield opened
    finally:
        opened.close()


def bearer(token: str) -> dict[str, str]:
    """The metadata that carries ``token``."""
    return {"authorization": f"Bearer {token}"}


async def refused(call: Awaitable[object]) -> tuple[Status, str]:
    """The status and message of a call that must fail."""
    with pytest.raises(GRPCError) as caught:
        await asyncio.wait_for(call, 30)
    return caught.value.status, caught.value.message or ""


# grpcio: a blocking client in a thread, raw bytes in and out.


def grpcio_channel(server: EagerServer, credentials: grpc.ChannelCredentials | None) -> Any:
    """A grpcio channel to ``server`` (TLS with ``credentials``)."""
    target = f"127.0.0.1:{server.port}"
    return grpc.insecure_channel(target) if credentials is None else grpc.secure_channel(
        target, credentials)


def grpcio_credentials(ca: trustme.CA, cert: trustme.LeafCert | None = None) -> Any:
    """grpcio's TLS: trusting ``ca``, presenting ``cert``."""
    if cert is None:
        return grpc.ssl_channel_credentials(root_certificates=ca.cert_pem.bytes())
    return grpc.ssl_channel_credentials(
        root_certificates=ca.cert_pem.bytes(),
        private_key=cert.private_key_pem.bytes(),
        certificate_chain=b"".join(blob.bytes() for blob in cert.cert_chain_pems),
    )


async def grpcio_call(
    opened: Any, method: str, request: bytes, metadata: tuple[tuple[str, str], ...] = ()
) -> bytes:
    """One unary call from a thread; grpc.RpcError when it fails."""
    call = opened.unary_unary(method)
    reply: bytes = await asyncio.to_thread(call, request, metadata=metadata, timeout=30)
    return reply


async def grpcio_keep_alive_status(
    server: EagerServer, credentials: Any, metadata: tuple[tuple[str, str], ...] = (),
    context_id: int = UNKNOWN,
) -> grpc.StatusCode:
    """What a grpcio client's KeepAlive of ``context_id`` ends with."""
    opened = grpcio_channel(server, credentials)
    try:
        await grpcio_call(opened, SERVICE + "KeepAlive",
                          bytes(pb.KeepAliveRequest(context_id=context_id)), metadata)
    except grpc.RpcError as error:
        code: grpc.StatusCode = error.code()
        return code
    finally:
        opened.close()
    return grpc.StatusCode.OK


# TLS


async def test_tls_is_accepted_from_a_client_trusting_the_ca(pki: Pki) -> None:
    async with worker(pki.tls()) as server:
        with channel(server, client_tls(pki.ca)) as opened:
            reply = await pb.EagerServiceStub(opened).create_context(pb.CreateContextRequest())
        assert reply.context_id in server.runtime.context_ids
        # grpcio checks the certificate's name against 127.0.0.1 (its IP SAN).
        status = await grpcio_keep_alive_status(server, grpcio_credentials(pki.ca),
                                                context_id=reply.context_id)
        assert status == grpc.StatusCode.OK


async def test_tls_fails_the_handshake_of_a_client_trusting_another_ca(pki: Pki) -> None:
    async with worker(pki.tls()) as server:
        with channel(server, client_tls(pki.other_ca)) as opened, pytest.raises(
            ssl.SSLCertVerificationError
        ):
            await pb.EagerServiceStub(opened).create_context(pb.CreateContextRequest())
        status = await grpcio_keep_alive_status(server, grpcio_credentials(pki.other_ca))
        assert status == grpc.StatusCode.UNAVAILABLE
        # A plaintext client gets no service from a TLS worker either.
        with channel(server) as opened, pytest.raises((StreamTerminatedError, ConnectionError)):
            await asyncio.wait_for(
                pb.EagerServiceStub(opened).create_context(pb.CreateContextRequest()), 30)
        assert server.runtime.context_ids == []


# Mutual TLS


async def test_mutual_tls_accepts_a_client_certificate_from_the_ca(pki: Pki) -> None:
    async with worker(pki.tls(client_ca=True)) as server:
        with channel(server, client_tls(pki.ca, pki.alice)) as opened:
            reply = await pb.EagerServiceStub(opened).create_context(pb.CreateContextRequest())
        status = await grpcio_keep_alive_status(
            server, grpcio_credentials(pki.ca, pki.alice), context_id=reply.context_id)
        assert status == grpc.StatusCode.OK


@pytest.mark.parametrize("who", ["no certificate", "another CA's certificate"])
async def test_mutual_tls_refuses_a_client_without_a_certificate_from_the_ca(
    pki: Pki, who: str
) -> None:
    cert = None if who == "no certificate" else pki.mallory
    async with worker(pki.tls(client_ca=True)) as server:
        # TLS 1.3: the client's handshake ends before the worker checks its certificate;
        # the worker's alert then ends the connection.
        with channel(server, client_tls(pki.ca, cert)) as opened, pytest.raises(
            (ssl.SSLError, ConnectionError, StreamTerminatedError)
        ):
            await asyncio.wait_for(
                pb.EagerServiceStub(opened).create_context(pb.CreateContextRequest()), 30)
        status = await grpcio_keep_alive_status(server, grpcio_credentials(pki.ca, cert))
        assert status == grpc.StatusCode.UNAVAILABLE
        assert server.runtime.context_ids == []


# Bearer tokens


async def test_a_token_of_the_worker_is_accepted() -> None:
    async with worker(Security(tokens=frozenset({TOKEN_A, TOKEN_B}))) as server:
        async with EagerClient("127.0.0.1", server.port, token=TOKEN_B) as client:
            context = await client.create_context()
            (value,) = await context.call("AddV2", [2.0, 3.0])
            assert value == 5.0
            await context.close()
        status = await grpcio_keep_alive_status(
            server, None, (("authorization", f"Bearer {TOKEN_A}"),), context_id=UNKNOWN)
        assert status == grpc.StatusCode.ABORTED  # authenticated; the id is unknown


@pytest.mark.parametrize("metadata", [
    {},
    bearer("not-a-token-of-the-worker"),
    bearer(TOKEN_A + "x"),
    {"authorization": TOKEN_A},
    {"authorization": f"Basic {TOKEN_A}"},
], ids=["missing", "wrong", "longer", "no scheme", "other scheme"])
async def test_a_missing_or_wrong_token_is_unauthenticated(metadata: dict[str, str]) -> None:
    async with worker(Security(tokens=frozenset({TOKEN_A}))) as server:
        with channel(server) as opened:
            stub = pb.EagerServiceStub(opened, metadata=metadata)
            status, message = await refused(stub.create_context(pb.CreateContextRequest()))
            assert status == Status.UNAUTHENTICATED
            assert message.startswith(SERVICE + "CreateContext: ")
            assert "Bearer <token>" in message or "--token-file" in message
            assert TOKEN_A not in message and "not-a-token" not in message
            worker_stub = tf.WorkerServiceStub(opened, metadata=metadata)
            status, _ = await refused(worker_stub.get_status(tf.GetStatusRequest()))
            assert status == Status.UNAUTHENTICATED
            replies = stub.streaming_enqueue([pb.EnqueueRequest(context_id=UNKNOWN)])
            status, _ = await refused(anext(aiter(replies)))
            assert status == Status.UNAUTHENTICATED
        assert server.runtime.context_ids == []
        grpcio_metadata = tuple(metadata.items())
        status_code = await grpcio_keep_alive_status(server, None, grpcio_metadata)
        assert status_code == grpc.StatusCode.UNAUTHENTICATED


async def test_health_checks_need_no_token(pki: Pki) -> None:
    async with worker(pki.tls(tokens=frozenset({TOKEN_A}))) as server:
        with channel(server, client_tls(pki.ca)) as opened:
            reply = await HealthStub(opened).Check(HealthCheckRequest())
            assert reply is not None and reply.status == HealthCheckResponse.SERVING
            stub = pb.EagerServiceStub(opened)
            status, _ = await refused(stub.keep_alive(pb.KeepAliveRequest(context_id=UNKNOWN)))
            assert status == Status.UNAUTHENTICATED


# Identity-bound contexts, through the service


@dataclass(frozen=True)
class Caller:
    """One identity's stubs."""

    eager: pb.EagerServiceStub
    worker: tf.WorkerServiceStub


@contextlib.asynccontextmanager
async def two_identities(pki: Pki, how: str) -> AsyncIterator[tuple[EagerServer, Caller, Caller]]:
    """A worker that tells callers A and B apart by ``how`` (tokens or certificates)."""
    if how == "tokens":
        security = Security(tokens=frozenset({TOKEN_A, TOKEN_B}))
        settings: list[tuple[ssl.SSLContext | None, dict[str, str] | None]] = [
            (None, bearer(TOKEN_A)), (None, bearer(TOKEN_B))]
    else:
        security = pki.tls(client_ca=True)
        settings = [(client_tls(pki.ca, pki.alice), None), (client_tls(pki.ca, pki.bob), None)]
    async with worker(security) as server:
        with channel(server, settings[0][0]) as a, channel(server, settings[1][0]) as b:
            callers = [Caller(pb.EagerServiceStub(opened, metadata=metadata),
                              tf.WorkerServiceStub(opened, metadata=metadata))
                       for opened, (_, metadata) in ((a, settings[0]), (b, settings[1]))]
            yield server, callers[0], callers[1]


def handle(op_id: int) -> pb.OperationInput:
    """An input naming output 0 of op ``op_id``."""
    return pb.OperationInput(remote_handle=pb.RemoteTensorHandle(op_id=op_id, output_num=0))


def fetch(op_id: int) -> pb.QueueItem:
    """An item asking for the value of op ``op_id``'s output 0."""
    return pb.QueueItem(operation=pb.Operation(id=-1, name="Identity", op_inputs=[handle(op_id)]))


async def a_context_with_a_sent_value(caller: Caller) -> None:
    """A_CONTEXT, holding op 1 = [4, 5] and a _Send of it under the context's step."""
    await caller.eager.create_context(pb.CreateContextRequest(context_id=A_CONTEXT))
    send = pb.Operation(id=2, name="_Send", op_inputs=[handle(1)],
                        attrs={k: encode_attr(v) for k, v in SEND_ATTRS.items()})
    await caller.eager.enqueue(pb.EnqueueRequest(context_id=A_CONTEXT, queue=[
        pb.QueueItem(send_tensor=pb.SendTensorOp(
            op_id=1, tensors=[encode_tensor(np.array([4, 5], np.float32))])),
        pb.QueueItem(operation=send),
    ]))


def naming(context_id: int) -> Callable[[pb.EagerServiceStub], list[Awaitable[Any]]]:
    """Every EagerService RPC that names ``context_id``, as calls of a stub."""

    def calls(stub: pb.EagerServiceStub) -> list[Awaitable[Any]]:
        stream = stub.streaming_enqueue([pb.EnqueueRequest(context_id=context_id,
                                                           queue=[fetch(1)])])
        return [
            stub.keep_alive(pb.KeepAliveRequest(context_id=context_id)),
            stub.enqueue(pb.EnqueueRequest(context_id=context_id, queue=[fetch(1)])),
            anext(aiter(stream)),
            stub.wait_queue_done(pb.WaitQueueDoneRequest(context_id=context_id)),
            stub.wait_queue_done(pb.WaitQueueDoneRequest(context_id=context_id, op_id=[2])),
            stub.run_component_function(pb.RunComponentFunctionRequest(
                context_id=context_id,
                operation=pb.Operation(id=-1, name="Identity", op_inputs=[handle(1)]))),
            stub.update_context(pb.UpdateContextRequest(context_id=context_id,
                                                        context_view_id=9)),
            stub.register_function(pb.RegisterFunctionRequest(
                context_id=context_id,
                function_def=tf.FunctionDef(signature=tf.OpDef(name="f")))),
            stub.send_tensor(pb.SendTensorRequest(
                context_id=context_id, op_id=7, tensors=[encode_tensor(np.float32(1))])),
        ]

    return calls


@pytest.mark.parametrize("how", ["tokens", "certificates"])
async def test_another_identity_gets_what_an_unknown_id_gets(pki: Pki, how: str) -> None:
    async with two_identities(pki, how) as (server, a, b):
        await a_context_with_a_sent_value(a)
        theirs = [await refused(call) for call in naming(A_CONTEXT)(b.eager)]
        unknown = [await refused(call) for call in naming(UNKNOWN)(b.eager)]
        assert [(s, m.replace(str(A_CONTEXT), "ID")) for s, m in theirs] == [
            (s, m.replace(str(UNKNOWN), "ID")) for s, m in unknown]
        assert {status for status, _ in theirs} == {Status.ABORTED}
        # B closing it is OK, as for an unknown id, and closes nothing.
        await b.eager.close_context(pb.CloseContextRequest(context_id=A_CONTEXT))
        # B's RecvTensor of A's _Send: ABORTED at once, and the value stays A's.
        request = tf.RecvTensorRequest(step_id=A_CONTEXT, rendezvous_key=KEY)
        status, message = await refused(b.worker.recv_tensor(request))
        assert status == Status.ABORTED
        assert "belongs to another client's context" in message
        # B re-creating A's id (even with a newer view) is refused and replaces nothing.
        status, message = await refused(b.eager.create_context(
            pb.CreateContextRequest(context_id=A_CONTEXT, context_view_id=5)))
        assert status == Status.INVALID_ARGUMENT
        assert "in use by another client" in message and "view" not in message
        # clear_existing_contexts clears B's own contexts only.
        own = await b.eager.create_context(pb.CreateContextRequest())
        await b.eager.create_context(pb.CreateContextRequest(clear_existing_contexts=True))
        assert own.context_id not in server.runtime.context_ids
        # A's context is untouched: its view id, its tensor, its sent value.
        assert (await a.eager.keep_alive(
            pb.KeepAliveRequest(context_id=A_CONTEXT))).context_view_id == 0
        reply = await a.eager.enqueue(pb.EnqueueRequest(context_id=A_CONTEXT,
                                                        queue=[fetch(1)]))
        np.testing.assert_array_equal(decode_tensor(reply.queue_response[0].tensor[0]),
                                      [4, 5])
        received = await a.worker.recv_tensor(request)
        assert received.tensor is not None
        np.testing.assert_array_equal(decode_tensor(received.tensor), [4, 5])


async def test_an_identity_may_not_send_under_another_identitys_step(pki: Pki) -> None:
    async with two_identities(pki, "tokens") as (_, a, b):
        await a.eager.create_context(pb.CreateContextRequest(context_id=A_CONTEXT))
        await b.eager.create_context(pb.CreateContextRequest(context_id=UNKNOWN))
        spoof = pb.Operation(id=2, name="_Send", op_inputs=[handle(1)], func_step_id=A_CONTEXT,
                             attrs={k: encode_attr(v) for k, v in SEND_ATTRS.items()})
        for queue in ([pb.QueueItem(operation=spoof)],
                      [pb.QueueItem(cleanup_function=pb.CleanupFunctionOp(step_id=A_CONTEXT))]):
            status, message = await refused(
                b.eager.enqueue(pb.EnqueueRequest(context_id=UNKNOWN, queue=queue)))
            assert (status, "belongs to another client's context" in message) == (
                Status.ABORTED, True)
        # Its own context id as the step is B's to use.
        await b.eager.enqueue(pb.EnqueueRequest(context_id=UNKNOWN, queue=[
            pb.QueueItem(cleanup_function=pb.CleanupFunctionOp(step_id=UNKNOWN))]))


async def test_a_grpcio_client_of_another_identity_sees_no_context(pki: Pki) -> None:
    async with worker(pki.tls(tokens=frozenset({TOKEN_A, TOKEN_B}))) as server:
        with channel(server, client_tls(pki.ca)) as opened:
            stub = pb.EagerServiceStub(opened, metadata=bearer(TOKEN_A))
            await stub.create_context(pb.CreateContextRequest(context_id=A_CONTEXT))
        credentials = grpcio_credentials(pki.ca)
        assert await grpcio_keep_alive_status(
            server, credentials, (("authorization", f"Bearer {TOKEN_B}"),),
            context_id=A_CONTEXT) == grpc.StatusCode.ABORTED
        assert await grpcio_keep_alive_status(
            server, credentials, (("authorization", f"Bearer {TOKEN_A}"),),
            context_id=A_CONTEXT) == grpc.StatusCode.OK


async def test_without_authentication_every_client_sees_every_context() -> None:
    async with worker(None) as server:
        with channel(server) as first, channel(server) as second:
            a = Caller(pb.EagerServiceStub(first), tf.WorkerServiceStub(first))
            b = Caller(pb.EagerServiceStub(second), tf.WorkerServiceStub(second))
            await a_context_with_a_sent_value(a)
            await b.eager.keep_alive(pb.KeepAliveRequest(context_id=A_CONTEXT))
            request = tf.RecvTensorRequest(step_id=A_CONTEXT, rendezvous_key=KEY)
            received = await b.worker.recv_tensor(request)
            assert received.tensor is not None
            np.testing.assert_array_equal(decode_tensor(received.tensor), [4, 5])
            await b.eager.create_context(pb.CreateContextRequest(clear_existing_contexts=True))
            assert A_CONTEXT not in server.runtime.context_ids


# Identity-bound contexts, in the runtime alone

ALICE, BOB = Identity(token="a" * 16), Identity(token="b" * 16)


@pytest.fixture
async def runtime() -> AsyncIterator[Runtime]:
    """A runtime with no transport; calls name their identity with ``as_caller``."""
    with ThreadPoolExecutor(2) as pool:
        runtime = Runtime(pool)
        runtime.incarnation = INCARNATION
        await runtime.start()
        try:
            yield runtime
        finally:
            await runtime.close()


def as_caller(identity: Identity, call: Callable[[], Awaitable[T]]) -> asyncio.Task[T]:
    """``call()`` in a task of its own, as an RPC of ``identity`` runs."""

    async def run() -> T:
        CALLER.set(identity)
        return await call()

    return asyncio.ensure_future(run())


async def test_a_receive_waiting_before_the_step_was_known_gets_nothing_of_it(
    runtime: Runtime,
) -> None:
    # B waits on a step nobody has; A then creates a context with that id and sends
    # under it. B must not get A's value, and A still does.
    waiting = as_caller(BOB, lambda: runtime.recv_tensor(A_CONTEXT, KEY))
    await asyncio.sleep(0)  # one loop step: B now waits in the rendezvous
    await as_caller(ALICE, lambda: runtime.create_context(
        pb.CreateContextRequest(context_id=A_CONTEXT)))
    await as_caller(ALICE, lambda: runtime.enqueue(A_CONTEXT, [
        SendTensorItem(1, (np.array([4, 5], np.float32),)),
        OpItem(2, "_Send", (HandleRef(1, 0),), SEND_ATTRS)]))
    with pytest.raises(ContextNotFoundError, match="belongs to another client's context"):
        await asyncio.wait_for(waiting, 30)
    mine = await as_caller(ALICE, lambda: runtime.recv_tensor(A_CONTEXT, KEY))
    np.testing.assert_array_equal(mine, [4, 5])


async def test_a_component_functions_step_is_its_contexts(runtime: Runtime) -> None:
    from eager_async.functions import ArgSpec, FunctionSpec, NodeSpec
    from eager_async.records import RegisterFunctionItem

    send = NodeSpec("input/_1", "_Send", ("input",), SEND_ATTRS)
    copy = FunctionSpec("Copy", (ArgSpec("input"),), (), (send,), {})
    step = -4719964549420894795  # TF's func_step_id: any int64
    await as_caller(ALICE, lambda: runtime.create_context(
        pb.CreateContextRequest(context_id=A_CONTEXT)))
    await as_caller(ALICE, lambda: runtime.enqueue(A_CONTEXT, [
        RegisterFunctionItem(copy), SendTensorItem(1, (np.array(7, np.float32),))]))
    await as_caller(ALICE, lambda: runtime.run_component_function(
        A_CONTEXT, OpItem(2, "Copy", (HandleRef(1, 0),), {}, step_id=step), []))
    with pytest.raises(ContextNotFoundError, match="belongs to another client's context"):
        await as_caller(BOB, lambda: runtime.recv_tensor(step, KEY))
    # Nor may B run its own ops under that step, or clean it up.
    await as_caller(BOB, lambda: runtime.create_context(
        pb.CreateContextRequest(context_id=UNKNOWN)))
    in_step = OpItem(-1, "Identity", (np.array(1, np.float32),), {}, step_id=step)
    for items in ([CleanupItem(step)], [in_step]):
        with pytest.raises(ContextNotFoundError, match="belongs to another client's context"):
            await as_caller(BOB, functools.partial(runtime.enqueue, UNKNOWN, items))
    with pytest.raises(ContextNotFoundError, match="belongs to another client's context"):
        await as_caller(BOB, lambda: runtime.run_component_function(UNKNOWN, in_step, []))
    assert await as_caller(ALICE, lambda: runtime.recv_tensor(step, KEY)) == np.float32(7)


async def test_context_ids_are_distinct_and_spread_over_64_bits(runtime: Runtime) -> None:
    ids = [(await runtime.create_context(pb.CreateContextRequest())).context_id
           for _ in range(256)]
    assert len(set(ids)) == len(ids)
    assert all(0 < context_id < 1 << 64 for context_id in ids)
    # Every bit is 1 in some id and 0 in another (false by chance with odds 2**-249).
    for bit in range(64):
        assert 0 < sum(context_id >> bit & 1 for context_id in ids) < len(ids), bit


# Settings, the token file, the flags


def test_a_token_file_holds_one_token_per_non_empty_line(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"  {TOKEN_A}  \n\n\t{TOKEN_B}\n   \n")
    assert read_tokens(path) == {TOKEN_A, TOKEN_B}
    path.write_text("\n  \n")
    with pytest.raises(ValueError, match="holds no token: write one token per line"):
        read_tokens(path)
    path.write_text("secret with spaces\n")
    with pytest.raises(ValueError, match="line 1: a token must be printable ASCII") as caught:
        read_tokens(path)
    assert "secret" not in str(caught.value).replace(str(path), "")


def test_settings_never_show_their_tokens() -> None:
    security = Security(tokens=frozenset({TOKEN_A}))
    assert TOKEN_A not in repr(security) and TOKEN_A not in str(security)
    assert str(security) == "plaintext (no TLS), 1 bearer token(s)"


def test_the_security_module_doctests() -> None:
    assert doctest.testmod(security_module, raise_on_error=False).failed == 0


@pytest.mark.parametrize(("flags", "message"), [
    (["--tls-cert", "{cert}"], "TLS needs both a certificate and its key"),
    (["--tls-key", "{key}"], "TLS needs both a certificate and its key"),
    (["--tls-client-ca", "{ca}"], "mutual TLS (--tls-client-ca) needs the server's own"),
    (["--tls-cert", "{missing}", "--tls-key", "{key}"], "--tls-cert {missing}: No such file"),
    (["--token-file", "{missing}"], "--token-file {missing}: No such file"),
    (["--token-file", "{empty}"], "{empty} holds no token"),
    (["--tls-cert", "{key}", "--tls-key", "{cert}"], "are not a PEM certificate chain"),
    (["--tls-cert", "{cert}", "--tls-key", "{key}", "--tls-client-ca", "{empty}"],
     "holds no PEM CA certificate"),
    (["--allow-io", "{missing}"], "--allow-file-io {missing}: not a directory"),
])
def test_bad_security_flags_are_one_line_errors(
    pki: Pki, tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str],
    message: str,
) -> None:
    (tmp_path / "empty").write_text("\n")
    names = {"cert": pki.server_cert, "key": pki.server_key, "ca": pki.ca_file,
             "missing": tmp_path / "missing", "empty": tmp_path / "empty"}
    with pytest.raises(SystemExit) as exited:
        cli_main(["serve", "--port", "0", *(flag.format(**names) for flag in flags)])
    assert exited.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("python -m eager_async: error: ")
    assert message.format(**names) in error


def test_identities_differ_by_token_and_by_subject() -> None:
    subject = ((("commonName", "alice"),),)
    assert Identity(token="a" * 16) != Identity(token="b" * 16)
    assert Identity(subject=subject) != Identity(subject=((("commonName", "bob"),),))
    assert Identity(subject=subject, token="a" * 16) != Identity(subject=subject)
    assert str(Identity(subject=subject, token="a" * 16)) == (
        "certificate commonName=alice + token sha256:" + "a" * 16)


# What ops may touch: every registered op whose TF definition names a file, a path or a
# stream, and how each is kept to what --allow-io allows (the README's list).
FILE_OPS = {
    "SaveV2": "PERMISSION_DENIED without --allow-io DIR; then paths inside DIR only",
    "RestoreV2": "PERMISSION_DENIED without --allow-io DIR; then paths inside DIR only",
    "MergeV2Checkpoints": "PERMISSION_DENIED without --allow-io DIR; then inside DIR only",
    "PrintV2": "output_stream file://... is always PERMISSION_DENIED",
    "CacheDatasetV2": "a filename is UNIMPLEMENTED: datasets cache in memory only",
    "TensorSliceDataset": "is_files only marks the elements as file names; opens nothing",
}
# TF ops that read or write files, or run Python, that must stay unregistered (NOT_FOUND).
UNREGISTERED = {"ReadFile", "WriteFile", "MatchingFiles", "PyFunc", "PyFuncStateless",
                "EagerPyFunc", "TFRecordDataset", "TextLineDataset", "Save", "Restore"}


def test_every_op_that_names_a_file_is_a_reviewed_one() -> None:
    naming = re.compile(r"file|path|prefix|dir|stream", re.IGNORECASE)
    found = set()
    for name in registered_ops():
        definition = op_def(name)
        arguments = [arg.name for arg in definition.inputs] + list(definition.attrs)
        if any(naming.search(argument) for argument in arguments):
            found.add(name)
    assert found == set(FILE_OPS)
    assert UNREGISTERED.isdisjoint(registered_ops())
