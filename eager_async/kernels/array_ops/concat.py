"""Joining tensors and cutting them apart: ConcatV2 (and ConcatOffset, the shape math of
its gradient), Pack, Unpack, Split, SplitV.

Where TF differs from NumPy:

- ConcatV2 takes its axis as the last input, also as a one-element vector, and refuses
  to concatenate scalars; ConcatOffset's offsets wrap around in their dtype;
- Split takes the axis as its *first* input; SplitV allows one -1 size (the rest), and
  a single output must be the whole input, checked before a -1 is resolved;
- Unpack needs attr ``num`` even when the shape tells it (TF's op definition has no
  default), and its 0-d pieces are arrays, not NumPy scalars.

>>> split(np.int32(0), np.arange(4), num_split=2)
[array([0, 1]), array([2, 3])]
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import known_shape, merge, normalize_axis, shape_str
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import checked, read_ints, spec_of, widened


def _concat_shape(values: list[TensorSpec], axis: TensorSpec) -> Shape:
    if axis.shape is not None and axis.shape not in ((), (1,), (-1,)):
        raise InvalidArgumentError(
            f"axis tensor should be a scalar integer, but got shape {shape_str(axis.shape)}"
        )
    axis_value = read_ints("ConcatV2", axis, "axis")
    known = [(i, v.shape) for i, v in enumerate(values) if v.shape is not None]
    if not known:
        return None
    first, shape0 = known[0]
    rank = len(shape0)
    if rank == 0:
        raise InvalidArgumentError("ConcatOp : Can't concatenate scalars (use tf.stack instead)")
    for i, shape in known[1:]:
        if len(shape) != rank:
            raise InvalidArgumentError(
                "ConcatOp : Ranks of all input tensors should match: "
                f"shape[{first}] = {shape_str(shape0)} vs. shape[{i}] = {shape_str(shape)}"
            )
    if axis_value is None:
        return (-1,) * rank
    if not -rank <= axis_value[0] < rank:
        raise InvalidArgumentError(
            "ConcatOp : Expected concatenating dimensions in the range "
            f"[{-rank}, {rank}), but got {axis_value[0]}"
        )
    along = axis_value[0] % rank
    out = list(shape0)
    for i, shape in known[1:]:
        for d in range(rank):
            if d != along and out[d] >= 0 and shape[d] >= 0 and out[d] != shape[d]:
                raise InvalidArgumentError(
                    f"ConcatOp : Dimension {d} in both shapes must be equal: "
                    f"shape[{first}] = {shape_str(shape0)} vs. shape[{i}] = {shape_str(shape)}"
                )
            out[d] = out[d] if out[d] >= 0 else shape[d]
    sizes = [-1 if v.shape is None else v.shape[along] for v in values]
    out[along] = -1 if min(sizes) < 0 else sum(sizes)
    return tuple(out)


@op("ConcatV2", shape=_concat_shape)
def concat_v2(values: list[np.ndarray], axis: np.ndarray) -> np.ndarray:
    """The N values joined along ``axis``; scalars cannot be concatenated."""
    checked(_concat_shape, values, axis)
    return np.concatenate(values, axis=int(np.ravel(axis)[0]) % values[0].ndim)


def _summary(shape: np.ndarray) -> str:
    """A shape vector as TF's ``SummarizeValue(10)`` prints it: ``2 3 4``, cut at ten."""
    text = " ".join(str(v) for v in shape[:10].tolist())
    return text + "..." if shape.size > 10 else text


