"""Gradients of Conv2D, as TensorFlow 2.21's CPU kernels compute them (its reference
kernels; a oneDNN build accepts more): Conv2DBackpropInput and Conv2DBackpropFilter.

Where TF's CPU kernels differ from the textbook gradient:

- NHWC only and dilations of 1 only (both INVALID_ARGUMENT, even for an empty output),
  and no grouped convolutions: the input depth must equal the filter's; ``input_sizes``
  may also be just (rows, cols), batch and depth then coming from ``out_backprop`` and
  the filter.

Sums follow TF's order: Conv2DBackpropInput's col2im adds output by output. Half types
round to their dtype at every add, as TF's Eigen code does, products in Eigen packets
rounding before the add and the others fused with it (see ``_half_col`` and
``_ordered_sum``). That reproduces TF bit for bit on small shapes; how Eigen's GEMM
blocks larger or oddly sized products is not modelled, so half-type results can then
differ from TF's by a few ulps. The float32 and float64 filter gradients are summed in
float64 and rounded once: over large batches TF's own float32 rounding then shows, at
the level of float32 precision.

>>> dy = np.ones((1, 1, 1, 1), np.float32)
>>> conv2d_backprop_input(np.array([1, 2, 2, 1], np.int32), np.ones((2, 2, 1, 1), np.float32),
...     dy, strides=[1, 1, 1, 1], padding=b"VALID", explicit_paddings=[],
...     data_format=b"NHWC", dilations=[1, 1, 1, 1]).ravel().tolist()
[1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidArgumentError, UnimplementedError
from .._checks import FLOAT32, HALVES, INT32, INT64, known_shape
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import (
    F64,
    UNKNOWN4,
    Pads,
    Piece,
    Windows,
    checked_window,
    dims4,
    explicit_pads,
    int_list,
    known,
    rank4,
    scatter,
    shape_of_sizes,
    shifted,
    specs3,
)

__all__ = ["conv2d_backprop_filter", "conv2d_backprop_input"]


def _conv_attrs(kind: str, strides: list[int], padding: bytes, explicit: list[int],
                data_format: bytes, dilations: list[int]) -> Pads:
    """The attr checks of TF's ``Conv2DCustomBackprop{Input,Filter}Op``, in its order."""
    # The filter kernel says INVALID_ARGUMENT where the input kernel says UNIMPLEMENTED.
    unsupported = UnimplementedError if kind == "Input" else InvalidArgumentError
    if data_format != b"NHWC":
        raise InvalidArgumentError(f"Conv2DCustomBackprop{kind}Op only supports NHWC.")
    if len(strides) != 4:
        raise InvalidArgumentError("Sliding window strides field must specify 4 dimensions")
    if strides[0] != 1 or strides[3] != 1:
        raise unsupported(
            "Current implementation does not yet support strides in the batch and depth "
            "dimensions."
        )
    if strides[1] <= 0 or strides[2] <= 0:
        raise InvalidArgumentError("Row and column strides should be larger than 0.")
    # The filter kernel checks the padding before the dilations, the input kernel after.
    pads = explicit_pads(padding, explicit) if kind == "Filter" else None
    if len(dilations) != 4:
        raise InvalidArgumentError("Sliding window dilations field must specify 4 dimensions")
    if dilations[0] != 1 or dilations[3] != 1:
        raise unsupported(
            "Current implementation does not yet support dilations in the batch and depth "
            "dimensions."
        )
    if dilations[1] != 1 or dilations[2] != 1:
        raise InvalidArgumentError(
            "Current CPU implementations do not yet support dilation rates larger than 1."
        )
    return pads or explicit_pads(padding, explicit)


def _conv_dims(label: str, x: Shape, f: Shape, dy: Shape, strides: list[int],
               padding: bytes, pads: Pads) -> Windows:
    """TF's ``ConvBackpropComputeDimensionsV2`` on what is known of the three shapes."""
    rank4(label, (("input", x), ("filter", f), ("out_backprop", dy)))
    (n, h, w, c), (kh, kw, fc, co), (dn, dh, dw, dc) = dims4(x), dims4(f), dims4(dy)
    if known(n, dn) and n != dn:
        raise InvalidArgumentError(
            f"{label}: input and out_backprop must have the same batch size. Input batch: "
            f"{n}, outbackprop batch: {dn}, batch_dim: 0"
        )
    if fc == 0:
        raise InvalidArgumentError(f"{label}: filter depth must be strictly greated than zero")
    if known(c, fc) and c % fc:
        raise InvalidArgumentError(f"{label}: input depth must be evenly divisible by filter depth")
    if known(co, dc) and co != dc:
        raise InvalidArgumentError(f"{label}: filter and out_backprop must have the same out_depth")
    wins = []
    for dim, size, k, out in ((1, h, kh, dh), (2, w, kw, dw)):
        win = checked_window(size, k, strides[dim], padding, pads[dim - 1])
        if known(win.out, out) and win.out != out:
            raise InvalidArgumentError(
                f"{label}: Size of out_backprop doesn't match computed: actual = {out}, "
                f"computed = {win.out} spatial_dim: {dim} input: {size} filter: {k} output: "
                f"{out} stride: {strides[dim]} dilation: 1"
            )
        wins.append(win)
    return wins[0], wins[1]


