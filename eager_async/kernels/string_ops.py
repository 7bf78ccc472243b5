"""String ops, as TF 2.21 computes them on CPU: formatting, parsing, joining, splitting,
slicing, case mapping, RE2 replacement and hashing of ``bytes`` object arrays.

Where TF differs from the textbook (Python's ``str`` methods, C's printf):

- AsString formats like glibc's printf: NaN keeps its sign (``-nan``), the ``0`` flag
  never pads inf/nan, unsigned types ignore ``+``/`` ``, bools ignore width and fill,
  strings go through ``%s`` (precision cuts bytes) only when a width is set. TF runs
  kernels with denormals flushed, so a float32/float64/bfloat16 subnormal prints as a
  signed zero (float16 does not: it is widened to a normal float32 first).
- StringToNumber accepts surrounding ASCII whitespace, hex floats (``0x1p3``), ``inf``,
  ``infinity`` and ``nan(chars)`` in any case, overflow to inf and underflow to zero
  for floats; float32 is rounded once, from the decimal (not through float64).
- StringSplitV2 with ``maxsplit`` = 0 returns each string whole (even with ``sep`` empty,
  where Python strips), and a whitespace split that uses up ``maxsplit`` at the end of
  the string keeps an empty last token.
- Substr counts UTF8_CHAR positions by lead bytes (a continuation byte belongs to the
  character before it); negative ``len`` takes the rest of the string in BYTE units and
  nothing in UTF8_CHAR units; broadcasting works for at most 2 dims.
- ReduceJoin joins with the first listed axis varying fastest; no axes joins nothing.
- RegexReplace speaks RE2, translated to Python ``re`` (``_Re2``): ``$`` is the end of the
  text, ``\\d \\s \\w \\b`` are ASCII, bytes that are not UTF-8 match nothing but an empty
  pattern; a global replace skips an empty match right after the previous match; the
  rewrite knows only ``\\0``-``\\9`` and ``\\\\``, and an invalid rewrite replaces up to the
  bad escape (global) or not at all (first match).
- StringFormat (and Assert/Print, in ``debug_ops``) print tensors as TF's
  ``SummarizeValue``: ``summarize`` elements at each end of every dim (v2) or the first
  ``summarize`` elements (v1), floats in the fewest of 6/9 (15/17) digits that round-trip.

Not translated from RE2: ``\\C`` (one byte) and ``\\p`` scripts (``\\p{Greek}``; general
categories such as ``\\p{Lu}`` are) raise UNIMPLEMENTED. Known differences that remain: RE2
also finds an empty match of ``\\B`` between the bytes of one multi-byte character (never
tried here); a repeated group that can match empty (``(a*)*``) captures Python's empty last
round where RE2 keeps the last non-empty one; Python's ``re`` backtracks, so a
pathological pattern can take exponential time where RE2 takes linear time.

>>> string_split_v2(np.array([b"a b", b"c"], dtype=object), np.array(b"", dtype=object),
...                 maxsplit=-1)[2]
array([2, 2])
"""

from __future__ import annotations

import functools
import math
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import InvalidArgumentError, OutOfRangeError, UnimplementedError
from ._checks import (
    BFLOAT16,
    BOOL,
    COMPLEX,
    FLOATS,
    STRING,
    UNSIGNED,
    broadcast,
    shape_str,
    tf_name,
)
from .registry import op, same_shape
from .specs import Shape, TensorSpec

__all__ = [
    "as_string",
    "fingerprint64",
    "reduce_join",
    "regex_replace",
    "siphash",
    "static_regex_replace",
    "string_format",
    "string_join",
    "string_length",
    "string_lower",
    "string_split_v2",
    "string_strip",
    "string_to_hash_bucket_fast",
    "string_to_hash_bucket_strong",
    "string_to_number",
    "string_upper",
    "substr",
    "summarize",
]

_F16, _F32, _F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
_I64 = np.dtype(np.int64)
_WHITESPACE = b" \t\n\v\f\r"  # C's isspace in the "C" locale
_MIN_NORMAL = {_F32: 2.0**-126, _F64: 2.0**-1022}


def _map(fn: Callable[[Any], Any], x: np.ndarray, dtype: np.dtype = STRING) -> np.ndarray:
    """``fn`` of every element, in an array of ``x``'s shape."""
    values = (fn(v) for v in x.reshape(-1).tolist())
    return np.fromiter(values, dtype=dtype, count=x.size).reshape(x.shape)


def _shown(s: bytes) -> str:
    """A string input as an error message shows it."""
    return s.decode("utf-8", errors="replace")


def _flushed(value: float, dtype: np.dtype) -> float:
    """``value`` as TF's kernels see it: denormals read as (signed) zero."""
    if value != 0 and abs(value) < _MIN_NORMAL[dtype]:
        return math.copysign(0.0, value)
    return value


def _float_dtype(dtype: np.dtype) -> np.dtype:
    """The C type TF formats a float of ``dtype`` as (halves widen to float)."""
    return _F64 if dtype in (_F64, np.dtype(np.complex128)) else _F32


