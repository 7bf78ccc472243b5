"""Hostile but well-formed requests: each class a case, each case what a careless or
malicious client could send. None may get INTERNAL or UNKNOWN, hang the worker, kill
it or stall the other clients; requests that wait by design are ended by closing their
context, and must then end with CANCELLED."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import numpy as np

from . import messages as m
from . import protowire as pw
from .corpus import with_context
from .generators import FUNCTIONS_FOR_OPS, Case, close_while_waiting, wrong_wire_payloads
from .harness import Session
from .schema import RPCS

F32, I32, I64 = np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.int64)
BIG = 10**10  # elements


def _case(name: str) -> Callable[[Callable[[Session], None]], Case]:
    def wrap(body: Callable[[Session], None]) -> Case:
        return Case("hostile", name, body)
    return wrap


def fetch(context: int, name: str, inputs: list[Any], attrs: dict[str, Any] | None = None,
          **fields: Any) -> bytes:
    """An Enqueue of one op whose outputs come back inline (id -1)."""
    return m.enqueue(context, m.item_operation(m.operation(-1, name, inputs, attrs, **fields)))


def f32(value: Any) -> Any:
    return m.tensor(np.asarray(value, np.float32))


def i32(value: Any) -> Any:
    return m.tensor(np.asarray(value, np.int32))


def i64(value: Any) -> Any:
    return m.tensor(np.asarray(value, np.int64))


def declared(dims: list[int], dtype: int = m.DT_FLOAT, content: bytes = b"") -> Any:
    """A TensorProto whose shape says ``dims``, whatever its values."""
    proto = m.TensorProto(dtype=dtype, tensor_content=content)
    proto.tensor_shape.CopyFrom(m.shape(dims))
    return proto


# --- wrong wire types --------------------------------------------------------------------

def wrong_wire_cases(full: bool = True) -> Iterator[Case]:
    """Every field of every request (and of the messages under it, three levels deep) sent
    with each wire type its schema forbids: one case per RPC, each bad field sent after a
    valid context id and alone. ``full=False`` sends a nested field only under the first
    RPC that reaches its message type (TensorProto under Enqueue, not again under
    SendTensor); every RPC's own fields always."""
    covered: set[str] = set()
    for rpc in RPCS.values():
        if rpc.request is None:
            continue
        payloads = []
        for label, data in wrong_wire_payloads(rpc.request):
            top = label.startswith(rpc.request + ".")
            if full or top or label not in covered:
                payloads.append(data)
            covered.add(label)

        def body(session: Session, rpc: Any = rpc, payloads: Any = payloads) -> None:
            context = session.new_context()
            for data in payloads:
                session.call(rpc.name, with_context(rpc, b"", context) + data)
                session.call(rpc.name, data)

        yield Case("hostile", f"wrong wire types: {rpc.name} ({len(payloads)} fields)", body)


# --- the named classes ---------------------------------------------------------------------

@_case("a 200,000-character op name, attr name, device and function name")
def huge_names(session: Session) -> None:
    context = session.new_context(is_async=False)
    name = "N" * 200_000
    session.call("Enqueue", fetch(context, name, [f32(1)]))
    session.call("Enqueue", fetch(context, "Neg", [f32(1)], {name: 1}))
    session.call("Enqueue", fetch(context, "Neg", [f32(1)], device="/job:" + name))
    session.call("Enqueue", fetch(context, "Neg", [m.handle(7)], device=m.DEVICE))
    fn = m.function(name, [("x", "DT_FLOAT")], [("y", "DT_FLOAT")],
                    [m.node("n", "Neg", ["x"], {"T": F32})], {"y": "n:y:0"})
    session.call("Enqueue", m.enqueue(context, m.item_register(fn)))
    session.call("Enqueue", fetch(context, name, [f32(1)]))
    session.call("RunComponentFunction", m.serialize(m.RunComponentFunctionRequest(
        context_id=context, operation=m.operation(-1, name, [f32(1)]))))
    key = f"{m.DEVICE};{'f' * 200_000};{m.CLIENT_DEVICE};x;0:0"
    session.call("RecvTensor", m.serialize(m.RecvTensorRequest(step_id=1, rendezvous_key=key)))


@_case("inline tensors declaring 1e9 elements (RunComponentFunction, Enqueue, SendTensor)")
def declared_billion(session: Session) -> None:
    context = session.new_context(is_async=False)
    for dims, content in [([10**9], b""), ([10**9], b"\0\0\x80\x3f"), ([10**5, 10**4], b"")]:
        big = declared(dims, m.DT_FLOAT, content)
        session.call("RunComponentFunction", m.serialize(m.RunComponentFunctionRequest(
            context_id=context, operation=m.operation(-1, "AddV2", [big, f32(1)]))))
        session.call("Enqueue", fetch(context, "Identity", [big]))
        request = m.SendTensorRequest(context_id=context, op_id=5, device_name=m.DEVICE)
        request.tensors.append(big)
        session.call("SendTensor", m.serialize(request))
    typed = m.TensorProto(dtype=m.DT_INT64)
    typed.tensor_shape.CopyFrom(m.shape([10**9]))
    typed.int64_val.append(7)  # one value: TF fills the shape with it
    session.call("Enqueue", fetch(context, "Identity", [typed]))


