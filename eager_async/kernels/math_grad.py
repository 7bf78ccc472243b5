"""Gradient ops a GradientTape sends: activation and cwise grads, BiasAddGrad,
BroadcastGradientArgs, StridedSliceGrad, ListDiff (for Prod's gradient) and the segment
reductions.

TensorFlow 2.21's CPU kernels, where they differ from the textbook formula:

- ReluGrad and Relu6Grad *multiply* by the mask, so a NaN or infinite gradient stays NaN
  where the feature is cut off (``inf * 0``); the other activation grads select;
- the activation grads want both inputs of one shape, the cwise grads (TanhGrad ...
  InvGrad) only the same element count, and give y's shape;
- TanhGrad and SigmoidGrad use y as is for complex y; SqrtGrad, RsqrtGrad and
  ReciprocalGrad (InvGrad) use conj(y), and give 0 where dy is 0 (even for y = 0);
- constants (SELU's scale, LeakyRelu's float32 alpha) are rounded to the tensor's dtype,
  and half types round after every step, as Eigen does;
- Eigen's vector and scalar paths round SigmoidGrad (``dy * (y * (1 - y))`` against
  ``dy * y * (1 - y)``) and SqrtGrad (``dy * (0.5 / y)`` against ``0.5 * dy / y``)
  differently: the leading whole packets (8 floats or halves, 4 doubles) take the first;
- BiasAddGrad adds float16 up in float32 and everything else in its own dtype, bfloat16
  included; NCHW sums each image's channel first, in the dtype, in Eigen's packet order;
- sums and products of segments run in order, in the tensor's dtype (float16 saturates,
  integers wrap); a sorted segment of one row is copied, and SegmentMean divides by the
  count cast to the dtype (integers truncate; a complex NaN part spoils both parts);
- a segment max/min is TF's ``std::max`` fold: a NaN is kept only when nothing follows
  it in its segment. Sorted SegmentMax/Min over at least one whole packet of columns
  take Eigen's vector path for those columns: there NaN is skipped (all-NaN gives -inf,
  +inf for min), unless the segment has one row;
- an empty segment holds 0 in SegmentMax/Min (sorted), but the lowest / highest value
  of the dtype in UnsortedSegmentMax/Min; 1 in either Prod;
- UnsortedSegment* drop negative ids and check the others only when data is not empty.

>>> broadcast_gradient_args(np.int32([2, 3, 4]), np.int32([3, 1]))
(array([], dtype=int32), array([0, 2], dtype=int32))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np

from ..errors import InvalidArgumentError
from ._checks import (
    BFLOAT16,
    COMPLEX,
    FLOAT32,
    FLOATS,
    HALVES,
    INDEX,
    STRING,
    checked_dims,
    concrete_specs,
    known_shape,
    num_elements,
    shape_str,
)
from .registry import Shape, TensorSpec, lookup, op

__all__ = ["broadcast_gradient_args"]

Array = np.ndarray

_PACKET = {np.dtype(np.float16): 8, BFLOAT16: 8, FLOAT32: 8, np.dtype(np.float64): 4}
"""Eigen's packet size, in TF 2.21's x86 build, for the real float types: where TF's
vector and scalar code paths round differently, which elements take which."""

SELU_SCALE = 1.0507009873554804934193349852946
SELU_SCALE_ALPHA = 1.7580993408473768599402175208123


def _const(value: float, dtype: np.dtype) -> Array:
    """``static_cast<T>(value)``: Eigen's half types convert through float32."""
    if dtype in HALVES:
        return np.asarray(np.float32(value), dtype=dtype)
    return np.asarray(value, dtype=dtype)


def _conj(x: Array) -> Array:
    return np.conj(x) if x.dtype in COMPLEX else x


# --- activation grads: both inputs of one shape --------------------------------------


def _same_shape_rule(name: str) -> Callable[..., Shape]:
    def rule(a: TensorSpec, b: TensorSpec, **_: Any) -> Shape:
        return _same_shape(name, a.shape, b.shape)

    return rule


