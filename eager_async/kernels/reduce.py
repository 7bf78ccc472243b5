"""Reductions over the axes given by a second, int32/int64 input: Sum, Mean, Max, Min,
Prod, All, Any, EuclideanNorm; over one scalar axis: ArgMax, ArgMin, Cumsum, Cumprod.

``REDUCTIONS`` maps each op to a function ``(x, axis=axes, keepdims=...)`` in NumPy's
terms: NumPy's own where the semantics match, a short function where TF differs:

- the result keeps the input dtype (NumPy sums small ints into int64);
- an empty axis list reduces nothing; a repeated axis is an error; the axis input may
  have any rank (TF flattens it: ``[[0]]`` is axis 0);
- integer Mean sums in 64 bits (int8/16/32 and uint8/16/32), then divides with C++
  integer division, truncating toward zero: Mean([-3, -4]) is -3, not -4;
- reducing zero elements gives the reduction's identity: Sum 0, Max the dtype's lowest
  value (-inf for floats), Min its highest, Prod 1, All True, Any False, EuclideanNorm 0,
  Mean NaN for real floats and 0 for integers and complex;
- Max and Min propagate NaN; ArgMax and ArgMin skip it (an all-NaN slice gives 0) and
  break ties by the first index; an empty axis is an error for them;
- EuclideanNorm of integers squares and sums in the input dtype (wrapping), then
  truncates the square root.

>>> REDUCTIONS["Mean"](np.int32([-3, -4]), axis=(0,), keepdims=False)
array(-3, dtype=int32)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ._checks import (
    FLOAT32,
    FLOATS,
    HALVES,
    INDEX,
    INTEGERS,
    SIGNED,
    UNSIGNED,
    normalize_axis,
    shape_str,
    tf_name,
)
from .registry import Shape, TensorSpec, op

__all__ = ["REDUCTIONS"]

Reducer = Callable[..., np.ndarray]
"""``(x, axis=axes, keepdims=keep)``, as NumPy's reductions."""


def _spec(a: np.ndarray) -> TensorSpec:
    return TensorSpec(a.dtype, a.shape, a)


def _axes(op: str, rank: int, values: Sequence[int]) -> tuple[int, ...]:
    listed = [normalize_axis(op, int(a), rank, "reduction axis") for a in values]
    for i, a in enumerate(listed):
        if a in listed[:i]:
            raise InvalidArgumentError(
                f"Invalid reduction arguments: Axes contains duplicate dimension: {a}"
            )
    return tuple(sorted(listed))


def _kept(shape: tuple[int, ...], axes: tuple[int, ...], keep: bool) -> tuple[int, ...]:
    if keep:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _reduced_shape(op: str) -> Callable[..., Shape]:
    def rule(x: TensorSpec, axis: TensorSpec, *, keep_dims: bool) -> Shape:
        if x.shape is None:
            return None
        if axis.value is None:
            return (-1,) * len(x.shape) if keep_dims else None
        axes = _axes(op, len(x.shape), axis.value.ravel().tolist())
        return _kept(x.shape, axes, keep_dims)

    return rule


def _reduction(op: str, reducer: Reducer) -> Callable[..., np.ndarray]:
    def kernel(x: np.ndarray, axis: np.ndarray, *, keep_dims: bool) -> np.ndarray:
        axes = _axes(op, x.ndim, axis.ravel().tolist())
        with np.errstate(all="ignore"):
            return reducer(x, axis=axes, keepdims=keep_dims)

    return kernel