def _input_sizes(sizes: TensorSpec, f: Shape, dy: Shape) -> tuple[int, ...]:
    """``Conv2DBackpropComputeInputShape``: 4 sizes, or (rows, cols)."""
    if sizes.shape is not None and len(sizes.shape) != 1:
        raise InvalidArgumentError(
            f"Conv2DBackpropInput: input_sizes input must be 1-dim, not {len(sizes.shape)}"
        )
    values = int_list(sizes)
    count = len(values) if values is not None else -1 if sizes.shape is None else sizes.shape[0]
    if count == 2:
        rows, cols = values or (-1, -1)
        if values is not None and min(values) < 0:
            raise InvalidArgumentError(
                f"Conv2DBackpropInput: elements of input_sizes must be >= 0, not {rows}x{cols}"
            )
        return dims4(dy)[0], rows, cols, f[2] if f is not None and len(f) == 4 else -1
    if count not in (-1, 4):
        raise InvalidArgumentError(
            "Conv2DBackpropInput requires input_sizes to contain 4 values or 2 values, but "
            f"got: {count}"
        )
    return shape_of_sizes("Conv2DBackpropInput", sizes, "input_sizes", indexed=False) or UNKNOWN4


def _conv_input_plan(sizes: TensorSpec, f: TensorSpec, dy: TensorSpec, strides: list[int],
                     padding: bytes, explicit_paddings: list[int], data_format: bytes,
                     dilations: list[int]) -> tuple[tuple[int, ...], Windows]:
    pads = _conv_attrs("Input", strides, padding, explicit_paddings, data_format, dilations)
    if dy.shape is not None and len(dy.shape) != 4:
        raise InvalidArgumentError(f"input_sizes must be 4-dimensional, got: {len(dy.shape)}")
    shape = _input_sizes(sizes, f.shape, dy.shape)
    wins = _conv_dims("Conv2DCustomBackpropInput", shape, f.shape, dy.shape, strides, padding,
                      pads)
    c, fc = shape[3], dims4(f.shape)[2]
    if known(c, fc) and c != fc:
        raise InvalidArgumentError(
            "Gradients for grouped convolutions are not supported on CPU. Please file a "
            "feature request if you run into this issue. Computed input depth "
            f"{c} doesn't match filter input depth {fc}"
        )
    return shape, wins


def _conv_filter_plan(x: TensorSpec, sizes: TensorSpec, dy: TensorSpec, strides: list[int],
                      padding: bytes, explicit_paddings: list[int], data_format: bytes,
                      dilations: list[int]) -> tuple[Shape, Windows]:
    label = "Conv2DCustomBackpropFilter"
    pads = _conv_attrs("Filter", strides, padding, explicit_paddings, data_format, dilations)
    shape = shape_of_sizes(label, sizes, "filter_sizes", indexed=False)
    wins = _conv_dims(label, x.shape, shape, dy.shape, strides, padding, pads)
    (kh, kw, fc, co), c = dims4(shape), dims4(x.shape)[3]
    # TF's check of a grouped filter, made only when the filter has elements.
    if known(kh, kw, fc, co, c) and kh * kw * fc * co and c != fc:
        raise InvalidArgumentError(
            f"filter_size does not have enough elements, requested {kh * kw * c * co}, got "
            f"{kh * kw * fc * co}"
        )
    return shape, wins


def _conv_input_rule(input_sizes: TensorSpec, filter: TensorSpec, out_backprop: TensorSpec, *,
                     strides: list[int], padding: bytes, explicit_paddings: list[int],
                     data_format: bytes, dilations: list[int]) -> Shape:
    return _conv_input_plan(input_sizes, filter, out_backprop, strides, padding,
                            explicit_paddings, data_format, dilations)[0]


