"""Slices of a tensor: Slice, StridedSlice and ReverseV2.

Where TF differs from NumPy:

- Slice's size -1 means "to the end"; out-of-range begin/size is an error, not a clamp;
- StridedSlice clamps begin/end like Python slices but has its own masks, and a shrunk
  index out of range is an error ("slice index 5 of dimension 0 out of bounds.");
  begin, end and strides may be int16 too;
- ReverseV2 of a scalar or an empty tensor returns it without looking at the axes.

>>> strided_slice(np.arange(5), np.int32([-1]), np.int32([0]), np.int32([-2]),
...               begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0,
...               shrink_axis_mask=0)
array([4, 2])
"""

from __future__ import annotations

from dataclasses import dataclass
from types import EllipsisType

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import shape_str
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import checked, read_ints, spec_of, widened


def _slice_shape(x: TensorSpec, begin: TensorSpec, size: TensorSpec) -> Shape:
    starts = read_ints("Slice", begin, "begin", ranks=(1,))
    sizes = read_ints("Slice", size, "size", ranks=(1,))
    lengths = [len(v) if v is not None else (s.shape or (-1,))[0]
               for v, s in ((starts, begin), (sizes, size))]  # fmt: skip
    rank = len(x.shape) if x.shape is not None else max(lengths)
    if rank >= 0 and any(n not in (-1, rank) for n in lengths):
        raise InvalidArgumentError(
            f"Expected begin and size arguments to be 1-D tensors of size {rank}, but got "
            f"shapes {shape_str(begin.shape)} and {shape_str(size.shape)} instead."
        )
    if rank < 0:
        return None
    out = []
    for i, dim in enumerate(x.shape if x.shape is not None else (-1,) * rank):
        b = None if starts is None else starts[i]
        s = None if sizes is None else sizes[i]
        if s is not None and s < -1:
            raise InvalidArgumentError(f"Expected size[{i}] in [0, {dim}], but got {s}")
        if dim < 0 or b is None:
            out.append(s if s is not None and s >= 0 else -1)
            continue
        s = dim - b if s == -1 else s
        if dim == 0 and (b != 0 or s != 0):
            raise InvalidArgumentError(
                f"Expected begin[{i}] == 0 (got {b}) and size[{i}] == 0 (got {s}) when "
                f"input.dim_size({i}) == 0"
            )
        if not 0 <= b <= dim:
            raise InvalidArgumentError(f"Expected begin[{i}] in [0, {dim}], but got {b}")
        if s is not None and not 0 <= s <= dim - b:
            raise InvalidArgumentError(f"Expected size[{i}] in [0, {dim - b}], but got {s}")
        out.append(-1 if s is None else s)
    return tuple(out)


@op("Slice", shape=_slice_shape)
def slice_op(x: np.ndarray, begin: np.ndarray, size: np.ndarray) -> np.ndarray:
    """x[begin : begin + size] on each dim; size -1 means to the end; no clamping."""
    out = checked(_slice_shape, x, begin, size)
    index: list[slice | EllipsisType] = [
        slice(b, b + n) for b, n in zip(begin.tolist(), out, strict=True)
    ]
    return x[(*index, ...)]  # the Ellipsis keeps a 0-d result an array


@dataclass(frozen=True, slots=True)
class _Masks:
    """StridedSlice's five bit masks, bit i for entry i of begin/end/strides."""

    begin: int
    end: int
    ellipsis: int
    new_axis: int
    shrink: int


@dataclass(frozen=True, slots=True)
class _DenseDim:
    """One input dim of a strided slice; begin/end are None while unknown."""

    begin: int | None
    end: int | None
    stride: int
    begin_masked: bool
    end_masked: bool
    shrink: bool


_NEW_AXIS, _SHRINK = -1, -2
# Per input dim: begin, end, stride, the output size, and whether the dim is shrunk.
Plan = list[tuple[int, int, int, int, bool]]


def _dense_dims(
    rank: int, begin: list[int] | None, end: list[int] | None, strides: list[int],
    masks: _Masks,
) -> tuple[list[_DenseDim], list[int]]:  # fmt: skip
    """Expand the sparse spec (ellipsis, new axes) to one entry per input dim, plus where
    each output dim comes from (an input dim, a new axis, or nothing for a shrunk dim)."""
    n, ellipsis = len(strides), masks.ellipsis
    if ellipsis & (ellipsis - 1):
        raise InvalidArgumentError("Multiple ellipses in slice spec not allowed")
    seen, new_after_ellipsis = False, 0
    for i in range(n):
        if seen and masks.new_axis >> i & 1:
            new_after_ellipsis += 1
        seen = seen or bool(ellipsis >> i & 1)
    if not seen:  # an implicit ellipsis after the last given dim
        ellipsis |= 1 << n
        n += 1
    dense: list[_DenseDim] = []
    gather: list[int] = []
    for i in range(n):
        if ellipsis >> i & 1:
            stop = min(rank - (n - i) + 1 + new_after_ellipsis, rank)
            while len(dense) < stop:
                gather.append(len(dense))
                dense.append(_DenseDim(0, 0, 1, True, True, False))
        elif masks.new_axis >> i & 1:
            gather.append(_NEW_AXIS)
        else:
            if len(dense) == rank:
                raise InvalidArgumentError(
                    f"Index out of range using input dim {rank}; input has only {rank} dims"
                )
            shrink = bool(masks.shrink >> i & 1)
            gather.append(_SHRINK if shrink else len(dense))
            dense.append(_DenseDim(
                None if begin is None else begin[i], None if end is None else end[i],
                strides[i], bool(masks.begin >> i & 1), bool(masks.end >> i & 1), shrink,
            ))  # fmt: skip
    return dense, gather