def _sum(x: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    if x.dtype in HALVES:  # accumulated in float32
        return np.asarray(np.sum(x.astype(FLOAT32), axis=axis, keepdims=keepdims), x.dtype)
    return np.asarray(np.sum(x, axis=axis, dtype=x.dtype, keepdims=keepdims))


def _accumulator(dtype: np.dtype) -> np.dtype:
    if dtype in HALVES:
        return FLOAT32
    if dtype in SIGNED:
        return np.dtype(np.int64)
    if dtype in UNSIGNED:
        return np.dtype(np.uint64)
    return dtype


def _mean(x: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    count = math.prod(x.shape[a] for a in axis)
    if count == 0:
        identity = np.nan if x.dtype in FLOATS else 0
        return np.full(_kept(x.shape, axis, keepdims), identity, dtype=x.dtype)
    acc = _accumulator(x.dtype)
    total = np.sum(x, axis=axis, dtype=acc, keepdims=keepdims)
    if acc.kind == "i":
        # C++ integer division truncates toward zero; NumPy's // floors.
        out = total // count
        out = out + ((out * count != total) & (total < 0))
    elif acc.kind == "u":
        out = total // count
    else:
        out = total / count
    return np.asarray(out).astype(x.dtype)


def _max(x: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    lowest = -np.inf if x.dtype in FLOATS else np.iinfo(x.dtype).min
    return np.asarray(np.max(x, axis=axis, keepdims=keepdims, initial=lowest))  # NaN wins


def _min(x: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    highest = np.inf if x.dtype in FLOATS else np.iinfo(x.dtype).max
    return np.asarray(np.min(x, axis=axis, keepdims=keepdims, initial=highest))


def _prod(x: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    # In the input dtype, as TF's reducer: integers wrap, halves round at every step.
    return np.asarray(np.prod(x, axis=axis, dtype=x.dtype, keepdims=keepdims))


def _euclidean_norm(x: np.ndarray, axis: tuple[int, ...], keepdims: bool) -> np.ndarray:
    # TF sums bfloat16 in float32; half too here (TF rounds its half sum at each step).
    acc = FLOAT32 if x.dtype in HALVES else x.dtype
    wide = x.astype(acc)
    total = np.sum(wide * np.conj(wide), axis=axis, dtype=acc, keepdims=keepdims)
    if x.dtype in INTEGERS:
        # The C++ sqrt of an integer is a double, truncated back to the dtype; a sum
        # that wrapped negative gives what casting NaN gives on the host.
        total = np.asarray(total, dtype=np.float64)
    return np.asarray(np.sqrt(total)).astype(x.dtype)


REDUCTIONS: dict[str, Reducer] = {
    "Sum": _sum,
    "Mean": _mean,
    "Max": _max,
    "Min": _min,
    "Prod": _prod,
    "All": np.all,
    "Any": np.any,
    "EuclideanNorm": _euclidean_norm,
}
for _name, _reducer in REDUCTIONS.items():
    op(_name, shape=_reduced_shape(_name))(_reduction(_name, _reducer))


# --- one scalar axis: ArgMax, ArgMin, Cumsum, Cumprod ---------------------------------


def _scalar(spec: TensorSpec, message: str) -> int | None:
    """The value of a scalar axis input; ``message`` is TF's complaint about its rank."""
    if spec.dtype not in INDEX:
        # ArgMax's op def also takes an int16 dimension, which TF's kernel then reads as
        # 32 bits (garbage): eager_async refuses it.
        raise InvalidArgumentError(
            f"ArgMax: dimension must be an int32 or int64 tensor, not {tf_name(spec.dtype)}"
        )
    if spec.shape is not None and len(spec.shape) != 0:
        raise InvalidArgumentError(f"{message}{shape_str(spec.shape)}")
    return None if spec.value is None else int(spec.value)


def arg_shape(x: TensorSpec, dim: TensorSpec) -> Shape:
    """ArgMax/ArgMin's shape rule: the input's shape without the axis."""
    given = _scalar(dim, "dim must be a scalar, but received tensor of shape: ")
    if x.shape is None or (given is None and not x.shape):
        return None
    rank = len(x.shape)
    if given is None:
        return (-1,) * (rank - 1)
    if not -rank <= given < rank:
        raise InvalidArgumentError(
            f"Expected dimension in the range [{-rank}, {rank}), but got {given}"
        )
    axis = given % rank
    if x.shape[axis] == 0:
        raise InvalidArgumentError(f"Reduction axis {given} is empty in shape {shape_str(x.shape)}")
    return x.shape[:axis] + x.shape[axis + 1 :]


def _arg(pick: Callable[..., np.ndarray], nan: float) -> Callable[..., np.ndarray]:
    def kernel(x: np.ndarray, dim: np.ndarray, *, output_type: np.dtype) -> np.ndarray:
        arg_shape(_spec(x), _spec(dim))
        if x.dtype in FLOATS:
            # TF's reducer never picks a NaN (a comparison with NaN is false), so an
            # all-NaN slice keeps the initial index 0; pushing NaN past every value does
            # the same.
            x = np.where(np.isnan(x), x.dtype.type(nan), x)
        return np.asarray(pick(x, axis=int(dim) % x.ndim)).astype(output_type)

    return kernel


# Ties go to the first index.
op("ArgMax", shape=arg_shape)(_arg(np.argmax, nan=-np.inf))
op("ArgMin", shape=arg_shape)(_arg(np.argmin, nan=np.inf))


def scan_shape(x: TensorSpec, axis: TensorSpec) -> Shape:
    """Cumsum/Cumprod's shape rule: the input's shape, with the axis checked."""
    given = _scalar(axis, "ScanOp: axis must be a scalar, not ")
    if given is not None and x.shape is not None and not -len(x.shape) <= given < len(x.shape):
        raise InvalidArgumentError(
            f"ScanOp: Expected scan axis in the range [{-len(x.shape)}, {len(x.shape)}), "
            f"but got {given}"
        )
    return x.shape


def _scan(accumulate: np.ufunc, identity: int) -> Callable[..., np.ndarray]:
    def kernel(x: np.ndarray, axis: np.ndarray, *, exclusive: bool, reverse: bool) -> np.ndarray:
        scan_shape(_spec(x), _spec(axis))
        dim = int(axis) % x.ndim
        if reverse:
            x = np.flip(x, dim)
        with np.errstate(all="ignore"):  # integers wrap, halves round at every step
            out = accumulate.accumulate(x, axis=dim, dtype=x.dtype)
        size = x.shape[dim]
        if exclusive and size:
            # Shift by one along the axis, the identity coming in first.
            head = np.full_like(np.take(x, [0], axis=dim), identity)
            out = np.concatenate([head, np.take(out, np.arange(size - 1), axis=dim)], axis=dim)
        return np.flip(out, dim) if reverse else out

    return kernel


# exclusive shifts the identity in first; reverse scans from the end.
op("Cumsum", shape=scan_shape)(_scan(np.add, 0))
op("Cumprod", shape=scan_shape)(_scan(np.multiply, 1))