def ten_million_strings(full: bool) -> Case:
    """DT_STRING tensor_content of 10^7 empty strings; ``full`` also fetches them back
    and sends them by the SendTensor RPC."""

    def body(session: Session) -> None:
        context = session.new_context(is_async=False)
        strings = declared([10**7], m.DT_STRING, b"\0" * 10**7)
        session.call("Enqueue", fetch(context, "StringLength", [strings]))
        if full:
            session.call("Enqueue", fetch(context, "Identity", [strings]))
            request = m.SendTensorRequest(context_id=context, op_id=1, device_name=m.DEVICE)
            request.tensors.append(strings)
            session.call("SendTensor", m.serialize(request))
        liar = declared([10**7], m.DT_STRING, b"\x05" * 100)  # lengths past the end
        session.call("Enqueue", fetch(context, "Identity", [liar]))

    return Case("hostile", "DT_STRING tensor_content of 10^7 empty strings", body)


@_case("shapes of 100,000 dims, rank 65, negative dims, [0, 2**63-1], overflowing products")
def bad_shapes(session: Session) -> None:
    context = session.new_context(is_async=False)
    shapes = [[1] * 100_000, [1] * 65, [1] * 64, [-5], [-1, 2], [2, -3], [0, 2**63 - 1],
              [2**63 - 1, 0], [2**62, 4], [2**32, 2**32], [2**63 - 1], [-2**63]]
    for dims in shapes:
        for tensor in (declared(dims, m.DT_FLOAT, b"\0\0\x80\x3f"), declared(dims, m.DT_FLOAT)):
            session.call("Enqueue", fetch(context, "Neg", [tensor]))
        session.call("Enqueue", fetch(context, "Reshape", [f32(1), i64(dims)]))
        session.call("Enqueue", fetch(context, "EnsureShape", [f32([1])], {"shape": tuple(dims)}))
        session.call("Enqueue", fetch(context, "Fill", [i64(dims), f32(1)]))
    session.call("Enqueue", fetch(context, "Reshape", [f32(1), i32([1] * 65)]))
    session.call("Enqueue", fetch(context, "Shape", [declared([1] * 64, m.DT_FLOAT, b"\0" * 4)]))


@_case("Fill/Tile/Range/OneHot/BroadcastTo (and kin) of 10^10 elements")
def ten_billion(session: Session) -> None:
    for is_async in (False, True):
        context = session.new_context(is_async=is_async)
        requests = [
            ("Fill", [i64([10**5, 10**5]), f32(1)], {}),
            ("Fill", [i32([10**5, 10**5]), m.tensor(np.array(b"x", dtype=object))], {}),
            ("Tile", [f32([1]), i64([BIG])], {}),
            ("Tile", [f32([[1]]), i32([10**5, 10**5])], {}),
            ("Range", [i64(0), i64(BIG), i64(1)], {}),
            ("Range", [f32(0), f32(1e10), f32(1)], {}),
            ("Range", [f32(0), f32(1), f32(1e-30)], {}),
            ("OneHot", [i32(np.arange(10**5)), i32(10**5), f32(1), f32(0)], {}),
            ("BroadcastTo", [f32(1), i64([10**5, 10**5])], {}),
            ("LinSpace", [f32(0), f32(1), i64(BIG)], {}),
            ("ZerosLike", [declared([10**5, 10**5])], {}),
            ("Pad", [f32([1]), i64([[BIG, BIG]])], {}),
            ("MirrorPad", [f32([1, 2]), i64([[1, 1]])], {"mode": "REFLECT"}),
            ("StatelessRandomUniform", [i64([10**5, 10**5]), i64([1, 2])], {"dtype": F32}),
            ("RandomUniform", [i64([10**5, 10**5])], {"dtype": F32}),
            ("UnsortedSegmentSum", [f32([1]), i32([0]), i64(BIG)], {}),
            ("Bincount", [i32([1]), i32(2**31 - 1), f32([])], {}),
            ("ScatterNd", [i32([[0]]), f32([1]), i64([BIG])], {}),
            ("MatrixDiag", [f32(np.ones(10**5, np.float32))], {}),
            ("TensorListReserve", [i32(-1), i32(2**31 - 1)], {"element_dtype": F32}),
            ("Einsum", [f32(np.ones(10**5)), f32(np.ones(10**5))], {"equation": "i,j->ij",
                                                                   "N": 2}),
            ("MatMul", [declared([1, 10**5]), declared([10**5, 10**5])], {}),
        ]
        for index, (name, inputs, attrs) in enumerate(requests):
            if is_async:
                session.call("Enqueue", m.enqueue(context, m.item_operation(
                    m.operation(index + 1, name, inputs, attrs))))
            else:
                session.call("Enqueue", fetch(context, name, inputs, attrs))
        if is_async:
            session.call("WaitQueueDone", m.serialize(m.WaitQueueDoneRequest(
                context_id=context)))


