"""What the string ops share: a function mapped over the elements of an object array,
a string input as a message shows it, and floats as TF's kernels see and print them
(denormals flushed to a signed zero, halves widened to float32).

>>> map_elements(len, np.array([b"ab", b""], dtype=object), np.dtype(np.int32))
array([2, 0], dtype=int32)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._checks import BFLOAT16, STRING

F16, F32, F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
I64 = np.dtype(np.int64)
WHITESPACE = b" \t\n\v\f\r"  # C's isspace in the "C" locale
_MIN_NORMAL = {F32: 2.0**-126, F64: 2.0**-1022}


def map_elements(fn: Callable[[Any], Any], x: np.ndarray, dtype: np.dtype = STRING) -> np.ndarray:
    """``fn`` of every element, in an array of ``x``'s shape."""
    values = (fn(v) for v in x.reshape(-1).tolist())
    return np.fromiter(values, dtype=dtype, count=x.size).reshape(x.shape)


def shown(s: bytes) -> str:
    """A string input as an error message shows it."""
    return s.decode("utf-8", errors="replace")


def flushed(value: float, dtype: np.dtype) -> float:
    """``value`` as TF's kernels see it: denormals read as (signed) zero."""
    if value != 0 and abs(value) < _MIN_NORMAL[dtype]:
        return math.copysign(0.0, value)
    return value


def float_dtype(dtype: np.dtype) -> np.dtype:
    """The C type TF formats a float of ``dtype`` as (halves widen to float)."""
    return F64 if dtype in (F64, np.dtype(np.complex128)) else F32


def as_floats(x: np.ndarray) -> np.ndarray:
    """Half and bfloat16 arrays widened to float32, as TF prints them; others as they are."""
    return x.astype(np.float32) if x.dtype in (F16, BFLOAT16) else x


def compatible(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """Whether two shapes of one rank can be the same (-1: a dim not known yet)."""
    return len(a) == len(b) and all(x < 0 or y < 0 or x == y for x, y in zip(a, b, strict=True))
