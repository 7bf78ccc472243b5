"""Gradients of the pools, as TensorFlow 2.21's CPU kernels compute them (its reference
kernels): MaxPoolGrad, MaxPoolGradV2 and AvgPoolGrad. NHWC only, as on TF's CPU.

Where TF's CPU kernels differ from the textbook gradient:

- MaxPoolGrad recomputes the forward pass from ``orig_input``; ``orig_output`` only has
  to have the right shape. A window's gradient goes to its first element in row-major
  order unless a later one is strictly greater: ties go to the first maximum, and NaN
  wins only as the window's first element (nothing compares greater than it, and it
  compares greater than nothing). Gradients landing on one element add in output order,
  in the tensor's dtype. ``explicit_paddings`` is only read with EXPLICIT padding. A
  ksize of 0 with a non-empty input makes TF's kernel write outside its buffer (it can
  abort the process); it is INVALID_ARGUMENT here.
- AvgPoolGrad loops over ``grad``'s own rows and columns (a smaller ``grad`` leaves zeros)
  and spreads each value over the window as TF's ``GetBroadcastSize`` clips it: a window
  wider than the input that starts in the padding is widened back to
  ``min(ksize, input size)`` elements, so it reaches (and divides by) elements the forward
  window never averaged. Each value is multiplied by ``1 / count`` rounded to the dtype,
  then added, output by output, in the dtype.

>>> dy = np.ones((1, 2, 2, 1), np.float32)
>>> avg_pool_grad(np.array([1, 3, 3, 1], np.int32), dy, ksize=[1, 2, 2, 1],
...               strides=[1, 1, 1, 1], padding=b"VALID", data_format=b"NHWC").ravel().tolist()
[0.25, 0.5, 0.25, 0.5, 1.0, 0.5, 0.25, 0.5, 0.25]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import InvalidArgumentError, UnimplementedError
from .._checks import FLOAT32, checked_dims, concrete_specs, shape_str
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import (
    UNKNOWN4,
    Windows,
    checked_window,
    dims4,
    explicit_pads,
    int_list,
    known,
    specs3,
)

__all__ = ["avg_pool_grad", "max_pool_grad", "max_pool_grad_v2"]

_F64 = np.dtype(np.float64)
Ints = Sequence[int] | None
"""ksize or strides; None for a MaxPoolGradV2 input whose value is not known yet."""
Span = tuple[int, int, int, int, int, int]
"""A gradient's row and column, and the first row, row count, first column and column
count it spreads over."""


def _pool_attrs(name: str, data_format: bytes, ksize: Ints, strides: Ints) -> None:
    """What TF's CPU pooling gradients check of the layout, ksize and strides."""
    if data_format != b"NHWC":
        raise InvalidArgumentError(f"Default {name} only supports NHWC on device type CPU")
    if ksize is not None and len(ksize) != 4:
        raise InvalidArgumentError("Sliding window ksize field must specify 4 dimensions")
    if strides is not None and len(strides) != 4:
        raise InvalidArgumentError("Sliding window strides field must specify 4 dimensions")
    if (ksize is not None and ksize[0] != 1) or (strides is not None and strides[0] != 1):
        raise UnimplementedError("Pooling is not yet supported on the batch dimension.")


def _max_pool_attrs(data_format: bytes, ksize: Ints, strides: Ints) -> None:
    _pool_attrs("MaxPoolingGradOp", data_format, ksize, strides)
    if (ksize is not None and ksize[3] != 1) or (strides is not None and strides[3] != 1):
        raise UnimplementedError("MaxPoolingGrad is not yet supported on the depth dimension.")


def _max_pool_plan(x: Shape, y: Shape, dy: Shape, ksize: Ints, strides: Ints, padding: bytes,
                   explicit: Sequence[int]) -> Windows | None:
    """MaxPoolGrad's checks of its inputs, in TF's order (after those of its attrs); the
    windows once ksize and strides are known."""
    for what, shape in (("tensor_in", x), ("tensor_out", y), ("out_backprop", dy)):
        if shape is not None and len(shape) != 4:
            raise InvalidArgumentError(f"{what} must be 4-dimensional")
    _max_pool_attrs(b"NHWC", ksize, strides)
    if ksize is None or strides is None:
        return None
    pads = explicit_pads(padding, explicit) if padding == b"EXPLICIT" else ((0, 0), (0, 0))
    sides = (("Top", pads[0][0], ksize[1]), ("Bottom", pads[0][1], ksize[1]),
             ("Left", pads[1][0], ksize[2]), ("Right", pads[1][1], ksize[2]))
    for side, pad, k in sides:
        if padding == b"EXPLICIT" and pad >= k:
            raise InvalidArgumentError(
                f"{side} padding {pad} needs to be smaller than the window size {k}"
            )
    n, h, w, c = dims4(x)
    rows = checked_window(h, ksize[1], strides[1], padding, pads[0])
    cols = checked_window(w, ksize[2], strides[2], padding, pads[1])
    want = (n, rows.out, cols.out, c)
    for what, shape in (("orig_output", y), ("grad", dy)):
        pairs = zip(want, shape or want, strict=True)
        if any(known(a, b) and a != b for a, b in pairs):
            raise InvalidArgumentError(
                f"Expected {what} shape to be {shape_str(want)}, but got {shape_str(shape)}"
            )
    if min(ksize) <= 0 and x is not None and min(x) > 0 and dy is not None and min(dy) > 0:
        # TF's kernel then writes through the index -1, outside its buffer.
        raise InvalidArgumentError(f"MaxPoolGrad: ksize must be positive, got {list(ksize)}")
    return rows, cols


