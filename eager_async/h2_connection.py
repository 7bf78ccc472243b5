"""The worker's HTTP/2 connection state: h2's, with DATA frame bodies passed on as views of
the bytes read from the socket, and sent from views of the caller's buffers.

h2 buffers a DATA frame until all of it has arrived, then copies its body three times and
formats it as hex for a trace log nobody reads; sending, it copies the body four times
more. For a tensor of 64 MiB those copies cost more than the network. ``ViewH2Connection``
cuts the body of every (unpadded) DATA frame at the boundaries of the reads it arrives in,
and hands h2 each part as a DATA frame of its own: h2 keeps its state machine, flow
control and events, and ``DataReceived.data`` is a memoryview of the read. Splitting a
DATA frame changes nothing HTTP/2 can observe: flow control and ``END_STREAM`` see the
same bytes in the same order. Every other frame goes to h2 unchanged.

Large frames make the peer's writes cheaper, but a large frame of another kind would be
buffered whole by h2: those frames (padded DATA frames too, which no gRPC implementation
sends), and header blocks, are held to ``MAX_CONTROL_FRAME`` bytes.

>>> connection = ViewH2Connection(h2.config.H2Configuration(client_side=False))
>>> connection.initiate_connection()
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import h2.config
import h2.connection
import h2.events
import hyperframe.frame
from h2.exceptions import DenialOfServiceError, FlowControlError, FrameTooLargeError, ProtocolError
from h2.stream import StreamInputs

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["MAX_CONTROL_FRAME", "MAX_FRAME_SIZE", "ViewH2Connection"]

MAX_FRAME_SIZE = (1 << 24) - 1
"""The largest frame HTTP/2 allows, and what the worker advertises
(SETTINGS_MAX_FRAME_SIZE): a peer then writes a large message in few frames."""

MAX_CONTROL_FRAME = 1 << 17
"""The most bytes a frame h2 buffers whole (any but an unpadded DATA frame), or a whole
header block, may have: a request's headers are bounded by SETTINGS_MAX_HEADER_LIST_SIZE
(64 KiB) anyway."""

_FRAME_HEADER = 9
_PREFACE = len(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
_DATA, _HEADERS, _PUSH_PROMISE, _CONTINUATION = 0x0, 0x1, 0x5, 0x9
_END_STREAM, _END_HEADERS, _PADDED = 0x1, 0x4, 0x8
_HEADER_BLOCK = (_HEADERS, _PUSH_PROMISE, _CONTINUATION)
_DATA_HEADER = struct.Struct(">IBI")  # length (24 bits) and type, flags, stream id


class _DataPart(hyperframe.frame.DataFrame):
    """A part of a received DATA frame's body, its ``data`` a view of the read it came in.
    Its repr does not format the body (h2 computes the repr of every frame it receives)."""

    def __repr__(self) -> str:
        flags = ", ".join(sorted(self.flags))
        return f"DataFrame(stream_id={self.stream_id}, flags=[{flags}]): {len(self.data)} bytes"


class ViewH2Connection(h2.connection.H2Connection):
    """An ``H2Connection`` that passes received DATA bodies on as views (see the module
    docstring) and lets its owner write DATA frames from its own buffers
    (``data_frame_header``). ``receive_data`` takes bytes that stay unchanged while the
    views are held (what asyncio's and uvloop's transports give)."""

    def __init__(self, config: h2.config.H2Configuration) -> None:
        super().__init__(config=config)
        # h2 finds a frame's handler by its exact class.
        self._frame_dispatch_table[_DataPart] = self._receive_data_frame
        self._preface = 0 if config.client_side else _PREFACE  # bytes h2 must still see
        self._header = bytearray()  # a frame header cut by the end of a read
        self._to_h2 = 0  # bytes of the current frame still to be passed to h2
        self._header_block: int | None = None  # bytes of a header block in progress
        self._data_stream = 0  # the stream of the DATA frame being passed on in parts
        self._data_left = 0  # bytes of its body still to come
        self._data_ends_stream = False

    def receive_data(self, data: Buffer) -> list[h2.events.Event]:
        """h2's ``receive_data``, with DATA bodies passed on in parts (views of ``data``)."""
        view = memoryview(data)
        events: list[h2.events.Event] = []
        while view:
            if self._preface or self._to_h2:
                size = min(len(view), self._preface or self._to_h2)
                events += super().receive_data(view[:size])
                if self._preface:
                    self._preface -= size
                else:
                    self._to_h2 -= size
            elif self._data_left:
                size = min(len(view), self._data_left)
                self._data_left -= size
                events += self._receive_part(view[:size])
            else:
                size = min(len(view), _FRAME_HEADER - len(self._header))
                self._header += view[:size]
                if len(self._header) == _FRAME_HEADER:
                    events += self._start_frame(bytes(self._header))
                    self._header.clear()
            view = view[size:]
        return events

    def data_frame_header(self, stream_id: int, length: int) -> bytes:
        """Account for a DATA frame of ``length`` bytes on ``stream_id`` as ``send_data``
        does, and return its 9-byte header: the caller writes the header, then the
        ``length`` bytes of body from its own buffers, before anything else is sent."""
        if length > self.local_flow_control_window(stream_id):
            raise FlowControlError(
                f"Cannot send {length} bytes, flow control window is "
                f"{self.local_flow_control_window(stream_id)}"
            )
        if length > self.max_outbound_frame_size:
            raise FrameTooLargeError(
                f"Cannot send frame size {length}, max frame size is "
                f"{self.max_outbound_frame_size}"
            )
        self.state_machine.process_input(h2.connection.ConnectionInputs.SEND_DATA)
        stream = self._get_stream_by_id(stream_id)
        stream.state_machine.process_input(StreamInputs.SEND_DATA)
        stream.outbound_flow_control_window -= length
        self.outbound_flow_control_window -= length
        return _DATA_HEADER.pack(length << 8 | _DATA, 0, stream_id)

    def _start_frame(self, header: bytes) -> list[h2.events.Event]:
        length = int.from_bytes(header[:3], "big")
        kind, flags = header[3], header[4]
        stream_id = int.from_bytes(header[5:], "big") & 0x7FFFFFFF
        if length > self.max_inbound_frame_size:
            self._refuse(FrameTooLargeError(
                f"Received overlong frame: length {length}, max {self.max_inbound_frame_size}"
            ))  # fmt: skip
        # Padded DATA, DATA amid a header block (an error h2 reports) and DATA on
        # stream 0 (another) go to h2 whole, like any other frame.
        if kind == _DATA and stream_id and not flags & _PADDED and self._header_block is None:
            self._data_stream, self._data_left = stream_id, length
            self._data_ends_stream = bool(flags & _END_STREAM)
            return self._receive_part(memoryview(b"")) if not length else []
        if length > MAX_CONTROL_FRAME:
            self._refuse(FrameTooLargeError(
                f"Received a frame of type {kind} and {length} bytes; this worker takes "
                f"frames other than unpadded DATA of up to {MAX_CONTROL_FRAME} bytes"
            ))  # fmt: skip
        if kind in _HEADER_BLOCK:
            self._header_block = (self._header_block or 0) + length
            if self._header_block > MAX_CONTROL_FRAME:
                self._refuse(DenialOfServiceError(
                    f"Received a header block over {MAX_CONTROL_FRAME} bytes"
                ))  # fmt: skip
            if flags & _END_HEADERS:
                self._header_block = None
        self._to_h2 = length
        return super().receive_data(header)

    def _receive_part(self, body: memoryview) -> list[h2.events.Event]:
        part = _DataPart(self._data_stream)
        part.data = body  # type: ignore[assignment]  # h2 only takes its len() and passes it on
        if self._data_ends_stream and not self._data_left:
            part.flags.add("END_STREAM")
        try:
            return self._receive_frame(part)
        except ProtocolError as error:
            self._terminate_connection(error.error_code)
            raise

    def _refuse(self, error: ProtocolError) -> None:
        """End the connection with ``error``'s GOAWAY, as h2 does for a frame it refuses."""
        self._terminate_connection(error.error_code)
        raise error
