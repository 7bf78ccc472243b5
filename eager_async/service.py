"""The thin grpclib adapters (EagerService, and the part of WorkerService eager clients
use): decode a request, delegate to the runtime, encode the reply, and turn errors into
gRPC statuses, here and nowhere else."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any, TypeVar

import grpclib.const
import grpclib.server
import numpy as np
from grpclib.exceptions import GRPCError, StreamTerminatedError

from . import upb
from ._proto import tensorflow as tf
from ._proto.tensorflow import eager
from .enqueue_reader import read_enqueue
from .errors import EagerError, InvalidArgumentError, ResourceExhaustedError
from .pieces import Pieces
from .receiver import Receiver
from .records import Item, OpItem, RegisterFunctionItem, SendTensorItem
from .runtime import Runtime
from .strict import StrictRequest, parse_strictly
from .tensors import decode_tensor, element_bytes, encode_shape, encode_tensor
from .wire import (
    decode_function,
    decode_items,
    decode_operation,
    encode_recv_tensor_response,
    encode_results,
)

__all__ = ["MAX_REPLY_BYTES", "EagerService", "WorkerService"]

logger = logging.getLogger(__name__)

_SERVICE = "/tensorflow.eager.EagerService/"

T = TypeVar("T")



@contextlib.asynccontextmanager
async def _statuses(method: str, runtime: Runtime) -> AsyncIterator[None]:
    """The one mapping from errors to gRPC statuses."""
    try:
        yield
    except asyncio.CancelledError:
        if not runtime.closing:
            raise  # the client went away or its deadline passed: nobody to answer
        # The server cancels every RPC still running as it shuts down: the client learns
        # why, rather than see its connection drop.
        raise GRPCError(
            grpclib.const.Status.CANCELLED, f"{method}: the worker is shutting down"
        ) from None
    except (GRPCError, StreamTerminatedError):  # a status already, or nobody to tell
        raise
    except MemoryError:
        # Memory ran out before a limit said no (limits above what the process may use).
        logger.warning("%s: out of memory", method)
        raise GRPCError(
            grpclib.const.Status.RESOURCE_EXHAUSTED,
            f"{method}: OOM: the worker ran out of memory for this request; lower "
            "--memory-bytes and --max-tensor-bytes to what the worker may use",
        ) from None
    except EagerError as error:
        if type(error) is EagerError:
            logger.error("%s: internal error: %s", method, _bounded(error.message))
        raise GRPCError(grpclib.const.Status(error.code), _bounded(error.message)) from error
    except Exception as error:
        logger.exception("%s failed unexpectedly", method)
        raise GRPCError(
            grpclib.const.Status.INTERNAL, _bounded(f"internal error in eager_async: {error!r}")
        ) from error


_MAX_MESSAGE = 4096  # characters of a status message; what it echoes can be any size


def _bounded(message: str) -> str:
    """``message``, cut to ``_MAX_MESSAGE`` characters: an error echoing a client's huge
    name or value must neither block the loop encoding the trailer nor overflow it."""
    if len(message) <= _MAX_MESSAGE:
        return message
    cut = len(message) - _MAX_MESSAGE
    return f"{message[:_MAX_MESSAGE]}... ({cut} more characters)"


_ENCODED_ON_LOOP = 256 << 10  # bytes of tensors a reply carries and is still written here
_RESULT_WEIGHT = 64  # what one QueueResponse costs to write, counted as bytes


def _weight(tensors: Iterable[np.ndarray]) -> int:
    """Roughly what writing ``tensors`` costs, in bytes (a string element counts more
    than its bytes: each is a Python object to visit)."""
    return sum(t.size * element_bytes(t.dtype) for t in tensors)


async def _off_the_loop_if_heavy(weight: int, encode: Callable[..., T], *args: Any) -> T:
    """``encode(*args)``, in a thread when ``weight`` says it would hold the loop long."""
    if weight <= _ENCODED_ON_LOOP:
        return encode(*args)
    return await asyncio.to_thread(encode, *args)


MAX_REPLY_BYTES = 2**31 - 1
"""The largest reply a worker sends: a protobuf message's limit (and gRPC's frame
length field's); a reply that would be larger is RESOURCE_EXHAUSTED."""


class EncodedReply:
    """A reply already serialized to protobuf bytes (the Enqueue hot path writes its own),
    or to ``Pieces`` (tensor bytes as views of their arrays, which the worker's transport
    writes as they are); RESOURCE_EXHAUSTED when it is over ``MAX_REPLY_BYTES``, rather
    than failing in the transport with no status."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes | Pieces) -> None:
        if len(payload) > MAX_REPLY_BYTES:
            raise ResourceExhaustedError(
                f"the reply would be {len(payload)} bytes, over the {MAX_REPLY_BYTES}-byte "
                "limit of a protobuf message: fetch the tensor in slices"
            )
        self.payload = payload

    def SerializeToString(self) -> bytes:  # the protobuf method grpclib calls
        """The bytes, as grpclib's protobuf codec asks for them."""
        payload = self.payload
        return payload if isinstance(payload, bytes) else payload.join()