def _same_shape(name: str, a: Shape, b: Shape) -> Shape:
    """TF's ``IsSameSize`` check of the two inputs, on static shapes."""
    if a is None:
        return b
    if b is None:
        return a
    if len(a) != len(b) or any(x >= 0 and y >= 0 and x != y for x, y in zip(a, b, strict=True)):
        raise InvalidArgumentError(
            f"Inputs to operation {name} of type {name} must have the same size and shape.  "
            f"Input 0: {shape_str(a)} != input 1: {shape_str(b)}"
        )
    return tuple(x if x >= 0 else y for x, y in zip(a, b, strict=True))


def _activation_grad(name: str, fn: Callable[[Array, Array], Array]) -> None:
    def kernel(gradients: Array, features: Array) -> Array:
        _same_shape(name, gradients.shape, features.shape)
        with np.errstate(all="ignore"):
            return fn(gradients, features)

    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = f"{name}(gradients, features): see the module doc."
    op(name, shape=_same_shape_rule(name))(kernel)


def _relu_grad(g: Array, f: Array) -> Array:
    return np.asarray(g * (f > 0).astype(g.dtype))


def _relu6_grad(g: Array, f: Array) -> Array:
    return np.asarray(g * ((f > 0) & (f < 6)).astype(g.dtype))


def _elu_grad(g: Array, y: Array) -> Array:
    return np.where(y < 0, g * (y + _const(1, y.dtype)), g)


def _selu_grad(g: Array, y: Array) -> Array:
    scale_alpha, scale = _const(SELU_SCALE_ALPHA, y.dtype), _const(SELU_SCALE, y.dtype)
    return np.asarray(np.where(y < 0, g * (y + scale_alpha), g * scale))


def _softplus_grad(g: Array, f: Array) -> Array:
    return np.asarray(g / (np.exp(-f) + _const(1, f.dtype)))


def _softsign_grad(g: Array, f: Array) -> Array:
    return np.asarray(g / np.square(np.abs(f) + _const(1, f.dtype)))


_activation_grad("ReluGrad", _relu_grad)
_activation_grad("Relu6Grad", _relu6_grad)
_activation_grad("EluGrad", _elu_grad)
_activation_grad("SeluGrad", _selu_grad)
_activation_grad("SoftplusGrad", _softplus_grad)
_activation_grad("SoftsignGrad", _softsign_grad)


@op("LeakyReluGrad", shape=_same_shape_rule("LeakyReluGrad"))
def leaky_relu_grad(gradients: Array, features: Array, *, alpha: float) -> Array:
    """LeakyReluGrad: ``features > 0 ? gradients : gradients * alpha`` (alpha a float32
    attr, cast to the dtype)."""
    _same_shape("LeakyReluGrad", gradients.shape, features.shape)
    scaled = np.asarray(np.float32(alpha)).astype(gradients.dtype)
    with np.errstate(all="ignore"):
        return np.where(features > 0, gradients, gradients * scaled)


# --- cwise grads of y = f(x): same element count, y's shape ---------------------------


def _cwise_size(a: Shape, b: Shape) -> None:
    na, nb = num_elements(a), num_elements(b)
    if na is not None and nb is not None and na != nb:
        raise InvalidArgumentError(
            f"The two arguments to a cwise op must have same number of elements, got {na} "
            f"and {nb}"
        )


def _cwise_rule(y: TensorSpec, dy: TensorSpec) -> Shape:
    _cwise_size(y.shape, dy.shape)
    return y.shape


def _cwise_grad(name: str, fn: Callable[[Array, Array], Array]) -> None:
    def kernel(y: Array, dy: Array) -> Array:
        _cwise_size(y.shape, dy.shape)
        with np.errstate(all="ignore"):
            return fn(y, dy.reshape(y.shape))

    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = f"{name}(y, dy): see the module doc."
    op(name, shape=_cwise_rule)(kernel)


def _zero_where_dy_zero(dy: Array, value: Array) -> Array:
    return np.where(dy == 0, np.zeros((), dy.dtype), value)


