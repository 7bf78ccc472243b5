"""Growing a tensor along its dims: Pad, PadV2, MirrorPad, Tile and BroadcastTo.

Where TF differs from NumPy:

- Pad fills with zero, b"" for strings (``np.pad`` would fill them with ``np.bytes_``);
- MirrorPad's REFLECT leaves the edge out (NumPy's "reflect") and needs each padding
  below the dim's size; SYMMETRIC repeats the edge and allows a padding of the size;
- Pad and PadV2 take inputs of rank 8 at most, MirrorPad of rank 5: UNIMPLEMENTED past;
- BroadcastTo refuses to broadcast to a shape smaller than the input's own, and returns
  a writable copy rather than NumPy's read-only view.

>>> tile(np.int32([1, 2]), np.int32([2]))
array([1, 2, 1, 2], dtype=int32)
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ...errors import InvalidArgumentError, UnimplementedError
from .._checks import shape_str
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import checked, read_ints, unknown_dims, zero

PAD_MAX_RANK = 8
MIRROR_PAD_MAX_RANK = 5


def _pad_plan(
    op_name: str, x: TensorSpec, paddings: TensorSpec, max_rank: int, mode: bytes = b""
) -> Shape:
    """The output shape of a pad op, its paddings checked as far as they are known."""
    p = paddings.shape
    if p is not None and (len(p) != 2 or p[1] not in (-1, 2)):
        raise InvalidArgumentError(f"paddings must be a matrix with 2 columns: {shape_str(p)}")
    values = read_ints(op_name, paddings, "paddings", ranks=(2,))
    rows = p[0] if p is not None and p[0] >= 0 else None
    if x.shape is not None and rows is not None and rows != len(x.shape):
        raise InvalidArgumentError(
            "The first dimension of paddings must be the rank of inputs"
            f"{shape_str(p)}, {shape_str(x.shape)}"
        )
    rank = len(x.shape) if x.shape is not None else rows
    if rank is not None and rank > max_rank:
        raise UnimplementedError(f"inputs rank not in [0,{max_rank}]: {rank}")
    if values is None:
        return None if rank is None else (-1,) * rank
    pairs = list(zip(values[::2], values[1::2], strict=True))
    shape = x.shape if x.shape is not None else (-1,) * len(pairs)
    for (before, after), n in zip(pairs, shape, strict=True):
        if before < 0 or after < 0:
            raise InvalidArgumentError(f"Paddings must be non-negative: {before} {after}")
        if n >= 0 and mode == b"REFLECT" and (before >= n or after >= n):
            raise InvalidArgumentError(
                "paddings must be less than the dimension size: "
                f"{before}, {after} not less than {n}"
            )
        if n >= 0 and mode == b"SYMMETRIC" and (before > n or after > n):
            raise InvalidArgumentError(
                "paddings must be no greater than the dimension size: "
                f"{before}, {after} greater than {n}"
            )
    return tuple(-1 if n < 0 else n + b + a for (b, a), n in zip(pairs, shape, strict=True))


def _constant_pad(
    x: np.ndarray, paddings: np.ndarray, shape: tuple[int, ...], value: Any
) -> np.ndarray:
    # By hand rather than np.pad, which fills string tensors with np.bytes_, not bytes.
    out = np.full(shape, value, dtype=x.dtype)
    out[tuple(slice(b, b + n) for n, b in zip(x.shape, paddings[:, 0].tolist(), strict=True))] = x
    return out


def _pad_shape(x: TensorSpec, paddings: TensorSpec) -> Shape:
    return _pad_plan("Pad", x, paddings, PAD_MAX_RANK)


@op("Pad", shape=_pad_shape)
def pad(x: np.ndarray, paddings: np.ndarray) -> np.ndarray:
    """x with paddings[i] = (before, after) zeros on each dim i (b"" for strings)."""
    return _constant_pad(x, paddings, checked(_pad_shape, x, paddings), zero(x.dtype))


def _pad_v2_shape(x: TensorSpec, paddings: TensorSpec, constant_values: TensorSpec) -> Shape:
    if constant_values.shape is not None and len(constant_values.shape) != 0:
        raise InvalidArgumentError(
            f"constant_values must be a scalar. Found: {shape_str(constant_values.shape)}"
        )
    return _pad_plan("PadV2", x, paddings, PAD_MAX_RANK)


@op("PadV2", shape=_pad_v2_shape)
def pad_v2(x: np.ndarray, paddings: np.ndarray, constant_values: np.ndarray) -> np.ndarray:
    """x padded on each dim with the scalar constant_values."""
    shape = checked(_pad_v2_shape, x, paddings, constant_values)
    return _constant_pad(x, paddings, shape, constant_values[()])


def _mirror_pad_shape(x: TensorSpec, paddings: TensorSpec, *, mode: bytes) -> Shape:
    return _pad_plan("MirrorPad", x, paddings, MIRROR_PAD_MAX_RANK, mode)


@op("MirrorPad", shape=_mirror_pad_shape)
def mirror_pad(x: np.ndarray, paddings: np.ndarray, *, mode: bytes) -> np.ndarray:
    """x padded by mirroring; REFLECT leaves the edge out, SYMMETRIC repeats it."""
    checked(_mirror_pad_shape, x, paddings, mode=mode)
    if x.ndim == 0:
        return x
    kind: Literal["reflect", "symmetric"] = "reflect" if mode == b"REFLECT" else "symmetric"
    return np.pad(x, paddings.tolist(), mode=kind)


def _tile_shape(x: TensorSpec, multiples: TensorSpec) -> Shape:
    times = read_ints("Tile", multiples, "multiples", ranks=(1,))
    per_dim = unknown_dims(multiples) if times is None else times
    if x.shape is not None and per_dim is not None and len(per_dim) != len(x.shape):
        raise InvalidArgumentError(
            f"Expected multiples argument to be a vector of length {len(x.shape)} "
            f"but got length {len(per_dim)}"
        )
    if times is None:  # a 0 stays 0 whatever it is tiled by
        return unknown_dims(multiples) if x.shape is None else tuple(
            0 if n == 0 else -1 for n in x.shape)  # fmt: skip
    for i, k in enumerate(times):
        if k < 0:
            raise InvalidArgumentError(f"Expected multiples[{i}] >= 0, but got {k}")
    shape = x.shape if x.shape is not None else (-1,) * len(times)
    return tuple(0 if k == 0 else -1 if n < 0 else n * k for n, k in zip(shape, times, strict=True))


@op("Tile", shape=_tile_shape)
def tile(x: np.ndarray, multiples: np.ndarray) -> np.ndarray:
    """x repeated multiples[i] times along each dim i."""
    out = checked(_tile_shape, x, multiples)
    if 0 in out:  # NumPy would tile the dims before a 0 multiple first
        return np.empty(out, x.dtype)
    return np.tile(x, multiples.tolist()).reshape(out)


def _broadcast_to(x: Shape, sizes: list[int]) -> tuple[int, ...]:
    """The dims of ``x`` broadcast to the known target ``sizes``, as TF checks them."""
    for i, n in enumerate(sizes):
        if n < 0:
            raise InvalidArgumentError(f"Dimension {n} must be >= 0 (shape[{i}])")
    if x is None:
        return tuple(sizes)
    target = shape_str(tuple(sizes))
    if len(x) > len(sizes):
        raise InvalidArgumentError(
            f"Rank of input ({len(x)}) must be no greater than rank of output shape ({len(sizes)})."
        )
    for n, want in zip(reversed(x), reversed(sizes), strict=False):
        if n < 0 or n == want or n == 1:
            continue
        if want == 1:  # valid broadcasting, but to a larger shape than asked for
            raise InvalidArgumentError(
                f"Unable to broadcast tensor of shape {shape_str(x)} to tensor of shape {target}"
            )
        raise InvalidArgumentError(f"Incompatible shapes: {shape_str(x)} vs. {target}")
    return tuple(sizes)


def _broadcast_to_shape(x: TensorSpec, shape: TensorSpec) -> Shape:
    sizes = read_ints("BroadcastTo", shape, "shape", ranks=(1,))
    if sizes is not None:
        return _broadcast_to(x.shape, sizes)
    out = unknown_dims(shape)
    if out is None or x.shape is None:
        return out
    if len(x.shape) > len(out):
        _broadcast_to(x.shape, [1] * len(out))  # raises TF's rank message
    # A known input dim > 1 can only broadcast to itself.
    return tuple(n if n > 1 else -1 for n in (-1,) * (len(out) - len(x.shape)) + x.shape)


@op("BroadcastTo", shape=_broadcast_to_shape)
def broadcast_to(x: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """x broadcast to the shape input, as a writable copy (not NumPy's read-only view)."""
    return np.broadcast_to(x, checked(_broadcast_to_shape, x, shape)).copy()