@_case("Conv2D with a 0-size input, bad padding bytes, strides as int and other bad attrs")
def conv2d(session: Session) -> None:
    context = session.new_context(is_async=False)
    image = f32(np.ones((1, 4, 4, 1)))
    kernel = f32(np.ones((2, 2, 1, 1)))
    good: dict[str, Any] = {"strides": [1, 1, 1, 1], "padding": "VALID"}
    variants: list[tuple[list[Any], dict[str, Any]]] = [
        ([f32(np.ones((1, 0, 0, 1))), kernel], good),
        ([f32(np.ones((0, 4, 4, 1))), kernel], good),
        ([image, f32(np.ones((0, 0, 1, 1)))], good),
        ([image, f32(np.ones((2, 2, 0, 1)))], good),
        ([image, kernel], {**good, "padding": b"\xff\xfeSAME"}),
        ([image, kernel], {**good, "padding": ""}),
        ([image, kernel], {**good, "padding": "EXPLICIT"}),
        ([image, kernel], {**good, "padding": "EXPLICIT", "explicit_paddings": [-1] * 8}),
        ([image, kernel], {**good, "padding": "EXPLICIT", "explicit_paddings": [BIG] * 8}),
        ([image, kernel], {**good, "strides": 1}),
        ([image, kernel], {**good, "strides": [1, 1]}),
        ([image, kernel], {**good, "strides": [1, 0, 0, 1]}),
        ([image, kernel], {**good, "strides": [1, -1, -1, 1]}),
        ([image, kernel], {**good, "strides": [1, 2**62, 2**62, 1]}),
        ([image, kernel], {**good, "dilations": [1, 0, 0, 1]}),
        ([image, kernel], {**good, "dilations": [1, BIG, BIG, 1]}),
        ([image, kernel], {**good, "data_format": "garbage"}),
        ([image, kernel], {**good, "data_format": "NCHW"}),
        ([image, kernel], {"padding": "SAME"}),
        ([image, kernel], {**good, "T": I32}),
        ([f32([1, 2]), kernel], good),
        ([image, f32(np.ones((9, 9, 1, 1)))], good),
        ([image, f32(np.ones((2, 2, 3, 1)))], good),
    ]
    for inputs, attrs in variants:
        session.call("Enqueue", fetch(context, "Conv2D", inputs, attrs))
    for name in ("MaxPool", "AvgPool"):
        for attrs in ({"ksize": [1, 0, 0, 1], "strides": [1, 1, 1, 1], "padding": "VALID"},
                      {"ksize": [1, BIG, BIG, 1], "strides": [1, 1, 1, 1], "padding": "SAME"},
                      {"ksize": 2, "strides": 1, "padding": "VALID"}):
            session.call("Enqueue", fetch(context, name, [image], attrs))


def _chain(name: str, length: int) -> Any:
    nodes = [m.node("n0", "Identity", ["x"], {"T": F32})] + [
        m.node(f"n{i}", "Identity", [f"n{i - 1}:output:0"], {"T": F32})
        for i in range(1, length)]
    return m.function(name, [("x", "DT_FLOAT")], [("y", "DT_FLOAT")], nodes,
                      {"y": f"n{length - 1}:output:0"})