def _canonical(x: int | None, masked: bool, is_end: bool, stride: int, dim: int) -> int | None:
    low, high = (0, dim) if stride > 0 else (-1, dim - 1)
    if masked:
        return (high if is_end else low) if stride > 0 else (low if is_end else high)
    if x is None:
        return None
    forward = x + dim if x < 0 else x
    return min(max(forward, low), high)


def _strided_plan(
    shape: tuple[int, ...], begin: list[int] | None, end: list[int] | None,
    strides: list[int], masks: _Masks,
) -> tuple[Plan, tuple[int, ...]]:  # fmt: skip
    """Per input dim (begin, end, stride, size, shrink), and the output shape."""
    dense, gather = _dense_dims(len(shape), begin, end, strides, masks)
    plan: Plan = []
    for i, (d, dim) in enumerate(zip(dense, shape, strict=True)):
        s = d.stride
        if s == 0:
            raise InvalidArgumentError(f"strides[{i}] must be non-zero")
        if d.shrink and s <= 0:
            raise InvalidArgumentError("only stride 1 allowed on non-range indexing.")
        b = None if dim < 0 else _canonical(d.begin, d.begin_masked, False, s, dim)
        e = None if dim < 0 else _canonical(d.end, d.end_masked, True, s, dim)
        if dim >= 0 and d.shrink and d.begin is not None:
            # A shrunk index is a plain index, checked rather than clamped.
            b = d.begin + dim if d.begin < 0 else d.begin
            if not 0 <= b < dim:
                raise InvalidArgumentError(f"slice index {b} of dimension {i} out of bounds.")
            e = b + 1
        if b is None or e is None:
            plan.append((0, 0, s, 1 if d.shrink else -1, d.shrink))
            continue
        length = e - b
        size = 0 if length == 0 or (length < 0) != (s < 0) else -(-length // s)
        plan.append((b, e, s, size, d.shrink))
    out = tuple(1 if g == _NEW_AXIS else plan[g][3] for g in gather if g != _SHRINK)
    return plan, out


def _strided(
    masks: _Masks, x: TensorSpec, begin: TensorSpec, end: TensorSpec, strides: TensorSpec
) -> tuple[Plan | None, Shape]:
    """The plan and output shape of a strided slice, as far as the specs tell them."""
    starts = read_ints("StridedSlice", begin, "begin", ranks=(1,))
    ends = read_ints("StridedSlice", end, "end", ranks=(1,))
    steps = read_ints("StridedSlice", strides, "strides", ranks=(1,))
    specs = (begin, end, strides)
    if len({s.shape[0] for s in specs if s.shape is not None and s.shape[0] >= 0}) > 1:
        raise InvalidArgumentError(
            "Expected begin, end, and strides to be 1D equal size tensors, but got shapes "
            f"{shape_str(begin.shape)}, {shape_str(end.shape)}, and "
            f"{shape_str(strides.shape)} instead."
        )
    if steps is None or x.shape is None:
        return None, None
    return _strided_plan(x.shape, starts, ends, steps, masks)


def _strided_slice_shape(
    x: TensorSpec, begin: TensorSpec, end: TensorSpec, strides: TensorSpec, *,
    begin_mask: int, end_mask: int, ellipsis_mask: int, new_axis_mask: int,
    shrink_axis_mask: int,
) -> Shape:  # fmt: skip
    masks = _Masks(begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask)
    return _strided(masks, x, begin, end, strides)[1]


@op("StridedSlice", shape=_strided_slice_shape)
def strided_slice(
    x: np.ndarray, begin: np.ndarray, end: np.ndarray, strides: np.ndarray, *,
    begin_mask: int, end_mask: int, ellipsis_mask: int, new_axis_mask: int,
    shrink_axis_mask: int,
) -> np.ndarray:  # fmt: skip
    """x[begin:end:stride] under TF's five masks; shrunk indices are checked."""
    masks = _Masks(begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask)
    wide = [spec_of(widened(a)) for a in (begin, end, strides)]  # int16 is read widened
    plan, out = _strided(masks, spec_of(x), *wide)
    assert plan is not None and out is not None  # every value is known in a kernel
    # A negative stride may stop at -1, "before the first element", which a Python slice
    # can only say with None.
    index = [b if shrink else slice(0, 0) if size == 0 else slice(b, None if e < 0 else e, s)
             for b, e, s, size, shrink in plan]  # fmt: skip
    return np.reshape(x[(*index, ...)], out)


def _reverse_v2_shape(tensor: TensorSpec, axis: TensorSpec) -> Shape:
    axes = read_ints("ReverseV2", axis, "axis", ranks=(1,))
    shape = tensor.shape
    # TF returns a scalar or empty tensor untouched, whatever the axes say.
    if axes is None or shape is None or len(shape) == 0 or 0 in shape:
        return shape
    seen: set[int] = set()
    for i, a in enumerate(axes):
        canonical = a + len(shape) if a < 0 else a
        if not 0 <= canonical < len(shape):
            raise InvalidArgumentError(
                f"'axis'[{i}] = {a} is out of valid range [0, {len(shape) - 1}]"
            )
        if canonical in seen:
            raise InvalidArgumentError(f"axis {canonical} specified more than once.")
        seen.add(canonical)
    return shape


@op("ReverseV2", shape=_reverse_v2_shape)
def reverse_v2(tensor: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """tensor flipped along each listed axis; a scalar or empty tensor returned as is."""
    checked(_reverse_v2_shape, tensor, axis)
    if tensor.ndim == 0 or tensor.size == 0:
        return tensor
    return np.flip(tensor, tuple(a % tensor.ndim for a in axis.tolist()))