def _vector_split(
    y: Array, dy: Array, vector: Callable[[Array, Array], Array],
    scalar: Callable[[Array, Array], Array],
) -> Array:  # fmt: skip
    """Eigen's vector formula for the leading whole packets, its scalar formula for the
    rest (where the two round differently)."""
    packet = _PACKET.get(y.dtype, 0)
    cut = y.size // packet * packet if packet else 0
    if cut == 0:
        return scalar(y, dy)
    if cut == y.size:
        return vector(y, dy)
    flat_y, flat_dy = y.reshape(-1), dy.reshape(-1)
    out = np.empty(y.size, y.dtype)
    out[:cut] = vector(flat_y[:cut], flat_dy[:cut])
    out[cut:] = scalar(flat_y[cut:], flat_dy[cut:])
    return out.reshape(y.shape)


def _tanh_grad(y: Array, dy: Array) -> Array:
    return np.asarray(dy * (_const(1, y.dtype) - y * y))


def _sigmoid_grad(y: Array, dy: Array) -> Array:
    one = _const(1, y.dtype)
    return _vector_split(
        y, dy, lambda y, dy: dy * (y * (one - y)), lambda y, dy: dy * y * (one - y)
    )


def _sqrt_grad(y: Array, dy: Array) -> Array:
    half = _const(0.5, y.dtype)
    value = _vector_split(
        y, dy, lambda y, dy: dy * (half / _conj(y)), lambda y, dy: half * dy / _conj(y)
    )
    return _zero_where_dy_zero(dy, value)


def _rsqrt_grad(y: Array, dy: Array) -> Array:
    c = _conj(y)
    return _zero_where_dy_zero(dy, _const(-0.5, y.dtype) * (dy * c) * (c * c))


def _reciprocal_grad(y: Array, dy: Array) -> Array:
    c = _conj(y)
    return _zero_where_dy_zero(dy, -c * c * dy)


_cwise_grad("TanhGrad", _tanh_grad)
_cwise_grad("SigmoidGrad", _sigmoid_grad)
_cwise_grad("SqrtGrad", _sqrt_grad)
_cwise_grad("RsqrtGrad", _rsqrt_grad)
_cwise_grad("ReciprocalGrad", _reciprocal_grad)
_cwise_grad("InvGrad", _reciprocal_grad)


# --- BiasAddGrad ------------------------------------------------------------------------


def _bias_channels(shape: Shape, data_format: bytes) -> tuple[int]:
    if shape is None:
        return (-1,)
    if len(shape) < 2:
        raise InvalidArgumentError(f"Input tensor must be at least 2D: {shape_str(shape)}")
    return (shape[1] if data_format == b"NCHW" else shape[-1],)


def _bias_add_grad_shape(out_backprop: TensorSpec, *, data_format: bytes) -> Shape:
    return _bias_channels(out_backprop.shape, data_format)


def _rows_in_order(x: Array, dtype: np.dtype) -> Array:
    """The column sums of 2-d ``x`` in ``dtype``, adding the rows one after another."""
    if x.shape[1] == 1:  # NumPy would sum a single column pairwise
        return np.asarray(np.cumsum(x, axis=0, dtype=dtype)[-1])
    return np.asarray(x.sum(axis=0, dtype=dtype))


def _inner_sums(x: Array) -> Array:
    """The row sums of 2-d ``x`` in its dtype, in the order of Eigen's vectorized
    inner-most reduction: whole packets added up lane by lane, the leftover elements one
    by one, then the lanes (in float32 for half types) and the leftovers together.
    Bit for bit TF's order for rows under 64 elements; longer rows (which Eigen splits
    further) agree to rounding."""
    dtype = x.dtype
    packet = _PACKET.get(dtype, 0)
    if not packet:
        return np.asarray(x.sum(axis=1, dtype=dtype))
    whole = x.shape[1] // packet * packet
    rest = np.zeros(x.shape[0], dtype)
    for j in range(whole, x.shape[1]):
        rest = rest + x[:, j]
    if whole == 0:
        return rest
    lanes = np.zeros((x.shape[0], packet), dtype)
    for j in range(0, whole, packet):
        lanes = lanes + x[:, j : j + packet]
    wide = lanes.astype(FLOAT32) if dtype in HALVES else lanes
    while wide.shape[1] > 1:
        half = wide.shape[1] // 2
        wide = wide[:, :half] + wide[:, half:]
    return np.asarray(rest + wide[:, 0].astype(dtype))