@_case("FunctionDefs: 3000 chained Identity nodes, 200 nested calls, recursion, a cycle")
def functions(session: Session) -> None:
    context = session.new_context(is_async=False)
    session.call("Enqueue", m.enqueue(context, m.item_register(_chain("Chain3000", 3000))))
    session.call("Enqueue", fetch(context, "Chain3000", [f32([1, 2])]))
    session.call("Enqueue", fetch(context, "PartitionedCall", [f32(3)], {
        "f": m.Func("Chain3000"), "Tin": [F32], "Tout": [F32]}))
    session.call("Enqueue", m.enqueue(context, m.item_register(_chain("Chain100k", 100_000))))
    nested = [m.function("Nest0", [("x", "DT_FLOAT")], [("y", "DT_FLOAT")],
                         [m.node("n", "Neg", ["x"], {"T": F32})], {"y": "n:y:0"})]
    for level in range(1, 200):
        nested.append(m.function(f"Nest{level}", [("x", "DT_FLOAT")], [("y", "DT_FLOAT")],
                                 [m.node("c", f"Nest{level - 1}", ["x"])], {"y": "c:y:0"}))
    session.call("Enqueue", m.enqueue(context, *[m.item_register(f) for f in nested]))
    session.call("Enqueue", fetch(context, "Nest199", [f32(1)]))
    recursive = m.function("Recurse", [("x", "DT_FLOAT")], [("y", "DT_FLOAT")],
                           [m.node("c", "Recurse", ["x"])], {"y": "c:y:0"})
    session.call("Enqueue", m.enqueue(context, m.item_register(recursive)))
    session.call("Enqueue", fetch(context, "Recurse", [f32(1)]))
    mutual = [m.function("PingFn", [("x", "DT_FLOAT")], [("y", "DT_FLOAT")],
                         [m.node("c", "PongFn", ["x"])], {"y": "c:y:0"}),
              m.function("PongFn", [("x", "DT_FLOAT")], [("y", "DT_FLOAT")],
                         [m.node("c", "PingFn", ["x"])], {"y": "c:y:0"})]
    session.call("Enqueue", m.enqueue(context, *[m.item_register(f) for f in mutual]))
    session.call("Enqueue", fetch(context, "PingFn", [f32(1)]))
    cycle = m.function("Cycle", [("x", "DT_FLOAT")], [("y", "DT_FLOAT")], [
        m.node("a", "AddV2", ["x", "b:z:0"], {"T": F32}),
        m.node("b", "AddV2", ["x", "a:z:0"], {"T": F32})], {"y": "a:z:0"})
    session.call("Enqueue", m.enqueue(context, m.item_register(cycle)))
    session.call("Enqueue", fetch(context, "Cycle", [f32(1)]))
    dangling = m.function("Dangling", [("x", "DT_FLOAT")], [("y", "DT_FLOAT")], [
        m.node("a", "Neg", ["nowhere:y:0"], {"T": F32})], {"y": "a:y:7"})
    session.call("Enqueue", m.enqueue(context, m.item_register(dangling)))
    session.call("Enqueue", fetch(context, "Dangling", [f32(1)]))
    session.call("Enqueue", m.enqueue(context, m.item_register(_chain("Chain3000", 3))))
    session.call("Enqueue", fetch(context, "While", [f32(1)], {
        "T": [F32], "cond": m.Func("Recurse"), "body": m.Func("Recurse")}))


def _forever_items() -> list[Any]:
    forever = m.function("Forever", [("x", "DT_INT32")], [("c", "DT_BOOL")],
                         [m.node("t", "Const", [], {"dtype": np.dtype(np.bool_),
                                                    "value": np.array(True)})],
                         {"c": "t:output:0"})
    same = m.function("Same", [("x", "DT_INT32")], [("y", "DT_INT32")],
                      [m.node("i", "Identity", ["x"], {"T": I32})], {"y": "i:output:0"})
    return [m.item_register(forever), m.item_register(same)]


def _while(op_id: int) -> Any:
    return m.item_operation(m.operation(op_id, "While", [i32(0)], {
        "T": [I32], "cond": m.Func("Forever"), "body": m.Func("Same")}))


@_case("a While that never ends, its waiters ended by CloseContext (async context)")
def endless_while_async(session: Session) -> None:
    context = session.new_context(is_async=True)
    session.call("Enqueue", m.enqueue(context, *_forever_items(), _while(1)))
    waiters = [
        ("WaitQueueDone", m.serialize(m.WaitQueueDoneRequest(context_id=context))),
        ("WaitQueueDone", m.serialize(m.WaitQueueDoneRequest(context_id=context, op_id=[1]))),
        ("Enqueue", fetch(context, "Identity", [m.handle(1, dtype=m.DT_INT32)])),
        ("StreamingEnqueue", fetch(context, "Identity", [m.handle(1, dtype=m.DT_INT32)])),
    ]
    pending = [(method, payload, session.background(method, payload, timeout=30))
               for method, payload in waiters]
    time.sleep(0.5)
    for method, payload, future in pending:
        session.expect(not future.done(), f"{method} must wait for a While that never ends",
                       future.result() if future.done() else None, payload)
    session.close_context(context)
    for method, payload, future in pending:
        outcome = future.result(timeout=40)
        session.judge(outcome, payload)
        session.expect(outcome.code == grpc.StatusCode.CANCELLED,
                       f"{method} waiting on a While must end with CANCELLED once its "
                       "context is closed", outcome, payload)


@_case("a While that never ends in a sync context (Enqueue blocks), ended by CloseContext")
def endless_while_sync(session: Session) -> None:
    context = session.new_context(is_async=False)
    session.call("Enqueue", m.enqueue(context, *_forever_items()))
    payload = m.enqueue(context, _while(1))
    pending = session.background("Enqueue", payload, timeout=30)
    time.sleep(0.5)
    session.close_context(context)
    outcome = pending.result(timeout=40)
    session.judge(outcome, payload)
    session.expect(outcome.code == grpc.StatusCode.CANCELLED,
                   "a sync Enqueue running a While must end with CANCELLED once its context "
                   "is closed", outcome, payload)
    context = session.new_context(is_async=True)
    session.call("Enqueue", m.enqueue(context, *_forever_items()))
    close_while_waiting(session, context, "StreamingEnqueue", [
        m.enqueue(context, _while(1)),
        fetch(context, "Identity", [m.handle(1, dtype=m.DT_INT32)])])


