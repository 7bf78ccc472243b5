"""The worker's gRPC server: grpclib's, over connections built for large tensors.

* Received DATA frames reach the reader as views of the socket's reads
  (``ViewH2Connection``), and the worker advertises frames of up to 16 MiB, so a peer
  writes a large request in few frames.
* A reply is written straight from its bytes (or ``Pieces``): each DATA frame is a
  9-byte header and views of the reply, as large as the peer's frame size and flow
  control allow. grpclib would copy a reply in full to prefix it, then each frame four
  times in h2.

Small replies (under ``VIEWS_FROM`` bytes) take grpclib's own path unchanged. Flow-control
windows stay grpclib's (4 MiB): 16 MiB ones made no transfer faster.

>>> server = GrpcServer([EagerService(runtime)])   # doctest: +SKIP
>>> await server.start(sock=sock)                  # doctest: +SKIP
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection
from typing import Any, cast

import grpclib.protocol
import grpclib.server
from grpclib.encoding.proto import ProtoCodec, ProtoStatusDetailsCodec, _googleapis_available
from h2.settings import SettingCodes

from .h2_connection import MAX_FRAME_SIZE, ViewH2Connection
from .pieces import Pieces
from .service import EncodedReply

__all__ = ["VIEWS_FROM", "GrpcServer"]

VIEWS_FROM = 64 << 10
"""Replies of at least this many bytes are written from views; for smaller ones, copying
costs less than handling views."""


class GrpcServer(grpclib.server.Server):
    """A ``grpclib.server.Server`` whose connections receive and send large messages
    without copying them (see the module docstring); used like grpclib's."""

    def __init__(self, handlers: Collection[Any]) -> None:
        super().__init__(
            handlers,
            codec=_ReplyCodec(),
            # What grpclib picks when it picks the codec too.
            status_details_codec=ProtoStatusDetailsCodec() if _googleapis_available() else None,
        )

    def _protocol_factory(self) -> grpclib.protocol.H2Protocol:
        protocol = super()._protocol_factory()  # registers its handler with the server
        return _Protocol(protocol.handler, protocol.config, protocol.h2_config)


class _ReplyCodec(ProtoCodec):
    """grpclib's protobuf codec, which passes a large ``EncodedReply`` on as ``Pieces``."""

    def encode(self, message: Any, message_type: Any) -> bytes:
        if isinstance(message, EncodedReply) and len(message.payload) >= VIEWS_FROM:
            payload = message.payload
            # grpclib sends what it gets as ``prefix + payload`` (Pieces.__radd__) to the
            # stream, ours, which writes Pieces as views.
            return cast(bytes, payload if isinstance(payload, Pieces) else Pieces((payload,)))
        return super().encode(message, message_type)


class _Protocol(grpclib.protocol.H2Protocol):
    """grpclib's protocol over a ``ViewH2Connection``, streams writing views."""

    def connection_made(self, transport: Any) -> None:
        # grpclib's connection_made, with our connection classes and one more setting.
        sock = transport.get_extra_info("socket")
        if sock is not None:
            grpclib.protocol._set_nodelay(sock)
        h2_conn = ViewH2Connection(config=self.h2_config)
        h2_conn.initiate_connection()
        initial = h2_conn.local_settings.initial_window_size
        if self.config.http2_connection_window_size != initial:
            h2_conn.increment_flow_control_window(
                self.config.http2_connection_window_size - initial
            )
        h2_conn.update_settings({
            SettingCodes.INITIAL_WINDOW_SIZE: self.config.http2_stream_window_size,
            SettingCodes.MAX_FRAME_SIZE: MAX_FRAME_SIZE,
        })  # fmt: skip
        self.connection = _Connection(h2_conn, transport, config=self.config)
        self.connection.flush()
        self.connection.initialize()
        self.processor = grpclib.protocol.EventsProcessor(self.handler, self.connection)


class _Connection(grpclib.protocol.Connection):
    def create_stream(
        self, *, stream_id: int | None = None, wrapper: Any = None
    ) -> grpclib.protocol.Stream:
        return _Stream(
            self, self._connection, self._transport, stream_id=stream_id, wrapper=wrapper
        )


class _Stream(grpclib.protocol.Stream):
    """A grpclib stream that writes a large message's DATA frames from views of it."""

    async def send_data(self, data: bytes | Pieces, end_stream: bool = False) -> None:
        if len(data) < VIEWS_FROM:
            await super().send_data(data if isinstance(data, bytes) else data.join(), end_stream)
            return
        assert self.id is not None
        h2_conn = cast(ViewH2Connection, self._h2_connection)
        views = deque(data.views if isinstance(data, Pieces) else (memoryview(data),))
        left = len(data)
        while left:
            await self.connection.write_ready.wait()
            window = h2_conn.local_flow_control_window(self.id)
            if window <= 0:
                self.window_updated.clear()
                await self.window_updated.wait()
                continue
            size = min(window, h2_conn.max_outbound_frame_size, left)
            self.connection.flush()  # what h2 has queued (a WINDOW_UPDATE) goes first
            frame: list[bytes | memoryview] = [h2_conn.data_frame_header(self.id, size)]
            left -= size
            self.data_sent += size
            self.connection.data_sent += size
            while size:
                view = views.popleft()
                if len(view) > size:
                    views.appendleft(view[size:])
                    view = view[:size]
                frame.append(view)
                size -= len(view)
            # uvloop writes the views as they are (one writev); asyncio joins them.
            self._transport.writelines(frame)
            self.connection.data_send_process()
        if end_stream:
            await self.end()
