"""Reading and writing a tensor at indices: GatherV2, GatherNd, ScatterNd,
TensorScatterUpdate, and OneHot (a scatter of ones).

Where TF differs from NumPy:

- an out-of-range (or negative) index is an error on CPU, with TF's message naming the
  position of the bad index: ``indices[1] = 7 is not in [0, 3)``;
- ScatterNd adds the updates of duplicate indices (strings concatenate, bools or);
  TensorScatterUpdate keeps the last;
- OneHot gives off_value for an index outside [0, depth), negative ones included.

Shape rules check index values only for small int32/int64 index tensors (what the shape
memo keys on); the kernels check every index, vectorised, with the same message.

>>> gather_v2(np.float32([1, 2, 3]), np.int32([2, 0]), np.int32(0), batch_dims=0)
array([3., 1.], dtype=float32)
"""

from __future__ import annotations

import math

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import INDEX, num_elements, shape_str
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import checked, read_ints, spec_of, unknown_dims, zero

_CHECKED_INDICES = 64  # the shape memo's limit on values in a key


def _position(shape: tuple[int, ...], flat: int) -> str:
    """TF's ``[i,j]`` for the flat position ``flat`` of a tensor of ``shape``."""
    if not shape:
        return ""
    return "[" + ",".join(str(int(i)) for i in np.unravel_index(flat, shape)) + "]"


def _small_indices(spec: TensorSpec) -> np.ndarray | None:
    """The indices, when known, int32/int64 and few enough to check in a shape rule."""
    n = num_elements(spec.shape)
    if spec.value is None or spec.dtype not in INDEX or n is None or n > _CHECKED_INDICES:
        return None
    return np.asarray(spec.value, np.int64)


def _check_gather_indices(indices: np.ndarray, limit: int) -> None:
    bad = (indices < 0) | (indices >= limit)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise InvalidArgumentError(
            f"indices{_position(indices.shape, first)} = {indices.flat[first]} "
            f"is not in [0, {limit})"
        )


def _gather_v2_plan(
    params: TensorSpec, indices: TensorSpec, axis: TensorSpec, batch_dims: int
) -> tuple[Shape, int | None]:
    """The output shape and the normalised axis (None while unknown)."""
    values = read_ints("GatherV2", axis, "axis", ranks=(0,))
    if params.shape is not None and len(params.shape) == 0:
        raise InvalidArgumentError("params must be at least 1 dimensional")
    if params.shape is None or indices.shape is None:
        return None, None
    rank, q = len(params.shape), len(indices.shape)
    if not -q <= batch_dims <= q:
        raise InvalidArgumentError(
            f"Expected batch_dims in the range [{-q}, {q}], but got {batch_dims}"
        )
    batch_dims += q if batch_dims < 0 else 0
    if values is None:
        return (-1,) * (rank + q - 1 - batch_dims), None
    if not -rank <= values[0] < rank:
        raise InvalidArgumentError(
            f"Expected axis in the range [{-rank}, {rank}), but got {values[0]}"
        )
    at = values[0] % rank
    if batch_dims > at:
        raise InvalidArgumentError(
            f"batch_dims ({batch_dims}) must be less than or equal to axis ({at})."
        )
    for i in range(batch_dims):
        p, n = params.shape[i], indices.shape[i]
        if p >= 0 and n >= 0 and p != n:
            raise InvalidArgumentError(
                f"params.shape[{i}]: {p} should be equal to indices.shape[{i}]: {n}"
            )
    small = _small_indices(indices)
    if small is not None and params.shape[at] >= 0:
        _check_gather_indices(small, params.shape[at])
    return (*params.shape[:at], *indices.shape[batch_dims:], *params.shape[at + 1 :]), at


def _gather_v2_shape(
    params: TensorSpec, indices: TensorSpec, axis: TensorSpec, *, batch_dims: int
) -> Shape:
    return _gather_v2_plan(params, indices, axis, batch_dims)[0]


@op("GatherV2", shape=_gather_v2_shape)
def gather_v2(
    params: np.ndarray, indices: np.ndarray, axis: np.ndarray, *, batch_dims: int
) -> np.ndarray:
    """tf.gather: slices of params along axis; an out-of-range index is an error."""
    shape, at = _gather_v2_plan(spec_of(params), spec_of(indices), spec_of(axis), batch_dims)
    assert shape is not None and at is not None  # every value is known in a kernel
    _check_gather_indices(indices, params.shape[at])
    batch_dims += indices.ndim if batch_dims < 0 else 0
    if batch_dims == 0:
        # Through a flat index vector: np.take with a 0-d index returns a bare scalar.
        return np.take(params, indices.reshape(-1), axis=at).reshape(shape)
    count = math.prod(params.shape[:batch_dims])
    flat_p = params.reshape(count, *params.shape[batch_dims:])
    flat_i = indices.reshape(count, *indices.shape[batch_dims:])
    out = np.empty((count, *shape[batch_dims:]), dtype=params.dtype)
    for b in range(count):
        out[b] = np.take(flat_p[b], flat_i[b], axis=at - batch_dims)
    return out.reshape(shape)