@op("BiasAddGrad", shape=_bias_add_grad_shape)
def bias_add_grad(out_backprop: Array, *, data_format: bytes) -> Array:
    """BiasAddGrad: the sum over every axis but the channel axis (last in NHWC, 1 in NCHW)."""
    (channels,) = _bias_channels(out_backprop.shape, data_format)
    dtype = out_backprop.dtype
    if out_backprop.size == 0:
        return np.zeros(channels, dtype)
    # TF adds float16 up in float32, every other dtype in itself (bfloat16 too).
    acc = FLOAT32 if dtype == np.dtype(np.float16) else dtype
    shape = out_backprop.shape
    with np.errstate(all="ignore"):
        if data_format == b"NCHW":
            # Each image's channel first (in the dtype), then over the batch.
            rows = out_backprop.reshape(shape[0] * channels, math.prod(shape[2:]))
            per_image = _inner_sums(rows).reshape(shape[0], channels)
            total = _rows_in_order(per_image.astype(acc), acc)
        else:
            total = _rows_in_order(out_backprop.reshape(-1, channels).astype(acc), acc)
    return total.astype(dtype)


# --- BroadcastGradientArgs --------------------------------------------------------------


def _grad_reduce_indices(s0: list[int], s1: list[int]) -> tuple[list[int], list[int]]:
    """TF's BCast: the axes of the broadcast shape each input was stretched along."""
    if s0 == s1:
        return [], []
    rank = max(len(s0), len(s1))
    x = [1] * (rank - len(s0)) + s0
    y = [1] * (rank - len(s1)) + s1
    r0: list[int] = []
    r1: list[int] = []
    for axis, (a, b) in enumerate(zip(x, y, strict=True)):
        if a != 1 and b != 1 and a != b:
            raise InvalidArgumentError(
                f"Incompatible shapes: [{','.join(map(str, s0))}] vs. [{','.join(map(str, s1))}]"
            )
        if a == 1:
            r0.append(axis)
        if b == 1:
            r1.append(axis)
    return r0, r1


def _vector_input(index: int, shape: Shape) -> None:
    if shape is not None and len(shape) != 1:
        raise InvalidArgumentError(f"In[{index}] must be a vector.{shape_str(shape)}")


def _broadcast_gradient_args_shape(s0: TensorSpec, s1: TensorSpec) -> tuple[Shape, Shape]:
    _vector_input(0, s0.shape)
    _vector_input(1, s1.shape)
    if s0.value is None or s1.value is None:
        return (-1,), (-1,)
    r0, r1 = _grad_reduce_indices(s0.value.tolist(), s1.value.tolist())
    return (len(r0),), (len(r1),)


@op("BroadcastGradientArgs", shape=_broadcast_gradient_args_shape)
def broadcast_gradient_args(s0: Array, s1: Array) -> tuple[Array, Array]:
    """BroadcastGradientArgs: the axes to sum each input's gradient over, ascending;
    none at all when the shapes are equal."""
    _vector_input(0, s0.shape)
    _vector_input(1, s1.shape)
    r0, r1 = _grad_reduce_indices(s0.tolist(), s1.tolist())
    return np.array(r0, s0.dtype), np.array(r1, s0.dtype)


# --- StridedSliceGrad -------------------------------------------------------------------


