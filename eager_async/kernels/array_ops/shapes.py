"""A tensor's shape: the ops that read it (Shape, ShapeN, Size, Rank, BroadcastArgs) and
those that change it without moving an element (Identity, IdentityN, Reshape,
ExpandDims, Squeeze, Bitcast).

Where TF differs from NumPy:

- Reshape reads a scalar shape as a one-element vector; when a size is 0, zero sizes
  drop out of both element counts, so one -1 still resolves ([0] into [0, -1] is [0, 1]);
- Squeeze of listed dims requires each to be 1, where NumPy names the offender
  differently; with none listed an unknown dim leaves the rank unknown;
- Bitcast to a narrower type adds a last dim, to a wider one removes it (it must hold
  the pieces of one element);
- Size of more than 2**31 - 1 elements as int32 is an error, not a wrap.

>>> reshape(np.arange(6), np.int32([3, -1])).shape
(3, 2)
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import INT32, num_elements, shape_str, tf_name
from ..registry import op, same_shape
from ..specs import Shape, TensorSpec
from ._common import checked, read_ints, spec_of, unknown_dims

_INT32_MAX = 2**31 - 1


def _rank_vector(x: TensorSpec) -> Shape:
    return (-1 if x.shape is None else len(x.shape),)


@op("Shape", shape=_rank_vector)
def shape_op(x: np.ndarray, *, out_type: np.dtype) -> np.ndarray:
    """x's shape as a vector of ``out_type`` (int32 by default)."""
    return np.array(x.shape, dtype=out_type)


def _shape_n_shape(inputs: list[TensorSpec]) -> list[Shape]:
    return [_rank_vector(x) for x in inputs]


@op("ShapeN", shape=_shape_n_shape)
def shape_n(inputs: list[np.ndarray], *, out_type: np.dtype) -> list[np.ndarray]:
    """The shape of each of N inputs of one dtype, as ``out_type`` vectors."""
    return [shape_op(x, out_type=out_type) for x in inputs]


def _size_shape(x: TensorSpec, *, out_type: np.dtype) -> Shape:
    n = num_elements(x.shape)
    if out_type == INT32 and n is not None and n > _INT32_MAX:
        raise InvalidArgumentError(
            "Number of elements was larger than representable by 32-bit output type"
        )
    return ()


@op("Size", shape=_size_shape)
def size(x: np.ndarray, *, out_type: np.dtype) -> np.ndarray:
    """x's element count as a scalar of ``out_type`` (int32 by default)."""
    _size_shape(spec_of(x), out_type=out_type)
    return np.array(x.size, dtype=out_type)


def _scalar(x: TensorSpec) -> Shape:
    return ()


@op("Rank", shape=_scalar)
def rank(x: np.ndarray) -> np.ndarray:
    """x's number of dims as an int32 scalar."""
    return np.array(x.ndim, dtype=INT32)


def _broadcast_args(s0: list[int], s1: list[int]) -> list[int]:
    # TF's BCast rule on the raw values: equal, or one of them is 1.
    rank = max(len(s0), len(s1))
    xs, ys = [1] * (rank - len(s0)) + s0, [1] * (rank - len(s1)) + s1
    out = []
    for x, y in zip(xs, ys, strict=True):
        if x != y and x != 1 and y != 1:
            raise InvalidArgumentError(
                f"Incompatible shapes: [{','.join(map(str, s0))}] vs. [{','.join(map(str, s1))}]"
            )
        out.append(y if x == 1 else x)
    return out


def _broadcast_args_shape(s0: TensorSpec, s1: TensorSpec) -> Shape:
    for i, spec in enumerate((s0, s1)):
        if spec.shape is not None and len(spec.shape) != 1:
            raise InvalidArgumentError(f"In[{i}] must be a vector.{shape_str(spec.shape)}")
    v0 = read_ints("BroadcastArgs", s0, "s0", ranks=(1,))
    v1 = read_ints("BroadcastArgs", s1, "s1", ranks=(1,))
    if v0 is not None and v1 is not None:
        return (len(_broadcast_args(v0, v1)),)
    lengths = [-1 if s.shape is None else s.shape[0] for s in (s0, s1)]
    return (-1 if min(lengths) < 0 else max(lengths),)


@op("BroadcastArgs", shape=_broadcast_args_shape)
def broadcast_args(s0: np.ndarray, s1: np.ndarray) -> np.ndarray:
    """The shape s0 and s1 broadcast to (dims equal, or one is 1)."""
    checked(_broadcast_args_shape, s0, s1)
    return np.array(_broadcast_args(s0.tolist(), s1.tolist()), dtype=s0.dtype)


@op("Identity", shape=same_shape)
def identity(x: np.ndarray) -> np.ndarray:
    """The input itself, returned as is (not copied)."""
    return x


def _identity_n_shape(inputs: list[TensorSpec]) -> list[Shape]:
    return [x.shape for x in inputs]


