"""Joining and splitting strings: StringJoin (element by element, across its inputs),
ReduceJoin (along axes of one input) and StringSplitV2 (each string into a row of a
SparseTensor).

Where TF differs from Python's ``bytes.join`` and ``bytes.split``:

- StringSplitV2 with ``maxsplit`` = 0 returns each string whole (even with ``sep`` empty,
  where Python strips), and a whitespace split that uses up ``maxsplit`` at the end of
  the string keeps an empty last token.
- ReduceJoin joins with the first listed axis varying fastest; no axes joins nothing.

>>> string_split_v2(np.array([b"a b", b"c"], dtype=object), np.array(b"", dtype=object),
...                 maxsplit=-1)[2]
array([2, 2])
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ...errors import InvalidArgumentError, OutOfRangeError
from .._checks import STRING, shape_str
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import WHITESPACE, compatible


def _join_rule(inputs: list[TensorSpec], *, separator: bytes) -> Shape:
    """The shape of the first non-scalar input, which every other one must have."""
    shape: tuple[int, ...] = ()
    unknown = False
    for spec in inputs:
        if spec.shape is None:
            unknown = True
        elif spec.shape != ():
            if shape == ():
                shape = spec.shape
            elif not compatible(shape, spec.shape):
                raise InvalidArgumentError(
                    f"Input shapes do not match: {shape_str(shape)} vs. {shape_str(spec.shape)}"
                )
    return None if unknown and shape == () else shape


@op("StringJoin", shape=_join_rule)
def string_join(inputs: list[np.ndarray], *, separator: bytes) -> np.ndarray:
    """Element-wise join of the inputs, scalars repeated:
    ``[[b"a", b"b"], b"-"] -> [b"a-", b"b-"]`` (separator empty)."""
    shape = _join_rule([TensorSpec(x.dtype, x.shape) for x in inputs], separator=separator)
    assert shape is not None
    columns = [np.broadcast_to(x, shape).reshape(-1).tolist() for x in inputs]
    joined = [separator.join(parts) for parts in zip(*columns, strict=True)] if columns else [b""]
    return np.array(joined, dtype=object).reshape(shape)


def _split_rule(input: TensorSpec, sep: TensorSpec, *, maxsplit: int) -> tuple[Shape, Shape, Shape]:
    if input.shape is not None and len(input.shape) != 1:
        raise InvalidArgumentError(f"input must be a vector, got shape: {shape_str(input.shape)}")
    if sep.shape is not None and sep.shape != ():
        raise InvalidArgumentError(f"sep must be a scalar, got shape: {shape_str(sep.shape)}")
    return (-1, 2), (-1,), (2,)


def _split(text: bytes, sep: bytes, maxsplit: int) -> list[bytes]:
    """TF's SplitV2: Python's ``str.split`` but for maxsplit 0 and a used-up maxsplit."""
    if maxsplit == 0:
        return [text]
    if sep:
        return text.split(sep, maxsplit if maxsplit > 0 else -1)
    tokens: list[bytes] = []
    rest = text.lstrip(WHITESPACE)
    while rest:
        end = next((i for i, c in enumerate(rest) if c in WHITESPACE), len(rest))
        tokens.append(rest[:end])
        rest = rest[end:].lstrip(WHITESPACE)
        if len(tokens) == maxsplit:
            tokens.append(rest)
            break
    return tokens


@op("StringSplitV2", shape=_split_rule)
def string_split_v2(
    input: np.ndarray, sep: np.ndarray, *, maxsplit: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each string split on ``sep`` (runs of whitespace when empty), as the indices,
    values and dense shape of a SparseTensor with one row per string."""
    _split_rule(TensorSpec(STRING, input.shape), TensorSpec(STRING, sep.shape), maxsplit=maxsplit)
    rows = [_split(text, sep.item(), maxsplit) for text in input.tolist()]
    indices = [(i, j) for i, row in enumerate(rows) for j in range(len(row))]
    values = [token for row in rows for token in row]
    width = max((len(row) for row in rows), default=0)
    return (
        np.array(indices, dtype=np.int64).reshape(-1, 2),
        np.array(values, dtype=object).reshape(-1),
        np.array([len(rows), width], dtype=np.int64),
    )


def _reduce_axes(rank: int, axes: Iterable[int]) -> list[int]:
    """The axes in [0, rank), in the order given; TF's checks, one axis at a time."""
    seen: list[int] = []
    for axis in axes:
        if not -rank <= axis < rank:
            raise OutOfRangeError(
                f"Invalid reduction dimension {axis} for input with {rank} dimension(s)"
            )
        if axis % rank in seen:
            raise InvalidArgumentError(f"Duplicate reduction dimension {axis}")
        seen.append(axis % rank)
    return seen


def _reduce_join_rule(
    inputs: TensorSpec, reduction_indices: TensorSpec, *, keep_dims: bool, separator: bytes
) -> Shape:
    shape, indices = inputs.shape, reduction_indices
    if shape is None:
        return None
    if indices.value is not None:
        axes = _reduce_axes(len(shape), np.ravel(indices.value).tolist())
        if keep_dims:
            return tuple(1 if d in axes else n for d, n in enumerate(shape))
        return tuple(n for d, n in enumerate(shape) if d not in axes)
    count = None if indices.shape is None or -1 in indices.shape else math.prod(indices.shape)
    if count == 0:
        return shape
    if keep_dims:
        return (-1,) * len(shape)
    return None if count is None else (-1,) * (len(shape) - count)


@op("ReduceJoin", shape=_reduce_join_rule)
def reduce_join(
    inputs: np.ndarray, reduction_indices: np.ndarray, *, keep_dims: bool, separator: bytes
) -> np.ndarray:
    """The strings joined along the listed axes, the first listed varying fastest:
    ``[[a, b], [c, d]]`` over ``[0, 1]`` -> ``"acbd"``; no axes leaves the input as is."""
    axes = _reduce_axes(inputs.ndim, np.ravel(reduction_indices).tolist())
    kept = [d for d in range(inputs.ndim) if d not in axes]
    moved = inputs.transpose(kept + axes[::-1])
    rows = moved.reshape(math.prod(inputs.shape[d] for d in kept), -1 if inputs.size else 0)
    joined = np.array([separator.join(row) for row in rows.tolist()] or [], dtype=object)
    shape = [1 if d in axes else n for d, n in enumerate(inputs.shape)]
    out = joined.reshape([n for d, n in enumerate(shape) if keep_dims or d not in axes])
    return out
