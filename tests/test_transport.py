"""The worker's HTTP/2 transport for large tensors: DATA frames received as views and cut
at any boundary, replies written from views under the peer's frame size and windows,
large frames advertised, oversized control frames refused."""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import grpclib.server
import h2.config
import h2.connection
import h2.events
import numpy as np
import pytest
from h2.settings import SettingCodes

from eager_async import EagerServer, upb
from eager_async.bench import workloads as w
from eager_async.h2_connection import MAX_CONTROL_FRAME, MAX_FRAME_SIZE, ViewH2Connection
from eager_async.runtime import Runtime
from eager_async.service import EagerService

SERVICE = "/tensorflow.eager.EagerService/"
MB = 1 << 20


def tensor(mib: int) -> np.ndarray:
    """Random float32s (bit patterns, NaNs included): any misplaced byte shows."""
    rng = np.random.default_rng(mib)
    return rng.integers(0, 256, mib * MB, dtype=np.uint8).view(np.float32)


def grpc_message(payload: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", len(payload)) + payload


def fetched(reply: bytes) -> bytes:
    """The tensor_content of the one tensor an Enqueue reply carries."""
    response = upb.EnqueueResponse.FromString(reply)
    (queue_response,) = [q for q in response.queue_response if len(q.tensor)]
    return bytes(queue_response.tensor[0].tensor_content)


class RawClient:
    """A bare HTTP/2 client (h2) over one connection: it writes a request's DATA in
    frames of the size a test chooses, and reads replies with the windows it chooses."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        # h2's defaults: 16 KiB frames and a 64 KiB window for what the worker sends.
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
        self.h2.initiate_connection()
        self.bodies: dict[int, bytearray] = {}
        self.trailers: dict[int, dict[str, str]] = {}
        self.ended: dict[int, asyncio.Event] = {}
        self.progress = asyncio.Event()  # a WINDOW_UPDATE or SETTINGS arrived
        self.closed = asyncio.Event()
        self.pong = asyncio.Event()
        self._reading = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(cls, port: int) -> RawClient:
        client = cls(*await asyncio.open_connection("127.0.0.1", port))
        await client.round_trip()
        return client

    async def round_trip(self) -> None:
        """A PING answered: whatever the worker sent before its answer has been read."""
        self.pong.clear()
        self.h2.ping(b"12345678")
        self._flush()
        await asyncio.wait_for(self.pong.wait(), 10)

    async def call(self, method: str, payload: bytes, frame: int) -> bytes:
        """A unary call whose request goes in DATA frames of at most ``frame`` bytes;
        the reply message (without its gRPC prefix)."""
        stream = self.h2.get_next_available_stream_id()
        self.bodies[stream], self.ended[stream] = bytearray(), asyncio.Event()
        self.h2.send_headers(stream, [
            (":method", "POST"), (":scheme", "http"), (":authority", "127.0.0.1"),
            (":path", SERVICE + method), ("content-type", "application/grpc"),
            ("te", "trailers"),
        ])  # fmt: skip
        view = memoryview(grpc_message(payload))
        while view:
            size = min(frame, len(view), self.h2.local_flow_control_window(stream))
            if size <= 0:
                self.progress.clear()
                self._flush()
                await asyncio.wait_for(self.progress.wait(), 30)
                continue
            self.h2.send_data(stream, view[:size].tobytes())
            view = view[size:]
            self._flush()
        self.h2.end_stream(stream)
        self._flush()
        await asyncio.wait_for(self.ended[stream].wait(), 60)
        status = self.trailers[stream].get("grpc-status")
        assert status == "0", self.trailers[stream]
        body = bytes(self.bodies.pop(stream))
        assert body[0] == 0 and int.from_bytes(body[1:5], "big") == len(body) - 5
        return body[5:]

    def close(self) -> None:
        self._reading.cancel()
        self.writer.close()

    def _flush(self) -> None:
        self.writer.write(self.h2.data_to_send())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionResetError):  # closed with our bytes unread
            await self._receive()
        self.closed.set()

    async def _receive(self) -> None:
        while data := await self.reader.read(1 << 16):
            for event in self.h2.receive_data(data):
                if isinstance(event, h2.events.RemoteSettingsChanged | h2.events.WindowUpdated):
                    self.progress.set()
                elif isinstance(event, h2.events.PingAckReceived):
                    self.pong.set()
                elif isinstance(event, h2.events.DataReceived):
                    self.bodies[event.stream_id] += event.data
                    self.h2.acknowledge_received_data(event.flow_controlled_length,
                                                      event.stream_id)  # fmt: skip
                elif isinstance(event, h2.events.TrailersReceived):
                    self.trailers[event.stream_id] = {
                        k.decode(): v.decode() for k, v in event.headers}
                elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                    self.ended[event.stream_id].set()
            self._flush()


@pytest.fixture
async def raw_client(server: EagerServer) -> AsyncIterator[RawClient]:
    client = await RawClient.connect(server.port)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def grpcio_channel(server: EagerServer) -> Iterator[grpc.Channel]:
    options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    with grpc.insecure_channel(f"127.0.0.1:{server.port}", options=options) as channel:
        yield channel


Call = Callable[[str, bytes], Awaitable[bytes]]


async def push_and_pull(rpc: Call, address: str, array: np.ndarray) -> bytes:
    """Create a sync context, push ``array`` by send_tensor, pull it back by Identity;
    the pulled tensor_content."""
    context_id = w.new_context_id()
    await rpc("CreateContext", w.create_context(context_id, address, is_async=False))
    head = w.enqueue_head(context_id)
    await rpc("Enqueue", head + w.send_body(1, array))
    content = fetched(await rpc("Enqueue", head + w.fetch_body(1)))
    await rpc("CloseContext", w.close_context(context_id))
    return content


async def test_grpcio_pushes_and_pulls_a_large_tensor_bit_exact(
    server: EagerServer, grpcio_channel: grpc.Channel
) -> None:
    array = tensor(24)

    async def call(method: str, payload: bytes) -> bytes:
        rpc = grpcio_channel.unary_unary(SERVICE + method)
        return await asyncio.to_thread(rpc, payload, timeout=60)  # type: ignore[no-any-return]

    assert await push_and_pull(call, server.address, array) == array.tobytes()


@pytest.mark.parametrize("frame", [16384, 7777, 1 << 20])
async def test_odd_frames_and_a_small_reader_window_carry_every_byte(
    server: EagerServer, raw_client: RawClient, frame: int
) -> None:
    # The request in frames of odd sizes; the reply under a 64 KiB window and the
    # 16 KiB frames the client allows: the worker must cut its views to fit both.
    array = tensor(3)

    async def call(method: str, payload: bytes) -> bytes:
        return await raw_client.call(method, payload, frame)

    assert await push_and_pull(call, server.address, array) == array.tobytes()


async def test_large_frames_are_advertised(raw_client: RawClient) -> None:
    assert raw_client.h2.remote_settings.max_frame_size == MAX_FRAME_SIZE
    assert raw_client.h2.max_outbound_frame_size == MAX_FRAME_SIZE


async def test_streamed_requests_sharing_frames_are_each_read_whole(
    server: EagerServer, grpcio_channel: grpc.Channel
) -> None:
    # Pipelined on one stream, a request's last bytes and the next one's first share
    # DATA frames and reads.
    arrays = [tensor(1), tensor(2)]
    context_id = w.new_context_id()
    unary = grpcio_channel.unary_unary(SERVICE + "CreateContext")
    await asyncio.to_thread(unary, w.create_context(context_id, server.address,
                                                    is_async=False))  # fmt: skip
    head = w.enqueue_head(context_id)
    requests = [head + w.send_body(1, arrays[0]), head + w.send_body(2, arrays[1]),
                head + w.fetch_body(1), head + w.fetch_body(2)]  # fmt: skip
    streaming = grpcio_channel.stream_stream(SERVICE + "StreamingEnqueue")

    def run() -> list[bytes]:
        responses = streaming(iter(requests), timeout=60)
        return [next(responses) for _ in requests]

    replies = await asyncio.to_thread(run)
    assert [fetched(reply) for reply in replies[2:]] == [a.tobytes() for a in arrays]


async def test_an_oversized_control_frame_closes_the_connection(
    server: EagerServer, raw_client: RawClient
) -> None:
    # An unknown frame type (which HTTP/2 says to ignore) of more than MAX_CONTROL_FRAME
    # bytes: refused at its header, before h2 would buffer it.
    length = MAX_CONTROL_FRAME + 1
    raw_client.writer.write(struct.pack(">I", length)[1:] + b"\xfa\x00" + bytes(4))
    await asyncio.wait_for(raw_client.closed.wait(), 10)
    other = await RawClient.connect(server.port)  # the worker serves on
    other.close()


async def test_a_header_block_too_large_closes_the_connection(raw_client: RawClient) -> None:
    # CONTINUATION frames, each small, adding up past the limit.
    stream = raw_client.h2.get_next_available_stream_id()
    part = MAX_CONTROL_FRAME // 4
    frames = [struct.pack(">I", part)[1:] + bytes([0x1, 0x0]) + struct.pack(">I", stream)]
    frames += [struct.pack(">I", part)[1:] + bytes([0x9, 0x0]) + struct.pack(">I", stream)] * 4
    raw_client.writer.write(b"".join(frame + bytes(part) for frame in frames))
    await asyncio.wait_for(raw_client.closed.wait(), 10)


async def test_a_plain_grpclib_server_still_joins_large_replies() -> None:
    # EagerService under grpclib's own server: an Enqueue reply written as views is
    # joined by grpclib's codec path, not lost.
    pool = ThreadPoolExecutor(2)
    runtime = Runtime(pool)
    await runtime.start()
    server = grpclib.server.Server([EagerService(runtime)])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    await server.start(sock=sock)
    client = await RawClient.connect(port)
    try:
        array = tensor(1)

        async def call(method: str, payload: bytes) -> bytes:
            return await client.call(method, payload, 16384)

        assert await push_and_pull(call, f"127.0.0.1:{port}", array) == array.tobytes()
    finally:
        client.close()
        server.close()
        await server.wait_closed()
        await runtime.close()
        pool.shutdown()
        sock.close()


PAYLOAD = bytes(range(256)) * 4000
FRAMES = [100_000, 16384, 1, 0, 250_000, 657_615]  # the DATA frames of PAYLOAD


def client_bytes() -> tuple[bytes, bytes]:
    """What a client writes for one request: its preface, settings, acknowledgements and
    headers; then PAYLOAD in DATA frames of the sizes in FRAMES, and an empty one ending
    the stream."""
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
    start(server)
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    client.receive_data(server.data_to_send())
    client.send_headers(1, [(":method", "POST"), (":scheme", "http"),
                            (":authority", "x"), (":path", "/p")])  # fmt: skip
    opening = client.data_to_send()
    view = memoryview(PAYLOAD)
    for size in FRAMES:
        client.send_data(1, view[:size].tobytes())
        view = view[size:]
    client.send_data(1, b"", end_stream=True)
    return opening, client.data_to_send()


def start(server: h2.connection.H2Connection) -> None:
    """A server's side of a connection, as the worker opens it (windows large enough
    for PAYLOAD without acknowledgements)."""
    server.initiate_connection()
    server.update_settings({SettingCodes.MAX_FRAME_SIZE: MAX_FRAME_SIZE,
                            SettingCodes.INITIAL_WINDOW_SIZE: 1 << 30})  # fmt: skip
    server.increment_flow_control_window(1 << 30)


def cut(data: bytes) -> Iterator[list[bytes]]:
    """``data`` as the reads it might arrive in."""
    yield [data]
    for size in (1, 9, 10, 4096):
        yield [data[i : i + size] for i in range(0, len(data), size)]
    cuts = sorted(random.Random(7).sample(range(1, len(data)), 50))
    yield [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


@pytest.mark.parametrize("reads", list(cut(b"".join(client_bytes()))),
                         ids=lambda reads: f"{len(reads)}-reads")  # fmt: skip
def test_data_frames_cut_anywhere_give_h2s_events(reads: list[bytes]) -> None:
    def events(connection: h2.connection.H2Connection, reads: list[bytes]) -> list[object]:
        start(connection)
        return [event for read in reads for event in connection.receive_data(read)]

    config = h2.config.H2Configuration(client_side=False)
    ours = events(ViewH2Connection(config), reads)
    # h2 itself is given the frames after the settings' acknowledgement in a read of
    # their own: it checks a whole read against the frame size it had at the start.
    theirs = events(h2.connection.H2Connection(config), list(client_bytes()))
    data = [e for e in ours if isinstance(e, h2.events.DataReceived)]
    assert b"".join(bytes(e.data) for e in data) == PAYLOAD
    assert all(e.stream_id == 1 for e in data)
    assert sum(e.flow_controlled_length for e in data) == len(PAYLOAD)
    ended = [e for e in ours if isinstance(e, h2.events.StreamEnded)]
    assert len(ended) == 1 and ended[0].stream_id == 1
    # Everything but the DATA events is what h2 makes of the same bytes, in order.
    assert [type(e) for e in ours if not isinstance(e, h2.events.DataReceived)] == [
        type(e) for e in theirs if not isinstance(e, h2.events.DataReceived)]
