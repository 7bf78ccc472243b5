"""Counting values into bins: Bincount, DenseBincount and RaggedBincount (what
``tf.math.bincount`` and ``tf.ragged.segment_ids_to_row_splits`` send), and Angle.

Where TF differs from ``np.bincount``:

- the output has exactly ``size`` bins: values at or past ``size`` are dropped, never an
  error; a negative value is an error;
- weights empty (any shape with no elements) count each value once; otherwise they need
  the input's size (Bincount) or shape (DenseBincount); ``binary_output`` writes 1 in
  every bin hit, weights or not; the sums are in the weights' dtype (integers wrap);
- DenseBincount counts a matrix row by row (``[rows, size]``), and RaggedBincount each
  row of ``splits``; a scalar is a vector of one;
- RaggedBincount walks its splits as TF does, so splits that are not ascending still
  give an answer (each value lands in the first row whose end, after the rows before
  it, lies past the value's index).

Angle sits here, not in ``unary.UNARY_OPS`` where it belongs as one row, only because
that table's test names its ops one by one.

>>> dense_bincount(np.int32([1, 1, 3, 7]), np.int32(5), np.float32([]), binary_output=False)
array([0., 2., 0., 1., 0.], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidArgumentError
from ._checks import INDEX, num_elements, shape_str
from .registry import Shape, TensorSpec, op, same_shape

_CHECKED_VALUES = 64  # the shape memo's limit on values in a key

# TF's messages for a negative value (DenseBincount of a matrix names the first one).
_NEGATIVE = "Input arr must be non-negative!"
_NEGATIVE_IN_MATRIX = "Input 'in' must be non-negative! Negative input value found: {}"
_NEGATIVE_IN_RAGGED = "Input must be non-negative"


@op("Angle", shape=same_shape)
def angle(input: np.ndarray) -> np.ndarray:
    """The argument of each complex number, ``atan2(imag, real)``, in [-pi, pi]."""
    # Computed in double and rounded once. TF's CPU threads flush subnormal results to
    # zero; its atan2 (Eigen's polynomial) can differ from this one by an ulp.
    real = input.real.dtype
    z = input.astype(np.complex128)
    out = np.arctan2(z.imag, z.real).astype(real)
    return np.where(np.abs(out) < np.finfo(real).tiny, np.copysign(0, out), out).astype(real)


def _small(spec: TensorSpec) -> np.ndarray | None:
    """An int input's values, when known and few enough for a shape rule to read."""
    n = num_elements(spec.shape)
    if spec.value is None or spec.dtype not in INDEX or n is None or n > _CHECKED_VALUES:
        return None
    return np.asarray(spec.value, np.int64).reshape(-1)


def _size(size: TensorSpec) -> int | None:
    """The number of bins, checked; None while unknown."""
    if size.shape is not None and len(size.shape) != 0:
        raise InvalidArgumentError(f"Shape must be rank 0 but is rank {len(size.shape)}")
    if size.value is None:
        return None
    n = int(size.value)
    if n < 0:
        raise InvalidArgumentError(f"size ({n}) must be non-negative")
    return n


def _check_values(values: np.ndarray | None, message: str) -> None:
    if values is not None and values.size and values.min() < 0:
        flat = values.reshape(-1)
        raise InvalidArgumentError(message.format(flat[int(np.argmax(flat < 0))]))


def _count(
    rows: np.ndarray | int, values: np.ndarray, weights: np.ndarray, nrows: int, size: int,
    binary_output: bool,
) -> np.ndarray:  # fmt: skip
    """A ``[nrows, size]`` histogram of ``values`` (flat), each in its row of ``rows``."""
    out = np.zeros((nrows, size), weights.dtype)
    keep = values < size
    where = (np.broadcast_to(rows, values.shape)[keep], values[keep])
    if binary_output:
        out[where] = 1
    elif weights.size == 0:
        np.add.at(out, where, np.ones((), weights.dtype))
    else:
        np.add.at(out, where, weights[keep])
    return out


def _bincount_rule(arr: TensorSpec, size: TensorSpec, weights: TensorSpec) -> Shape:
    n = _size(size)
    _check_values(_small(arr), _NEGATIVE)
    items, counted = num_elements(arr.shape), num_elements(weights.shape)
    if items is not None and counted is not None and counted not in (0, items):
        raise InvalidArgumentError("Input indices and weights must have the same size.")
    return (-1 if n is None else n,)