def _concat_offset_shape(concat_dim: TensorSpec, shape: list[TensorSpec]) -> list[Shape]:
    """One offset vector per shape vector; with every value known, TF's checks in its
    order (the input numbers count concat_dim as input 0, then the shapes from 0)."""
    if concat_dim.shape is not None and concat_dim.shape != ():
        raise InvalidArgumentError(
            "Concat dim tensor should be a scalar integer, but got shape "
            f"{shape_str(concat_dim.shape)}"
        )
    for i, spec in enumerate(shape, 1):
        if spec.shape is not None and len(spec.shape) != 1:
            raise InvalidArgumentError(
                f"input {i} should be a vector, but got shape {shape_str(spec.shape)}"
            )
    shapes = [spec.value for spec in shape]
    if concat_dim.value is None or any(s is None for s in shapes):
        return [spec.shape for spec in shape]
    first = np.asarray(shapes[0])
    cdim, dims = int(concat_dim.value), first.size
    axis = cdim + dims if cdim < 0 else cdim
    if not 0 <= axis < dims:
        raise InvalidArgumentError(f"Concat dim is out of range: {cdim} vs. {dims}")
    for i, other in enumerate(np.asarray(s) for s in shapes):
        if other.size != dims:
            raise InvalidArgumentError(
                f"input {i} should contain {dims} elements, but got {other.size}"
            )
        if np.any(np.delete(other != first, axis)):
            raise InvalidArgumentError(
                f"All dimensions except {axis} must match. Input {i} has shape "
                f"[{_summary(other)}] and doesn't match input 0 with shape [{_summary(first)}]."
            )
    return [(dims,)] * len(shape)


@op("ConcatOffset", shape=_concat_offset_shape)
def concat_offset(concat_dim: np.ndarray, shape: list[np.ndarray]) -> list[np.ndarray]:
    """Where each of N inputs of ``shape`` starts in their ConcatV2 along ``concat_dim``:
    zeros but for the running sum of the sizes along that axis.

    >>> concat_offset(np.int32(1), [np.int32([2, 2, 5]), np.int32([2, 3, 5]), np.int32([2, 4, 5])])
    [array([0, 0, 0], dtype=int32), array([0, 2, 0], dtype=int32), array([0, 5, 0], dtype=int32)]
    """
    (dims,) = known_shape(_concat_offset_shape(spec_of(concat_dim), spec_of(shape))[0])
    axis = int(concat_dim) % dims
    sizes = np.array([s[axis] for s in shape], shape[0].dtype)
    offsets = np.zeros((len(shape), dims), shape[0].dtype)
    with np.errstate(over="ignore"):  # TF's sum wraps around, as C++ integers do
        offsets[1:, axis] = np.cumsum(sizes[:-1], dtype=sizes.dtype)
    return list(offsets)


def _pack_shape(values: list[TensorSpec], *, axis: int) -> Shape:
    shape: Shape = None
    for i, spec in enumerate(values):
        what = f"Shapes of all inputs must match: values[0].shape vs. values[{i}].shape"
        shape = merge("Pack", shape, spec.shape, what)
    if shape is None:
        return None
    at = normalize_axis("Pack", axis, len(shape) + 1)
    return (*shape[:at], len(values), *shape[at:])


@op("Pack", shape=_pack_shape)
def pack(values: list[np.ndarray], *, axis: int) -> np.ndarray:
    """tf.stack: N inputs of one shape and dtype stacked along a new ``axis``."""
    checked(_pack_shape, values, axis=axis)
    return np.stack(values, axis=normalize_axis("Pack", axis, values[0].ndim + 1))


def _unpack_shape(value: TensorSpec, *, num: int, axis: int) -> list[Shape]:
    if value.shape is None:
        return [None] * num
    at = normalize_axis("Unpack", axis, len(value.shape))
    if 0 <= value.shape[at] != num:
        raise InvalidArgumentError(
            f"Input shape axis {at} must equal {num}, got shape {shape_str(value.shape)}"
        )
    return [value.shape[:at] + value.shape[at + 1 :]] * num


@op("Unpack", shape=_unpack_shape)
def unpack(value: np.ndarray, *, num: int, axis: int) -> list[np.ndarray]:
    """tf.unstack: the ``num`` slices of value along ``axis``, each an array even when 0-d."""
    _unpack_shape(spec_of(value), num=num, axis=axis)
    moved = np.moveaxis(value, normalize_axis("Unpack", axis, value.ndim), 0)
    return [moved[i, ...] for i in range(num)]  # moved[i] could be a bytes scalar


def _split_axis(op_name: str, split_dim: TensorSpec, rank: int | None) -> int | None:
    """The split_dim input mapped to [0, rank); None while either is unknown."""
    values = read_ints(op_name, split_dim, "split_dim", ranks=(0,))
    if values is None or rank is None:
        return None
    if not -rank <= values[0] < rank:
        raise InvalidArgumentError(
            f"-input rank(-{rank}) <= split_dim < input rank ({rank}), but got {values[0]}"
        )
    return values[0] % rank