def _max_pool_grad(x: np.ndarray, dy: np.ndarray, wins: Windows, ksize: Sequence[int],
                   strides: Sequence[int]) -> np.ndarray:
    """Each window's gradient onto the element TF's argmax scan picks."""
    n, h, w, c = x.shape
    rows, cols = wins
    if x.size == 0 or dy.size == 0:
        return np.zeros(x.shape, x.dtype)
    best = np.zeros(dy.shape, x.dtype)
    where = np.full(dy.shape, -1, np.int64)
    top = np.arange(rows.out) * strides[1] - rows.before
    left = np.arange(cols.out) * strides[2] - cols.before
    with np.errstate(invalid="ignore"):
        for i, j in np.ndindex(ksize[1], ksize[2]):
            r, q = top + i, left + j
            inside = ((r >= 0) & (r < h))[:, None] & ((q >= 0) & (q < w))[None, :]
            r, q = np.clip(r, 0, h - 1), np.clip(q, 0, w - 1)
            value = x[:, r][:, :, q]
            # The window's first real element always takes it; a later one only when
            # strictly greater.
            take = inside[None, :, :, None] & ((where < 0) | (best < value))
            best = np.where(take, value, best)
            where = np.where(take, (r[:, None] * w + q[None, :])[None, :, :, None], where)
    grad = np.zeros((n, h * w, c), x.dtype)
    batch, depth = np.arange(n)[:, None, None, None], np.arange(c)
    # ufunc.at adds in index order (TF's output order), rounding each add to the dtype.
    np.add.at(grad, (batch, where, depth), dy)
    return grad.reshape(x.shape)


def _max_pool_rule(orig_input: TensorSpec, orig_output: TensorSpec, grad: TensorSpec, *,
                   ksize: list[int], strides: list[int], padding: bytes,
                   explicit_paddings: list[int], data_format: bytes) -> Shape:
    _max_pool_attrs(data_format, ksize, strides)
    if padding == b"EXPLICIT":
        explicit_pads(padding, explicit_paddings)
    _max_pool_plan(orig_input.shape, orig_output.shape, grad.shape, ksize, strides, padding,
                   explicit_paddings)
    return dims4(orig_input.shape)


@op("MaxPoolGrad", shape=_max_pool_rule)
def max_pool_grad(orig_input: np.ndarray, orig_output: np.ndarray, grad: np.ndarray, *,
                  ksize: list[int], strides: list[int], padding: bytes,
                  explicit_paddings: list[int], data_format: bytes) -> np.ndarray:
    """MaxPool's gradient: each window's gradient goes to the element the forward pass
    picked, recomputed from ``orig_input`` (the first maximum in row-major order).

    >>> x = np.array([[1, 3], [3, 2]], np.float32).reshape(1, 2, 2, 1)
    >>> max_pool_grad(x, np.zeros((1, 1, 1, 1), np.float32), np.ones((1, 1, 1, 1), np.float32),
    ...     ksize=[1, 2, 2, 1], strides=[1, 1, 1, 1], padding=b"VALID", explicit_paddings=[],
    ...     data_format=b"NHWC").ravel().tolist()
    [0.0, 1.0, 0.0, 0.0]
    """
    _max_pool_rule(*specs3(orig_input, orig_output, grad), ksize=ksize,
                   strides=strides, padding=padding, explicit_paddings=explicit_paddings,
                   data_format=data_format)
    wins = _max_pool_plan(orig_input.shape, orig_output.shape, grad.shape, ksize, strides,
                          padding, explicit_paddings)
    assert wins is not None
    return _max_pool_grad(orig_input, grad, wins, ksize, strides)


def _max_pool_v2_rule(orig_input: TensorSpec, orig_output: TensorSpec, grad: TensorSpec,
                      ksize: TensorSpec, strides: TensorSpec, *, padding: bytes,
                      data_format: bytes) -> Shape:
    _pool_attrs("MaxPoolingGradOp", data_format, None, None)
    _max_pool_plan(orig_input.shape, orig_output.shape, grad.shape, int_list(ksize),
                   int_list(strides), padding, ())
    return dims4(orig_input.shape)


