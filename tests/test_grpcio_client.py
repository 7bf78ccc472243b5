"""A second, independent client: Google's protobuf runtime and grpcio, with stubs generated
now from proto/ by grpcio-tools, against ``python -m eager_async serve`` in a subprocess.
It proves the bytes on the wire, including TensorFlow 2.21's own captured requests."""

from __future__ import annotations

import importlib
import json
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors" / "stock_client"  # captured from TF 2.21, vendored
SERVICE = "/tensorflow.eager.EagerService/"
DEVICE = "/job:worker/replica:0/task:0/device:CPU:0"


@pytest.fixture(scope="module")
def pb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """eager_service_pb2, generated from proto/ for this test run."""
    from grpc_tools import protoc

    out = tmp_path_factory.mktemp("pb2")
    protos = sorted(str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto").rglob("*.proto"))
    include = str(Path(protoc.__file__).parent / "_proto")
    status = protoc.main(["protoc", f"-I{ROOT / 'proto'}", f"-I{include}",
                          f"--python_out={out}", f"--grpc_python_out={out}", *protos])
    assert status == 0, "grpcio-tools could not compile proto/"
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module("tensorflow.core.protobuf.eager_service_pb2")
    finally:
        sys.path.remove(str(out))


@pytest.fixture(scope="module")
def tf_pb(pb: ModuleType) -> ModuleType:
    """tensor_pb2 (and friends, through it) from the same generated tree."""
    return importlib.import_module("tensorflow.core.framework.tensor_pb2")


@pytest.fixture(scope="module")
def handles(pb: ModuleType) -> ModuleType:
    """remote_tensor_handle_pb2 from the same generated tree."""
    return importlib.import_module("tensorflow.core.protobuf.remote_tensor_handle_pb2")


@pytest.fixture(scope="module")
def worker() -> Iterator[str]:
    """``python -m eager_async serve`` on a free port; stopped with SIGTERM, which must
    shut it down cleanly."""
    process = subprocess.Popen(
        [sys.executable, "-m", "eager_async", "serve", "--port", "0"],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )
    assert process.stderr is not None
    log: list[str] = []
    address = None
    for line in process.stderr:
        log.append(line)
        match = re.search(r"listening on (\S+:\d+)", line)
        if match:
            address = match.group(1)
            break
    assert address, "the worker never said where it listens:\n" + "".join(log)
    # Keep reading the log so a chatty worker never blocks on a full pipe.
    reader = threading.Thread(target=lambda: log.extend(process.stderr or ()), daemon=True)
    reader.start()
    try:
        yield address
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        reader.join(timeout=10)
        assert process.returncode == 0, "".join(log)
        assert "worker stopped" in "".join(log)


@pytest.fixture
def channel(worker: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(worker) as chan:
        yield chan


def call(channel: grpc.Channel, method: str, request: Any, reply_type: Any) -> Any:
    """One unary call with protobuf messages."""
    rpc = channel.unary_unary(SERVICE + method, request_serializer=lambda m: m.SerializeToString(),
                              response_deserializer=reply_type.FromString)
    return rpc(request, timeout=30)


def raw(channel: grpc.Channel, method: str, payload: bytes) -> bytes:
    """One unary call with raw bytes both ways."""
    return channel.unary_unary(SERVICE + method)(payload, timeout=30)  # type: ignore[no-any-return]


def records(name: str) -> list[dict[str, Any]]:
    path = VECTORS / name
    return [json.loads(line) for line in path.read_text().splitlines()]


def float_tensor(tf_pb: ModuleType, values: Any) -> Any:
    array = np.asarray(values, np.float32)
    proto = tf_pb.TensorProto(dtype=1, tensor_content=array.tobytes())
    for size in array.shape:
        proto.tensor_shape.dim.add(size=size)
    proto.tensor_shape.SetInParent()
    return proto


@pytest.fixture(scope="module")
def worker_pb(pb: ModuleType) -> ModuleType:
    """worker_pb2 (GetStatus, RecvTensor) from the same generated tree."""
    return importlib.import_module("tensorflow.core.protobuf.worker_pb2")


@pytest.mark.parametrize("capture", ["sync.jsonl", "async.jsonl"])
def test_tensorflow_clients_captured_session(channel: grpc.Channel, pb: ModuleType,
                                             worker_pb: ModuleType, capture: str) -> None:
    """Replays a stock TF 2.21 client's whole session verbatim (GetStatus, CreateContext,
    the stream with send_tensor, AddV2 and _Send, RecvTensor, decrefs); our replies must
    be TF's bytes wherever TF's bytes carry nothing that differs per run."""
    messages = records(capture)

    def reply_to(method: str) -> bytes:
        request = next(m for m in messages if m["method"].endswith(method)
                       and m["direction"] == "request")
        path = request["method"]
        return channel.unary_unary(path)(bytes.fromhex(request["hex"]), timeout=30)  # type: ignore[no-any-return]

    status = worker_pb.GetStatusResponse.FromString(reply_to("/GetStatus"))
    assert [d.name for d in status.device_attributes] == [DEVICE]
    created = pb.CreateContextResponse.FromString(reply_to("/CreateContext"))
    assert [d.name for d in created.device_attributes] == [DEVICE]
    stream = [m for m in messages if m["method"].endswith("StreamingEnqueue")]
    requests = [bytes.fromhex(m["hex"]) for m in stream if m["direction"] == "request"]
    expected = [bytes.fromhex(m["hex"]) for m in stream if m["direction"] == "response"]
    streaming = channel.stream_stream(SERVICE + "StreamingEnqueue")
    replies = list(streaming(iter(requests), timeout=30))
    assert replies == expected  # send_tensor, send_tensor, AddV2, _Send
    # The capture's rendezvous key names the incarnation of the worker it was taken
    # from: served only once the _Send has run here (else ABORTED, as TF answers a key
    # of another incarnation), so let an async context's ops finish first.
    wait = pb.WaitQueueDoneRequest(context_id=created.context_id)
    channel.unary_unary(SERVICE + "WaitQueueDone")(wait.SerializeToString(), timeout=30)
    received = worker_pb.RecvTensorResponse.FromString(reply_to("/RecvTensor"))
    theirs = worker_pb.RecvTensorResponse.FromString(bytes.fromhex(next(
        m["hex"] for m in messages if m["method"].endswith("/RecvTensor")
        and m["direction"] == "response")))
    assert received.tensor.SerializeToString() == theirs.tensor.SerializeToString()
    assert not received.is_dead
    for message in messages:
        if message["method"].endswith("/Enqueue") and message["direction"] == "request":
            answer = next(m for m in messages if m["call"] == message["call"]
                          and m["direction"] == "response")
            assert raw(channel, "Enqueue", bytes.fromhex(message["hex"])) == bytes.fromhex(
                answer["hex"])


def test_recv_tensor_waits_for_a_send_like_tensorflow(channel: grpc.Channel,
                                                      worker_pb: ModuleType) -> None:
    # A step id may be a component function's, whose _Send has not run yet: like TF's
    # worker, RecvTensor waits, here until the client's deadline. A key naming another
    # incarnation of the worker's device (a restarted worker's) is ABORTED at once.
    status = worker_pb.GetStatusResponse.FromString(channel.unary_unary(
        "/tensorflow.WorkerService/GetStatus")(b"", timeout=30))
    incarnation = status.device_attributes[0].incarnation
    recv = channel.unary_unary("/tensorflow.WorkerService/RecvTensor")
    for hex_incarnation, code in [(f"{incarnation:016x}", grpc.StatusCode.DEADLINE_EXCEEDED),
                                  (f"{incarnation ^ 1:016x}", grpc.StatusCode.ABORTED)]:
        key = f"{DEVICE};{hex_incarnation};/job:localhost/replica:0/task:0/device:CPU:0;c;0:0"
        request = worker_pb.RecvTensorRequest(step_id=-5, rendezvous_key=key)
        with pytest.raises(grpc.RpcError) as caught:
            recv(request.SerializeToString(), timeout=0.5)
        assert caught.value.code() == code


def test_a_tf_2_21_style_session(channel: grpc.Channel, pb: ModuleType,
                                 tf_pb: ModuleType, handles: ModuleType) -> None:
    context = 0xFEED_F00D_1234
    reply = call(channel, "CreateContext", pb.CreateContextRequest(
        context_id=context, keep_alive_secs=600), pb.CreateContextResponse)
    assert reply.device_attributes[0].name == DEVICE

    def handle(op_id: int) -> Any:
        return pb.Operation.Input(remote_handle=handles.RemoteTensorHandle(
            op_id=op_id, device=DEVICE, op_device=DEVICE, dtype=1))

    request = pb.EnqueueRequest(context_id=context)
    request.queue.add(send_tensor=pb.SendTensorOp(
        op_id=1, tensors=[float_tensor(tf_pb, [[1, 2], [3, 4]])], device_name=DEVICE))
    request.queue.add(operation=pb.Operation(id=2, name="MatMul", device=DEVICE,
                                             op_inputs=[handle(1), handle(1)]))
    request.queue.add(operation=pb.Operation(
        id=-1, name="AddV2", op_inputs=[handle(2), pb.Operation.Input(
            tensor=float_tensor(tf_pb, 0.5))]))
    request.queue.add(handle_to_decref=handles.RemoteTensorHandle(op_id=1))
    answer = call(channel, "Enqueue", request, pb.EnqueueResponse)
    assert [d.size for d in answer.queue_response[1].shape[0].dim] == [2, 2]
    (fetched,) = answer.queue_response[2].tensor
    assert fetched.dtype == 1
    assert [d.size for d in fetched.tensor_shape.dim] == [2, 2]
    np.testing.assert_array_equal(np.frombuffer(fetched.tensor_content, np.float32),
                                  [7.5, 10.5, 15.5, 22.5])

    with pytest.raises(grpc.RpcError) as caught:
        bad = pb.EnqueueRequest(context_id=context)
        bad.queue.add(operation=pb.Operation(id=3, name="Neg", op_inputs=[handle(1)]))
        call(channel, "Enqueue", bad, pb.EnqueueResponse)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "Op ID: 1" in caught.value.details()

    with pytest.raises(grpc.RpcError) as caught:
        call(channel, "KeepAlive", pb.KeepAliveRequest(context_id=context + 1),
             pb.KeepAliveResponse)
    assert caught.value.code() == grpc.StatusCode.ABORTED

    alive = call(channel, "KeepAlive", pb.KeepAliveRequest(context_id=context),
                 pb.KeepAliveResponse)
    assert alive.context_view_id == 0
    call(channel, "CloseContext", pb.CloseContextRequest(context_id=context),
         pb.CloseContextResponse)


def test_seed_rpcs(channel: grpc.Channel, pb: ModuleType, tf_pb: ModuleType,
                   handles: ModuleType) -> None:
    # "async" is a Python keyword, so protobuf takes it through **kwargs.
    reply = call(channel, "CreateContext", pb.CreateContextRequest(**{"async": True}),
                 pb.CreateContextResponse)
    context = reply.context_id
    assert context != 0
    call(channel, "SendTensor", pb.SendTensorRequest(
        context_id=context, op_id=10, tensors=[float_tensor(tf_pb, [1, 2, 3])]),
        pb.SendTensorResponse)
    request = pb.EnqueueRequest(context_id=context)
    request.queue.add(operation=pb.Operation(
        id=11, name="Neg", inputs=[handles.RemoteTensorHandle(op_id=10)]))  # the seed's field 3
    call(channel, "Enqueue", request, pb.EnqueueResponse)
    call(channel, "WaitQueueDone", pb.WaitQueueDoneRequest(context_id=context, op_id=[11]),
         pb.WaitQueueDoneResponse)
    fetch = pb.EnqueueRequest(context_id=context)
    fetch.queue.add(operation=pb.Operation(id=-1, name="Identity",
                                           inputs=[handles.RemoteTensorHandle(op_id=11)]))
    (value,) = call(channel, "Enqueue", fetch, pb.EnqueueResponse).queue_response[0].tensor
    np.testing.assert_array_equal(np.frombuffer(value.tensor_content, np.float32), [-1, -2, -3])


def test_garbage_requests_get_invalid_argument(channel: grpc.Channel) -> None:
    for method in ("Enqueue", "CreateContext", "WaitQueueDone"):
        with pytest.raises(grpc.RpcError) as caught:
            raw(channel, method, b"\x0a\xff\xff\xff")
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, method
        assert "not a valid protobuf message" in caught.value.details()
    # Still serving.
    assert raw(channel, "CloseContext", b"") == b""


def test_a_corrupt_health_check_is_invalid_argument(channel: grpc.Channel) -> None:
    check = channel.unary_unary("/grpc.health.v1.Health/Check")
    with pytest.raises(grpc.RpcError) as caught:
        check(b"\xff", timeout=30)  # grpclib's own health service answered UNKNOWN
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert check(b"", timeout=30) == bytes.fromhex("0801")  # SERVING


@pytest.mark.parametrize(("method", "body", "field"), [
    ("KeepAlive", "0a00", "context_id"),  # a fixed64 sent length-delimited
    ("Enqueue", "0a00", "context_id"),
    ("Enqueue", "1a0412021005", "name"),  # queue[0].operation.name sent as a varint
    ("CloseContext", "0a00", "context_id"),
    ("WaitQueueDone", "0a00", "context_id"),
    ("CreateContext", "0801", "server_def"),  # a message sent as a varint
    ("CreateContext", "1a0105", "keep_alive_secs"),  # an int64 sent length-delimited
    ("UpdateContext", "0801", "server_def"),
    ("SendTensor", "1a030a0101", "dtype"),  # inside a TensorProto of the request
    ("RegisterFunction", "1001", "function_def"),
    # function_def.arg_attr[0].attr, a map inside a map's value, sent as a varint
    ("RegisterFunction", "12063a0412020801", "attr"),
    ("RunComponentFunction", "1001", "operation"),
    ("/tensorflow.WorkerService/RecvTensor", "0a00", "step_id"),
    ("/tensorflow.WorkerService/GetStatus", "", None),  # an empty request is fine
])
def test_a_field_of_the_wrong_wire_type_is_invalid_argument_naming_it(
    channel: grpc.Channel, method: str, body: str, field: str | None,
) -> None:
    # A lenient decoder turns such a field into a value of the wrong Python type, which
    # then failed as INTERNAL somewhere inside (or, for keep_alive_secs, broke the
    # keep-alive sweeper for good).
    path = method if method.startswith("/") else SERVICE + method
    call = channel.unary_unary(path)
    if field is None:
        call(bytes.fromhex(body), timeout=30)
        return
    with pytest.raises(grpc.RpcError) as caught:
        call(bytes.fromhex(body), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
    assert f"field {field} of" in caught.value.details()
    assert "wire type" in caught.value.details()