def _with_dim(shape: tuple[int, ...], axis: int, size: int) -> tuple[int, ...]:
    return (*shape[:axis], size, *shape[axis + 1 :])


def _split_shape(split_dim: TensorSpec, value: TensorSpec, *, num_split: int) -> list[Shape]:
    axis = _split_axis("Split", split_dim, None if value.shape is None else len(value.shape))
    if value.shape is None or axis is None:
        return [None if value.shape is None else (-1,) * len(value.shape)] * num_split
    size = value.shape[axis]
    if size >= 0 and size % num_split:
        raise InvalidArgumentError(
            "Number of ways to split should evenly divide the split dimension, but got "
            f"split_dim {axis} (size = {size}) and num_split {num_split}"
        )
    return [_with_dim(value.shape, axis, size // num_split if size >= 0 else -1)] * num_split


@op("Split", shape=_split_shape)
def split(split_dim: np.ndarray, value: np.ndarray, *, num_split: int) -> list[np.ndarray]:
    """value cut into num_split equal pieces along split_dim (the first input)."""
    _split_shape(spec_of(split_dim), spec_of(value), num_split=num_split)
    return np.split(value, num_split, axis=int(split_dim) % value.ndim)


def _resolve_splits(sizes: list[int], num: int, dim: int) -> list[int]:
    """SplitV's sizes with the one -1 filled in (left -1 while ``dim`` is unknown)."""
    if len(sizes) != num:
        raise InvalidArgumentError(
            "size of the split_tensor must be 1-D and have the same elements as outputs "
            f"got 1 -D and {len(sizes)} elements"
        )
    if num == 1 and dim >= 0 and sizes[0] != dim:
        raise InvalidArgumentError(
            "If there is only one output, it must have the same size as the input. "
            f"Input size: {dim} output size: {sizes[0]}"
        )
    rest = [i for i, s in enumerate(sizes) if s == -1]
    if len(rest) > 1:
        raise InvalidArgumentError(
            f"Only one dimensions can have a value of -1. Second one found at dimension {rest[1]}"
        )
    for i, s in enumerate(sizes):
        if s < -1:
            raise InvalidArgumentError(f"Split size at index {i} must be >= 0. Got: {s}")
    if dim < 0:
        return sizes
    determined = sum(s for s in sizes if s != -1)
    if (not rest and determined != dim) or determined > dim:
        raise InvalidArgumentError(
            "Determined shape must either match input shape along split_dim exactly if fully "
            "specified, or be less than the size of input along split_dim if not fully "
            f"specified.  Got: {determined}"
        )
    return [dim - determined if s == -1 else s for s in sizes]


def _split_v_shape(
    value: TensorSpec, size_splits: TensorSpec, split_dim: TensorSpec, *, num_split: int
) -> list[Shape]:
    sizes = read_ints("SplitV", size_splits, "size_splits", ranks=(1,))
    axis = _split_axis("SplitV", split_dim, None if value.shape is None else len(value.shape))
    if value.shape is None or axis is None:
        return [None if value.shape is None else (-1,) * len(value.shape)] * num_split
    if sizes is None:
        # One output is the whole input (the kernel checks the size says so).
        whole = value.shape if num_split == 1 else _with_dim(value.shape, axis, -1)
        return [whole] * num_split
    resolved = _resolve_splits(sizes, num_split, value.shape[axis])
    return [_with_dim(value.shape, axis, s) for s in resolved]


@op("SplitV", shape=_split_v_shape)
def split_v(
    value: np.ndarray, size_splits: np.ndarray, split_dim: np.ndarray, *, num_split: int
) -> list[np.ndarray]:
    """value cut along split_dim into pieces of size_splits; one -1 takes the rest."""
    # int8 sizes are for the kernel to read: the shape rule reads them widened.
    specs = map(spec_of, (value, widened(size_splits), split_dim))
    outs = _split_v_shape(*specs, num_split=num_split)
    axis = int(split_dim) % value.ndim
    sizes = [known_shape(out)[axis] for out in outs]
    return np.split(value, np.cumsum(sizes)[:-1], axis=axis)