@op("MaxPoolGradV2", shape=_max_pool_v2_rule)
def max_pool_grad_v2(orig_input: np.ndarray, orig_output: np.ndarray, grad: np.ndarray,
                     ksize: np.ndarray, strides: np.ndarray, *, padding: bytes,
                     data_format: bytes) -> np.ndarray:
    """MaxPoolGrad with ksize and strides as int32 tensors (read flattened)."""
    k, s = [int(v) for v in ksize.ravel()], [int(v) for v in strides.ravel()]
    _pool_attrs("MaxPoolingGradOp", data_format, None, None)
    wins = _max_pool_plan(orig_input.shape, orig_output.shape, grad.shape, k, s, padding, ())
    assert wins is not None
    return _max_pool_grad(orig_input, grad, wins, k, s)


def _avg_pool_plan(sizes: TensorSpec, dy: Shape, ksize: list[int], strides: list[int],
                   padding: bytes, data_format: bytes, spans: bool = False
                   ) -> tuple[tuple[int, ...], list[Span]]:  # fmt: skip
    """AvgPoolGrad's checks in TF's order, as far as what is known allows; the output's
    shape and, once everything is known and ``spans`` asks for them (the kernel; a shape
    rule must not build a list as long as grad), the spans of grad's rows and columns."""
    _pool_attrs("AvgPoolingGradOp", data_format, ksize, strides)
    if sizes.shape is not None and (len(sizes.shape) != 1 or sizes.shape[0] not in (-1, 4)):
        raise InvalidArgumentError("out_backprop must be 1-dimensional and 4 elements")
    if dy is not None and len(dy) != 4:
        raise InvalidArgumentError("out_backprop must be 4-dimensional")
    values = int_list(sizes)
    if values is None:
        return UNKNOWN4, []
    for size in values:
        if size < 0:
            raise InvalidArgumentError(f"Expected a non-negative size, got {size}")
    shape = checked_dims(values)
    if min(shape) == 0:
        return shape, []
    if ksize[3] != 1:
        raise UnimplementedError("Non-spatial pooling is not yet supported. Volunteers? :)")
    n, h, w, c = shape
    rows = checked_window(h, ksize[1], strides[1], padding)
    cols = checked_window(w, ksize[2], strides[2], padding)
    if dy is None or min(dy) < 0:
        return shape, []
    # TF checks every row, then every column: the last ones reach the furthest.
    if dy[1]:
        _broadcast(dy[1] - 1, h, ksize[1], strides[1], rows.before)
        if dy[2]:
            _broadcast(dy[2] - 1, w, ksize[2], strides[2], cols.before)
    if dy[0] > n or dy[3] != c:
        # TF indexes its buffers by grad's batch and depth: a mismatch reads out of place.
        raise InvalidArgumentError(
            f"AvgPoolGrad: grad of shape {shape_str(dy)} does not fit an input of shape "
            f"{shape_str(shape)}"
        )
    if not spans:
        return shape, []
    spans_r = [_broadcast(r, h, ksize[1], strides[1], rows.before) for r in range(dy[1])]
    spans_c = [_broadcast(q, w, ksize[2], strides[2], cols.before) for q in range(dy[2])]
    return shape, [(r, q, *span_r, *span_c) for r, span_r in enumerate(spans_r)
                   for q, span_c in enumerate(spans_c)]


def _broadcast(index: int, size: int, k: int, stride: int, pad: int) -> tuple[int, int]:
    """TF's ``GetBroadcastSize``: where one gradient row (column) starts, and how far it
    spreads."""
    if index * stride > size:
        raise InvalidArgumentError("index * stride must be less than or equal to input size")
    start = index * stride - pad
    count = k if start >= 0 else k + start
    start = max(start, 0)
    if start + k > size:
        count = min(size - start, k)  # overrides the clip at the start (TF's quirk)
    return start, count


def _avg_pool_rule(orig_input_shape: TensorSpec, grad: TensorSpec, *, ksize: list[int],
                   strides: list[int], padding: bytes, data_format: bytes) -> Shape:
    return _avg_pool_plan(orig_input_shape, grad.shape, ksize, strides, padding, data_format)[0]


@op("AvgPoolGrad", shape=_avg_pool_rule)
def avg_pool_grad(orig_input_shape: np.ndarray, grad: np.ndarray, *, ksize: list[int],
                  strides: list[int], padding: bytes, data_format: bytes) -> np.ndarray:
    """AvgPool's gradient: each gradient divided by its window's count of real elements
    and added to each of them, output by output, in the dtype."""
    (sizes,) = concrete_specs((orig_input_shape,))
    shape, spans = _avg_pool_plan(sizes, grad.shape, ksize, strides, padding, data_format,
                                  spans=True)
    out = np.zeros(shape, grad.dtype)
    # TF's coefficient is 1.0 / count in double, made a half type through float.
    via = _F64 if grad.dtype == _F64 else FLOAT32
    with np.errstate(all="ignore"):
        for r, q, r0, rn, c0, cn in spans:
            if rn > 0 and cn > 0:
                coeff = np.asarray(1.0 / (rn * cn), via).astype(grad.dtype)
                part = grad[:, r, q] * coeff
                out[: grad.shape[0], r0 : r0 + rn, c0 : c0 + cn] += part[:, None, None]
    return out
