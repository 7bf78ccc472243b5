"""Validation shared by the shape functions, with TensorFlow's wording where TF has one.

Every check raises ``InvalidArgumentError``. Shapes are the registry's static shapes:
a tuple whose -1 dims are unknown, or None when even the rank is unknown.

>>> broadcast((2, 1), (-1, 3))
(2, 3)
>>> shape_str((2, -1))
'[2,?]'
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import ml_dtypes
import numpy as np

from ..dtypes import short_name
from ..errors import InvalidArgumentError, ResourceExhaustedError
from .specs import Shape, TensorSpec

DTypes = frozenset[np.dtype]

BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
STRING = np.dtype(object)
BOOL = np.dtype(np.bool_)
INT32 = np.dtype(np.int32)
INT64 = np.dtype(np.int64)
FLOAT32 = np.dtype(np.float32)

HALVES: DTypes = frozenset({np.dtype(np.float16), BFLOAT16})
FLOATS: DTypes = HALVES | {FLOAT32, np.dtype(np.float64)}
SIGNED: DTypes = frozenset({np.dtype(np.int8), np.dtype(np.int16), INT32, INT64})
UNSIGNED: DTypes = frozenset(
    {np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.uint32), np.dtype(np.uint64)}
)
INTEGERS: DTypes = SIGNED | UNSIGNED
COMPLEX: DTypes = frozenset({np.dtype(np.complex64), np.dtype(np.complex128)})
REALS: DTypes = FLOATS | INTEGERS
"""TF's ``realnumbertype``."""
NUMBERS: DTypes = REALS | COMPLEX
"""TF's ``numbertype`` (without the quantized types, which eager_async lacks)."""
INDEX: DTypes = frozenset({INT32, INT64})

# The order TF lists types in its messages.
# fmt: off
_ORDER = (
    np.dtype(np.float16), BFLOAT16, FLOAT32, np.dtype(np.float64),
    np.dtype(np.int8), np.dtype(np.int16), INT32, INT64,
    np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.uint32), np.dtype(np.uint64),
    np.dtype(np.complex64), np.dtype(np.complex128), BOOL, STRING,
)
# fmt: on


def tf_name(dtype: np.dtype) -> str:
    """TF's name for ``dtype`` (``float`` for float32, ``string`` for bytes objects)."""
    try:
        return short_name(dtype)
    except InvalidArgumentError:
        return str(dtype)


def type_names(dtypes: Collection[np.dtype]) -> str:
    """``dtypes`` as TF lists them in its messages: ``half, float, int32``."""
    return ", ".join(tf_name(dt) for dt in _ORDER if dt in dtypes)


def shape_str(shape: Shape) -> str:
    """A shape as TF prints it: ``[2,3]``, ``[2,?]``, or ``<unknown>``."""
    if shape is None:
        return "<unknown>"
    return "[" + ",".join("?" if d < 0 else str(d) for d in shape) + "]"


def num_elements(shape: Shape) -> int | None:
    """The element count, or None when any dim (or the rank) is unknown."""
    if shape is None or any(d < 0 for d in shape):
        return None
    return math.prod(shape)


def concrete_specs(inputs: Sequence[np.ndarray]) -> list[TensorSpec]:
    """Specs with every value known, so a kernel can re-run its shape function."""
    return [TensorSpec(np.asarray(a).dtype, np.shape(a), np.asarray(a)) for a in inputs]


def allowed_dtype(
    op: str, dtype: np.dtype, allowed: Collection[np.dtype], attr: str = "T", hint: str = ""
) -> None:
    """Reject a dtype outside the op's type list (TF's op-def check); ``hint`` says
    what to do instead."""
    if dtype not in allowed:
        names = type_names(allowed)
        raise InvalidArgumentError(
            f"Value for attr '{attr}' of {tf_name(dtype)} is not in the list of "
            f"allowed values for {op}: {names}{hint}"
        )


def broadcast(a: Shape, b: Shape) -> Shape:
    """Broadcast two static shapes as TF's shape inference does.

    An unknown dim against a known dim > 1 takes the known one (a wrong guess fails
    when the kernel runs); against 1 or another unknown it stays unknown.
    """
    if a is None or b is None:
        return None
    rank = max(len(a), len(b))
    xs = (1,) * (rank - len(a)) + tuple(a)
    ys = (1,) * (rank - len(b)) + tuple(b)
    dims = []
    for x, y in zip(xs, ys, strict=True):
        if x < 0 or y < 0:
            dims.append(x if x > 1 else y if y > 1 else -1)
        elif x == y or y == 1:
            dims.append(x)
        elif x == 1:
            dims.append(y)
        else:
            raise InvalidArgumentError(f"Incompatible shapes: {shape_str(a)} vs. {shape_str(b)}")
    return tuple(dims)


