"""Reading request messages off grpclib streams under the worker's limits.

grpclib reads a whole message before anyone sees it, whatever its 5-byte gRPC prefix
declares. The ``Receiver`` reads the prefix itself and refuses a message over
``max_message_bytes`` before buffering any of it; it reads the body in pieces, each
counted against ``max_receiving_bytes`` (bytes being received over every connection at
once) while it is held, so uploads that stall or are abandoned are bounded in total and
free their memory when the connection goes. A large message is decoded in a thread, so
the event loop never spends long on one request.

A large message arrives as views of the socket's reads (``ViewH2Connection``); each is
taken from grpclib's buffer as it comes and copied onto the end of the message's bytes,
which grow with what has arrived: one copy of the message in all, and the reads are
freed (and their memory reused) as the upload goes.

>>> receiver = Receiver(Limits())                                   # doctest: +SKIP
>>> request = await receiver.receive(stream, "Enqueue", decode)     # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any, TypeVar

import grpclib.server
from grpclib.protocol import AckedData

from .errors import InvalidArgumentError, ResourceExhaustedError, UnimplementedError
from .limits import Limits

__all__ = ["Receiver"]

T = TypeVar("T")

_DECODED_ON_LOOP = 64 << 10  # larger requests are read piece by piece and decoded in a thread


class Receiver:
    """Reads the request messages of every RPC of one worker (see the module docstring)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._receiving = 0  # bytes of message bodies held by reads in progress

    @property
    def receiving(self) -> int:
        """Bytes of request messages being received now."""
        return self._receiving

    async def receive(
        self, stream: grpclib.server.Stream[Any, Any], method: str, decode: Callable[[bytes], T]
    ) -> T | None:
        """The next request message of ``stream`` decoded by ``decode``, or None at the
        end of the stream."""
        payload = await self._read(stream, method)
        if payload is None:
            return None
        if len(payload) <= _DECODED_ON_LOOP:
            return decode(payload)
        return await asyncio.to_thread(decode, payload)

    async def _read(self, stream: grpclib.server.Stream[Any, Any], method: str) -> bytes | None:
        # grpclib's own reader takes the whole message at once; its protocol stream's
        # recv_data is the one way to look at the prefix first.
        protocol_stream = stream._stream
        try:
            prefix = await protocol_stream.recv_data(5)
            if not prefix:
                return None
            if prefix[0]:
                raise UnimplementedError(
                    f"{method}: the request is compressed; this worker takes uncompressed "
                    "messages only (do not set grpc-encoding)"
                )
            length = int.from_bytes(prefix[1:5], "big")
            self._check_length(method, length)
            return await self._read_body(protocol_stream, method, length)
        except AssertionError:  # grpclib's word for a stream that ended mid-message
            raise InvalidArgumentError(
                f"{method}: the request stream ended in the middle of a message"
            ) from None
        except BaseException:
            # The connection is gone or the request refused: drop what grpclib still
            # buffers for this stream now, not when the connection object goes.
            _drop_buffered(protocol_stream)
            raise

    def _check_length(self, method: str, length: int) -> None:
        limit = self.limits.max_message_bytes
        if length > limit:
            raise ResourceExhaustedError(
                f"{method}: the request message is {length} bytes, over this worker's "
                f"max_message_bytes ({limit}); send large tensors in smaller pieces, or "
                "raise --max-message-bytes"
            )

    async def _read_body(self, protocol_stream: Any, method: str, length: int) -> bytes:
        if length <= _DECODED_ON_LOOP:
            self._hold(method, length)
            try:
                small: bytes = await protocol_stream.recv_data(length)
            finally:
                self._receiving -= length
            if len(small) != length:
                raise AssertionError("short read")
            return small
        # BytesIO grows one bytes object by realloc (which remaps a large one rather than
        # copying it), touching only what was written; getvalue() returns that object.
        body = io.BytesIO()
        held = 0
        try:
            while held < length:
                piece = await _next_piece(protocol_stream.buffer, length - held)
                self._hold(method, len(piece))
                held += len(piece)
                body.write(piece)
            return body.getvalue()
        finally:
            # The exception's traceback keeps this frame as long as someone holds it
            # (grpclib's handler task does): let the bytes go now.
            body.close()
            self._receiving -= held

    def _hold(self, method: str, size: int) -> None:
        limit = self.limits.max_receiving_bytes
        if self._receiving + size > limit:
            raise ResourceExhaustedError(
                f"{method}: this worker is already receiving {self._receiving} bytes of "
                f"requests, and max_receiving_bytes is {limit}; retry when uploads in "
                "progress have finished"
            )
        self._receiving += size


async def _next_piece(buffer: Any, most: int) -> memoryview:
    """The next bytes of a grpclib stream's buffer, at most ``most`` of them, acknowledged
    to the peer (as grpclib's own read does) when first taken from the buffer."""
    # grpclib keeps DATA frames it has not given out in a queue, with the flow-control
    # bytes to acknowledge; what remains of a frame read in part, in a deque.
    if buffer._acked:
        data, size = buffer._acked.popleft()
        buffer._acked_size -= size
    else:
        data, size, ack_size = await buffer._unacked.get()
        if not ack_size:  # the end of the stream
            raise AssertionError("short read")
        buffer._ack_callback(ack_size)
        data = memoryview(data)
    if size > most:
        buffer._acked.appendleft(AckedData(data[most:], size - most))
        buffer._acked_size += size - most
        data = data[:most]
    return data  # type: ignore[no-any-return]


def _drop_buffered(protocol_stream: Any) -> None:
    # grpclib keeps the stream's DATA frames in its Buffer: read ones in a deque, the
    # others in a queue.
    buffer = getattr(protocol_stream, "buffer", None)
    if buffer is None:
        return
    buffer._acked.clear()
    buffer._acked_size = 0
    while not buffer._unacked.empty():
        buffer._unacked.get_nowait()
