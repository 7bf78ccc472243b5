"""What each benchmark scenario sends: EagerService requests, serialized before any clock starts.

Every request is valid for a real TensorFlow 2.21 worker: a client-chosen context id, a
ServerDef naming job ``worker`` task 0, ops with a full device name and ``T: DT_FLOAT``,
and remote handles carrying ``device``, ``op_device`` and ``dtype``.

Enqueue requests are built once without a context id; a run prefixes each body with an
``EnqueueRequest`` holding only its own context id (field 1). Protobuf parsers merge
concatenated messages, so ``head + body`` *is* the request for that context, and the
bodies are shared by every run against every target.

>>> body = tiny_bodies(ops=4, k=2)[0]
>>> len(EnqueueRequest.FromString(enqueue_head(7) + body).queue)
2
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import numpy as np

from ..upb import message_class

__all__ = [
    "DEVICE",
    "QUICK",
    "SCENARIOS",
    "TINY",
    "Scenario",
    "Sizes",
    "close_context",
    "create_context",
    "enqueue_head",
    "fetch_body",
    "fetched_bytes",
    "matmul_chain_body",
    "matrix",
    "new_context_id",
    "replied_items",
    "seed_body",
    "send_body",
    "tiny_bodies",
    "wait_queue_done",
]

DEVICE = "/job:worker/replica:0/task:0/device:CPU:0"
DT_FLOAT = 1
KEEP_ALIVE_SECS = 600

CreateContextRequest = message_class("tensorflow.eager.CreateContextRequest")
EnqueueRequest = message_class("tensorflow.eager.EnqueueRequest")
EnqueueResponse = message_class("tensorflow.eager.EnqueueResponse")
WaitQueueDoneRequest = message_class("tensorflow.eager.WaitQueueDoneRequest")
CloseContextRequest = message_class("tensorflow.eager.CloseContextRequest")
RemoteTensorHandle = message_class("tensorflow.eager.RemoteTensorHandle")
TensorProto = message_class("tensorflow.TensorProto")


@dataclass(frozen=True, slots=True)
class Scenario:
    """One benchmark scenario: what its figure measures and which way is better.

    >>> SCENARIOS["matmul"].unit
    's'
    """

    name: str
    unit: str
    higher_is_better: bool
    summary: str
    batched: bool = False


TINY = ("sync-unary", "async-unary", "async-stream", "sync-stream")

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("sync-unary", "ops/s", True,
             "sync context, unary Enqueue, one request at a time", batched=True),
    Scenario("async-unary", "ops/s", True,
             "async context, unary Enqueue one at a time, then WaitQueueDone", batched=True),
    Scenario("async-stream", "ops/s", True,
             "async context, StreamingEnqueue pipelined, then WaitQueueDone", batched=True),
    Scenario("sync-stream", "ops/s", True,
             "sync context, StreamingEnqueue in lock step", batched=True),
    Scenario("many-contexts", "ops/s", True,
             "many async contexts at once, each sending unary Enqueues of one op, then "
             "WaitQueueDone", batched=True),
    Scenario("matmul", "s", False,
             "chained float32 MatMuls in one sync Enqueue, then a fetch of the result"),
    Scenario("push", "MB/s", True, "a float32 tensor sent by send_tensor (sync context)"),
    Scenario("pull", "MB/s", True, "that tensor read back by Identity with id -1"),
)}


@dataclass(frozen=True, slots=True)
class Sizes:
    """How much each scenario sends.

    K = 1 sends ``ops // 10`` ops: one round trip per op makes it the slowest mode.
    ``many-contexts`` runs ``many_contexts`` contexts at once, each sending
    ``ops // 500`` ops (at least one), one op per request.

    >>> Sizes().ops_for(1), Sizes().ops_for(100), Sizes().ops_per_context
    (2000, 20000, 40)
    """

    ops: int = 20000
    batch_sizes: tuple[int, ...] = (1, 100, 1000)
    matmul_n: int = 1024
    matmul_chain: int = 20
    transfer_mib: int = 64
    many_contexts: int = 128

    @property
    def ops_per_context(self) -> int:
        """Ops each of the ``many-contexts`` scenario's contexts sends."""
        return max(1, self.ops // 500)

    def ops_for(self, k: int) -> int:
        """Ops sent for batch size ``k``: a whole number of requests, at least one."""
        total = self.ops if k > 1 else max(1, self.ops // 10)
        return max(k, total - total % k)


QUICK = Sizes(ops=2000, matmul_n=256, transfer_mib=8)


def new_context_id() -> int:
    """A random nonzero 64-bit context id, as TF 2.21 clients choose them."""
    return secrets.randbits(64) or 1


def create_context(context_id: int, address: str, *, is_async: bool) -> bytes:
    """A CreateContextRequest as the stock client sends it: a ServerDef whose cluster has
    job ``worker`` with task 0 at ``address``, and keep_alive_secs 600."""
    request = CreateContextRequest(context_id=context_id, keep_alive_secs=KEEP_ALIVE_SECS,
                                   **{"async": is_async})
    request.server_def.job_name = "worker"
    request.server_def.task_index = 0
    request.server_def.protocol = "grpc"
    request.server_def.cluster.job.add(name="worker").tasks[0] = address
    return request.SerializeToString()  # type: ignore[no-any-return]


def enqueue_head(context_id: int) -> bytes:
    """The prefix that makes a body an EnqueueRequest of ``context_id``."""
    return EnqueueRequest(context_id=context_id).SerializeToString()  # type: ignore[no-any-return]


def wait_queue_done(context_id: int) -> bytes:
    """WaitQueueDone for every op queued so far (no op ids)."""
    return WaitQueueDoneRequest(context_id=context_id).SerializeToString()  # type: ignore[no-any-return]


def close_context(context_id: int) -> bytes:
    """CloseContext of ``context_id``."""
    return CloseContextRequest(context_id=context_id).SerializeToString()  # type: ignore[no-any-return]


def _handle(op_id: int) -> object:
    return RemoteTensorHandle(op_id=op_id, device=DEVICE, op_device=DEVICE, dtype=DT_FLOAT)


def _add_op(request: object, op_id: int, name: str, *inputs: object) -> None:
    op = request.queue.add().operation  # type: ignore[attr-defined]
    op.id = op_id
    op.name = name
    op.device = DEVICE
    op.attrs["T"].type = DT_FLOAT
    for handle in inputs:
        op.op_inputs.add().remote_handle.CopyFrom(handle)


def send_body(op_id: int, array: np.ndarray) -> bytes:
    """A body with one send_tensor item: ``array`` (float32) becomes handle (op_id, 0)."""
    request = EnqueueRequest()
    item = request.queue.add().send_tensor
    item.op_id = op_id
    item.device_name = DEVICE
    tensor = item.tensors.add(dtype=DT_FLOAT, tensor_content=array.astype(np.float32).tobytes())
    tensor.tensor_shape.SetInParent()
    for size in array.shape:
        tensor.tensor_shape.dim.add(size=size)
    return request.SerializeToString()  # type: ignore[no-any-return]


def seed_body() -> bytes:
    """The scalar 1.0 every tiny op reads, as handle (1, 0)."""
    return send_body(1, np.ones((), np.float32))


def tiny_bodies(ops: int, k: int) -> list[bytes]:
    """``ops // k`` bodies of ``k`` ops each: AddV2 of handle (1, 0) with itself."""
    seed = _handle(1)
    bodies, next_id = [], 2
    for _ in range(max(1, ops // k)):
        request = EnqueueRequest()
        for _ in range(k):
            _add_op(request, next_id, "AddV2", seed, seed)
            next_id += 1
        bodies.append(request.SerializeToString())
    return bodies


def matmul_chain_body(length: int) -> bytes:
    """``x = MatMul(x, w)`` ``length`` times, starting from x = w = handle (1, 0);
    the last product is handle (length + 1, 0)."""
    request = EnqueueRequest()
    w = _handle(1)
    for op_id in range(2, length + 2):
        _add_op(request, op_id, "MatMul", _handle(op_id - 1), w)
    return request.SerializeToString()  # type: ignore[no-any-return]


def fetch_body(op_id: int) -> bytes:
    """Identity with id -1 of handle (op_id, 0): its value comes back inline."""
    request = EnqueueRequest()
    _add_op(request, -1, "Identity", _handle(op_id))
    return request.SerializeToString()  # type: ignore[no-any-return]


def fetched_bytes(reply: bytes) -> int:
    """Bytes of tensor content in an Enqueue reply (to check a fetch returned the value)."""
    response = EnqueueResponse.FromString(reply)
    return sum(len(t.tensor_content) for q in response.queue_response for t in q.tensor)


def replied_items(reply: bytes) -> int:
    """QueueResponses in an Enqueue reply (one per item sent)."""
    return len(EnqueueResponse.FromString(reply).queue_response)


def matrix(n: int) -> np.ndarray:
    """An ``n x n`` float32 matrix whose powers stay finite: entries of variance 1/n give
    a spectral norm near 2, so 20 chained products grow by about 2**20 at most."""
    rng = np.random.default_rng(0)
    values: np.ndarray = rng.standard_normal((n, n)) / np.sqrt(n)
    return values.astype(np.float32)