def _ssg_check(
    shape: TensorSpec, begin: TensorSpec, end: TensorSpec, strides: TensorSpec,
    dy: TensorSpec, masks: dict[str, int],
) -> Shape:  # fmt: skip
    """The original input's shape (the ``shape`` input), once the slice is checked as
    StridedSlice checks it and dy is checked to have the slice's shape."""
    if shape.shape is not None and len(shape.shape) != 1:
        raise InvalidArgumentError(
            f"shape must be 1-D, got shape.shape = {shape_str(shape.shape)}"
        )
    known = [s for s in (begin.shape, end.shape, strides.shape) if s is not None]
    lengths = {s[0] for s in known if len(s) == 1 and s[0] >= 0}
    if any(len(s) != 1 for s in known) or len(lengths) > 1 or max(lengths, default=0) >= 32:
        raise InvalidArgumentError(
            "Expected begin, end, and strides to be 1D equal size tensors, but got shapes "
            f"{shape_str(begin.shape)}, {shape_str(end.shape)}, and "
            f"{shape_str(strides.shape)} instead."
        )
    x_shape: Shape = None
    if shape.value is not None:
        x_shape = tuple(int(d) for d in shape.value)
        for d in x_shape:
            if d < 0:
                raise InvalidArgumentError(f"Dimension {d} must be >= 0")
    elif shape.shape is not None and shape.shape[0] >= 0:
        x_shape = (-1,) * shape.shape[0]
    ellipsis, new_axis = masks["ellipsis_mask"], masks["new_axis_mask"]
    indexes = ~(ellipsis | new_axis) & ((1 << min(lengths, default=0)) - 1)
    if x_shape == () and indexes and not ellipsis & (ellipsis - 1):
        # TF's own words for an index that names a dimension of a scalar.
        raise InvalidArgumentError("Attempting to slice scalar input.")
    if x_shape is not None:
        x = TensorSpec(dy.dtype, x_shape)
        (sliced,) = lookup("StridedSlice").shapes([x, begin, end, strides], masks)
        want, got = sliced.shape, dy.shape
        if want is not None and got is not None and (
            len(want) != len(got)
            or any(w >= 0 and g >= 0 and w != g for w, g in zip(want, got, strict=True))
        ):
            raise InvalidArgumentError(
                f"shape of dy was {shape_str(got)} instead of {shape_str(want)}"
            )
    return x_shape


def _strided_slice_grad_shape(
    shape: TensorSpec, begin: TensorSpec, end: TensorSpec, strides: TensorSpec,
    dy: TensorSpec, *, begin_mask: int, end_mask: int, ellipsis_mask: int,
    new_axis_mask: int, shrink_axis_mask: int,
) -> Shape:  # fmt: skip
    masks = {
        "begin_mask": begin_mask, "end_mask": end_mask, "ellipsis_mask": ellipsis_mask,
        "new_axis_mask": new_axis_mask, "shrink_axis_mask": shrink_axis_mask,
    }  # fmt: skip
    return _ssg_check(shape, begin, end, strides, dy, masks)


@op("StridedSliceGrad", shape=_strided_slice_grad_shape)
def strided_slice_grad(
    shape: Array, begin: Array, end: Array, strides: Array, dy: Array, *, begin_mask: int,
    end_mask: int, ellipsis_mask: int, new_axis_mask: int, shrink_axis_mask: int,
) -> Array:  # fmt: skip
    """StridedSliceGrad: zeros of ``shape`` with dy written where StridedSlice with the
    same arguments reads (StridedSlice's own kernel finds the places)."""
    masks = {
        "begin_mask": begin_mask, "end_mask": end_mask, "ellipsis_mask": ellipsis_mask,
        "new_axis_mask": new_axis_mask, "shrink_axis_mask": shrink_axis_mask,
    }  # fmt: skip
    specs = concrete_specs([shape, begin, end, strides, dy])
    dims = _ssg_check(specs[0], specs[1], specs[2], specs[3], specs[4], masks)
    assert dims is not None
    out = np.full(dims, b"", dtype=STRING) if dy.dtype == STRING else np.zeros(dims, dy.dtype)
    if dy.size == 0:
        return out
    if not dims:  # a scalar input: dy is its one element, under new axes
        out[...] = dy.reshape(())
        return out
    # Where each element of the slice comes from, one input axis at a time: StridedSlice
    # of a (broadcast, never materialized) grid of that axis's coordinates.
    coords = []
    for axis, size in enumerate(dims):
        grid = np.arange(size).reshape([size if a == axis else 1 for a in range(len(dims))])
        (picked,) = lookup("StridedSlice").run(
            [np.broadcast_to(grid, dims), begin, end, strides], masks
        )
        coords.append(picked)
    out[tuple(coords)] = dy
    return out


