"""TF's table file (``tensorflow/core/lib/io/table``, LevelDB's sorted string table): the
format of a checkpoint's ``<prefix>.index``.

A table is a sorted map of byte-string keys to byte-string values, laid out as::

    data block ... data block | metaindex block | index block | footer (48 bytes)

- a **block** is a run of entries, each ``varint shared, varint unshared, varint
  value_size, key[shared:], value``: a key is stored as the length of the prefix it
  shares with the entry before it and the rest. Every 16th entry (every entry, in the
  index block) is a *restart* that shares nothing; the block ends with the restarts'
  offsets (fixed32 each) and their count (fixed32). On disk each block is followed by a
  trailer: one byte of compression type (0, none: the only kind TF writes in checkpoints)
  and the masked crc32c of the block and that byte.
- the **index block** has one entry per data block: a key at least the block's last key
  and below the next block's first key, whose value is the block's *handle*
  (``varint offset, varint size``).
- the **metaindex block** is empty in TF's tables.
- the **footer** holds the handles of the metaindex and index blocks, zero-padded to 40
  bytes, then the magic number (fixed64).

``write_table`` lays a table out byte for byte as TF's ``TableBuilder`` does (the same
block size, restart interval and shortened index keys), so a checkpoint we write matches
TF's for the same entries. ``read_table`` reads every entry, checking every block's
checksum.

>>> read_table(write_table([(b"a", b"1"), (b"b", b"22")]), "t.index")
[(b'a', b'1'), (b'b', b'22')]
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterable

from ...errors import DataLossError, UnimplementedError
from .coding import crc32c, fixed32, mask, read_fixed32, read_varint, unmask, varint

__all__ = ["read_table", "write_table"]

MAGIC = 0xDB4775248B80FB57
_FOOTER_SIZE = 48  # two handles of at most 20 bytes each, padded to 40, then the magic
_HANDLES_SIZE = 40
_TRAILER_SIZE = 5  # compression type, masked crc32c
_BLOCK_SIZE = 256 * 1024  # TF's table::Options.block_size: a data block ends past this
_RESTART_INTERVAL = 16
_NO_COMPRESSION = 0


class _Block:
    """One block being built: entries in key order, with a restart every ``interval``."""

    def __init__(self, interval: int) -> None:
        self.interval = interval
        self.buffer = bytearray()
        self.restarts = [0]
        self.since_restart = 0
        self.last_key = b""

    def add(self, key: bytes, value: bytes) -> None:
        shared = 0
        if self.since_restart < self.interval:
            limit = min(len(key), len(self.last_key))
            while shared < limit and key[shared] == self.last_key[shared]:
                shared += 1
        else:
            self.restarts.append(len(self.buffer))
            self.since_restart = 0
        self.buffer += varint(shared) + varint(len(key) - shared) + varint(len(value))
        self.buffer += key[shared:] + value
        self.last_key = key
        self.since_restart += 1

    @property
    def empty(self) -> bool:
        return not self.buffer

    def size_estimate(self) -> int:
        return len(self.buffer) + 4 * len(self.restarts) + 4

    def finish(self) -> bytes:
        tail = b"".join(fixed32(offset) for offset in self.restarts)
        return bytes(self.buffer) + tail + fixed32(len(self.restarts))


def _shortest_separator(start: bytes, limit: bytes) -> bytes:
    """A short key >= ``start`` and < ``limit`` (TF's bytewise comparator's rule)."""
    common = 0
    shortest = min(len(start), len(limit))
    while common < shortest and start[common] == limit[common]:
        common += 1
    if common < shortest:
        byte = start[common]
        if byte < 0xFF and byte + 1 < limit[common]:
            return start[:common] + bytes([byte + 1])
    return start


def _short_successor(key: bytes) -> bytes:
    """A short key >= ``key``: its first byte that is not 0xff, plus one."""
    for index, byte in enumerate(key):
        if byte != 0xFF:
            return key[:index] + bytes([byte + 1])
    return key


def _handle(offset: int, size: int) -> bytes:
    return varint(offset) + varint(size)


def write_table(entries: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The table file of ``entries``, which must come in strictly increasing key order."""
    out = bytearray()

    def write_block(block: _Block) -> bytes:
        raw = block.finish()
        handle = _handle(len(out), len(raw))
        trailer = bytes([_NO_COMPRESSION])
        out.extend(raw + trailer + fixed32(mask(crc32c(raw + trailer))))
        return handle

    data, index = _Block(_RESTART_INTERVAL), _Block(1)
    pending: bytes | None = None  # the handle of the last data block, not yet indexed
    last_key: bytes | None = None
    for key, value in entries:
        if last_key is not None and key <= last_key:
            raise ValueError(f"table keys must increase: {key!r} after {last_key!r}")
        if pending is not None and last_key is not None:
            index.add(_shortest_separator(last_key, key), pending)
            pending = None
        data.add(key, value)
        last_key = key
        if data.size_estimate() >= _BLOCK_SIZE:
            pending = write_block(data)
            data = _Block(_RESTART_INTERVAL)
    if not data.empty:
        pending = write_block(data)
    metaindex = write_block(_Block(_RESTART_INTERVAL))
    if pending is not None:
        index.add(_short_successor(last_key or b""), pending)
    index_handle = write_block(index)
    handles = (metaindex + index_handle).ljust(_HANDLES_SIZE, b"\0")
    return bytes(out + handles + struct.pack("<Q", MAGIC))


