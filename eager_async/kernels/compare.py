"""Comparisons, logic, selection and bit ops: Equal, NotEqual, Less, LessEqual, Greater,
GreaterEqual, LogicalAnd, LogicalOr, LogicalNot, Select, SelectV2, BitwiseAnd,
BitwiseOr, BitwiseXor, Invert, LeftShift, RightShift.

Where TF differs from NumPy:

- comparisons return bool and broadcast, but both operands share one dtype (no
  promotion); Equal/NotEqual take every dtype (strings, bool), the orderings only
  real numbers (the op contract checks the types);
- Equal/NotEqual with ``incompatible_shape_error=False`` answer a scalar False/True
  for shapes that do not broadcast, instead of failing;
- Select broadcasts only a scalar condition, or a vector condition along the first
  dimension of ``t``/``e``; SelectV2 broadcasts all three inputs;
- shift amounts are clamped to ``[0, bits - 1]`` (NumPy leaves them to C), and
  LeftShift shifts the unsigned bit pattern, so ``int8(-3) << 7`` is -128.

>>> BITWISE["LeftShift"](np.int8([1, -14]), np.int8([100, 11]))
array([-128,    0], dtype=int8)
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidArgumentError
from ._checks import broadcast, shape_str
from .math import Ufunc, broadcast_shape, broadcasting
from .registry import Shape, TensorSpec, op, same_shape

__all__ = ["BITWISE", "COMPARISONS", "LOGIC"]


def _known(shape: Shape) -> bool:
    return shape is not None and all(d >= 0 for d in shape)


# --- comparisons ---------------------------------------------------------------------

COMPARISONS: dict[str, Ufunc] = {
    "Less": np.less,
    "LessEqual": np.less_equal,
    "Greater": np.greater,
    "GreaterEqual": np.greater_equal,
}
for _name, _fn in COMPARISONS.items():
    op(_name, shape=broadcast_shape)(broadcasting(_fn))


def _compared(x: Shape, y: Shape, strict: bool) -> Shape:
    if strict:
        return broadcast(x, y)
    try:
        shape = broadcast(x, y)
    except InvalidArgumentError:
        # broadcast() fails only on two known, different sizes: surely a scalar.
        return ()
    # An unknown size may yet fail to broadcast, and give a scalar.
    return shape if _known(x) and _known(y) else None


def equality_shape(x: TensorSpec, y: TensorSpec, *, incompatible_shape_error: bool) -> Shape:
    """Equal/NotEqual: the shapes broadcast, except that with ``incompatible_shape_error``
    False shapes that cannot broadcast give a scalar."""
    return _compared(x.shape, y.shape, incompatible_shape_error)


def _equality(fn: Ufunc, mismatch: bool) -> Ufunc:
    compare = broadcasting(fn)

    def kernel(x: np.ndarray, y: np.ndarray, *, incompatible_shape_error: bool) -> np.ndarray:
        strict = incompatible_shape_error or not (x.ndim or y.ndim)
        if not strict and _compared(x.shape, y.shape, strict=False) == ():
            return np.array(mismatch)  # the shapes do not broadcast
        return compare(x, y)

    return kernel


# NaN != NaN, as in TF; strings compare byte-wise.
op("Equal", shape=equality_shape)(_equality(np.equal, mismatch=False))
op("NotEqual", shape=equality_shape)(_equality(np.not_equal, mismatch=True))


# --- logic ---------------------------------------------------------------------------

LOGIC: dict[str, Ufunc] = {"LogicalAnd": np.logical_and, "LogicalOr": np.logical_or}
for _name, _fn in LOGIC.items():
    op(_name, shape=broadcast_shape)(broadcasting(_fn))


@op("LogicalNot", shape=same_shape)
def logical_not(x: np.ndarray) -> np.ndarray:
    """Element-wise NOT of a bool tensor."""
    return np.asarray(np.logical_not(x))


# --- selection -----------------------------------------------------------------------


def _compatible(a: Shape, b: Shape) -> bool:
    if a is None or b is None:
        return True
    return len(a) == len(b) and all(x < 0 or y < 0 or x == y for x, y in zip(a, b, strict=True))


def _merged(a: Shape, b: Shape) -> Shape:
    if a is None or b is None:
        return b if a is None else a
    return tuple(x if x >= 0 else y for x, y in zip(a, b, strict=True))


def _same_size(then: Shape, else_: Shape) -> Shape:
    if not _compatible(then, else_):
        raise InvalidArgumentError(
            "'then' and 'else' must have the same size.  but received: "
            f"{shape_str(then)} vs. {shape_str(else_)}"
        )
    return _merged(then, else_)


def _selected(cond: Shape, then: Shape, else_: Shape) -> Shape:
    """Select: cond a scalar, a vector over t's first dim, or t's shape."""
    data = then if then is not None else else_
    if cond is None or len(cond) == 0:
        return _same_size(then, else_)
    if len(cond) == 1 and data is None:
        # Elementwise or batched: which one depends on the rank of t, not known yet.
        return _same_size(then, else_)
    if len(cond) == 1 and data is not None and len(data) != 1:
        # A vector condition picks whole slices along the first dimension of t and e.
        if len(data) == 0:
            raise InvalidArgumentError(
                f"'then' must be at least a vector, but saw shape: {shape_str(data)}"
            )
        if cond[0] >= 0 and data[0] >= 0 and cond[0] != data[0]:
            raise InvalidArgumentError(
                "Number of batches of 'then' must match size of 'cond', but saw: "
                f"{data[0]} vs. {cond[0]}"
            )
        out = _same_size(then, else_)
        assert out is not None
        return (out[0] if out[0] >= 0 else cond[0], *out[1:])
    shape: Shape = cond
    for i, other in ((1, then), (2, else_)):
        if not _compatible(cond, other):
            raise InvalidArgumentError(
                "Inputs to operation Select of type Select must have the same size and "
                f"shape.  Input 0: {shape_str(cond)} != input {i}: {shape_str(other)}"
            )
        shape = _merged(shape, other)
    return shape


def select_shape(cond: TensorSpec, then: TensorSpec, else_: TensorSpec) -> Shape:
    """Select's shape rule (see ``_selected``)."""
    return _selected(cond.shape, then.shape, else_.shape)