@_case("RecvTensor of a key nobody sends: waits by design, ended by CloseContext")
def recv_nobody_sends(session: Session) -> None:
    context = session.new_context(is_async=False)
    key = f"{m.DEVICE};{session.incarnation:016x};{m.CLIENT_DEVICE};never_sent;0:0"
    step = context - (1 << 64) if context >= 1 << 63 else context
    request = m.serialize(m.RecvTensorRequest(step_id=step, rendezvous_key=key))
    close_while_waiting(session, context, "RecvTensor", request)
    # A step that is no context's (a component function's) waits until the deadline.
    other = m.serialize(m.RecvTensorRequest(step_id=12345, rendezvous_key=key))
    session.call("RecvTensor", other, timeout=1.0, may_wait=True)
    context = session.new_context(is_async=False)
    recv = m.item_operation(m.operation(-1, "_Recv", [], {
        "tensor_type": F32, "tensor_name": "never_sent", "send_device": m.DEVICE,
        "send_device_incarnation": session.incarnation - (1 << 64)
        if session.incarnation >= 1 << 63 else session.incarnation,
        "recv_device": m.DEVICE, "client_terminated": False}))
    close_while_waiting(session, context, "Enqueue", m.enqueue(context, recv))


@_case("CreateContext: keep_alive_secs length-delimited, then the keep-alive sweep still works")
def keep_alive_wire_type(session: Session) -> None:
    context = session.rng.getrandbits(64) | 1
    session.call("CreateContext", pw.field_fixed64(7, context) + pw.field_bytes(3, b"\x05"))
    session.call("CreateContext", pw.field_fixed64(7, context) + pw.field_bytes(3, b""))
    session.contexts.add(context)
    for keep_alive in (-1, 0, 2**63 - 1, -2**63):
        other = session.rng.getrandbits(64) | 1
        session.call("CreateContext", pw.field_fixed64(7, other)
                     + pw.field_varint(3, keep_alive))
        session.contexts.add(other)
    short = session.rng.getrandbits(64) | 1
    session.call("CreateContext", pw.field_fixed64(7, short) + pw.field_varint(3, 1))
    session.contexts.add(short)
    time.sleep(2.6)  # swept once a second; idle for more than 1 s
    outcome = session.call("KeepAlive", pw.field_fixed64(1, short))
    session.expect(outcome.code == grpc.StatusCode.ABORTED,
                   "a context idle past its keep_alive_secs must be collected (ABORTED)",
                   outcome)


@_case("clear_existing_contexts while another context runs a never-ending While")
def clear_existing(session: Session) -> None:
    context = session.new_context(is_async=True)
    session.call("Enqueue", m.enqueue(context, *_forever_items(), _while(1)))
    payload = m.serialize(m.WaitQueueDoneRequest(context_id=context))
    waiting = session.background("WaitQueueDone", payload, timeout=30)
    time.sleep(0.3)
    fresh = session.rng.getrandbits(64) | 1
    session.call("CreateContext", m.serialize(m.CreateContextRequest(
        context_id=fresh, clear_existing_contexts=True, keep_alive_secs=60)))
    session.contexts.add(fresh)
    outcome = waiting.result(timeout=40)
    session.judge(outcome, payload)
    session.expect(outcome.code == grpc.StatusCode.CANCELLED,
                   "WaitQueueDone on a context cleared by clear_existing_contexts must end "
                   "with CANCELLED", outcome, payload)
    session.call("KeepAlive", pw.field_fixed64(1, context))


