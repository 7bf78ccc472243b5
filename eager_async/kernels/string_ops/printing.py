"""How TF prints a tensor (``summarize``: TF's ``Tensor::SummarizeValue``), and
StringFormat, which prints its inputs into a template. ``debug_ops`` prints the tensors
of Assert and Print with ``summarize`` too.

Where TF differs from NumPy's printing:

- StringFormat (and Assert/Print, in ``debug_ops``) print tensors as TF's
  ``SummarizeValue``: ``summarize`` elements at each end of every dim (v2) or the first
  ``summarize`` elements (v1), floats in the fewest of 6/9 (15/17) digits that round-trip.
- Strings print C-escaped (absl's ``Utf8SafeCEscape``), quoted in v2; bools print as
  ``1``/``0``, complex numbers as ``?``.

>>> string_format([np.int32([1, 2, 3, 4])], template=b"x={}", placeholder=b"{}", summarize=1)
b'x=[1 ... 4]'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import BOOL, COMPLEX, FLOATS, STRING
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import F32, as_floats, float_dtype, flushed
from .parsing import parse_float


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
    value = flushed(value, dtype)
    digits = (6, 9) if dtype == F32 else (15, 17)
    text = b"%.*g" % (digits[0], value)
    same = parse_float(text, dtype) == (np.float32(value) if dtype == F32 else value)
    return text if same else b"%.*g" % (digits[1], value)


def _element_printer(dtype: np.dtype, quoted: bool) -> Callable[[Any], bytes]:
    if dtype == STRING:
        return (lambda v: b'"' + _escaped_any(v) + b'"') if quoted else _escaped_any
    if dtype == BOOL:
        return lambda v: b"1" if v else b"0"
    if dtype in FLOATS:
        part = float_dtype(dtype)
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
    flat = as_floats(x).reshape(-1)
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
