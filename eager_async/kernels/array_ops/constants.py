"""Tensors made from attrs and scalars: Const, Fill, ZerosLike, OnesLike, and the
sequences Range and LinSpace (which TF defines among its math ops).

Where TF differs from NumPy:

- the zero of a string tensor is b"", not NumPy's integer 0;
- Fill also takes a one-element vector as its value;
- Range raises instead of returning an empty sequence when ``limit`` lies behind
  ``start`` in the direction of ``delta``, and it builds the sequence by adding ``delta``
  repeatedly in the input dtype (``np.arange`` multiplies, in float64);
- LinSpace computes in its input dtype and always ends exactly on ``stop``.

>>> range_op(np.int32(5), np.int32(1), np.int32(-2))
array([5, 3], dtype=int32)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import shape_str, tf_name
from ..list_ops.tensor_list import holds_lists, zeros_like_list
from ..registry import op, same_shape
from ..specs import Shape, TensorSpec
from ._common import checked, read_ints, spec_of, unknown_dims, zero

_INT64_MAX = 2**63 - 1
# TF still takes a one-element vector where Range and Fill want a scalar.
_SCALAR_LIKE = ((), (1,), (-1,))


def _const_shape(*, value: np.ndarray, dtype: np.dtype) -> Shape:
    # The value is an attr, not an input: reading it here is what TF does too.
    if dtype != value.dtype:
        raise InvalidArgumentError(
            f"Type mismatch between value ({tf_name(value.dtype)}) and dtype ({tf_name(dtype)})"
        )
    return value.shape


@op("Const", shape=_const_shape)
def const(*, value: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Attr ``value`` itself; Const takes no inputs."""
    _const_shape(value=value, dtype=dtype)
    return value


def _fill_shape(dims: TensorSpec, value: TensorSpec) -> Shape:
    if value.shape is not None and value.shape not in _SCALAR_LIKE:
        raise InvalidArgumentError(
            f"value must represent a scalar, got shape {shape_str(value.shape)}"
        )
    sizes = read_ints("Fill", dims, "dims", ranks=(1,))
    if sizes is None:
        return unknown_dims(dims)
    for i, d in enumerate(sizes):
        if d < 0:
            raise InvalidArgumentError(f"Fill: dims[{i}] = {d} must be non-negative")
    return tuple(sizes)


@op("Fill", shape=_fill_shape)
def fill(dims: np.ndarray, value: np.ndarray) -> np.ndarray:
    """A tensor of shape ``dims`` holding the value (a scalar or a one-element vector)."""
    return np.full(checked(_fill_shape, dims, value), np.ravel(value)[0], value.dtype)


@op("ZerosLike", shape=same_shape)
def zeros_like(x: np.ndarray) -> np.ndarray:
    """Zeros of x's shape and dtype; b"" for strings; an empty-valued TensorList for a
    variant holding one (what a gradient of TensorArray code asks for)."""
    if holds_lists(x):
        return zeros_like_list(x)
    return np.full(x.shape, zero(x.dtype), x.dtype)


@op("OnesLike", shape=same_shape)
def ones_like(x: np.ndarray) -> np.ndarray:
    """Ones of x's shape and dtype (True for bool)."""
    return np.ones(x.shape, x.dtype)


def _check_range(start: Any, limit: Any, delta: Any) -> None:
    # Comparisons written so that a NaN fails them.
    if delta == 0:
        raise InvalidArgumentError(f"Requires delta != 0: {delta}")
    if delta > 0:
        if not start <= limit:
            raise InvalidArgumentError(f"Requires start <= limit when delta > 0: {start}/{limit}")
    elif not start >= limit:
        raise InvalidArgumentError(f"Requires start >= limit when delta < 0: {start}/{limit}")


def _int_range_size(start: int, limit: int, delta: int) -> int:
    _check_range(start, limit, delta)
    return (abs(limit - start) + abs(delta) - 1) // abs(delta)


def _range_shape(start: TensorSpec, limit: TensorSpec, delta: TensorSpec) -> Shape:
    """[ceil(|limit - start| / |delta|)] for ints; [-1] for floats, not read by rules."""
    values = []
    for name, spec in zip(("start", "limit", "delta"), (start, limit, delta), strict=True):
        if spec.shape is not None and spec.shape not in _SCALAR_LIKE:
            raise InvalidArgumentError(
                f"{name} must be a scalar, not shape {shape_str(spec.shape)}"
            )
        values.append(read_ints("Range", spec, name))
    if any(v is None for v in values):
        return (-1,)
    return (_int_range_size(*(v[0] for v in values if v is not None)),)


@op("Range", shape=_range_shape)
def range_op(start: np.ndarray, limit: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """start, start + delta, ... short of limit, by repeated addition in its dtype."""
    _range_shape(spec_of(start), spec_of(limit), spec_of(delta))
    dtype = start.dtype
    first, last, step = (np.ravel(a)[0] for a in (start, limit, delta))
    if dtype.kind in "iu":
        n = _int_range_size(int(first), int(last), int(step))
    else:
        _check_range(first, last, step)
        with np.errstate(all="ignore"):
            size = float(np.ceil(np.abs((last - first) / step)))
        if not size <= _INT64_MAX:  # also catches NaN
            raise InvalidArgumentError(f"Requires ((limit - start) / delta) <= {_INT64_MAX}")
        n = int(size)
    steps = np.full(n, step, dtype=dtype)
    if n:
        steps[0] = first
    with np.errstate(all="ignore"):
        return np.add.accumulate(steps, dtype=dtype)


def _lin_space_shape(start: TensorSpec, stop: TensorSpec, num: TensorSpec) -> Shape:
    for name, spec in (("start", start), ("stop", stop)):
        if spec.shape is not None and spec.shape != ():
            raise InvalidArgumentError(
                f"{name} must be a scalar, not shape {shape_str(spec.shape)}"
            )
    n = read_ints("LinSpace", num, "num", ranks=(0,))
    if n is None:
        return (-1,)
    if n[0] <= 0:
        raise InvalidArgumentError(f"Requires num > 0: {n[0]}")
    return (n[0],)


@op("LinSpace", shape=_lin_space_shape)
def lin_space(start: np.ndarray, stop: np.ndarray, num: np.ndarray) -> np.ndarray:
    """num evenly spaced values from start to stop; the last is exactly stop."""
    (n,) = checked(_lin_space_shape, start, stop, num)
    dtype, first, last = start.dtype, start[()], stop[()]
    if n == 1:
        return np.array([first], dtype=dtype)
    with np.errstate(all="ignore"):
        step = (last - first) / dtype.type(n - 1)
        values = np.asarray(first + step * np.arange(n).astype(dtype), dtype=dtype)
    values[-1] = last  # the sum above need not land on it
    return values
