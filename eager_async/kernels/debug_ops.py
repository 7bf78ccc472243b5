"""The ops tf.function bodies and tf.debugging send besides the math: NoOp, Assert,
CheckNumerics(V2), StopGradient, PreventGradient, Snapshot, EnsureShape, Print, PrintV2.

Where TF differs from the textbook:

- Assert's message is ``assertion failed: `` and each data tensor in brackets, printed
  as TF's v1 ``SummarizeValue`` (the first ``summarize`` elements, then ``...``), even
  though tf.print prints the same tensors differently (v2, ``string_ops.summarize``).
- CheckNumerics says ``Inf`` for either sign; CheckNumericsV2 tells ``-Inf`` from ``+Inf``.
- The gradient ops (StopGradient, PreventGradient) are identities when run forward.
- Print's ``first_n`` counts calls of one kernel in TF; here the count is kept per
  worker process for each distinct (message, first_n, summarize, dtypes), which is what
  one TF eager context sees.
- PrintV2 writes to the worker's stdout/stderr or to Python's ``logging`` for
  ``log(info|warning|error)``. TF appends to a file on the worker for ``file://path``;
  a network service must not let any client write its files, so eager_async answers
  PERMISSION_DENIED there.

>>> assert_op(np.array(False), [np.arange(5)], summarize=3)
Traceback (most recent call last):
eager_async.errors.InvalidArgumentError: assertion failed: [0 1 2...]
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import Counter
from collections.abc import Hashable

import numpy as np

from ..errors import InvalidArgumentError, PermissionDeniedError
from ._checks import shape_str
from .registry import no_outputs, op, same_shape
from .specs import Shape, TensorSpec
from .string_ops import summarize

__all__ = [
    "assert_op",
    "check_numerics",
    "check_numerics_v2",
    "ensure_shape",
    "no_op",
    "prevent_gradient",
    "print_op",
    "print_v2",
    "snapshot",
    "stop_gradient",
]

_LOG = logging.getLogger("eager_async.print")



@op("NoOp", shape=no_outputs)
def no_op() -> None:
    """Nothing: a node other ops depend on for ordering."""
    return None


def _assert_rule(condition: TensorSpec, data: list[TensorSpec], *, summarize: int) -> None:
    if condition.shape is not None and condition.shape != ():
        raise InvalidArgumentError(f"In[0] should be a scalar: {shape_str(condition.shape)}")


@op("Assert", shape=_assert_rule)
def assert_op(condition: np.ndarray, data: list[np.ndarray], *, summarize: int) -> None:
    """INVALID_ARGUMENT ``assertion failed: [data0] [data1]`` when ``condition`` is false."""
    _assert_rule(TensorSpec(condition.dtype, condition.shape), [], summarize=summarize)
    if not condition.item():
        shown = b" ".join(b"[" + _summary(x, summarize) + b"]" for x in data)
        raise InvalidArgumentError("assertion failed: " + shown.decode(errors="replace"))


def _summary(x: np.ndarray, max_entries: int) -> bytes:
    # Assert's and Print's attr ``summarize`` hides the function inside them.
    return summarize(x, max_entries, v2=False)


def _text(message: bytes) -> str:
    return message.decode(errors="replace")


def _bad_values(tensor: np.ndarray) -> tuple[bool, bool, bool]:
    """Whether ``tensor`` holds NaN, -Inf, +Inf."""
    wide = tensor.astype(np.float32) if tensor.dtype.itemsize < 4 else tensor
    return bool(np.isnan(wide).any()), bool((wide == -np.inf).any()), bool((wide == np.inf).any())


@op("CheckNumerics", shape=same_shape)
def check_numerics(tensor: np.ndarray, *, message: bytes) -> np.ndarray:
    """The tensor, or INVALID_ARGUMENT ``<message> : Tensor had Inf and NaN values``."""
    nan, minus, plus = _bad_values(tensor)
    found = " and ".join(kind for kind, bad in (("Inf", minus or plus), ("NaN", nan)) if bad)
    if found:
        raise InvalidArgumentError(f"{_text(message)} : Tensor had {found} values")
    return tensor


@op("CheckNumericsV2", shape=same_shape)
def check_numerics_v2(tensor: np.ndarray, *, message: bytes) -> np.ndarray:
    """CheckNumerics telling the infinities apart: ``Tensor had -Inf, +Inf, and NaN values``."""
    nan, minus, plus = _bad_values(tensor)
    kinds = [kind for kind, bad in (("-Inf", minus), ("+Inf", plus), ("NaN", nan)) if bad]
    if kinds:  # English lists: "A", "A and B", "A, B, and C"
        found = " and ".join(kinds) if len(kinds) < 3 else ", ".join(kinds[:-1]) + ", and NaN"
        raise InvalidArgumentError(f"{_text(message)} : Tensor had {found} values")
    return tensor


@op("StopGradient", shape=same_shape)
def stop_gradient(input: np.ndarray) -> np.ndarray:
    """The input (it only stops gradients when differentiated)."""
    return input


@op("PreventGradient", shape=same_shape)
def prevent_gradient(input: np.ndarray, *, message: bytes) -> np.ndarray:
    """The input (differentiating it is the error, and no gradient is taken here)."""
    return input


@op("Snapshot", shape=same_shape)
def snapshot(input: np.ndarray) -> np.ndarray:
    """A copy of the input, which later in-place updates of a variable do not reach."""
    return input.copy()


def _ensure_shape_rule(input: TensorSpec, *, shape: Shape) -> Shape:
    have = input.shape
    if shape is None:
        return have
    if have is not None and (
        len(have) != len(shape)
        or any(a >= 0 and b >= 0 and a != b for a, b in zip(have, shape, strict=True))
    ):
        raise InvalidArgumentError(
            f"Shape of tensor input {shape_str(have)} is not compatible with expected shape "
            f"{shape_str(shape)}."
        )
    if have is None:
        return shape
    return tuple(b if a < 0 else a for a, b in zip(have, shape, strict=True))


@op("EnsureShape", shape=_ensure_shape_rule)
def ensure_shape(input: np.ndarray, *, shape: Shape) -> np.ndarray:
    """The input, or INVALID_ARGUMENT when its shape differs from a known dim of ``shape``."""
    _ensure_shape_rule(TensorSpec(input.dtype, input.shape), shape=shape)
    return input


_CALLS: Counter[Hashable] = Counter()
_CALLS_LOCK = threading.Lock()


@op("Print", shape=same_shape)
def print_op(
    input: np.ndarray, data: list[np.ndarray], *, message: bytes, first_n: int, summarize: int
) -> np.ndarray:
    """The input; writes ``message`` and each data tensor in brackets (v1 summary) to
    stderr, on the first ``first_n`` calls only when ``first_n`` >= 0."""
    if first_n >= 0:
        key = (message, first_n, summarize, input.dtype.str, tuple(x.dtype.str for x in data))
        with _CALLS_LOCK:
            if _CALLS[key] >= first_n:
                return input
            _CALLS[key] += 1
    shown = message + b"".join(b"[" + _summary(x, summarize) + b"]" for x in data)
    _write_stderr(shown + b"\n")
    return input


def _write_stderr(text: bytes) -> None:
    sys.stderr.write(text.decode(errors="replace"))
    sys.stderr.flush()


_STREAMS = (b"stdout", b"stderr", b"log(info)", b"log(warning)", b"log(error)")
_LEVELS = {b"log(info)": logging.INFO, b"log(warning)": logging.WARNING,
           b"log(error)": logging.ERROR}  # fmt: skip


def _print_v2_rule(input: TensorSpec, *, output_stream: bytes, end: bytes) -> None:
    path = output_stream.removeprefix(b"file://")
    if output_stream not in _STREAMS and not (path != output_stream and path):
        raise InvalidArgumentError(
            f"Unknown output stream: {_text(path)}, Valid streams are: stdout stderr log(info) "
            "log(warning) log(error)"
        )
    if input.shape is not None and input.shape != ():
        raise InvalidArgumentError(
            f"Input is expected to be scalar, but got {shape_str(input.shape)}"
        )


@op("PrintV2", shape=_print_v2_rule)
def print_v2(input: np.ndarray, *, output_stream: bytes, end: bytes) -> None:
    """Writes the string ``input`` and ``end`` (tf.print formats it with StringFormat)."""
    _print_v2_rule(TensorSpec(input.dtype, input.shape), output_stream=output_stream, end=end)
    text = input.item() + end
    if output_stream in _LEVELS:
        _LOG.log(_LEVELS[output_stream], "%s", text.decode(errors="replace").rstrip("\n"))
    elif output_stream.startswith(b"file://"):
        raise PermissionDeniedError(
            f"PrintV2 to {_text(output_stream)}: eager_async does not write files on the "
            "worker for clients; print to stderr or a log(...) stream instead"
        )
    else:
        stream = sys.stdout if output_stream == b"stdout" else sys.stderr
        stream.write(text.decode(errors="replace"))
        stream.flush()