# --- ListDiff ---------------------------------------------------------------------------


def _list_diff_check(x: Shape, y: Shape) -> None:
    if x is not None and len(x) != 1:
        raise InvalidArgumentError("x should be a 1D vector.")
    if y is not None and len(y) != 1:
        raise InvalidArgumentError("y should be a 1D vector.")


def _list_diff_shape(x: TensorSpec, y: TensorSpec, **_: Any) -> tuple[Shape, Shape]:
    _list_diff_check(x.shape, y.shape)
    return (-1,), (-1,)


@op("ListDiff", shape=_list_diff_shape)
def list_diff(x: Array, y: Array, *, out_idx: np.dtype) -> tuple[Array, Array]:
    """ListDiff: the values of x not in y, in x's order, and where they are in x
    (NaN is never in y; -0.0 and 0.0 are one value)."""
    _list_diff_check(x.shape, y.shape)
    if x.dtype == STRING:
        seen = set(y.tolist())
        keep = np.array([v not in seen for v in x.tolist()], dtype=bool).reshape(x.shape)
    else:
        wide = FLOAT32 if x.dtype in HALVES else x.dtype
        keep = ~np.isin(x.astype(wide), y.astype(wide))
    (idx,) = np.nonzero(keep)
    return x[idx], idx.astype(out_idx)


# --- segment reductions -----------------------------------------------------------------


def _finfo(dtype: np.dtype) -> Any:
    if dtype == BFLOAT16:
        return ml_dtypes.finfo(dtype)  # type: ignore[no-untyped-call]
    return np.finfo(dtype)


def _lowest(dtype: np.dtype) -> Any:
    return -_finfo(dtype).max if dtype in FLOATS else np.iinfo(dtype).min


def _highest(dtype: np.dtype) -> Any:
    return _finfo(dtype).max if dtype in FLOATS else np.iinfo(dtype).max


def _extreme_fold(rows: Array, ids: Array, num: int, is_max: bool) -> Array:
    """Per segment, TF's fold ``out = std::max(x, out)`` (or min) in row order, starting
    from the lowest (highest) value: a NaN survives only as the segment's last element."""
    dtype = rows.dtype
    init = _lowest(dtype) if is_max else _highest(dtype)
    ufunc = np.maximum if is_max else np.minimum
    out = np.full((num, rows.shape[1]), init, dtype)
    nan = np.isnan(rows) if dtype in FLOATS else None
    if nan is None or not nan.any():
        ufunc.at(out, ids, rows)
        return out
    order = np.arange(len(ids))
    last_nan = np.full(out.shape, -1, np.intp)
    np.maximum.at(last_nan, ids, np.where(nan, order[:, None], -1))
    after = order[:, None] > last_nan[ids]
    ufunc.at(out, ids, np.where(after, rows, np.asarray(init, dtype)))
    last_row = np.full(num, -1, np.intp)
    np.maximum.at(last_row, ids, order)
    out[(last_nan >= 0) & (last_nan == last_row[:, None])] = np.nan
    return out


def _slice_str(shape: tuple[int, ...], flat: int) -> str:
    if not shape:
        return ""
    return "[" + ",".join(str(int(i)) for i in np.unravel_index(flat, shape)) + "]"