def _nd_index_error(indices: np.ndarray, shape: tuple[int, ...], what: str) -> None:
    """TF's error for the first row of ``indices`` (rank >= 1) outside ``shape``."""
    depth = indices.shape[-1]
    rows = indices.reshape(math.prod(indices.shape[:-1]), depth)
    bad = ((rows < 0) | (rows >= np.array(shape[:depth], dtype=np.int64))).any(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        coords = ", ".join(str(int(v)) for v in rows[first])
        raise InvalidArgumentError(
            f"indices{_position(indices.shape[:-1], first)} = [{coords}] does not index "
            f"into {what} {shape_str(shape)}"
        )


def _gather_nd_shape(params: TensorSpec, indices: TensorSpec) -> Shape:
    if params.shape is not None and len(params.shape) == 0:
        raise InvalidArgumentError("params must be at least a vector")
    if indices.shape is not None and len(indices.shape) == 0:
        raise InvalidArgumentError("indices must be at least a vector")
    if params.shape is None or indices.shape is None or indices.shape[-1] < 0:
        return None
    depth = indices.shape[-1]
    if depth > len(params.shape):
        raise InvalidArgumentError(
            "index innermost dimension length must be <= params rank; saw: "
            f"{depth} vs. {len(params.shape)}"
        )
    if num_elements(indices.shape[:-1]) and num_elements(params.shape) == 0:
        raise InvalidArgumentError(
            "Requested more than 0 entries, but params is empty.  Params shape: "
            f"{shape_str(params.shape)}"
        )
    small = _small_indices(indices)
    if small is not None and min(params.shape, default=0) >= 0:
        _nd_index_error(small, params.shape, "param shape")
    return (*indices.shape[:-1], *params.shape[depth:])


@op("GatherNd", shape=_gather_nd_shape)
def gather_nd(params: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The params slices the index rows address; out of range is an error."""
    out = checked(_gather_nd_shape, params, indices)
    _nd_index_error(indices, params.shape, "param shape")
    rows = indices.reshape(math.prod(indices.shape[:-1]), indices.shape[-1]).astype(np.intp)
    if rows.shape[1]:
        picked = params[tuple(rows.T)]
    else:  # zero-length index rows address the whole of params
        picked = np.broadcast_to(params, (rows.shape[0], *params.shape))
    return np.array(picked, dtype=params.dtype).reshape(out)


def _scatter_check(
    op_name: str, indices: TensorSpec, updates: TensorSpec, shape: Shape, what: str
) -> None:
    """TF's ScatterNd shape rules between indices, updates and the output ``shape``."""
    if indices.shape is not None and len(indices.shape) == 0:
        raise InvalidArgumentError(f"{op_name}: indices must be at least a vector, got shape []")
    if shape is not None and len(shape) == 0:
        raise InvalidArgumentError(f"{op_name}: Output must be at least 1-D")
    if indices.shape is None or updates.shape is None or shape is None:
        return
    outer, depth = len(indices.shape) - 1, indices.shape[-1]
    if depth >= 0 and depth > len(shape):
        raise InvalidArgumentError(
            f"{op_name}: index innermost dimension length must be <= output rank; saw: "
            f"{depth} vs. {len(shape)}"
        )
    prefix, uprefix = indices.shape[:outer], updates.shape[:outer]
    if len(updates.shape) < outer or any(
        a >= 0 and b >= 0 and a != b for a, b in zip(prefix, uprefix, strict=True)
    ):
        raise InvalidArgumentError(
            f"Dimensions [0,{outer}) of indices[shape={shape_str(indices.shape)}] = "
            f"{shape_str(prefix)} must match dimensions [0,{outer}) of "
            f"updates[shape={shape_str(updates.shape)}]"
        )
    if depth < 0:
        return
    inner, uinner = shape[depth:], updates.shape[outer:]
    if len(inner) != len(uinner) or any(
        a >= 0 and b >= 0 and a != b for a, b in zip(inner, uinner, strict=True)
    ):
        raise InvalidArgumentError(
            f"Dimensions [{depth},{len(shape)}) of {what}[shape={shape_str(shape)}] = "
            f"{shape_str(inner)} must match dimensions [{outer},{len(updates.shape)}) of "
            f"updates[shape={shape_str(updates.shape)}]"
        )
    if num_elements(shape) == 0 and (num_elements(indices.shape) or num_elements(updates.shape)):
        raise InvalidArgumentError(
            f"Indices and updates specified for empty {what}.  indices shape: "
            f"{shape_str(indices.shape)}"
        )
    small = _small_indices(indices)
    if small is not None and min(shape) >= 0:
        _nd_index_error(small, shape, "shape")


def _rows(
    indices: np.ndarray, updates: np.ndarray, shape: tuple[int, ...]
) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """The index rows as a tuple of coordinate arrays, and one update per row."""
    depth = indices.shape[-1]
    rows = indices.reshape(math.prod(indices.shape[:-1]), depth).astype(np.intp)
    return tuple(rows.T), updates.reshape(rows.shape[0], *shape[depth:])


def _scatter_nd_shape(indices: TensorSpec, updates: TensorSpec, shape: TensorSpec) -> Shape:
    dims = read_ints("ScatterNd", shape, "shape", ranks=(1,))
    for i, d in enumerate(dims or ()):
        if d < 0:
            raise InvalidArgumentError(f"ScatterNd: shape[{i}] = {d} must be non-negative")
    out = unknown_dims(shape) if dims is None else tuple(dims)
    _scatter_check("ScatterNd", indices, updates, out, "output")
    return out


@op("ScatterNd", shape=_scatter_nd_shape)
def scatter_nd(indices: np.ndarray, updates: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """updates added into zeros of ``shape``; duplicate indices add up."""
    dims = checked(_scatter_nd_shape, indices, updates, shape)
    _nd_index_error(indices, dims, "shape")
    out = np.full(dims, zero(updates.dtype), dtype=updates.dtype)
    where, values = _rows(indices, updates, dims)
    if where:
        np.add.at(out, where, values)
    else:  # zero-length index rows: every update lands on the whole output
        for value in values:
            out += value
    return out


def _tensor_scatter_update_shape(
    tensor: TensorSpec, indices: TensorSpec, updates: TensorSpec
) -> Shape:
    _scatter_check("TensorScatterUpdate", indices, updates, tensor.shape, "input")
    return tensor.shape


@op("TensorScatterUpdate", shape=_tensor_scatter_update_shape)
def tensor_scatter_update(
    tensor: np.ndarray, indices: np.ndarray, updates: np.ndarray
) -> np.ndarray:
    """A copy of tensor with updates written at indices; of duplicates the last wins."""
    _tensor_scatter_update_shape(spec_of(tensor), spec_of(indices), spec_of(updates))
    _nd_index_error(indices, tensor.shape, "shape")
    out = tensor.copy()
    where, values = _rows(indices, updates, tensor.shape)
    if where:
        out[where] = values  # duplicates: the last update wins, as on TF's CPU
    elif len(values):
        out[...] = values[-1]
    return out


def _one_hot_shape(
    indices: TensorSpec, depth: TensorSpec, on_value: TensorSpec, off_value: TensorSpec,
    *, axis: int,
) -> Shape:  # fmt: skip
    size = read_ints("OneHot", depth, "depth", ranks=(0,))
    for name, spec in (("on_value", on_value), ("off_value", off_value)):
        if spec.shape is not None and len(spec.shape) != 0:
            raise InvalidArgumentError(f"{name} must be a scalar, but got: {shape_str(spec.shape)}")
    if size is not None and size[0] < 0:
        raise InvalidArgumentError(f"depth must be non-negative, got: {size[0]}")
    if indices.shape is None:
        return None
    rank = len(indices.shape) + 1
    if axis != -1 and not 0 <= axis < rank:
        raise InvalidArgumentError(
            f"Expected axis to be -1 or between [0, {rank}).  But received: {axis}"
        )
    at = rank - 1 if axis == -1 else axis
    return (*indices.shape[:at], -1 if size is None else size[0], *indices.shape[at:])


@op("OneHot", shape=_one_hot_shape)
def one_hot(
    indices: np.ndarray, depth: np.ndarray, on_value: np.ndarray, off_value: np.ndarray,
    *, axis: int,
) -> np.ndarray:  # fmt: skip
    """on_value where the index equals the position, else off_value (out of range too)."""
    checked(_one_hot_shape, indices, depth, on_value, off_value, axis=axis)
    hot = indices.astype(np.int64)[..., None] == np.arange(int(depth))
    return np.moveaxis(np.where(hot, on_value, off_value), -1, indices.ndim if axis == -1 else axis)
