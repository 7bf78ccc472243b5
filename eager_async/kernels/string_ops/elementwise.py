"""The string ops that map each string on its own: StringLength, StringStrip,
StringUpper, StringLower, and Substr (with pos and len broadcast against the strings).

Where TF differs from Python's ``bytes`` and ``str`` methods:

- StringLength and Substr count UTF8_CHAR positions by lead bytes (a continuation byte
  belongs to the character before it, invalid UTF-8 included).
- Substr's negative ``len`` takes the rest of the string in BYTE units and nothing in
  UTF8_CHAR units; broadcasting works for at most 2 dims.
- StringStrip removes ASCII whitespace only; StringUpper/StringLower map ASCII letters
  only with ``encoding`` "", and apply ICU's full case mapping with "utf-8".

>>> substr(np.array([b"hello", b"h\\xc3\\xa9llo"], dtype=object), np.int32(1), np.int32(2),
...        unit=b"UTF8_CHAR")
array([b'el', b'\\xc3\\xa9l'], dtype=object)
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidArgumentError, UnimplementedError
from .._checks import broadcast, shape_str
from ..registry import op, same_shape
from ..specs import Shape, TensorSpec
from ._common import WHITESPACE, compatible, map_elements, shown

_CONTINUATION = bytes(range(0x80, 0xC0))


@op("StringLength", shape=same_shape)
def string_length(input: np.ndarray, *, unit: bytes) -> np.ndarray:
    """Bytes, or UTF-8 characters counted by their lead bytes (invalid UTF-8 included)."""
    if unit == b"BYTE":
        return map_elements(len, input, np.dtype(np.int32))
    return map_elements(lambda s: len(s.translate(None, _CONTINUATION)), input, np.dtype(np.int32))


@op("StringStrip", shape=same_shape)
def string_strip(input: np.ndarray) -> np.ndarray:
    """Leading and trailing ASCII whitespace removed (no-break spaces stay)."""
    return map_elements(lambda s: s.strip(WHITESPACE), input)


def _check_encoding(encoding: bytes) -> None:
    if encoding not in (b"", b"utf-8"):
        raise InvalidArgumentError(
            f"only utf-8 or '' (no encoding) is supported, received {shown(encoding)}"
        )


def _case_rule(input: TensorSpec, *, encoding: bytes) -> Shape:
    _check_encoding(encoding)
    return input.shape


def _change_case(input: np.ndarray, encoding: bytes, upper: bool) -> np.ndarray:
    _check_encoding(encoding)
    if encoding == b"":  # ASCII letters only, byte by byte
        return map_elements(bytes.upper if upper else bytes.lower, input)
    # ICU's full case mapping; invalid UTF-8 becomes U+FFFD as ICU decodes it.
    method = str.upper if upper else str.lower
    return map_elements(lambda s: method(s.decode("utf-8", errors="replace")).encode(), input)


@op("StringUpper", shape=_case_rule)
def string_upper(input: np.ndarray, *, encoding: bytes) -> np.ndarray:
    """Upper case: ASCII only with ``encoding`` "", Unicode (``ß`` -> ``SS``) with "utf-8"."""
    return _change_case(input, encoding, upper=True)


@op("StringLower", shape=_case_rule)
def string_lower(input: np.ndarray, *, encoding: bytes) -> np.ndarray:
    """Lower case: ASCII only with ``encoding`` "", Unicode (final sigma) with "utf-8"."""
    return _change_case(input, encoding, upper=False)


def _substr_shape(input: Shape, pos: Shape, length: Shape) -> Shape:
    """The output shape; TF's checks on the shapes, in its order."""
    if pos is not None and length is not None and not compatible(pos, length):
        raise InvalidArgumentError(
            f"pos and len should have the same shape, got: {shape_str(pos)} vs. {shape_str(length)}"
        )
    if pos == ():
        return input
    if input is None or pos is None:
        return None
    known = min(input + pos, default=0) >= 0
    if known and input == pos:
        return input
    try:
        out = broadcast(input, pos)
    except InvalidArgumentError:
        raise InvalidArgumentError(
            f"Incompatible shapes: {shape_str(input)} vs. {shape_str(pos)}"
        ) from None
    if known and out is not None and len(out) > 2:
        raise UnimplementedError(f"Substr broadcast not implemented for {len(out)} dimensions")
    return out


def _substr_rule(input: TensorSpec, pos: TensorSpec, length: TensorSpec, *, unit: bytes) -> Shape:
    return _substr_shape(input.shape, pos.shape, length.shape)


def _byte_slice(s: bytes, pos: int, length: int) -> bytes | None:
    start = pos + len(s) if pos < 0 else pos
    if not 0 <= start <= len(s):
        return None
    return s[start:] if length < 0 else s[start : start + length]


def _char_slice(s: bytes, pos: int, length: int) -> bytes | None:
    """TF's walk over UTF-8 characters; a string's first byte always starts one."""
    bounds = [0] + [i for i in range(1, len(s)) if s[i] & 0xC0 != 0x80] + ([len(s)] if s else [])
    count = len(bounds) - 1
    if pos >= 0:
        if pos > count:
            return None
        end = bounds[min(pos + length, count)] if length > 0 else bounds[pos]
        return s[bounds[pos] : end]
    skip = max(-pos - length, 0)  # characters after the end of the substring
    back = -pos - skip  # its length in characters
    if skip > count or back < 0 or back > count - skip:
        return None
    return s[bounds[count - skip - back] : bounds[count - skip]]


@op("Substr", shape=_substr_rule)
def substr(input: np.ndarray, pos: np.ndarray, length: np.ndarray, *, unit: bytes) -> np.ndarray:
    """``input[pos:pos + len]`` per element, in bytes or UTF-8 characters; ``pos`` may be
    negative (from the end); pos/len are scalars, the input's shape, or broadcast with it."""
    shape = _substr_shape(input.shape, pos.shape, length.shape)
    assert shape is not None
    slice_of = _byte_slice if unit == b"BYTE" else _char_slice
    strings = np.broadcast_to(input, shape)
    starts, lengths = np.broadcast_to(pos, shape), np.broadcast_to(length, shape)
    paired = pos.ndim == 0 or input.shape == pos.shape
    out = np.empty(shape, dtype=object)
    for flat, index in enumerate(np.ndindex(*shape)):
        start, string = int(starts[index]), bytes(strings[index])
        piece = slice_of(string, start, int(lengths[index]))
        if piece is None:
            # TF names the flat index, or the row of a broadcast (row and column of a
            # 2-D broadcast in bytes), and shows the string only in bytes.
            at = str(flat) if paired else str(index[0])
            text = ""
            if unit == b"BYTE":
                text = f"b'{shown(string)}' "
                at = f"({index[0]}, {index[1]})" if not paired and len(shape) == 2 else at
            raise InvalidArgumentError(f"pos {start} out of range for string {text}at index {at}")
        out[index] = piece
    return out
