"""AsString: numbers, bools and strings printed one by one as TF's kernel prints them, with
C's printf conversions (``%d``, ``%f``, ``%e``, ``%g``, ``%s``) and TF's checks of the attrs.

Where TF differs from the textbook (C's printf):

- AsString formats like glibc's printf: NaN keeps its sign (``-nan``), the ``0`` flag
  never pads inf/nan, unsigned types ignore ``+``/`` ``, bools ignore width and fill,
  strings go through ``%s`` (precision cuts bytes) only when a width is set. TF runs
  kernels with denormals flushed, so a float32/float64/bfloat16 subnormal prints as a
  signed zero (float16 does not: it is widened to a normal float32 first).

>>> as_string(np.float32([1.5, -np.nan]), T=np.dtype(np.float32), precision=2,
...           scientific=False, shortest=False, width=-1, fill=b"")
array([b'1.50', b'-nan'], dtype=object)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import BOOL, COMPLEX, FLOATS, STRING, UNSIGNED, tf_name
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import as_floats, float_dtype, flushed, map_elements, shown


def _formatter(
    T: np.dtype, precision: int, scientific: bool, shortest: bool, width: int, fill: bytes
) -> Callable[[Any], bytes]:
    """One element of type ``T`` as AsString prints it; TF's attr checks, in its order."""
    for name, value in (("precision", precision), ("width", width)):
        if not -(2**31) <= value < 2**31:  # TF's kernel reads both into an int32
            raise InvalidArgumentError(
                f"Attr {name} has value {value} out of range for an int32"
            )
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
        raise InvalidArgumentError(f'Fill argument not supported: "{shown(fill)}"')
    flags = fill.decode()
    spec = flags + (str(width) if width > -1 else "")
    if T == BOOL:
        return lambda v: b"true" if v else b"false"
    if T == STRING:  # printf's %s only when a width is set: precision then cuts bytes
        cut = precision if precision > -1 else None
        if width <= 0:
            return _text
        pad = bytes.ljust if flags == "-" else bytes.rjust
        return lambda v: pad(_text(v)[:cut], width)
    if T in UNSIGNED:  # printf's %u ignores the sign flags
        fmt = "%" + spec.replace("+", "").replace(" ", "") + "d"
        return lambda v: (fmt % v).encode()
    if T not in FLOATS and T not in COMPLEX:
        fmt = "%" + spec + "d"
        return lambda v: (fmt % v).encode()
    conv = "g" if shortest else "e" if scientific else "f"
    fmt = "%" + spec + (f".{precision}" if precision > -1 else "") + conv
    part = float_dtype(T)

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
        return fmt % flushed(v, part)

    if T in COMPLEX:
        return lambda v: f"({real(v.real)},{real(v.imag)})".encode()
    return lambda v: real(v).encode()


def _text(value: Any) -> bytes:
    """A string element, or what TF prints of a variant (its ``DebugString``)."""
    if isinstance(value, bytes):
        return value
    return f"Variant<type: {type(value).__name__}>".encode()


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
    return map_elements(fmt, as_floats(input))