def merge(op: str, a: Shape, b: Shape, what: str) -> Shape:
    """The most specific shape compatible with both, or an error naming ``what``."""
    if a is None:
        return b
    if b is None:
        return a
    if len(a) == len(b) and all(x < 0 or y < 0 or x == y for x, y in zip(a, b, strict=True)):
        return tuple(x if x >= 0 else y for x, y in zip(a, b, strict=True))
    raise InvalidArgumentError(f"{op}: {what}: {shape_str(a)} != {shape_str(b)}")


def normalize_axis(op: str, axis: int, rank: int, what: str = "axis") -> int:
    """``axis`` in ``[-rank, rank)`` mapped to ``[0, rank)``."""
    if not -rank <= axis < rank:
        raise InvalidArgumentError(
            f"{op}: {what} {axis} is out of range; expected a value in [{-rank}, {rank})"
        )
    return axis + rank if axis < 0 else axis


_RANK_NAMES = {0: "a scalar", 1: "a vector", 2: "a matrix"}


def int_values(
    op: str, spec: TensorSpec, what: str, ranks: Collection[int] = (0, 1)
) -> list[int] | None:
    """The values of a small int32/int64 input (an axis, a shape), None while unknown.

    The dtype and rank are checked even when the value is not known yet.
    """
    if spec.dtype not in INDEX:
        raise InvalidArgumentError(
            f"{op}: {what} must be an int32 or int64 tensor, not {tf_name(spec.dtype)}"
        )
    if spec.shape is not None and len(spec.shape) not in ranks:
        kinds = " or ".join(_RANK_NAMES.get(r, f"of rank {r}") for r in sorted(ranks))
        raise InvalidArgumentError(
            f"{op}: {what} must be {kinds}, got shape {shape_str(spec.shape)}"
        )
    if spec.value is None:
        return None
    return [int(v) for v in np.ravel(spec.value)]


def check_perm(perm: list[int], rank: int) -> None:
    """A transpose permutation: ``rank`` distinct dims, each in range (TF's messages)."""
    if len(perm) != rank:
        raise InvalidArgumentError(
            f"transpose expects a vector of size {rank}. "
            f"But input(1) is a vector of size {len(perm)}"
        )
    for d in perm:
        if not 0 <= d < rank:
            raise InvalidArgumentError(f"{d} is out of range [0 .. {rank})")
    if len(set(perm)) != rank:
        raise InvalidArgumentError(
            f"Transpose: perm {perm} repeats a dimension; it must be a permutation of 0..{rank - 1}"
        )


_MAX_BYTES = 2**63 - 1
_WIDEST = 16  # bytes of complex128, the widest element
_MAX_ELEMENTS = _MAX_BYTES // _WIDEST


def checked_dims(dims: Sequence[int]) -> tuple[int, ...]:
    """An output shape read from a tensor's values (a shape input), checked as TF's
    ``MakeShape`` checks it, and further where NumPy could not even make the array.

    A negative dim or more than 2**63 - 1 elements is INVALID_ARGUMENT (TF's messages).
    NumPy refuses an array whose non-zero dims reach 2**63 bytes even when another dim
    is 0, which TF allows: that empty shape is INVALID_ARGUMENT too, and a non-empty one
    RESOURCE_EXHAUSTED (TF's OOM) before anything is allocated.

    >>> checked_dims([2, 0, 3])
    (2, 0, 3)
    """
    if 0 < math.prod(dims) <= _MAX_ELEMENTS and min(dims, default=1) > 0:  # the usual case
        return dims if type(dims) is tuple else tuple(dims)
    dims = tuple(int(d) for d in dims)
    for dim in dims:
        if dim < 0:
            raise InvalidArgumentError(f"Dimension {dim} must be >= 0")
    if math.prod(dims) > _MAX_BYTES:
        raise InvalidArgumentError(
            f"Shape {shape_str(dims)} would have more than 2**63 - 1 elements"
        )
    if math.prod(d for d in dims if d) > _MAX_ELEMENTS:
        if 0 in dims:
            raise InvalidArgumentError(
                f"Shape {shape_str(dims)} is empty, but its other dims are too large for a "
                "tensor of eager_async (their product must be at most 2**59)"
            )
        raise ResourceExhaustedError(
            f"OOM when allocating tensor with shape {shape_str(dims)}: more than any "
            "worker's memory"
        )
    return dims


def known_shape(shape: Shape) -> tuple[int, ...]:
    """A shape inferred with every input value known, which leaves nothing unknown: the
    shape a kernel builds its output with."""
    assert shape is not None and min(shape, default=0) >= 0, shape
    return shape