@op("Select", shape=select_shape)
def select(cond: np.ndarray, then: np.ndarray, else_: np.ndarray) -> np.ndarray:
    """Select: t where cond else e; a scalar cond picks a whole input, a vector cond rows."""
    _selected(cond.shape, then.shape, else_.shape)
    if cond.ndim == 0:
        return then if cond else else_
    if cond.ndim == 1 and then.ndim != 1:
        cond = cond.reshape(cond.shape + (1,) * (then.ndim - 1))
    return np.where(cond, then, else_)


def _selected_v2(cond: Shape, then: Shape, else_: Shape) -> Shape:
    try:
        return broadcast(broadcast(cond, then), else_)
    except InvalidArgumentError:
        raise InvalidArgumentError(
            f"condition {shape_str(cond)}, then {shape_str(then)}, and else "
            f"{shape_str(else_)} must be broadcastable"
        ) from None


def select_v2_shape(cond: TensorSpec, then: TensorSpec, else_: TensorSpec) -> Shape:
    """SelectV2's shape rule: cond, t and e broadcast together."""
    return _selected_v2(cond.shape, then.shape, else_.shape)


@op("SelectV2", shape=select_v2_shape)
def select_v2(cond: np.ndarray, then: np.ndarray, else_: np.ndarray) -> np.ndarray:
    """SelectV2 (tf.where): t where cond else e, all three broadcast against each other."""
    _selected_v2(cond.shape, then.shape, else_.shape)
    return np.where(cond, then, else_)


# --- bits ----------------------------------------------------------------------------


def _shift_amount(y: np.ndarray) -> np.ndarray:
    # TF clamps instead of leaving out-of-range shifts undefined.
    return np.asarray(np.clip(y, 0, y.dtype.itemsize * 8 - 1), dtype=y.dtype)


def _left_shift(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    unsigned = np.dtype(f"u{x.dtype.itemsize}")
    bits = np.left_shift(x.view(unsigned), _shift_amount(y).view(unsigned))
    return np.asarray(bits, dtype=unsigned).view(x.dtype)


def _right_shift(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # Arithmetic for signed x, as in TF.
    return np.asarray(np.right_shift(x, _shift_amount(y)), dtype=x.dtype)


BITWISE: dict[str, Ufunc] = {
    "BitwiseAnd": np.bitwise_and,
    "BitwiseOr": np.bitwise_or,
    "BitwiseXor": np.bitwise_xor,
    "LeftShift": _left_shift,
    "RightShift": _right_shift,
}
for _name, _fn in BITWISE.items():
    op(_name, shape=broadcast_shape)(broadcasting(_fn))


@op("Invert", shape=same_shape)
def invert(x: np.ndarray) -> np.ndarray:
    """Bitwise NOT (~x) of an integer tensor."""
    return np.asarray(np.invert(x))