class EagerService:
    """``tensorflow.eager.EagerService`` (both protocol generations) over a ``Runtime``;
    requests are read by ``receiver`` (one per worker: its budget is shared), by default
    one under the runtime's limits.

    >>> server = grpclib.server.Server([EagerService(runtime)])   # doctest: +SKIP
    """

    def __init__(self, runtime: Runtime, receiver: Receiver | None = None) -> None:
        self.runtime = runtime
        self.receiver = receiver or Receiver(runtime.options.limits)

    def __mapping__(self) -> dict[str, grpclib.const.Handler]:
        unary = grpclib.const.Cardinality.UNARY_UNARY
        # RPC, method, its request as the dataclass (None: upb's message, for those read
        # into records here), and the reply.
        methods: list[tuple[str, Callable[[Any], Awaitable[Any]], Any, type]] = [
            ("CreateContext", self.runtime.create_context,
             eager.CreateContextRequest, eager.CreateContextResponse),
            ("UpdateContext", self.runtime.update_context,
             eager.UpdateContextRequest, eager.UpdateContextResponse),
            ("WaitQueueDone", self._wait_queue_done,
             eager.WaitQueueDoneRequest, eager.WaitQueueDoneResponse),
            ("RunComponentFunction", self._run_component_function,
             None, eager.RunComponentFunctionResponse),
            ("KeepAlive", self._keep_alive, eager.KeepAliveRequest, eager.KeepAliveResponse),
            ("CloseContext", self._close_context,
             eager.CloseContextRequest, eager.CloseContextResponse),
            ("RegisterFunction", self._register_function,
             None, eager.RegisterFunctionResponse),
            ("SendTensor", self._send_tensor, None, eager.SendTensorResponse),
        ]
        # Those carrying tensors or functions become records as they are decoded: in a
        # thread, for a large request, and not on the loop in the handler.
        records: dict[str, Callable[[Any], Any]] = {
            "RunComponentFunction": self._component_call,
            "RegisterFunction": self._registration,
            "SendTensor": self._sent_tensors,
        }
        # Every request but Enqueue's is decoded strictly, then as the typed message.
        mapping = {
            _SERVICE + name: grpclib.const.Handler(
                _unary_handler(self.runtime, self.receiver, name, method,
                               _decoder(name, request, records.get(name))),
                unary, None, reply,
            )
            for name, method, request, reply in methods
        }  # fmt: skip
        # Enqueue is the hot path: parsed by upb into records, answered with prebuilt bytes.
        mapping[_SERVICE + "Enqueue"] = grpclib.const.Handler(
            _unary_handler(
                self.runtime, self.receiver, "Enqueue", self._enqueue, self._decode_enqueue
            ),
            unary, None, EncodedReply,
        )  # fmt: skip
        mapping[_SERVICE + "StreamingEnqueue"] = grpclib.const.Handler(
            self._streaming_enqueue,
            grpclib.const.Cardinality.STREAM_STREAM,
            None,
            EncodedReply,
        )
        return mapping

    def _decode_enqueue(self, payload: bytes) -> tuple[int, list[Item]]:
        # The common request, straight from its bytes.
        read = read_enqueue(payload, self.runtime.options.limits)
        if read is not None:
            return read
        request = parse_strictly(upb.EnqueueRequest, payload, "Enqueue")
        return request.context_id, decode_items(request.queue, self.runtime.options.limits)

    async def _enqueue(self, request: tuple[int, list[Item]]) -> EncodedReply:
        results = await self.runtime.enqueue(*request)
        weight = len(results) * _RESULT_WEIGHT + _weight(
            t for result in results for t in result.tensors
        )
        return EncodedReply(await _off_the_loop_if_heavy(weight, encode_results, results))

    async def _streaming_enqueue(
        self, stream: grpclib.server.Stream[Any, EncodedReply]
    ) -> None:
        # One reply per request, in order; the first error ends the stream with its status.
        async with _statuses("StreamingEnqueue", self.runtime):
            while True:
                request = await self.receiver.receive(
                    stream, "StreamingEnqueue", self._decode_enqueue
                )
                if request is None:
                    return
                await stream.send_message(await self._enqueue(request))

    async def _wait_queue_done(
        self, request: eager.WaitQueueDoneRequest
    ) -> eager.WaitQueueDoneResponse:
        await self.runtime.wait_queue_done(request.context_id, request.op_id)
        return eager.WaitQueueDoneResponse()

    def _component_call(self, request: Any) -> tuple[int, OpItem, list[int]]:
        if not request.HasField("operation"):
            raise InvalidArgumentError("RunComponentFunction: the request has no operation")
        item = decode_operation(request.operation, self.runtime.options.limits)
        return request.context_id, item, list(request.output_num)

    async def _run_component_function(
        self, call: tuple[int, OpItem, list[int]]
    ) -> eager.RunComponentFunctionResponse:
        result = await self.runtime.run_component_function(*call)
        tensors = await _off_the_loop_if_heavy(
            _weight(result.tensors), lambda: [encode_tensor(t) for t in result.tensors]
        )
        return eager.RunComponentFunctionResponse(
            shape=[encode_shape(shape) for shape in result.shapes], tensor=tensors
        )

    async def _keep_alive(self, request: eager.KeepAliveRequest) -> eager.KeepAliveResponse:
        view_id = await self.runtime.keep_alive(request.context_id)
        return eager.KeepAliveResponse(context_view_id=view_id)

    async def _close_context(
        self, request: eager.CloseContextRequest
    ) -> eager.CloseContextResponse:
        await self.runtime.close_context(request.context_id, request.context_view_id)
        return eager.CloseContextResponse()

    @staticmethod
    def _registration(request: Any) -> tuple[int, RegisterFunctionItem]:
        if not request.HasField("function_def"):
            raise InvalidArgumentError("RegisterFunction: the request has no function_def")
        return request.context_id, RegisterFunctionItem(decode_function(request.function_def))

    async def _register_function(
        self, registration: tuple[int, RegisterFunctionItem]
    ) -> eager.RegisterFunctionResponse:
        context_id, item = registration
        await self.runtime.enqueue(context_id, [item])
        return eager.RegisterFunctionResponse()

    def _sent_tensors(self, request: Any) -> tuple[int, SendTensorItem]:
        limits = self.runtime.options.limits
        tensors = tuple(decode_tensor(tensor, limits) for tensor in request.tensors)
        return request.context_id, SendTensorItem(request.op_id, tensors, request.device_name)

    async def _send_tensor(self, sent: tuple[int, SendTensorItem]) -> eager.SendTensorResponse:
        context_id, item = sent
        await self.runtime.enqueue(context_id, [item])
        return eager.SendTensorResponse()