def _unsorted_check(
    data: Shape, ids: Shape, num_shape: Shape, num: int | None, ids_values: Array | None
) -> Shape:
    """TF's checks of an UnsortedSegment* call, in its order; the output shape."""
    if num_shape is not None and len(num_shape) != 0:
        raise InvalidArgumentError(
            f"num_segments should be a scalar, not shape {shape_str(num_shape)}"
        )
    if data is not None and ids is not None and (
        len(ids) > len(data)
        or any(i >= 0 and d >= 0 and i != d for i, d in zip(ids, data, strict=False))
    ):
        raise InvalidArgumentError(
            f"data.shape = {shape_str(data)} does not start with segment_ids.shape = "
            f"{shape_str(ids)}"
        )
    if num is not None and num < 0:
        raise InvalidArgumentError(f"Input num_segments == {num} must not be negative.")
    # TF checks the ids only while reducing, which an empty data tensor skips.
    if ids_values is not None and num is not None and num_elements(data) != 0:
        flat = ids_values.reshape(-1)
        bad = flat >= num
        if bad.any():
            at = int(np.argmax(bad))
            raise InvalidArgumentError(
                f"segment_ids{_slice_str(ids_values.shape, at)} = {flat[at]} is out of range "
                f"[0, {num})"
            )
    if data is None or ids is None:
        return None
    return (-1 if num is None else num, *data[len(ids):])


def _unsorted_shape(data: TensorSpec, segment_ids: TensorSpec, num_segments: TensorSpec) -> Shape:
    num = None
    if num_segments.value is not None and num_segments.value.ndim == 0:
        num = int(num_segments.value)
    values = segment_ids.value if segment_ids.dtype in INDEX else None
    return _unsorted_check(data.shape, segment_ids.shape, num_segments.shape, num, values)


def _unsorted(name: str, reduce: Callable[[Array, Array, int], Array]) -> None:
    def kernel(data: Array, segment_ids: Array, num_segments: Array) -> Array:
        _unsorted_check(data.shape, segment_ids.shape, num_segments.shape, None, None)
        num = int(num_segments)
        shape = _unsorted_check(data.shape, segment_ids.shape, (), num, segment_ids)
        shape = checked_dims(known_shape(shape))
        inner = data.shape[segment_ids.ndim:]
        rows = data.reshape(segment_ids.size, math.prod(inner))
        ids = segment_ids.reshape(-1).astype(np.intp)
        kept = ids >= 0 if data.size else np.zeros(len(ids), bool)  # nothing to reduce
        with np.errstate(all="ignore"):
            out = reduce(rows[kept], ids[kept], num)
        return out.reshape(shape)

    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = f"{name}(data, segment_ids, num_segments): see the module doc."
    op(name, shape=_unsorted_shape)(kernel)


def _filled_at(init: Any, ufunc: np.ufunc) -> Callable[[Array, Array, int], Array]:
    def reduce(rows: Array, ids: Array, num: int) -> Array:
        out = np.full((num, rows.shape[1]), init, rows.dtype)
        ufunc.at(out, ids, rows)
        return out

    return reduce


_unsorted("UnsortedSegmentSum", _filled_at(0, np.add))
_unsorted("UnsortedSegmentProd", _filled_at(1, np.multiply))
_unsorted("UnsortedSegmentMax", lambda rows, ids, num: _extreme_fold(rows, ids, num, True))
_unsorted("UnsortedSegmentMin", lambda rows, ids, num: _extreme_fold(rows, ids, num, False))


def _sorted_check(data: Shape, ids: Shape, values: Array | None) -> int | None:
    """TF's checks of a sorted Segment* call, in its order; the number of output rows."""
    if data is not None and len(data) == 0:
        raise InvalidArgumentError("input must be at least rank 1")
    if ids is not None and len(ids) != 1:
        raise InvalidArgumentError("segment_ids should be a vector.")
    if data is not None and ids is not None and min(data[0], ids[0]) >= 0 and data[0] != ids[0]:
        raise InvalidArgumentError(
            "segment_ids should be the same size as dimension 0 of input."
        )
    if values is None:
        return None
    if values.size == 0:
        return 0
    rows = int(values[-1]) + 1
    if rows <= 0 or rows > np.iinfo(values.dtype).max:  # TF adds 1 in the ids' type
        raise InvalidArgumentError("segment ids must be >= 0")
    starts = np.flatnonzero(np.diff(values)) + 1
    runs = values[np.concatenate([[0], starts])]
    decreasing = np.flatnonzero(runs[1:] < runs[:-1])
    outside = np.flatnonzero((runs < 0) | (runs >= rows))
    if decreasing.size and (not outside.size or decreasing[0] <= outside[0]):
        raise InvalidArgumentError("segment ids are not increasing")
    if outside.size:
        raise InvalidArgumentError(
            f"Segment id {runs[outside[0]]} out of range [0, {rows}), possibly because "
            "'segment_ids' input is not sorted."
        )
    return rows