def _read_handle(data: bytes, position: int, limit: int) -> tuple[int, int, int]:
    offset, position = read_varint(data, position, limit)
    size, position = read_varint(data, position, limit)
    return offset, size, position


def _block(data: bytes, offset: int, size: int, name: str) -> bytes:
    """The contents of the block at ``offset``, its trailer checked."""
    end = offset + size
    if end + _TRAILER_SIZE > len(data) - _FOOTER_SIZE:
        raise DataLossError(f"{name}: bad block handle (the table is truncated or corrupt)")
    contents, kind = data[offset:end], data[end]
    stored = unmask(read_fixed32(data, end + 1))
    if stored != crc32c(data[offset : end + 1]):
        raise DataLossError(f"{name}: block checksum mismatch (the table is corrupt)")
    if kind != _NO_COMPRESSION:
        raise UnimplementedError(
            f"{name}: a block compressed with method {kind} (snappy is 1); TF writes "
            "checkpoint tables uncompressed and eager_async reads only those"
        )
    return contents


def _entries(block: bytes, name: str) -> list[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise DataLossError(f"{name}: bad block contents (the table is corrupt)")
    restarts = read_fixed32(block, len(block) - 4)
    limit = len(block) - 4 - 4 * restarts
    if limit < 0:
        raise DataLossError(f"{name}: bad block contents (the table is corrupt)")
    entries: list[tuple[bytes, bytes]] = []
    key = b""
    position = 0
    while position < limit:
        shared, position = read_varint(block, position, limit)
        unshared, position = read_varint(block, position, limit)
        size, position = read_varint(block, position, limit)
        if shared > len(key) or position + unshared + size > limit:
            raise DataLossError(f"{name}: bad entry in block (the table is corrupt)")
        key = key[:shared] + block[position : position + unshared]
        position += unshared
        entries.append((key, block[position : position + size]))
        position += size
    return entries


def read_table(data: bytes, name: str) -> list[tuple[bytes, bytes]]:
    """Every (key, value) of the table file ``data``, in key order; ``name`` (the file's)
    goes into DATA_LOSS messages."""
    if len(data) < _FOOTER_SIZE:
        raise DataLossError(f"{name}: file is too short to be an sstable")
    footer = len(data) - _FOOTER_SIZE
    if struct.unpack_from("<Q", data, footer + _HANDLES_SIZE)[0] != MAGIC:
        raise DataLossError(f"{name}: not an sstable (bad magic number)")
    try:
        _, _, position = _read_handle(data, footer, footer + _HANDLES_SIZE)  # metaindex
        offset, size, _ = _read_handle(data, position, footer + _HANDLES_SIZE)
        entries: list[tuple[bytes, bytes]] = []
        for _, handle in _entries(_block(data, offset, size, name), name):
            block_offset, block_size, _ = _read_handle(handle, 0, len(handle))
            entries += _entries(_block(data, block_offset, block_size, name), name)
    except DataLossError as error:
        if error.message.startswith(name):
            raise
        raise DataLossError(f"{name}: {error.message} (the table is corrupt)") from None
    if any(a[0] >= b[0] for a, b in itertools.pairwise(entries)):
        raise DataLossError(f"{name}: keys out of order (the table is corrupt)")
    return entries
