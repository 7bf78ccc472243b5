"""Protobuf's wire format by hand: writing fields of any wire type (the wrong one on
purpose), and reading a message into fields that can be mutated and written back.

The fuzzer needs what a protobuf library will not do: send a field with a wire type its
schema forbids, a length that lies, a varint of eleven bytes. Everything here works on
bytes and field numbers alone; ``schema`` says which numbers a message type has.

>>> tag(2, LEN).hex(), varint(300).hex()
('12', 'ac02')
>>> [(f.number, f.wire, f.value) for f in parse(bytes.fromhex("08961a1203616263"))]
[(1, 0, 3350), (2, 2, b'abc')]
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

VARINT, I64, LEN, SGROUP, EGROUP, I32 = 0, 1, 2, 3, 4, 5
WIRE_TYPES = (VARINT, I64, LEN, SGROUP, EGROUP, I32)


def varint(value: int) -> bytes:
    """``value`` as a base-128 varint; negative numbers as their 64-bit two's complement
    (ten bytes), as protobuf writes a negative int64."""
    value &= (1 << 64) - 1 if value < 0 else (1 << 70) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def tag(number: int, wire: int) -> bytes:
    """A field's key."""
    return varint((number << 3) | wire)


def field_varint(number: int, value: int) -> bytes:
    return tag(number, VARINT) + varint(value)


def field_bytes(number: int, payload: bytes | str) -> bytes:
    data = payload.encode() if isinstance(payload, str) else payload
    return tag(number, LEN) + varint(len(data)) + data


def field_fixed64(number: int, value: int) -> bytes:
    return tag(number, I64) + struct.pack("<Q", value & (2**64 - 1))


def field_fixed32(number: int, value: int) -> bytes:
    return tag(number, I32) + struct.pack("<I", value & (2**32 - 1))


def field_float(number: int, value: float) -> bytes:
    return tag(number, I32) + struct.pack("<f", value)


def field_double(number: int, value: float) -> bytes:
    return tag(number, I64) + struct.pack("<d", value)


def field_of_wire(number: int, wire: int, payload: bytes = b"\x01") -> bytes:
    """A field ``number`` of wire type ``wire`` whatever the schema says; a group gets its
    end tag, an end-group stands alone."""
    if wire == VARINT:
        return field_varint(number, payload[0] if payload else 0)
    if wire == I64:
        return tag(number, I64) + (payload * 8)[:8].ljust(8, b"\0")
    if wire == LEN:
        return field_bytes(number, payload)
    if wire == SGROUP:
        return tag(number, SGROUP) + tag(number, EGROUP)
    if wire == EGROUP:
        return tag(number, EGROUP)
    return tag(number, I32) + (payload * 4)[:4].ljust(4, b"\0")


class WireError(ValueError):
    """The bytes are not a well-formed sequence of fields."""


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it."""
    result = shift = 0
    while True:
        if pos >= len(data):
            raise WireError("truncated varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError("varint longer than 10 bytes")


@dataclass(slots=True)
class Field:
    """One field as read: its number, wire type, value (an int for varints, the raw bytes
    otherwise) and, for length-delimited ones, where its bytes were in the message."""

    number: int
    wire: int
    value: int | bytes

    def encode(self) -> bytes:
        if self.wire == VARINT:
            assert isinstance(self.value, int)
            return field_varint(self.number, self.value)
        assert isinstance(self.value, bytes)
        if self.wire == LEN:
            return field_bytes(self.number, self.value)
        return tag(self.number, self.wire) + self.value


def parse(data: bytes) -> list[Field]:
    """The fields of a message, in order; WireError if it is not well formed (groups are
    not: proto3 has none)."""
    fields = []
    pos = 0
    while pos < len(data):
        key, pos = read_varint(data, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == VARINT:
            value, pos = read_varint(data, pos)
            fields.append(Field(number, wire, value))
        elif wire in (I64, I32):
            size = 8 if wire == I64 else 4
            if pos + size > len(data):
                raise WireError("truncated fixed field")
            fields.append(Field(number, wire, data[pos:pos + size]))
            pos += size
        elif wire == LEN:
            size, pos = read_varint(data, pos)
            if pos + size > len(data):
                raise WireError("length past the end")
            fields.append(Field(number, wire, data[pos:pos + size]))
            pos += size
        else:
            raise WireError(f"wire type {wire}")
    return fields


def serialize(fields: list[Field]) -> bytes:
    return b"".join(f.encode() for f in fields)


def is_message(data: bytes) -> bool:
    """Whether ``data`` reads as a non-empty message (a guess for unknown fields)."""
    try:
        return bool(data) and bool(parse(data))
    except WireError:
        return False
