"""The byte-level encodings TF's checkpoint files share: varints, little-endian fixed-width
integers, and crc32c checksums, stored "masked".

A checksum stored inside checksummed data would make the checksum of the whole too
regular, so TF (as LevelDB) stores ``mask(crc)``, a rotation plus a constant, wherever a
crc32c is written into a file.

>>> varint(300), read_varint(varint(300) + b"rest", 0)
(b'\\xac\\x02', (300, 2))
>>> unmask(mask(crc32c(b"123456789"))) == 0xE3069283
True
"""

from __future__ import annotations

import struct

import google_crc32c

from ...errors import DataLossError

__all__ = ["crc32c", "fixed32", "mask", "read_fixed32", "read_varint", "unmask", "varint"]

_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF
_FIXED32 = struct.Struct("<I")


def crc32c(data: bytes, crc: int = 0) -> int:
    """The crc32c of ``data``, continuing ``crc`` (the crc of what came before it)."""
    return int(google_crc32c.extend(crc, data))


def mask(crc: int) -> int:
    """``crc`` as TF stores it in a file."""
    return ((((crc >> 15) | (crc << 17)) & _U32) + _MASK_DELTA) & _U32


def unmask(masked: int) -> int:
    """The crc that ``mask`` turned into ``masked``."""
    rotated = (masked - _MASK_DELTA) & _U32
    return ((rotated >> 17) | (rotated << 15)) & _U32


def varint(value: int) -> bytes:
    """``value`` (>= 0) as a base-128 varint, low group first."""
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_varint(
    data: bytes | memoryview, position: int, limit: int | None = None
) -> tuple[int, int]:
    """The varint at ``position`` (before ``limit``) and the position after it; DATA_LOSS
    when the bytes end first or it is longer than a 64-bit one."""
    end = len(data) if limit is None else limit
    value = shift = 0
    while position < end and shift < 64:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7
    raise DataLossError("a varint runs past the end of its data, or is too long")


def fixed32(value: int) -> bytes:
    """``value`` as 4 little-endian bytes."""
    return _FIXED32.pack(value)


def read_fixed32(data: bytes, position: int) -> int:
    """The 4 little-endian bytes at ``position`` as an int."""
    return int(_FIXED32.unpack_from(data, position)[0])