@op("IdentityN", shape=_identity_n_shape)
def identity_n(inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The inputs themselves, unchanged."""
    return inputs


def _resolve_reshape(sizes: list[int], dims: Shape) -> tuple[int, ...]:
    unknown = [i for i, s in enumerate(sizes) if s == -1]
    if len(unknown) > 1:
        raise InvalidArgumentError(
            f"Only one input size may be -1, not both {unknown[0]} and {unknown[1]}"
        )
    for i, s in enumerate(sizes):
        if s < -1:
            raise InvalidArgumentError(f"Size {i} must be non-negative, not {s}")
    n = num_elements(dims)
    if n is None or dims is None:
        return tuple(sizes)
    resolved = list(sizes)
    if unknown:
        zero_size = 0 in sizes
        product = math.prod(s for s in sizes if s > 0)
        counted = math.prod(d for d in dims if d > 0 or not zero_size)
        if not (zero_size and 0 in dims) and counted % product:
            raise InvalidArgumentError(
                f"Input to reshape is a tensor with {counted} values, "
                f"but the requested shape requires a multiple of {product}"
            )
        resolved[unknown[0]] = counted // product
    if math.prod(resolved) != n:
        raise InvalidArgumentError(
            f"Input to reshape is a tensor with {n} values, "
            f"but the requested shape has {math.prod(resolved)}"
        )
    return tuple(resolved)


def _reshape_shape(x: TensorSpec, shape: TensorSpec) -> Shape:
    sizes = read_ints("Reshape", shape, "shape")
    return unknown_dims(shape) if sizes is None else _resolve_reshape(sizes, x.shape)


@op("Reshape", shape=_reshape_shape)
def reshape(x: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """x in the shape input; one -1 size is inferred, a scalar shape reads as [n]."""
    return np.reshape(x, checked(_reshape_shape, x, shape))


def _expand_dims_shape(x: TensorSpec, dim: TensorSpec) -> Shape:
    value = read_ints("ExpandDims", dim, "dim")
    if num_elements(dim.shape) not in (None, 1) or (value is not None and len(value) != 1):
        raise InvalidArgumentError("'dim' must be a tensor with a single value")
    if x.shape is None:
        return None
    rank = len(x.shape)
    if value is None:
        return (-1,) * (rank + 1)
    d = value[0]
    if not -rank - 1 <= d <= rank:
        raise InvalidArgumentError(
            f"Tried to expand dim index {d} for tensor with {rank} dimensions."
        )
    d = d + rank + 1 if d < 0 else d
    return (*x.shape[:d], 1, *x.shape[d:])


@op("ExpandDims", shape=_expand_dims_shape)
def expand_dims(x: np.ndarray, dim: np.ndarray) -> np.ndarray:
    """x with a size-1 dim inserted at ``dim`` (negative counts from the end)."""
    return np.reshape(x, checked(_expand_dims_shape, x, dim))


def _squeeze_shape(x: TensorSpec, *, squeeze_dims: list[int]) -> Shape:
    if x.shape is None:
        return None
    rank = len(x.shape)
    wanted = set()
    for d in squeeze_dims:
        if not -rank <= d < rank:
            raise InvalidArgumentError(
                f"Tried to squeeze dim index {d} for tensor with {rank} dimensions."
            )
        wanted.add(d + rank if d < 0 else d)
    dims = []
    for i, n in enumerate(x.shape):
        if n < 0:
            if i in wanted:
                continue  # a size asked to go must be 1; the kernel checks it
            if not wanted:
                return None  # may or may not be a 1
        elif n == 1:
            if i in wanted or not wanted:
                continue
        elif i in wanted:
            raise InvalidArgumentError(
                f"Can not squeeze dim[{i}], expected a dimension of 1, got {n}"
            )
        dims.append(n)
    return tuple(dims)


@op("Squeeze", shape=_squeeze_shape)
def squeeze(x: np.ndarray, *, squeeze_dims: list[int]) -> np.ndarray:
    """x without its size-1 dims, or just ``squeeze_dims``, each of which must be 1."""
    return np.reshape(x, checked(_squeeze_shape, x, squeeze_dims=squeeze_dims))


def _bitcast_shape(x: TensorSpec, *, type: np.dtype) -> Shape:
    if x.shape is None:
        return None
    size, to_size = x.dtype.itemsize, type.itemsize
    if size > to_size:  # each element becomes a vector of smaller ones
        return (*x.shape, size // to_size)
    if size < to_size:  # the last dimension holds the pieces of one element
        ratio = to_size // size
        if not x.shape or x.shape[-1] not in (-1, ratio):
            raise InvalidArgumentError(
                f"Cannot bitcast from {tf_name(x.dtype)} to {tf_name(type)}: shape "
                f"{shape_str(x.shape)}; the last dimension must be {ratio}"
            )
        return x.shape[:-1]
    return x.shape


@op("Bitcast", shape=_bitcast_shape)
def bitcast(x: np.ndarray, *, type: np.dtype) -> np.ndarray:
    """x's bytes reinterpreted as ``type``, no conversion."""
    out = checked(_bitcast_shape, x, type=type)
    return np.ascontiguousarray(x).reshape(-1).view(type).reshape(out)