def _as_floats(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if x.dtype in (_F16, BFLOAT16) else x


# ---- AsString ----------------------------------------------------------------------


def _formatter(
    T: np.dtype, precision: int, scientific: bool, shortest: bool, width: int, fill: bytes
) -> Callable[[Any], bytes]:
    """One element of type ``T`` as AsString prints it; TF's attr checks, in its order."""
    if not (T in FLOATS or T in COMPLEX or T == STRING):
        if scientific or shortest:
            raise InvalidArgumentError(
                f"scientific and shortest format not supported for datatype {tf_name(T)}"
            )
        if precision > -1:
            raise InvalidArgumentError(f"precision not supported for datatype {tf_name(T)}")
    if len(fill) > 1:
        raise InvalidArgumentError("Fill string must be one or fewer characters")
    if scientific and shortest:
        raise InvalidArgumentError("Cannot select both scientific and shortest notation")
    if fill and fill not in b" +-0#":
        raise InvalidArgumentError(f'Fill argument not supported: "{_shown(fill)}"')
    flags = fill.decode()
    spec = flags + (str(width) if width > -1 else "")
    if T == BOOL:
        return lambda v: b"true" if v else b"false"
    if T == STRING:  # printf's %s only when a width is set: precision then cuts bytes
        cut = precision if precision > -1 else None
        if width <= 0:
            return lambda v: v
        return lambda v: v[:cut].ljust(width) if flags == "-" else v[:cut].rjust(width)
    if T in UNSIGNED:  # printf's %u ignores the sign flags
        fmt = "%" + spec.replace("+", "").replace(" ", "") + "d"
        return lambda v: (fmt % v).encode()
    if T not in FLOATS and T not in COMPLEX:
        fmt = "%" + spec + "d"
        return lambda v: (fmt % v).encode()
    conv = "g" if shortest else "e" if scientific else "f"
    fmt = "%" + spec + (f".{precision}" if precision > -1 else "") + conv
    part = _float_dtype(T)

    def real(v: float) -> str:
        if not math.isfinite(v):  # glibc: sign flags and width only, never zero-padded
            sign = (
                "-"
                if math.copysign(1.0, v) < 0
                else "+"
                if "+" in flags
                else (" " if " " in flags else "")
            )
            text = sign + ("nan" if math.isnan(v) else "inf")
            return text.ljust(width) if "-" in flags else text.rjust(width)
        return fmt % _flushed(v, part)

    if T in COMPLEX:
        return lambda v: f"({real(v.real)},{real(v.imag)})".encode()
    return lambda v: real(v).encode()


def _as_string_rule(
    input: TensorSpec, *, T: np.dtype, precision: int, scientific: bool, shortest: bool,
    width: int, fill: bytes,
) -> Shape:  # fmt: skip
    _formatter(T, precision, scientific, shortest, width, fill)
    return input.shape


@op("AsString", shape=_as_string_rule)
def as_string(
    input: np.ndarray, *, T: np.dtype, precision: int, scientific: bool, shortest: bool,
    width: int, fill: bytes,
) -> np.ndarray:  # fmt: skip
    """Each element printed with printf's ``%d``/``%f``/``%e``/``%g``, ``true``/``false``
    or ``(re,im)``: ``as_string(np.float32([1.5]), ...) -> [b"1.500000"]``."""
    fmt = _formatter(T, precision, scientific, shortest, width, fill)
    return _map(fmt, _as_floats(input))


# ---- Join, length, strip, case ------------------------------------------------------


def _compatible(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return len(a) == len(b) and all(x < 0 or y < 0 or x == y for x, y in zip(a, b, strict=True))


def _join_rule(inputs: list[TensorSpec], *, separator: bytes) -> Shape:
    """The shape of the first non-scalar input, which every other one must have."""
    shape: tuple[int, ...] = ()
    unknown = False
    for spec in inputs:
        if spec.shape is None:
            unknown = True
        elif spec.shape != ():
            if shape == ():
                shape = spec.shape
            elif not _compatible(shape, spec.shape):
                raise InvalidArgumentError(
                    f"Input shapes do not match: {shape_str(shape)} vs. {shape_str(spec.shape)}"
                )
    return None if unknown and shape == () else shape


@op("StringJoin", shape=_join_rule)
def string_join(inputs: list[np.ndarray], *, separator: bytes) -> np.ndarray:
    """Element-wise join of the inputs, scalars repeated:
    ``[[b"a", b"b"], b"-"] -> [b"a-", b"b-"]`` (separator empty)."""
    shape = _join_rule([TensorSpec(x.dtype, x.shape) for x in inputs], separator=separator)
    assert shape is not None
    columns = [np.broadcast_to(x, shape).reshape(-1).tolist() for x in inputs]
    joined = [separator.join(parts) for parts in zip(*columns, strict=True)] if columns else [b""]
    return np.array(joined, dtype=object).reshape(shape)


_CONTINUATION = bytes(range(0x80, 0xC0))


@op("StringLength", shape=same_shape)
def string_length(input: np.ndarray, *, unit: bytes) -> np.ndarray:
    """Bytes, or UTF-8 characters counted by their lead bytes (invalid UTF-8 included)."""
    if unit == b"BYTE":
        return _map(len, input, np.dtype(np.int32))
    return _map(lambda s: len(s.translate(None, _CONTINUATION)), input, np.dtype(np.int32))


@op("StringStrip", shape=same_shape)
def string_strip(input: np.ndarray) -> np.ndarray:
    """Leading and trailing ASCII whitespace removed (no-break spaces stay)."""
    return _map(lambda s: s.strip(_WHITESPACE), input)


def _check_encoding(encoding: bytes) -> None:
    if encoding not in (b"", b"utf-8"):
        raise InvalidArgumentError(
            f"only utf-8 or '' (no encoding) is supported, received {_shown(encoding)}"
        )


def _case_rule(input: TensorSpec, *, encoding: bytes) -> Shape:
    _check_encoding(encoding)
    return input.shape


def _change_case(input: np.ndarray, encoding: bytes, upper: bool) -> np.ndarray:
    _check_encoding(encoding)
    if encoding == b"":  # ASCII letters only, byte by byte
        return _map(bytes.upper if upper else bytes.lower, input)
    # ICU's full case mapping; invalid UTF-8 becomes U+FFFD as ICU decodes it.
    method = str.upper if upper else str.lower
    return _map(lambda s: method(s.decode("utf-8", errors="replace")).encode(), input)


@op("StringUpper", shape=_case_rule)
def string_upper(input: np.ndarray, *, encoding: bytes) -> np.ndarray:
    """Upper case: ASCII only with ``encoding`` "", Unicode (``ß`` -> ``SS``) with "utf-8"."""
    return _change_case(input, encoding, upper=True)


@op("StringLower", shape=_case_rule)
def string_lower(input: np.ndarray, *, encoding: bytes) -> np.ndarray:
    """Lower case: ASCII only with ``encoding`` "", Unicode (final sigma) with "utf-8"."""
    return _change_case(input, encoding, upper=False)


# ---- StringToNumber -------------------------------------------------------------------

_INT = re.compile(rb"[+-]?([0-9]+)")
_UINT = re.compile(rb"\+?([0-9]+)")
_DECIMAL = re.compile(rb"[+-]?(?:([0-9]+)\.?([0-9]*)|\.([0-9]+))(?:[eE]([+-]?[0-9]+))?")
_HEX = re.compile(rb"([+-]?)0[xX](?:([0-9a-fA-F]+)\.?([0-9a-fA-F]*)|\.([0-9a-fA-F]+))"
                  rb"(?:[pP]([+-]?[0-9]+))?")  # fmt: skip
_SPECIAL = re.compile(rb"([+-]?)(?:(inf|infinity)|nan(?:\([0-9A-Za-z_]*\))?)", re.IGNORECASE)
_F32_MAX, _F32_TOP = float(np.finfo(np.float32).max), 2.0**128
_INT_RANGES = {
    np.dtype(np.int32): (-(2**31), 2**31 - 1),
    np.dtype(np.int64): (-(2**63), 2**63 - 1),
    np.dtype(np.uint32): (0, 2**32 - 1),
    np.dtype(np.uint64): (0, 2**64 - 1),
}


def _exact(digits: bytes, fraction: bytes, exponent: int, base: int) -> Fraction:
    """``digits.fraction`` in ``base`` times ``base ** exponent`` (hex: times 2 ** exponent)."""
    mantissa = int(digits + fraction or b"0", base)
    if base == 16:
        return mantissa * Fraction(2) ** (exponent - 4 * len(fraction))
    return mantissa * Fraction(10) ** (exponent - len(fraction))


def _nearest_f32(value: float, exact: Callable[[], Fraction]) -> np.float32:
    """The float32 nearest the number ``exact()``, given ``value``, the float64 nearest it.

    Rounding through float64 is wrong only when ``value`` lands exactly on the midpoint of
    two float32s; then the exact number picks the side (a true tie stays with the even)."""
    with np.errstate(over="ignore"):
        f = np.float32(value)
    if not math.isfinite(value) or float(f) == value:
        return f
    if math.isfinite(f):
        here = float(f)
        other = float(np.nextafter(f, np.float32(math.copysign(math.inf, value - here))))
    else:  # rounded to infinity: the neighbours are float32's max and 2**128
        here, other = math.copysign(_F32_TOP, value), math.copysign(_F32_MAX, value)
    if (here + other) / 2 != value:
        return f
    x, mid = exact(), Fraction(value)
    if x == mid:
        return f
    pick = max(here, other) if x > mid else min(here, other)
    return np.float32(pick if abs(pick) < _F32_TOP else math.copysign(math.inf, pick))


def _parse_hex(found: re.Match[bytes], dtype: np.dtype) -> float | np.float32:
    """A hex float (``-0x1.8p3``), rounded once to ``dtype``."""
    sign, digits, fraction, only, exponent = found.groups()
    exact = _exact(digits or b"", fraction or only or b"", int(exponent or 0), 16)
    exact = -exact if sign == b"-" else exact
    magnitude = exact.numerator.bit_length() - exact.denominator.bit_length()
    if exact == 0:
        value = -0.0 if sign == b"-" else 0.0
    elif magnitude < -1200 or magnitude > 1100:  # beyond float64: no huge Fraction maths
        value = math.copysign(0.0 if magnitude < 0 else math.inf, exact)
    else:
        value = float(exact)
    return value if dtype == _F64 else _nearest_f32(value, lambda: exact)


def _parse_float(text: bytes, dtype: np.dtype) -> float | np.float32 | None:
    """A float as TF's ``safe_strtof``/``safe_strtod`` read it; None when they refuse."""
    text = text.strip(_WHITESPACE)
    special = _SPECIAL.fullmatch(text)
    if special:
        sign = -1.0 if special[1] == b"-" else 1.0
        return math.copysign(math.inf if special[2] else math.nan, sign)
    hexa = _HEX.fullmatch(text)
    if hexa:
        return _parse_hex(hexa, dtype)
    decimal = _DECIMAL.fullmatch(text)
    if not decimal:
        return None
    value = float(text)
    if dtype == _F64:
        return value
    digits, fraction, only, exponent = decimal.groups()

    def exact() -> Fraction:
        number = _exact(digits or b"", fraction or only or b"", int(exponent or 0), 10)
        return -number if text.startswith(b"-") else number

    return _nearest_f32(value, exact)


def _parse_int(text: bytes, dtype: np.dtype) -> int | None:
    """An integer as TF's ``safe_strto32``/``64``/``u32``/``u64`` read it."""
    text = text.strip(_WHITESPACE)
    found = (_UINT if dtype in UNSIGNED else _INT).fullmatch(text)
    if not found:
        return None
    value = int(text)
    low, high = _INT_RANGES[dtype]
    return value if low <= value <= high else None


@op("StringToNumber", shape=same_shape)
def string_to_number(string_tensor: np.ndarray, *, out_type: np.dtype) -> np.ndarray:
    """Each string parsed as ``out_type``: ``[b" 1e3", b"0x10"] -> [1000., 16.]``."""
    parse = _parse_float if out_type in FLOATS else _parse_int

    def number(text: bytes) -> Any:
        value = parse(text, out_type)
        if value is None:
            raise InvalidArgumentError(
                f"StringToNumberOp could not correctly convert string: {_shown(text)}"
            )
        return value

    return _map(number, string_tensor, out_type)


# ---- Substr ------------------------------------------------------------------------------


def _substr_shape(input: Shape, pos: Shape, length: Shape) -> Shape:
    """The output shape; TF's checks on the shapes, in its order."""
    if pos is not None and length is not None and not _compatible(pos, length):
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
                text = f"b'{_shown(string)}' "
                at = f"({index[0]}, {index[1]})" if not paired and len(shape) == 2 else at
            raise InvalidArgumentError(f"pos {start} out of range for string {text}at index {at}")
        out[index] = piece
    return out


# ---- StringSplitV2 --------------------------------------------------------------------


def _split_rule(input: TensorSpec, sep: TensorSpec, *, maxsplit: int) -> tuple[Shape, Shape, Shape]:
    if input.shape is not None and len(input.shape) != 1:
        raise InvalidArgumentError(f"input must be a vector, got shape: {shape_str(input.shape)}")
    if sep.shape is not None and sep.shape != ():
        raise InvalidArgumentError(f"sep must be a scalar, got shape: {shape_str(sep.shape)}")
    return (-1, 2), (-1,), (2,)


def _split(text: bytes, sep: bytes, maxsplit: int) -> list[bytes]:
    """TF's SplitV2: Python's ``str.split`` but for maxsplit 0 and a used-up maxsplit."""
    if maxsplit == 0:
        return [text]
    if sep:
        return text.split(sep, maxsplit if maxsplit > 0 else -1)
    tokens: list[bytes] = []
    rest = text.lstrip(_WHITESPACE)
    while rest:
        end = next((i for i, c in enumerate(rest) if c in _WHITESPACE), len(rest))
        tokens.append(rest[:end])
        rest = rest[end:].lstrip(_WHITESPACE)
        if len(tokens) == maxsplit:
            tokens.append(rest)
            break
    return tokens


@op("StringSplitV2", shape=_split_rule)
def string_split_v2(
    input: np.ndarray, sep: np.ndarray, *, maxsplit: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each string split on ``sep`` (runs of whitespace when empty), as the indices,
    values and dense shape of a SparseTensor with one row per string."""
    _split_rule(TensorSpec(STRING, input.shape), TensorSpec(STRING, sep.shape), maxsplit=maxsplit)
    rows = [_split(text, sep.item(), maxsplit) for text in input.tolist()]
    indices = [(i, j) for i, row in enumerate(rows) for j in range(len(row))]
    values = [token for row in rows for token in row]
    width = max((len(row) for row in rows), default=0)
    return (
        np.array(indices, dtype=np.int64).reshape(-1, 2),
        np.array(values, dtype=object).reshape(-1),
        np.array([len(rows), width], dtype=np.int64),
    )


# ---- RegexReplace: RE2 syntax in Python's re ----------------------------------------

Ranges = list[tuple[int, int]]
_INVALID = (0xDC80, 0xDCFF)  # bytes that are not UTF-8, as "surrogateescape" decodes them
_WORD: Ranges = [(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)]
_PERL: dict[str, Ranges] = {"d": [(0x30, 0x39)], "s": [(9, 10), (12, 13), (32, 32)], "w": _WORD}
_POSIX: dict[str, Ranges] = {
    "alnum": [(0x30, 0x39), (0x41, 0x5A), (0x61, 0x7A)], "alpha": [(0x41, 0x5A), (0x61, 0x7A)],
    "ascii": [(0, 0x7F)], "blank": [(9, 9), (32, 32)], "cntrl": [(0, 0x1F), (0x7F, 0x7F)],
    "digit": [(0x30, 0x39)], "graph": [(0x21, 0x7E)], "lower": [(0x61, 0x7A)],
    "print": [(0x20, 0x7E)], "punct": [(0x21, 0x2F), (0x3A, 0x40), (0x5B, 0x60), (0x7B, 0x7E)],
    "space": [(9, 13), (32, 32)], "upper": [(0x41, 0x5A)], "word": _WORD,
    "xdigit": [(0x30, 0x39), (0x41, 0x46), (0x61, 0x66)],
}  # fmt: skip
_SIMPLE = {"a": 7, "f": 12, "t": 9, "n": 10, "r": 13, "v": 11}
_W = "[0-9A-Za-z_]"
_ASSERTIONS = {
    "A": r"\A", "z": r"\Z",
    "b": f"(?:(?<={_W})(?!{_W})|(?<!{_W})(?={_W}))",
    "B": f"(?:(?<={_W})(?={_W})|(?<!{_W})(?!{_W}))",
}  # fmt: skip
_REPEAT = re.compile(r"\{([0-9]+)(,([0-9]*))?\}")


def _char(code: int) -> str:
    return chr(code) if code < 128 and chr(code).isalnum() else f"\\U{code:08x}"


def _items(ranges: Ranges) -> str:
    return "".join(_char(a) if a == b else f"{_char(a)}-{_char(b)}" for a, b in ranges)


def _complement(ranges: Ranges) -> Ranges:
    out, low = [], 0
    for a, b in sorted([*ranges, _INVALID]):
        if a > low:
            out.append((low, a - 1))
        low = max(low, b + 1)
    return [*out, (low, 0x10FFFF)] if low <= 0x10FFFF else out


class _Re2:
    """A recursive-descent reader of RE2 syntax writing the same regexp for Python's re,
    with RE2's parse errors.

    Flags ``imsU`` are tracked here and written into each atom (``(?i:x)``, ``\\A`` for
    ``^``, ...), since Python takes global flags only at the start of a pattern."""

    def __init__(self, pattern: str) -> None:
        self.text, self.at, self.groups = pattern, 0, 0

    def error(self, what: str, arg: str | None = None) -> InvalidArgumentError:
        shown = what if arg is None else f"{what}: {arg}"
        return InvalidArgumentError(f"Invalid pattern: {self.text}, error: {shown}")

    def peek(self, offset: int = 0) -> str:
        at = self.at + offset
        return self.text[at] if at < len(self.text) else ""

    def translate(self) -> str:
        out, _ = self.body("")
        if self.at < len(self.text):
            raise self.error("unexpected )", self.text)
        return out

    def body(self, flags: str) -> tuple[str, int]:
        """Alternatives up to a ``)`` or the end, and the largest product of counted
        repetitions nested in them (RE2 refuses more than 1000)."""
        branches: list[list[str]] = [[]]
        state = [flags]
        size = 1  # of the last atom
        last, largest, prev = "", 1, ""  # last: "atom", "repeated" or ""
        while self.at < len(self.text) and self.peek() != ")":
            if self.peek() == "|":
                self.at += 1
                branches.append([])
                last = ""
                continue
            repeat = self.repetition()
            if repeat is not None:
                text, base, greedy, count = repeat
                if not last:
                    raise self.error("no argument for repetition operator", text)
                if last == "repeated":
                    raise self.error("bad repetition operator", prev + text)
                size *= max(count, 1)
                if size > 1000:
                    raise self.error("invalid repetition size", text)
                greedy = greedy != ("U" in state[0])  # (?U) swaps greedy and lazy
                branches[-1][-1] = f"(?:{branches[-1][-1]}){base}{'' if greedy else '?'}"
                last, prev, largest = "repeated", text, max(largest, size)
                continue
            atom = self.atom(state)
            if atom is not None:
                (text, size), last = atom, "atom"
                branches[-1].append(text)
                largest = max(largest, size)
        return "|".join("".join(pieces) for pieces in branches), largest

    def repetition(self) -> tuple[str, str, bool, int] | None:
        """A repetition operator here, consumed: its text, the operator without the lazy
        ``?``, whether it is greedy, and its count (0 for ``*+?``); None when none."""
        c, count = self.peek(), 0
        if c in ("*", "+", "?") and c:
            base = c
        elif c == "{" and (found := _REPEAT.match(self.text, self.at)):
            base = found[0]
            low = int(found[1])
            high = low if not found[2] else int(found[3]) if found[3] else None
            if low > 1000 or (high is not None and (high > 1000 or high < low)):
                raise self.error("invalid repetition size", base)
            count = low if high is None else high
        else:
            return None
        self.at += len(base)
        if self.peek() == "?":
            self.at += 1
            return base + "?", base, False, count
        return base, base, True, count

    def atom(self, state: list[str]) -> tuple[str, int] | None:
        """The next atom and its repetition product; None for a flag group ``(?i)``."""
        flags = state[0]
        c = self.peek()
        self.at += 1
        if c == "(":
            return self.group(state)
        if c == "[":
            return self.folded(self.char_class(), flags), 1
        if c == ".":
            return ("[^\\n\\udc80-\\udcff]" if "s" not in flags else "[^\\udc80-\\udcff]"), 1
        if c == "^":
            return ("(?m:^)" if "m" in flags else r"\A"), 1
        if c == "$":
            return ("(?m:$)" if "m" in flags else r"\Z"), 1
        if c == "\\":
            escaped = self.escape(in_class=False)
            if isinstance(escaped, str):
                return escaped, 1
            return self.folded(self.positive(escaped), flags), 1
        return self.folded(_char(ord(c)), flags), 1

    @staticmethod
    def folded(atom: str, flags: str) -> str:
        return f"(?i:{atom})" if "i" in flags else atom

    @staticmethod
    def positive(ranges: Ranges) -> str:
        return f"[{_items(ranges)}]" if ranges else "(?!)"

    def group(self, state: list[str]) -> tuple[str, int] | None:
        start, flags, prefix = self.at - 1, state[0], "("
        if self.peek() == "?":
            self.at += 1
            if self.text.startswith("P<", self.at):
                end = self.text.find(">", self.at)
                name = self.text[self.at + 2 : end] if end > 0 else ""
                if end < 0 or not re.fullmatch(r"\w+", name, re.ASCII):
                    shown = self.text[start : end + 1] if end > 0 else self.text[start:]
                    raise self.error("invalid named capture group", shown)
                self.at = end + 1
            else:
                flags, scoped = self.flags(start, flags)
                if not scoped:  # (?i): the rest of the enclosing group
                    state[0] = flags
                    return None
                prefix = "(?:"
        if prefix == "(":
            self.groups += 1
        inner, size = self.body(flags)
        if self.peek() != ")":
            raise self.error("missing )", self.text)
        self.at += 1
        return prefix + inner + ")", size

    def flags(self, start: int, flags: str) -> tuple[str, bool]:
        """``(?flags)`` or ``(?flags:``, read from after the ``?``: the new flags, and
        whether a group follows."""
        on, off, negated = "", "", False
        while True:
            c = self.peek()
            self.at += 1
            if c and c in "imsU":
                off, on = (off + c, on) if negated else (off, on + c)
            elif c == "-" and not negated:
                negated = True
            elif c in (":", ")") and c and not (negated and not off):
                return "".join(f for f in flags + on if f not in off), c == ":"
            else:
                raise self.error("invalid perl operator", self.text[start : self.at])

    def escape(self, in_class: bool) -> Ranges | str:
        """The escape after a backslash: a set of characters, or (outside a class) an
        assertion or a literal run (``\\Q...\\E``) as Python regexp text."""
        start = self.at - 1
        c = self.peek()
        if not c:
            raise self.error("trailing \\")
        self.at += 1
        if c in "01234567" and (c == "0" or (self.peek() and self.peek() in "01234567")):
            digits = c
            while len(digits) < 3 and self.peek() and self.peek() in "01234567":
                digits += self.peek()
                self.at += 1
            return [(int(digits, 8), int(digits, 8))]
        if c == "x":
            code = self.hex_escape(start)
            return [(code, code)]
        if c in _SIMPLE:
            return [(_SIMPLE[c], _SIMPLE[c])]
        if c.lower() in _PERL:
            ranges = _PERL[c.lower()]
            return _complement(ranges) if c.isupper() else ranges
        if c in "pP":
            return self.unicode_class(negated=c == "P")
        if c == "C":
            raise UnimplementedError(
                "RegexReplace: RE2's \\C (any single byte) has no translation to Python's re "
                "in eager_async; match whole characters instead"
            )
        if not in_class and c in _ASSERTIONS:
            return _ASSERTIONS[c]
        if not in_class and c == "Q":
            end = self.text.find("\\E", self.at)
            end = len(self.text) if end < 0 else end
            literal, self.at = self.text[self.at : end], min(end + 2, len(self.text))
            return "".join(_char(ord(ch)) for ch in literal)
        if ord(c) < 128 and not c.isalnum():
            return [(ord(c), ord(c))]
        raise self.error("invalid escape sequence", "\\" + c)

    def hex_escape(self, start: int) -> int:
        """``\\xHH`` or ``\\x{H...}``, read from after the ``x``."""
        digits, braced = "", self.peek() == "{"
        self.at += braced
        while self.peek() and self.peek() in string.hexdigits and (braced or len(digits) < 2):
            digits += self.peek()
            self.at += 1
        closed = not braced or self.peek() == "}"
        if digits and closed and (braced or len(digits) == 2):
            if int(digits, 16) <= 0x10FFFF:
                self.at += braced
                return int(digits, 16)
            raise self.error("invalid escape sequence", self.text[start : self.at])
        raise self.error("invalid escape sequence", self.text[start : self.at + 1])

    def unicode_class(self, negated: bool) -> Ranges:
        """``\\pL``, ``\\p{Lu}``, ``\\p{^L}``, ``\\p{Any}``: Unicode general categories."""
        start = self.at - 2
        if self.peek() == "{":
            end = self.text.find("}", self.at)
            if end < 0:
                raise self.error("invalid character class range", self.text[start:])
            name, self.at = self.text[self.at + 1 : end], end + 1
        else:
            name, self.at = self.peek(), self.at + 1
        if name.startswith("^"):
            name, negated = name[1:], not negated
        categories = _categories()
        if name not in categories:
            if len(name) <= 2 and name != "Yi":  # RE2's other names are scripts
                raise self.error("invalid character class range", self.text[start : self.at])
            raise UnimplementedError(
                f"RegexReplace: {self.text[start : self.at]} is a Unicode script; eager_async "
                "translates only general categories (\\p{Lu}, \\pN, ...) to Python's re"
            )
        return _complement(categories[name]) if negated else categories[name]

    def char_class(self) -> str:
        start = self.at - 1
        negated = self.peek() == "^"
        self.at += negated
        ranges: Ranges = []
        first = True
        while first or self.peek() != "]":
            if not self.peek():
                raise self.error("missing ]", self.text[start:])
            first = False
            posix = re.compile(r"\[:(\^?)([a-z]+):\]").match(self.text, self.at)
            if posix:
                if posix[2] not in _POSIX:
                    raise self.error("invalid character class range", posix[0])
                self.at = posix.end()
                found = _POSIX[posix[2]]
                ranges += _complement(found) if posix[1] else found
                continue
            low = self.class_char()
            if isinstance(low, list):
                ranges += low
            elif self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.at += 1
                at = self.at
                high = self.class_char()
                if isinstance(high, list):
                    raise self.error("invalid escape sequence", self.text[at : self.at])
                if high < low:
                    raise self.error("invalid character class range", f"{chr(low)}-{chr(high)}")
                ranges.append((low, high))
            else:
                ranges.append((low, low))
        self.at += 1
        if negated:
            return f"[^{_items(ranges)}\\udc80-\\udcff]"
        return self.positive(ranges)

    def class_char(self) -> int | Ranges:
        c = self.peek()
        self.at += 1
        if c != "\\":
            return ord(c)
        escaped = self.escape(in_class=True)
        assert not isinstance(escaped, str)
        return escaped[0][0] if len(escaped) == 1 and escaped[0][0] == escaped[0][1] else escaped


@functools.cache
def _categories() -> dict[str, Ranges]:
    """Each Unicode general category (``Lu``, and ``L`` for all ``L*``, as RE2 groups
    them: ``C`` without unassigned ``Cn``) and ``Any``, as code point ranges."""
    found: dict[str, Ranges] = {}
    for code in range(0x110000):
        if _INVALID[0] <= code <= _INVALID[1]:
            continue
        name = unicodedata.category(chr(code))
        if name == "Cn":
            continue
        for key in (name, name[0]):
            ranges = found.setdefault(key, [])
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return {**found, "Any": [(0, _INVALID[0] - 1), (_INVALID[1] + 1, 0x10FFFF)]}


@dataclass(frozen=True, slots=True)
class _Regex:
    compiled: re.Pattern[str]
    groups: int


@functools.lru_cache(maxsize=256)
def _compile(pattern: bytes) -> _Regex:
    """RE2 ``pattern`` compiled for Python's re (cached: a pattern is usually reused)."""
    try:
        text = pattern.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgumentError(
            f"Invalid pattern: {_shown(pattern)}, error: invalid UTF-8"
        ) from None
    reader = _Re2(text)
    translated = reader.translate()
    try:
        return _Regex(re.compile(translated), reader.groups)
    except re.error as exc:
        raise InvalidArgumentError(f"Invalid pattern: {text}, error: {exc}") from None


def _rewrite(rewrite: str) -> tuple[list[str | int], bool, int]:
    """RE2's rewrite string: literal text and group numbers up to the first bad escape,
    whether it has none, and the highest group it names anywhere (RE2's MaxSubmatch)."""
    parts: list[str | int] = []
    valid, highest, at = True, 0, 0
    while at < len(rewrite):
        c = rewrite[at]
        nxt = rewrite[at + 1] if at + 1 < len(rewrite) else ""
        if c != "\\":
            parts.append(c) if valid else None
            at += 1
            continue
        if nxt.isdigit() and nxt.isascii():
            highest = max(highest, int(nxt))
            parts.append(int(nxt)) if valid else None
        elif nxt == "\\":
            parts.append("\\") if valid else None
        else:
            valid = False
        at += 2
    return parts, valid, highest


def _replace(text: bytes, regex: _Regex, rewrite: bytes, replace_global: bool) -> bytes:
    """RE2's GlobalReplace or Replace of ``text``."""
    parts, valid, highest = _rewrite(rewrite.decode("utf-8", errors="surrogateescape"))
    if highest > regex.groups:  # RE2 refuses the rewrite and leaves the text as is
        return text
    s = text.decode("utf-8", errors="surrogateescape")

    def rewritten(found: re.Match[str]) -> str:
        return "".join(p if isinstance(p, str) else found.group(p) or "" for p in parts)

    if not replace_global:
        found = regex.compiled.search(s)
        if found is None or not valid:
            return text
        s = s[: found.start()] + rewritten(found) + s[found.end() :]
        return s.encode("utf-8", errors="surrogateescape")
    out: list[str] = []
    at, last_end, count = 0, -1, 0
    while at <= len(s):
        found = regex.compiled.search(s, at)
        if found is None:
            break
        out.append(s[at : found.start()])
        if found.start() == found.end() == last_end:
            # No empty match where the previous match ended: step over one character.
            out.append(s[at : at + 1])
            at += 1
            continue
        out.append(rewritten(found))
        at = last_end = found.end()
        count += 1
    if count == 0:
        return text
    out.append(s[at:])
    return "".join(out).encode("utf-8", errors="surrogateescape")


def _regex_rule(
    input: TensorSpec, pattern: TensorSpec, rewrite: TensorSpec, *, replace_global: bool
) -> Shape:
    for name, spec in (("Pattern", pattern), ("Rewrite", rewrite)):
        if spec.shape is not None and spec.shape != ():
            raise InvalidArgumentError(
                f"{name} must be scalar, but received {shape_str(spec.shape)}"
            )
    return input.shape


@op("RegexReplace", shape=_regex_rule)
def regex_replace(
    input: np.ndarray, pattern: np.ndarray, rewrite: np.ndarray, *, replace_global: bool
) -> np.ndarray:
    """Matches of the RE2 ``pattern`` replaced by ``rewrite`` (``\\1`` names a group):
    every match, or the first with ``replace_global`` false."""
    _regex_rule(TensorSpec(STRING, input.shape), TensorSpec(STRING, pattern.shape),
                TensorSpec(STRING, rewrite.shape), replace_global=replace_global)  # fmt: skip
    regex, new = _compile(pattern.item()), rewrite.item()
    return _map(lambda s: _replace(s, regex, new, replace_global), input)


def _static_regex_rule(
    input: TensorSpec, *, pattern: bytes, rewrite: bytes, replace_global: bool
) -> Shape:
    _compile(pattern)
    return input.shape


@op("StaticRegexReplace", shape=_static_regex_rule)
def static_regex_replace(
    input: np.ndarray, *, pattern: bytes, rewrite: bytes, replace_global: bool
) -> np.ndarray:
    """RegexReplace with the pattern and rewrite as attrs."""
    regex = _compile(pattern)
    return _map(lambda s: _replace(s, regex, rewrite, replace_global), input)


# ---- ReduceJoin --------------------------------------------------------------------


def _reduce_axes(rank: int, axes: Iterable[int]) -> list[int]:
    """The axes in [0, rank), in the order given; TF's checks, one axis at a time."""
    seen: list[int] = []
    for axis in axes:
        if not -rank <= axis < rank:
            raise OutOfRangeError(
                f"Invalid reduction dimension {axis} for input with {rank} dimension(s)"
            )
        if axis % rank in seen:
            raise InvalidArgumentError(f"Duplicate reduction dimension {axis}")
        seen.append(axis % rank)
    return seen


def _reduce_join_rule(
    inputs: TensorSpec, reduction_indices: TensorSpec, *, keep_dims: bool, separator: bytes
) -> Shape:
    shape, indices = inputs.shape, reduction_indices
    if shape is None:
        return None
    if indices.value is not None:
        axes = _reduce_axes(len(shape), np.ravel(indices.value).tolist())
        if keep_dims:
            return tuple(1 if d in axes else n for d, n in enumerate(shape))
        return tuple(n for d, n in enumerate(shape) if d not in axes)
    count = None if indices.shape is None or -1 in indices.shape else math.prod(indices.shape)
    if count == 0:
        return shape
    if keep_dims:
        return (-1,) * len(shape)
    return None if count is None else (-1,) * (len(shape) - count)


@op("ReduceJoin", shape=_reduce_join_rule)
def reduce_join(
    inputs: np.ndarray, reduction_indices: np.ndarray, *, keep_dims: bool, separator: bytes
) -> np.ndarray:
    """The strings joined along the listed axes, the first listed varying fastest:
    ``[[a, b], [c, d]]`` over ``[0, 1]`` -> ``"acbd"``; no axes leaves the input as is."""
    axes = _reduce_axes(inputs.ndim, np.ravel(reduction_indices).tolist())
    kept = [d for d in range(inputs.ndim) if d not in axes]
    moved = inputs.transpose(kept + axes[::-1])
    rows = moved.reshape(math.prod(inputs.shape[d] for d in kept), -1 if inputs.size else 0)
    joined = np.array([separator.join(row) for row in rows.tolist()] or [], dtype=object)
    shape = [1 if d in axes else n for d, n in enumerate(inputs.shape)]
    out = joined.reshape([n for d, n in enumerate(shape) if keep_dims or d not in axes])
    return out


# ---- StringFormat and how TF prints a tensor ------------------------------------------


def _escaped(s: bytes) -> bytes:
    """absl's ``Utf8SafeCEscape``: C escapes for quotes, backslash and control bytes;
    bytes from 0x80 up are kept as they are."""
    out = bytearray()
    for c in s:
        if c in _ESCAPES:
            out += _ESCAPES[c]
        elif c < 0x20 or c == 0x7F:
            out += b"\\%03o" % c
        else:
            out.append(c)
    return bytes(out)


def _escaped_any(v: Any) -> bytes:
    # An object array may also hold resource handles: they print as their text.
    return _escaped(v if isinstance(v, bytes) else str(v).encode())


_ESCAPES = {0x0A: b"\\n", 0x0D: b"\\r", 0x09: b"\\t", 0x22: b'\\"', 0x27: b"\\'", 0x5C: b"\\\\"}


def _shortest(value: float, dtype: np.dtype) -> bytes:
    """TF's ``FloatToBuffer``/``DoubleToBuffer``: %g with 6 (15) digits, or 9 (17) when
    that does not read back as the same value."""
    if math.isnan(value):
        return b"-nan" if math.copysign(1.0, value) < 0 else b"nan"
    if math.isinf(value):
        return b"-inf" if value < 0 else b"inf"
    value = _flushed(value, dtype)
    digits = (6, 9) if dtype == _F32 else (15, 17)
    text = b"%.*g" % (digits[0], value)
    same = _parse_float(text, dtype) == (np.float32(value) if dtype == _F32 else value)
    return text if same else b"%.*g" % (digits[1], value)


def _element_printer(dtype: np.dtype, quoted: bool) -> Callable[[Any], bytes]:
    if dtype == STRING:
        return (lambda v: b'"' + _escaped_any(v) + b'"') if quoted else _escaped_any
    if dtype == BOOL:
        return lambda v: b"1" if v else b"0"
    if dtype in FLOATS:
        part = _float_dtype(dtype)
        return lambda v: _shortest(float(v), part)
    return lambda v: b"%d" % int(v)


def _spacing(dim: int, rank: int) -> bytes:
    return b" " if dim == rank - 1 else b"\n" * (rank - dim - 1) + b" " * (dim + 1)


def summarize(x: np.ndarray, max_entries: int, v2: bool) -> bytes:
    """``x`` as TF's ``Tensor::SummarizeValue`` prints it (``max_entries`` < 0: all).

    v2 (StringFormat, tf.print) nests brackets with newlines and shows ``max_entries``
    elements at each end of every dim; v1 (Assert, Print) shows the first ``max_entries``
    elements, then ``...``. Complex numbers print as ``?``.

    >>> summarize(np.arange(7), 3, v2=True), summarize(np.arange(7), 3, v2=False)
    (b'[0 1 2 ... 4 5 6]', b'0 1 2...')
    """
    total = x.size
    limit = total if max_entries < 0 else min(max_entries, total)
    if x.dtype == BOOL and limit == 0:  # TF prints no bool tensor without its data
        return b""
    if x.dtype in COMPLEX:
        body = b" ".join([b"?"] * limit) + (b"..." if limit < total else b"")
        return b"[" + body + b"]" if v2 and x.ndim else body
    flat = _as_floats(x).reshape(-1)
    printer = _element_printer(x.dtype, quoted=v2)
    if x.ndim == 0:
        return b" ".join(printer(v) for v in flat[:limit].tolist()) + (
            b"..." if total > limit else b""
        )
    if v2:
        return _summary_v2(x.shape, lambda i: printer(flat[i]), limit)
    return _summary_v1(x.shape, [printer(v) for v in flat[:limit].tolist()], total)


def _summary_v2(shape: Sequence[int], element: Callable[[int], bytes], edge: int) -> bytes:
    rank = len(shape)

    def dim(d: int, base: int) -> bytes:
        if d == rank:
            return element(base)
        n, step = shape[d], math.prod(shape[d + 1 :])
        shown = list(range(min(edge, n))) + list(range(max(edge, n - edge), n))
        parts = [dim(d + 1, base + step * i) for i in shown]
        if n > 2 * edge:
            parts.insert(min(edge, n), b"...")
        lead = _spacing(d, rank) if n and not edge else b""  # TF spaces a lone "..."
        return b"[" + lead + _spacing(d, rank).join(parts) + b"]"

    return dim(0, 0)


def _summary_v1(shape: Sequence[int], items: list[bytes], total: int) -> bytes:
    out: list[bytes] = []
    limit, done = len(items), 0

    def dim(d: int) -> None:
        nonlocal done
        for i in range(shape[d]):
            if done >= limit:  # the innermost dim marks where it was cut, but not at top
                out.append(b"..." if d == len(shape) - 1 and d else b"")
                return
            if d < len(shape) - 1:
                out.append(b"[")
                dim(d + 1)
                out.append(b"]")
            else:
                out.append(b" " + items[done] if i else items[done])
                done += 1

    dim(0)
    return b"".join(out) + (b"..." if total > limit else b"")


def _pieces(template: bytes, placeholder: bytes) -> list[bytes]:
    """absl's ``StrSplit``: an empty delimiter splits between every byte."""
    if placeholder:
        return template.split(placeholder)
    return [template[i : i + 1] for i in range(len(template))] or [b""]


def _format_rule(
    inputs: list[TensorSpec], *, template: bytes, placeholder: bytes, summarize: int
) -> Shape:
    holes = len(_pieces(template, placeholder)) - 1
    if holes != len(inputs):
        raise InvalidArgumentError(
            f"num placeholders in template and num inputs must match: {holes} vs. {len(inputs)}"
        )
    return ()


@op("StringFormat", shape=_format_rule)
def string_format(
    inputs: list[np.ndarray], *, template: bytes, placeholder: bytes, summarize: int
) -> bytes:
    """``template`` with each ``placeholder`` replaced by an input printed as tf.print
    prints it: ``"x={}"`` with ``[1 2 3 4]`` and summarize 1 -> ``b"x=[1 ... 4]"``."""
    specs = [TensorSpec(x.dtype, x.shape) for x in inputs]
    _format_rule(specs, template=template, placeholder=placeholder, summarize=summarize)
    pieces = _pieces(template, placeholder)
    shown = [_summarize(x, summarize, v2=True) for x in inputs] + [b""]
    return b"".join(piece + value for piece, value in zip(pieces, shown, strict=True))


_summarize = summarize  # StringFormat's attr of the same name hides the function


# ---- Hash buckets --------------------------------------------------------------------

_M64 = (1 << 64) - 1
_K0, _K1, _K2 = 0xC3A5C85C97CB3127, 0xB492B66FBE98F273, 0x9AE16A3B2F90404F


def _u64(s: bytes, at: int) -> int:
    return int.from_bytes(s[at : at + 8], "little")


def _rot(v: int, shift: int) -> int:
    return ((v >> shift) | (v << (64 - shift))) & _M64 if shift else v


def _mix(v: int) -> int:
    return v ^ (v >> 47)


def _hash16(u: int, v: int, mul: int) -> int:
    a = _mix(((u ^ v) * mul) & _M64)
    b = _mix(((v ^ a) * mul) & _M64)
    return (b * mul) & _M64


def _weak32(s: bytes, at: int, a: int, b: int) -> tuple[int, int]:
    w, x, y, z = (_u64(s, at + k) for k in (0, 8, 16, 24))
    a = (a + w) & _M64
    b = _rot((b + a + z) & _M64, 21)
    c = a
    a = (a + x + y) & _M64
    return (a + z) & _M64, (b + _rot(a, 44) + c) & _M64


def _farmhash_short(s: bytes) -> int:
    """FarmHash's ``HashLen0to16``, ``17to32`` and ``33to64``."""
    n = len(s)
    mul = _K2 + 2 * n
    if n > 32:
        a, b = (_u64(s, 0) * _K2) & _M64, _u64(s, 8)
        c, d = (_u64(s, n - 8) * mul) & _M64, (_u64(s, n - 16) * _K2) & _M64
        y = (_rot((a + b) & _M64, 43) + _rot(c, 30) + d) & _M64
        z = _hash16(y, (a + _rot((b + _K2) & _M64, 18) + c) & _M64, mul)
        e, f = (_u64(s, 16) * mul) & _M64, _u64(s, 24)
        g, h = ((y + _u64(s, n - 32)) * mul) & _M64, ((z + _u64(s, n - 24)) * mul) & _M64
        return _hash16((_rot((e + f) & _M64, 43) + _rot(g, 30) + h) & _M64,
                       (e + _rot((f + a) & _M64, 18) + g) & _M64, mul)  # fmt: skip
    if n > 16:
        a, b = (_u64(s, 0) * _K1) & _M64, _u64(s, 8)
        c, d = (_u64(s, n - 8) * mul) & _M64, (_u64(s, n - 16) * _K2) & _M64
        return _hash16((_rot((a + b) & _M64, 43) + _rot(c, 30) + d) & _M64,
                       (a + _rot((b + _K2) & _M64, 18) + c) & _M64, mul)  # fmt: skip
    if n >= 8:
        a, b = (_u64(s, 0) + _K2) & _M64, _u64(s, n - 8)
        c = (_rot(b, 37) * mul + a) & _M64
        return _hash16(c, ((_rot(a, 25) + b) * mul) & _M64, mul)
    if n >= 4:
        first, last = int.from_bytes(s[:4], "little"), int.from_bytes(s[-4:], "little")
        return _hash16(n + (first << 3), last, mul)
    if n:
        y, z = s[0] + (s[n >> 1] << 8), n + (s[-1] << 2)
        return (_mix(((y * _K2) ^ (z * _K0)) & _M64) * _K2) & _M64
    return _K2


def fingerprint64(s: bytes) -> int:
    """TF's ``Fingerprint64``: FarmHash's ``Fingerprint64`` (farmhashna ``Hash64``).

    >>> hex(fingerprint64(b""))
    '0x9ae16a3b2f90404f'
    """
    n = len(s)
    if n <= 64:
        return _farmhash_short(s)
    x, y = 81, (81 * _K1 + 113) & _M64
    z = (_mix((y * _K2 + 113) & _M64) * _K2) & _M64
    v, w = (0, 0), (0, 0)
    x = (x * _K2 + _u64(s, 0)) & _M64
    for at in range(0, ((n - 1) // 64) * 64, 64):
        x = (_rot((x + y + v[0] + _u64(s, at + 8)) & _M64, 37) * _K1) & _M64
        y = (_rot((y + v[1] + _u64(s, at + 48)) & _M64, 42) * _K1) & _M64
        x ^= w[1]
        y = (y + v[0] + _u64(s, at + 40)) & _M64
        z = (_rot((z + w[0]) & _M64, 33) * _K1) & _M64
        v = _weak32(s, at, (v[1] * _K1) & _M64, (x + w[0]) & _M64)
        w = _weak32(s, at + 32, (z + w[1]) & _M64, (y + _u64(s, at + 16)) & _M64)
        x, z = z, x
    mul = _K1 + ((z & 0xFF) << 1)
    at = n - 64
    w0 = (w[0] + ((n - 1) & 63)) & _M64
    v0 = (v[0] + w0) & _M64
    w0 = (w0 + v0) & _M64
    x = (_rot((x + y + v0 + _u64(s, at + 8)) & _M64, 37) * mul) & _M64
    y = (_rot((y + v[1] + _u64(s, at + 48)) & _M64, 42) * mul) & _M64
    x ^= (w[1] * 9) & _M64
    y = (y + v0 * 9 + _u64(s, at + 40)) & _M64
    z = (_rot((z + w0) & _M64, 33) * mul) & _M64
    v = _weak32(s, at, (v[1] * mul) & _M64, (x + w0) & _M64)
    w = _weak32(s, at + 32, (z + w[1]) & _M64, (y + _u64(s, at + 16)) & _M64)
    x, z = z, x
    return _hash16((_hash16(v[0], w[0], mul) + _mix(y) * _K0 + z) & _M64,
                   (_hash16(v[1], w[1], mul) + x) & _M64, mul)  # fmt: skip


def siphash(k0: int, k1: int, s: bytes) -> int:
    """SipHash-2-4 of ``s`` under the key ``(k0, k1)``: TF's ``StrongKeyedHash``."""
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D,
         k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]  # fmt: skip

    def rounds(count: int) -> None:
        for _ in range(count):
            v[0] = (v[0] + v[1]) & _M64
            v[1] = _rot(v[1], 51) ^ v[0]
            v[0] = _rot(v[0], 32)
            v[2] = (v[2] + v[3]) & _M64
            v[3] = _rot(v[3], 48) ^ v[2]
            v[0] = (v[0] + v[3]) & _M64
            v[3] = _rot(v[3], 43) ^ v[0]
            v[2] = (v[2] + v[1]) & _M64
            v[1] = _rot(v[1], 47) ^ v[2]
            v[2] = _rot(v[2], 32)

    full = len(s) - len(s) % 8
    blocks = [_u64(s, at) for at in range(0, full, 8)]
    blocks.append(((len(s) & 0xFF) << 56) | int.from_bytes(s[full:], "little"))
    for block in blocks:
        v[3] ^= block
        rounds(2)
        v[0] ^= block
    v[2] ^= 0xFF
    rounds(4)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


@op("StringToHashBucketFast", shape=same_shape)
def string_to_hash_bucket_fast(input: np.ndarray, *, num_buckets: int) -> np.ndarray:
    """``Fingerprint64(s) % num_buckets`` per string, bit for bit as TF."""
    return _map(lambda s: fingerprint64(s) % num_buckets, input, _I64)


def _strong_rule(input: TensorSpec, *, num_buckets: int, key: list[int]) -> Shape:
    if len(key) != 2:
        raise InvalidArgumentError("Key must have 2 elements")
    return input.shape


@op("StringToHashBucketStrong", shape=_strong_rule)
def string_to_hash_bucket_strong(
    input: np.ndarray, *, num_buckets: int, key: list[int]
) -> np.ndarray:
    """``SipHash-2-4(key, s) % num_buckets`` per string, bit for bit as TF."""
    _strong_rule(TensorSpec(STRING, input.shape), num_buckets=num_buckets, key=key)
    k0, k1 = (k & _M64 for k in key)
    return _map(lambda s: siphash(k0, k1, s) % num_buckets, input, _I64)