def _sorted_shape(data: TensorSpec, segment_ids: TensorSpec) -> Shape:
    rows = _sorted_check(data.shape, segment_ids.shape, segment_ids.value)
    if data.shape is None:
        return None
    return (-1 if rows is None else rows, *data.shape[1:])


def _sorted(name: str, reduce: Callable[[Array, Array, int, Array], Array]) -> None:
    def kernel(data: Array, segment_ids: Array) -> Array:
        num = _sorted_check(data.shape, segment_ids.shape, segment_ids)
        assert num is not None
        if data.size == 0:  # rows of no elements: nothing to count or reduce
            return np.zeros(checked_dims((num, *data.shape[1:])), data.dtype)
        rows = data.reshape(data.shape[0], math.prod(data.shape[1:]))
        ids = segment_ids.astype(np.intp)
        counts = np.bincount(ids, minlength=num)
        with np.errstate(all="ignore"):
            out = reduce(rows, ids, num, counts)
        return out.reshape((num, *data.shape[1:]))

    kernel.__name__ = kernel.__qualname__ = name
    kernel.__doc__ = f"{name}(data, segment_ids): see the module doc."
    op(name, shape=_sorted_shape)(kernel)


def _copy_single_rows(out: Array, rows: Array, ids: Array, counts: Array) -> Array:
    """TF copies a segment of one row rather than reducing it (-0.0 stays -0.0)."""
    single = counts[ids] == 1
    out[ids[single]] = rows[single]
    return out


def _segment_sum(rows: Array, ids: Array, num: int, counts: Array) -> Array:
    return _copy_single_rows(_filled_at(0, np.add)(rows, ids, num), rows, ids, counts)


def _segment_prod(rows: Array, ids: Array, num: int, counts: Array) -> Array:
    return _filled_at(1, np.multiply)(rows, ids, num)


def _segment_mean(rows: Array, ids: Array, num: int, counts: Array) -> Array:
    total = _filled_at(0, np.add)(rows, ids, num)
    dtype = rows.dtype
    count = np.maximum(counts, 1).astype(dtype)[:, None]  # T(count), as TF divides
    if dtype.kind in "iu":  # C++ division truncates toward zero
        mean = (total - np.fmod(total, count)) // count
    elif dtype in COMPLEX:
        # (a + bi) / (c + 0i) as C++ divides: a NaN (or inf) part spoils both parts.
        c = count.real
        mean = ((total.real + total.imag * 0) / c + 1j * ((total.imag - total.real * 0) / c))
        mean = mean.astype(dtype)
    else:
        mean = total / count
    return _copy_single_rows(mean, rows, ids, counts)


def _segment_extreme(is_max: bool) -> Callable[[Array, Array, int, Array], Array]:
    def reduce(rows: Array, ids: Array, num: int, counts: Array) -> Array:
        out = _extreme_fold(rows, ids, num, is_max)
        columns = rows.shape[1]
        packet = _PACKET.get(rows.dtype, 0)
        vector = columns // packet * packet if packet else 0
        if vector:
            # Eigen's vector path: ``accum = max(accum, x)`` from -inf skips NaN.
            init = -np.inf if is_max else np.inf
            skipping = np.full((num, vector), init, rows.dtype)
            (np.fmax if is_max else np.fmin).at(skipping, ids, rows[:, :vector])
            several = counts > 1
            out[several, :vector] = skipping[several]
        out[counts == 0] = 0
        return out

    return reduce


_sorted("SegmentSum", _segment_sum)
_sorted("SegmentMean", _segment_mean)
_sorted("SegmentProd", _segment_prod)
_sorted("SegmentMax", _segment_extreme(True))
_sorted("SegmentMin", _segment_extreme(False))