@op("Conv2DBackpropInput", shape=_conv_input_rule)
def conv2d_backprop_input(input_sizes: np.ndarray, filter: np.ndarray, out_backprop: np.ndarray,
                          *, strides: list[int], padding: bytes, explicit_paddings: list[int],
                          data_format: bytes, dilations: list[int]) -> np.ndarray:
    """Conv2D's gradient for its input: each output's gradient times the filter, added
    back onto the window it came from (TF's col2im, in its order)."""
    shape, wins = _conv_input_plan(*specs3(input_sizes, filter, out_backprop), strides, padding,
                                   explicit_paddings, data_format, dilations)
    dtype = filter.dtype
    if min(known_shape(shape)) == 0 or out_backprop.size == 0 or filter.size == 0:
        return np.zeros(shape, dtype)
    # int32 wraps like TF's: sums in int64 are right modulo 2**32.
    acc = FLOAT32 if dtype in HALVES else INT64 if dtype == INT32 else dtype
    dy, f = out_backprop.astype(acc), filter.astype(acc)
    kh, kw = filter.shape[:2]
    # Output by output, an input element meets the window offsets in reverse order.
    order = [(i, j) for i in reversed(range(kh)) for j in reversed(range(kw))]

    def product(i: int, j: int) -> np.ndarray:
        return np.asarray(dy @ f[i, j].T)

    piece = _half_col(dy, f, dtype) if dtype in HALVES else product
    with np.errstate(all="ignore"):
        grad = scatter(shape, wins, (strides[1], strides[2]), order, piece,
                        dtype if dtype in HALVES else acc)
    return grad.astype(dtype)


def _half_col(dy: np.ndarray, f: np.ndarray, dtype: np.dtype) -> Piece:
    """Conv2DBackpropInput's col buffer as TF's half GEMM fills it (float32 ``dy`` and
    ``f`` holding half values): out_depth by out_depth, in the dtype. Filter entries
    (h, w, in) in the leading multiples of 8 are Eigen packets, whose products round to
    the dtype before the add; the rest multiply-add with one rounding. A matrix-vector
    product (one output position, or a 1x1x1 filter with several images) rounds all."""
    n, rows, cols, co = dy.shape
    kh, kw, c, _ = f.shape
    total = kh * kw * c
    packed = (total // 8) * 8
    if rows * cols == 1 or total == 1:
        packed = 0 if n == 1 else total

    def piece(i: int, j: int) -> np.ndarray:
        start = (i * kw + j) * c
        rounded = np.arange(start, start + c) < packed
        col = np.zeros((n, rows, cols, c), dtype)
        for o in range(co):
            product = dy[..., o, None] * f[i, j, :, o]
            col += np.where(rounded, product.astype(dtype).astype(FLOAT32), product)
        return col

    return piece


def _conv_filter_rule(input: TensorSpec, filter_sizes: TensorSpec, out_backprop: TensorSpec, *,
                      strides: list[int], padding: bytes, explicit_paddings: list[int],
                      data_format: bytes, dilations: list[int]) -> Shape:
    return _conv_filter_plan(input, filter_sizes, out_backprop, strides, padding,
                             explicit_paddings, data_format, dilations)[0]


@op("Conv2DBackpropFilter", shape=_conv_filter_rule)
def conv2d_backprop_filter(input: np.ndarray, filter_sizes: np.ndarray, out_backprop: np.ndarray,
                           *, strides: list[int], padding: bytes, explicit_paddings: list[int],
                           data_format: bytes, dilations: list[int]) -> np.ndarray:
    """Conv2D's gradient for its filter: each window of the input times its output's
    gradient, summed over the batch and the output positions."""
    shape, wins = _conv_filter_plan(*specs3(input, filter_sizes, out_backprop), strides, padding,
                                    explicit_paddings, data_format, dilations)
    shape = known_shape(shape)
    if min(shape) == 0 or input.size == 0 or out_backprop.size == 0:
        return np.zeros(shape, input.dtype)
    dtype = input.dtype
    if dtype in HALVES:
        # TF's GEMM adds row after row (image, output row, output column) in the dtype.
        at = shifted(input.astype(FLOAT32), wins, (strides[1], strides[2]), shape)
        rows = np.stack([at(i, j) for i, j in np.ndindex(*shape[:2])], axis=3)
        return _ordered_sum(rows.reshape(-1, rows.shape[3] * rows.shape[4]),
                            out_backprop.reshape(-1, shape[3]).astype(FLOAT32),
                            dtype).reshape(shape)
    at = shifted(input.astype(F64), wins, (strides[1], strides[2]), shape)
    dy = out_backprop.reshape(-1, shape[3]).astype(F64)
    grad = np.empty(shape, F64)
    with np.errstate(all="ignore"):
        for i, j in np.ndindex(*shape[:2]):
            grad[i, j] = np.ascontiguousarray(at(i, j)).reshape(-1, shape[2]).T @ dy
    return grad.astype(dtype)


def _ordered_sum(a: np.ndarray, b: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``sum_r outer(a[r], b[r])`` as TF's half GEMM adds it: row by row in ``dtype``. The
    leading multiples of 8 of ``b``'s columns are Eigen packets, whose products round to
    the dtype before the add; the rest multiply-add with one rounding. With a single
    column of ``a`` (a matrix-vector product) every product rounds."""
    columns = b.shape[1]
    packed = columns if a.shape[1] == 1 else (columns // 8) * 8
    total = np.zeros((a.shape[1], columns), dtype)
    with np.errstate(all="ignore"):
        for left, right in zip(a, b, strict=True):
            product = np.multiply.outer(left, right)
            product[:, :packed] = product[:, :packed].astype(dtype)
            total += product
    return total
