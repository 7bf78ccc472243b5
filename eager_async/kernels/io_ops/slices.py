"""The ``shape_and_slices`` strings of SaveV2 and RestoreV2: which part of a larger
tensor a saved or restored tensor is.

``""`` is the whole tensor. Otherwise it is the full tensor's dims, then one slice
spec, separated by spaces: ``"4 10 0,2:-"`` is rows [0, 2) and every column of a 4x10
tensor. In the spec, dims are separated by ``:`` (empty ones skipped), each
``start,length`` (length > 0) or ``-`` (all of it).

A checkpoint keeps a tensor saved in parts as an entry under its name listing the parts
(``TensorSliceProto``s), and each part as a tensor of its own under a key that encodes
the name and the part (``slice_key``, TF's "ordered code": such keys sort before every
name).

Where TF differs: a spec whose rank or extent does not fit its shape is INTERNAL in TF;
the caller wrote it, so it is INVALID_ARGUMENT here, with TF's words.

>>> spec = parse(b"4 10 0,2:-")
>>> spec.shape, spec.slice_shape, spec.is_full, spec.text
((4, 10), (2, 10), False, '0,2:-')
>>> slice_key(b"w", spec.extents)
b'\\x00w\\x00\\x01\\x01\\x02\\x80\\x82\\x80\\x7f'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..._proto.tensorflow import TensorSliceProto, TensorSliceProtoExtent
from ...errors import DataLossError, InvalidArgumentError
from .._checks import shape_str

__all__ = ["ShapeAndSlice", "parse", "slice_key"]

Extent = tuple[int, int] | None
"""One dim of a slice: (start, length), or None for all of it."""


@dataclass(frozen=True, slots=True)
class ShapeAndSlice:
    """A parsed ``shape_and_slice``: the full ``shape`` and one extent per dim."""

    shape: tuple[int, ...]
    extents: tuple[Extent, ...]

    @property
    def slice_shape(self) -> tuple[int, ...]:
        """The shape of the part."""
        return tuple(
            dim if extent is None else extent[1]
            for dim, extent in zip(self.shape, self.extents, strict=True)
        )

    @property
    def is_full(self) -> bool:
        """Whether the part is the whole tensor (every extent all of its dim)."""
        return self.slice_shape == self.shape

    @property
    def index(self) -> tuple[slice, ...]:
        """The part, as NumPy indexes the full tensor."""
        return tuple(slice(start, stop) for start, stop in self.bounds)

    @property
    def bounds(self) -> tuple[tuple[int, int], ...]:
        """The part's [start, stop) in each dim."""
        return tuple(
            (0, dim) if extent is None else (extent[0], extent[0] + extent[1])
            for dim, extent in zip(self.shape, self.extents, strict=True)
        )

    @property
    def text(self) -> str:
        """The slice spec as TF prints it: ``0,2:-``."""
        return ":".join("-" if e is None else f"{e[0]},{e[1]}" for e in self.extents)

    def to_proto(self) -> TensorSliceProto:
        """The part as a checkpoint lists it (a whole dim is an empty extent)."""
        return TensorSliceProto(
            extent=[
                TensorSliceProtoExtent()
                if e is None
                else TensorSliceProtoExtent(start=e[0], length=e[1])
                for e in self.extents
            ]
        )

    @classmethod
    def from_proto(cls, proto: TensorSliceProto, shape: tuple[int, ...]) -> ShapeAndSlice:
        """The part ``proto`` of a tensor of ``shape``; DATA_LOSS when it does not fit."""
        extents = tuple(None if e.length is None else (e.start, e.length) for e in proto.extent)
        part = cls(shape, extents)
        if len(extents) != len(shape) or any(
            e is not None and (e[0] < 0 or e[1] <= 0 or e[0] + e[1] > dim)
            for e, dim in zip(extents, shape, strict=True)
        ):
            raise DataLossError(
                f"a checkpoint lists a part {part.text} of a tensor of shape "
                f"{shape_str(shape)}, which does not fit it"
            )
        return part


def _ordered_number(value: int) -> bytes:
    """``value`` >= 0 as TF's ordered code writes it: a length byte, then big-endian."""
    raw = value.to_bytes(8, "big").lstrip(b"\0")
    return bytes([len(raw)]) + raw


def _ordered_signed(value: int) -> bytes:
    """A signed ``value`` as TF's ordered code writes it: in as few bytes as hold it
    with a sign bit, the leading bits (one per byte) counting the bytes."""
    magnitude = ~value if value < 0 else value
    length = (magnitude.bit_length() + 7) // 7  # 7 bits a byte, and one sign bit
    raw = bytearray(value.to_bytes(10, "big", signed=True)[10 - length :])
    header = (0xFFFF << (16 - length)) & 0xFFFF  # ``length`` one bits
    raw[0] ^= header >> 8
    if length > 1:
        raw[1] ^= header & 0xFF
    return bytes(raw)


def _ordered_string(text: bytes) -> bytes:
    """``text`` as TF's ordered code writes it: 0x00 and 0xff escaped, then 0x00 0x01."""
    escaped = b"\x00\xff".join(piece.replace(b"\xff", b"\xff\x00") for piece in text.split(b"\0"))
    return escaped + b"\x00\x01"


def slice_key(name: bytes, extents: tuple[Extent, ...]) -> bytes:
    """The key a checkpoint keeps part ``extents`` of tensor ``name`` under."""
    key = _ordered_number(0) + _ordered_string(name) + _ordered_number(len(extents))
    for extent in extents:
        start, length = (0, -1) if extent is None else extent
        key += _ordered_signed(start) + _ordered_signed(length)
    return key


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _extent(text: str, spec: str) -> Extent:
    if text == "-":
        return None
    parts = text.split(",")
    if len(parts) != 2 or not all(_INTEGER.fullmatch(part) for part in parts):
        raise InvalidArgumentError(
            f"Expected a pair of numbers or '-' but got '{text}': string = {spec}"
        )
    start, length = int(parts[0]), int(parts[1])
    if start < 0 or length <= 0:
        raise InvalidArgumentError(
            "Expected non-negative start and positive length but got start = "
            f"{start}, length = {length}: string = {spec}"
        )
    return start, length


def parse(shape_and_slice: bytes) -> ShapeAndSlice:
    """The non-empty ``shape_and_slice``, checked; INVALID_ARGUMENT when malformed."""
    text = shape_and_slice.decode("ascii", errors="replace")
    splits = text.split(" ")
    if len(splits) < 2:
        raise InvalidArgumentError(
            f"Need least two elements in shape_and_slice specification: {text}"
        )
    spec = splits.pop()
    extents = tuple(_extent(part, spec) for part in spec.split(":") if part)
    if not all(_INTEGER.fullmatch(dim) for dim in splits):
        raise InvalidArgumentError(f"Non numerical dimension in shape_and_slice: {text}")
    shape = tuple(int(dim) for dim in splits)
    if any(dim < 0 for dim in shape):
        raise InvalidArgumentError(f"Negative dimension in shape_and_slice: {text}")
    if len(shape) != len(extents):
        raise InvalidArgumentError(f"Mismatching ranks: shape = {shape_str(shape)}, slice = {spec}")
    for dim, (size, extent) in enumerate(zip(shape, extents, strict=True)):
        if extent is not None and extent[0] + extent[1] > size:
            raise InvalidArgumentError(
                f"Extent in dimension {dim} out of bounds: shape = {shape_str(shape)}, "
                f"slice = {spec}"
            )
    return ShapeAndSlice(shape, extents)