@op("Bincount", shape=_bincount_rule)
def bincount(arr: np.ndarray, size: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """How often each of ``0 .. size-1`` occurs in ``arr`` (any shape), or the sum of its
    ``weights`` (empty: count)."""
    n = _size(TensorSpec(size.dtype, size.shape, size))
    _check_values(arr, _NEGATIVE)
    _bincount_rule(*(TensorSpec(a.dtype, a.shape) for a in (arr, size, weights)))
    values = arr.reshape(-1).astype(np.int64)
    assert n is not None
    return _count(0, values, weights.reshape(-1), 1, n, False).reshape(n)


def _dense_rule(
    input: TensorSpec, size: TensorSpec, weights: TensorSpec, *, binary_output: bool
) -> Shape:
    rank = None if input.shape is None else len(input.shape)
    if rank is not None and rank > 2:
        raise InvalidArgumentError(f"Shape must be at most rank 2 but is rank {rank}")
    if size.shape is not None and len(size.shape) != 0:
        raise InvalidArgumentError(f"Shape must be rank 0 but is rank {len(size.shape)}")
    counted = num_elements(weights.shape)
    if (counted not in (None, 0) and num_elements(input.shape) is not None
            and weights.shape != input.shape):  # fmt: skip
        raise InvalidArgumentError(
            "`weights` must be the same shape as `arr` or a length-0 `Tensor`, in which "
            f"case it acts as all weights equal to 1. Received {shape_str(weights.shape)}"
        )
    n = _size(size)
    _check_values(_small(input), _NEGATIVE_IN_MATRIX if rank == 2 else _NEGATIVE)
    bins = -1 if n is None else n
    if input.shape is None:
        return None
    return (input.shape[0], bins) if rank == 2 else (bins,)


@op("DenseBincount", shape=_dense_rule)
def dense_bincount(
    input: np.ndarray, size: np.ndarray, weights: np.ndarray, *, binary_output: bool
) -> np.ndarray:
    """Bincount of a vector, or of each row of a matrix; with ``binary_output``, 1 in
    every bin a value falls in."""
    specs = (TensorSpec(input.dtype, input.shape), TensorSpec(size.dtype, size.shape, size),
             TensorSpec(weights.dtype, weights.shape))  # fmt: skip
    shape = _dense_rule(*specs, binary_output=binary_output)
    _check_values(input, _NEGATIVE_IN_MATRIX if input.ndim == 2 else _NEGATIVE)
    assert shape is not None
    if input.ndim < 2:
        flat = input.reshape(-1).astype(np.int64)
        return _count(0, flat, weights.reshape(-1), 1, shape[0], binary_output).reshape(shape)
    rows = np.arange(input.shape[0])[:, None]
    return _count(rows, input.astype(np.int64), weights, shape[0], shape[1], binary_output)


def _check_splits(splits: np.ndarray | None, items: int | None) -> None:
    if splits is None:
        return
    if splits[0] != 0:
        raise InvalidArgumentError(f"Splits must start with 0, not with {splits[0]}")
    if items is not None and splits[-1] != items:
        raise InvalidArgumentError(
            f"Splits must end with the number of values, got {splits[-1]} instead of {items}"
        )


def _ragged_rule(
    splits: TensorSpec, values: TensorSpec, size: TensorSpec, weights: TensorSpec, *,
    binary_output: bool,
) -> Shape:  # fmt: skip
    n = _size(size)
    rows = num_elements(splits.shape)
    if rows == 0:
        raise InvalidArgumentError("Splits must be non-empty")
    items = num_elements(values.shape)
    _check_splits(_small(splits), items)
    _check_values(_small(values), _NEGATIVE_IN_RAGGED)
    counted = num_elements(weights.shape)
    if items is not None and counted is not None and 0 < counted < items:
        # TF reads past the end of the weights; refuse rather than invent them.
        raise InvalidArgumentError(
            f"RaggedBincount: weights has {counted} values for {items} values; give one "
            "weight per value, or none"
        )
    return (-1 if rows is None else rows - 1, -1 if n is None else n)


@op("RaggedBincount", shape=_ragged_rule)
def ragged_bincount(
    splits: np.ndarray, values: np.ndarray, size: np.ndarray, weights: np.ndarray, *,
    binary_output: bool,
) -> np.ndarray:  # fmt: skip
    """DenseBincount of each row of a ragged tensor (``splits`` and flat ``values``)."""
    ends, flat = splits.reshape(-1), values.reshape(-1).astype(np.int64)
    n = _size(TensorSpec(size.dtype, size.shape, size))
    if ends.size == 0:
        raise InvalidArgumentError("Splits must be non-empty")
    _check_splits(ends, flat.size)
    _check_values(flat, _NEGATIVE_IN_RAGGED)
    specs = (TensorSpec(splits.dtype, splits.shape), TensorSpec(values.dtype, values.shape),
             TensorSpec(size.dtype, size.shape), TensorSpec(weights.dtype, weights.shape))
    _ragged_rule(*specs, binary_output=binary_output)
    assert n is not None
    # Value i lands in the row TF's walk reaches: the first whose running maximum of
    # splits lies past i.
    rows = np.searchsorted(np.maximum.accumulate(ends), np.arange(flat.size), side="right") - 1
    return _count(rows, flat, weights.reshape(-1)[: flat.size], ends.size - 1, n, binary_output)
