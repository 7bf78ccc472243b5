"""StringToNumber: strings read as numbers the way TF's ``safe_strto*`` functions read
them; ``parse_float`` also reads back the floats ``printing`` prints, to find the
shortest that round-trips.

Where TF differs from Python's ``int`` and ``float``:

- StringToNumber accepts surrounding ASCII whitespace, hex floats (``0x1p3``), ``inf``,
  ``infinity`` and ``nan(chars)`` in any case, overflow to inf and underflow to zero
  for floats; float32 is rounded once, from the decimal (not through float64).

>>> string_to_number(np.array([b" 1e3", b"0x10", b"-Infinity"], dtype=object),
...                  out_type=np.dtype(np.float32))
array([1000.,   16.,  -inf], dtype=float32)
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import FLOATS, UNSIGNED
from ..registry import op, same_shape
from ._common import F64, WHITESPACE, map_elements, shown

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
    return value if dtype == F64 else _nearest_f32(value, lambda: exact)


def parse_float(text: bytes, dtype: np.dtype) -> float | np.float32 | None:
    """A float as TF's ``safe_strtof``/``safe_strtod`` read it; None when they refuse."""
    text = text.strip(WHITESPACE)
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
    if dtype == F64:
        return value
    digits, fraction, only, exponent = decimal.groups()

    def exact() -> Fraction:
        number = _exact(digits or b"", fraction or only or b"", int(exponent or 0), 10)
        return -number if text.startswith(b"-") else number

    return _nearest_f32(value, exact)


def _parse_int(text: bytes, dtype: np.dtype) -> int | None:
    """An integer as TF's ``safe_strto32``/``64``/``u32``/``u64`` read it."""
    text = text.strip(WHITESPACE)
    found = (_UINT if dtype in UNSIGNED else _INT).fullmatch(text)
    if not found:
        return None
    value = int(text)
    low, high = _INT_RANGES[dtype]
    return value if low <= value <= high else None


@op("StringToNumber", shape=same_shape)
def string_to_number(string_tensor: np.ndarray, *, out_type: np.dtype) -> np.ndarray:
    """Each string parsed as ``out_type``: ``[b" 1e3", b"0x10"] -> [1000., 16.]``."""
    parse = parse_float if out_type in FLOATS else _parse_int

    def number(text: bytes) -> Any:
        value = parse(text, out_type)
        if value is None:
            raise InvalidArgumentError(
                f"StringToNumberOp could not correctly convert string: {shown(text)}"
            )
        return value

    return map_elements(number, string_tensor, out_type)