class WorkerService:
    """The two ``tensorflow.WorkerService`` RPCs a stock TF eager client calls: GetStatus
    when it connects, RecvTensor to read what its ``_Send`` ops left in the rendezvous.

    >>> grpclib.server.Server([EagerService(runtime), WorkerService(runtime)])  # doctest: +SKIP
    """

    def __init__(self, runtime: Runtime, receiver: Receiver | None = None) -> None:
        self.runtime = runtime
        self.receiver = receiver or Receiver(runtime.options.limits)

    def __mapping__(self) -> dict[str, grpclib.const.Handler]:
        unary = grpclib.const.Cardinality.UNARY_UNARY
        get_status = StrictRequest("GetStatus", "tensorflow.GetStatusRequest", tf.GetStatusRequest)
        # Large tensors leave through RecvTensor: its request checked and read as upb's
        # message, its reply written by us.
        recv_tensor = StrictRequest("RecvTensor", "tensorflow.RecvTensorRequest")
        return {
            "/tensorflow.WorkerService/GetStatus": grpclib.const.Handler(
                _unary_handler(self.runtime, self.receiver, "GetStatus", self._get_status,
                               get_status.FromString),
                unary, None, tf.GetStatusResponse,
            ),
            "/tensorflow.WorkerService/RecvTensor": grpclib.const.Handler(
                _unary_handler(self.runtime, self.receiver, "RecvTensor", self._recv_tensor,
                               recv_tensor.FromString),
                unary, None, EncodedReply,
            ),
        }  # fmt: skip

    async def _get_status(self, request: tf.GetStatusRequest) -> tf.GetStatusResponse:
        return tf.GetStatusResponse(device_attributes=self.runtime.status())

    async def _recv_tensor(self, request: Any) -> EncodedReply:
        value = await self.runtime.recv_tensor(request.step_id, request.rendezvous_key)
        encoded = await _off_the_loop_if_heavy(
            _weight([value]), encode_recv_tensor_response, value, time.time_ns() // 1000
        )
        return EncodedReply(encoded)


def _decoder(
    name: str, typed: Any, records: Callable[[Any], Any] | None
) -> Callable[[bytes], Any]:
    """How RPC ``name``'s request bytes are decoded: strictly, then as the dataclass
    ``typed`` (None: upb's message), then by ``records`` when it is given."""
    strict = StrictRequest(name, f"tensorflow.eager.{name}Request", typed).FromString
    if records is None:
        return strict
    return lambda data: records(strict(data))


def _unary_handler(
    runtime: Runtime,
    receiver: Receiver,
    name: str,
    method: Callable[[Any], Awaitable[Any]],
    decode: Callable[[bytes], Any],
) -> Callable[[grpclib.server.Stream[Any, Any]], Awaitable[None]]:
    async def handle(stream: grpclib.server.Stream[Any, Any]) -> None:
        async with _statuses(name, runtime):
            request = await receiver.receive(stream, name, decode)
            if request is None:
                raise InvalidArgumentError(f"{name}: the call carries no request message")
            reply = await method(request)
        await stream.send_message(reply)

    return handle