def huge_repeated(full: bool) -> Case:
    """Repeated fields with 10^4 to 10^6 elements in every RPC that has one; ``full``:
    the largest sizes, else a tenth of some."""
    tenth = 1 if full else 10

    def body(session: Session) -> None:
        context = session.new_context(is_async=False)
        adds = [m.item_operation(m.operation(i + 1, "AddV2", [f32(1), f32(2)]))
                for i in range(50_000 // tenth)]
        session.call("Enqueue", m.enqueue(context, *adds))
        decrefs = [m.item_decref(i) for i in range(1, 100_001)]
        session.call("Enqueue", m.enqueue(context, *decrefs))
        session.call("Enqueue", fetch(context, "AddN", [f32(1)] * 20_000, {"N": 20_000}))
        wait = m.WaitQueueDoneRequest(context_id=context)
        wait.op_id.extend(range(1_000_000 // tenth))
        session.call("WaitQueueDone", m.serialize(wait))
        run = m.RunComponentFunctionRequest(context_id=context, operation=m.operation(
            5, "AddV2", [f32(1), f32(2)]))
        run.output_num.extend(range(100_000))
        session.call("RunComponentFunction", m.serialize(run))
        many = m.TensorProto(dtype=m.DT_FLOAT)
        many.tensor_shape.CopyFrom(m.shape([2]))
        many.float_val.extend([1.0] * 3_000_000)
        session.call("Enqueue", fetch(context, "Neg", [many]))
        listed = fetch(context, "Neg", [f32(1)], {"fuzz_list": list(range(1_000_000))})
        session.call("Enqueue", listed)
        create = m.CreateContextRequest(context_id=session.rng.getrandbits(64) | 1)
        for i in range(100_000 // tenth):
            create.cluster_device_attributes.add(
                name=f"/job:w/replica:0/task:{i}/device:CPU:0")
        job = create.server_def.cluster.job.add(name="worker")
        for i in range(100_000 // tenth):
            job.tasks[i] = f"localhost:{i}"
        create.server_def.job_name = "worker"
        session.call("CreateContext", m.serialize(create))
        stream = [fetch(context, "AddV2", [f32(1), f32(i)]) for i in range(2000)]
        session.call("StreamingEnqueue", stream)

    return Case("hostile", "huge repeated fields", body)


@_case("handles: dtype without device, bad output numbers, handles of ops that failed")
def handles(session: Session) -> None:
    context = session.new_context(is_async=False)
    session.call("Enqueue", m.enqueue(context, m.item_send(1, f32([1, 2]))))
    odd = [m.RemoteTensorHandle(op_id=1, dtype=m.DT_FLOAT),
           m.RemoteTensorHandle(op_id=1, output_num=-1, device=m.DEVICE),
           m.RemoteTensorHandle(op_id=1, output_num=2**31 - 1, device=m.DEVICE),
           m.RemoteTensorHandle(op_id=-1, device=m.DEVICE),
           m.RemoteTensorHandle(op_id=2**63 - 1, device="/job:ghost/replica:0/task:0"),
           m.RemoteTensorHandle(op_id=1, device=m.DEVICE, dtype=999),
           m.RemoteTensorHandle(op_id=1, op_device="/job:worker/replica:0/task:7/device:CPU:0",
                                dtype=m.DT_FLOAT)]
    for handle in odd:
        session.call("Enqueue", fetch(context, "Neg", [handle]))
        session.call("Enqueue", m.enqueue(context, m.QueueItem(handle_to_decref=handle)))
    seed_style = m.Operation(id=-1, name="Neg")
    seed_style.inputs.append(m.RemoteTensorHandle(op_id=1, dtype=m.DT_FLOAT))
    session.call("Enqueue", m.enqueue(context, m.item_operation(seed_style)))
    session.call("Enqueue", m.enqueue(context, m.item_send(2, f32(1)), m.item_send(2, f32(2))))
    session.call("Enqueue", m.enqueue(context, m.item_operation(m.operation(
        3, "Reshape", [m.handle(1), i32([5])]))))
    session.call("Enqueue", fetch(context, "Neg", [m.handle(3)]))
    async_context = session.new_context(is_async=True)
    session.call("Enqueue", m.enqueue(async_context, m.item_send(1, f32([1, 2])),
                                      m.item_operation(m.operation(
                                          2, "Reshape", [m.handle(1), i32([5])])),
                                      m.item_operation(m.operation(3, "Neg", [m.handle(2)]))))
    session.call("Enqueue", fetch(async_context, "Neg", [m.handle(3)]))
    session.call("WaitQueueDone", m.serialize(m.WaitQueueDoneRequest(
        context_id=async_context, op_id=[3, 2, 99])))
    session.call("Enqueue", m.enqueue(async_context, m.item_decref(2), m.item_decref(3),
                                      m.item_decref(3)))


@_case("context ids and view ids at their limits")
def context_ids(session: Session) -> None:
    top = 2**64 - 1
    session.contexts.add(top)
    session.call("CreateContext", m.serialize(m.CreateContextRequest(
        context_id=top, context_view_id=top)))
    session.call("UpdateContext", m.serialize(m.UpdateContextRequest(
        context_id=top, context_view_id=top)))
    session.call("CreateContext", m.serialize(m.CreateContextRequest(
        context_id=top, context_view_id=0)))
    session.call("Enqueue", fetch(top, "Neg", [f32(1)]))
    session.call("RecvTensor", m.serialize(m.RecvTensorRequest(
        step_id=-1, rendezvous_key=f"{m.DEVICE};{session.incarnation ^ 1:016x};a;b;0:0")))
    session.call("CloseContext", pw.field_fixed64(1, top) + pw.field_fixed64(2, top))
    for method in ("Enqueue", "WaitQueueDone", "KeepAlive", "RunComponentFunction",
                   "SendTensor", "RegisterFunction", "UpdateContext", "CloseContext"):
        session.call(method, b"")
        session.call(method, _ctx(method, 0))
    created = session.call("CreateContext", b"")  # id 0: the worker picks one
    if created.ok:
        session.expect(bool(created.reply), "CreateContext with id 0 must name the new id",
                       created)
    server_def = m.ServerDef(job_name="worker", task_index=-1, replica=-5)
    request = m.CreateContextRequest(context_id=session.rng.getrandbits(64) | 1)
    request.server_def.CopyFrom(server_def)
    session.call("CreateContext", m.serialize(request))
    request.server_def.task_index = 2**31 - 1
    request.server_def.job_name = "j" * 100_000
    session.contexts.add(request.context_id)
    session.call("CreateContext", m.serialize(request))
    session.call("Enqueue", fetch(request.context_id, "Neg", [f32(1)]))


def _ctx(method: str, context: int) -> bytes:
    return with_context(RPCS[method], b"", context)


@_case("tensors: bad dtypes, lying contents, variant and resource tensors inline")
def bad_tensors(session: Session) -> None:
    context = session.new_context(is_async=False)
    tensors = [
        declared([2], 999, b"\0" * 8), declared([2], 0, b"\0" * 8), declared([2], -3, b""),
        declared([2], 11, b"\0\0"),  # DT_QINT8
        declared([3], m.DT_FLOAT, b"\0" * 5), declared([], m.DT_FLOAT, b"\0" * 400),
        declared([2], m.DT_RESOURCE, b"garbage"), declared([], m.DT_VARIANT, b"\x0a\x02xx"),
        declared([2], 101, b"\0" * 8),  # DT_FLOAT_REF
        declared([2], m.DT_STRING, b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"),
        declared([1], m.DT_STRING, b"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"),
        declared([4], 14, b"\0" * 8), declared([4], 19, b"\0" * 7),  # bfloat16, half
    ]
    resource = m.TensorProto(dtype=m.DT_RESOURCE)
    resource.tensor_shape.CopyFrom(m.shape([]))
    resource.resource_handle_val.add(device=m.DEVICE, name="stolen", hash_code=7)
    variant = m.TensorProto(dtype=m.DT_VARIANT)
    variant.tensor_shape.CopyFrom(m.shape([]))
    variant.variant_val.add(type_name="tensorflow::TensorList", metadata=b"\xff" * 10)
    typed = m.TensorProto(dtype=19)  # DT_HALF
    typed.tensor_shape.CopyFrom(m.shape([3]))
    typed.half_val.extend([-1, 2**31 - 1, 70000])
    tensors += [resource, variant, typed]
    deep = pw.field_varint(1, m.DT_VARIANT) + pw.field_bytes(15, pw.field_bytes(3, nested_raw()))
    operation = pw.field_varint(1, -1) + pw.field_bytes(2, "Identity") + pw.field_bytes(
        10, pw.field_bytes(2, deep))
    session.call("Enqueue", pw.field_fixed64(1, context) + pw.field_bytes(
        3, pw.field_bytes(2, operation)))
    for tensor in tensors:
        session.call("Enqueue", fetch(context, "Identity", [tensor]))
        session.call("Enqueue", fetch(context, "ReadVariableOp", [tensor], {"dtype": F32}))
        request = m.SendTensorRequest(context_id=context, op_id=9, device_name=m.DEVICE)
        request.tensors.append(tensor)
        session.call("SendTensor", m.serialize(request))
    session.call("Enqueue", fetch(context, "Identity", [f32(1)], {"T": m.AttrValue(
        type=999)}))


def nested_raw(depth: int = 150) -> bytes:
    """A TensorProto nested ``depth`` deep through variant_val.tensors: deeper than
    protobuf's recursion limit (100), so built by hand."""
    nested = pw.field_varint(1, m.DT_FLOAT)
    for _ in range(depth):
        nested = pw.field_varint(1, m.DT_VARIANT) + pw.field_bytes(15, pw.field_bytes(
            3, nested))
    return nested


@_case("variables: uninitialized reads, dtype changes, destroyed handles, file ops")
def variables(session: Session) -> None:
    context = session.new_context(is_async=False)
    session.call("Enqueue", m.enqueue(context, m.item_operation(m.operation(
        1, "VarHandleOp", [], {"dtype": F32, "shape": (2,), "shared_name": "v"}))))
    handle = m.handle(1, dtype=m.DT_RESOURCE)
    steps = [
        ("ReadVariableOp", [handle], {"dtype": F32}),
        ("AssignVariableOp", [handle, i32([1, 2])], {"dtype": I32}),
        ("AssignVariableOp", [handle, f32([[1, 2, 3]])], {"dtype": F32}),
        ("ReadVariableOp", [handle], {"dtype": I32}),
        ("ResourceGather", [handle, i32([5, -1])], {"dtype": F32}),
        ("ResourceScatterAdd", [handle, i32([9]), f32([1])], {"dtype": F32}),
        ("DestroyResourceOp", [handle], {}),
        ("DestroyResourceOp", [handle], {}),
        ("ReadVariableOp", [handle], {"dtype": F32}),
        ("SaveV2", [m.tensor(np.array(b"/tmp/fuzz_ckpt", dtype=object)),
                    m.tensor(np.array([b"v"], dtype=object)),
                    m.tensor(np.array([b""], dtype=object)), f32([1])], {"dtypes": [F32]}),
        ("RestoreV2", [m.tensor(np.array(b"/etc/passwd", dtype=object)),
                       m.tensor(np.array([b"v"], dtype=object)),
                       m.tensor(np.array([b""], dtype=object))], {"dtypes": [F32]}),
        ("PrintV2", [m.tensor(np.array(b"hello", dtype=object))],
         {"output_stream": "file:///tmp/fuzz_print"}),
    ]
    for name, inputs, attrs in steps:
        session.call("Enqueue", fetch(context, name, inputs, attrs))


@_case("queue items: every kind empty, unknown kinds, cleanup of unknown steps")
def queue_items(session: Session) -> None:
    for is_async in (False, True):
        context = session.new_context(is_async=is_async)
        for number in range(1, 12):
            session.call("Enqueue", pw.field_fixed64(1, context)
                         + pw.field_bytes(3, pw.field_bytes(number, b"")))
        session.call("Enqueue", pw.field_fixed64(1, context) + pw.field_bytes(3, b""))
        cleanup = pw.field_bytes(5, pw.field_varint(1, -1))
        session.call("Enqueue", pw.field_fixed64(1, context) + pw.field_bytes(3, cleanup))
        remove = pw.field_bytes(8, pw.field_bytes(1, "NoSuchFunction"))
        session.call("Enqueue", pw.field_fixed64(1, context) + pw.field_bytes(3, remove))
        packed = m.QueueItem()
        packed.send_packed_handle.op_id = 4
        packed.send_packed_handle.handles.add().local_handle.tensor.CopyFrom(f32(1))
        session.call("Enqueue", m.enqueue(context, packed))
        register = m.QueueItem()
        register.register_function.function_def.signature.name = ""
        register.register_function.library.function.append(FUNCTIONS_FOR_OPS[0])
        register.register_function.library.function.append(FUNCTIONS_FOR_OPS[0])
        session.call("Enqueue", m.enqueue(context, register))
        sync = m.QueueItem()
        sync.sync_remote_executor_for_stream.SetInParent()
        session.call("Enqueue", m.enqueue(context, sync, sync))
        session.call("StreamingEnqueue", [m.enqueue(context, sync), b"\xff\xff",
                                          m.enqueue(context, sync)])


@_case("RunComponentFunction: no operation, functions that are not there, odd output_num")
def run_component(session: Session) -> None:
    context = session.new_context(is_async=False)
    session.call("Enqueue", m.enqueue(context, *[m.item_register(f) for f in FUNCTIONS_FOR_OPS]))
    for operation, outputs in [
        (None, []), (m.operation(-1, "NoSuch", [f32(1)]), []),
        (m.operation(5, "FuzzId", [f32(1)], {"T": F32}, is_component_function=True,
                     func_step_id=-1), [0, 0]),
        (m.operation(6, "FuzzId", [f32(1)], {"T": F32}, is_component_function=True), [-1]),
        (m.operation(7, "FuzzId", [f32(1)], {"T": F32}, func_step_id=2**63 - 1), [2**31 - 1]),
        (m.operation(8, "_Send", [f32(1)], {"T": F32, "tensor_name": "x",
                                           "send_device": m.DEVICE, "recv_device": m.DEVICE,
                                           "send_device_incarnation": 1,
                                           "client_terminated": False}), []),
    ]:
        request = m.RunComponentFunctionRequest(context_id=context)
        if operation is not None:
            request.operation.CopyFrom(operation)
        request.output_num.extend(outputs)
        session.call("RunComponentFunction", m.serialize(request))
    # A component that never ends (FuzzTrue is always true) ends with its context.
    endless = m.RunComponentFunctionRequest(context_id=context, operation=m.operation(
        -1, "While", [i32(0)], {"T": [I32], "cond": m.Func("FuzzTrue"),
                                "body": m.Func("FuzzId")}))
    close_while_waiting(session, context, "RunComponentFunction", m.serialize(endless))


def hostile_cases(full: bool = True) -> list[Case]:
    """The whole list; ``full=False``, for the short run, sends each nested wrong-wire-type
    field once rather than under every RPC, and leaves out the slowest variants of two
    classes (fetching 10^7 strings back, the largest repeated fields)."""
    # The two cases of the largest tensors go last: a worker that takes them on stays busy
    # (and its memory full) for a while, which would blur what the cases after them find.
    return [*wrong_wire_cases(full), huge_names, bad_shapes, conv2d, functions,
            endless_while_async, endless_while_sync, recv_nobody_sends, keep_alive_wire_type,
            clear_existing, huge_repeated(full), handles, context_ids, bad_tensors, variables,
            queue_items, run_component, ten_billion, ten_million_strings(full),
            declared_billion]
