"""Gradients of DepthwiseConv2dNative, as TensorFlow 2.21's CPU kernels compute them:
DepthwiseConv2dNativeBackpropInput and DepthwiseConv2dNativeBackpropFilter.

Where TF's CPU kernels differ from the textbook gradient:

- they ignore ``dilations`` entirely (any value, even 0, of any length), need equal row
  and column strides, and refuse NCHW (UNIMPLEMENTED) only once there is something to
  compute;
- the filter gradient of an empty ``out_backprop`` is uninitialised memory in TF; zeros
  here.

Sums follow TF's order: the input gradient adds the filter positions in row-major order,
then the depth multiplier's channels; the filter gradient adds the output positions of
each image, then the images. Half types round to their dtype at every add, as TF's Eigen
code does. The float32 and float64 filter gradients are summed in float64 and rounded
once.

>>> dy = np.ones((1, 1, 1, 2), np.float32)
>>> depthwise_conv2d_native_backprop_input(np.array([1, 2, 2, 1], np.int32),
...     np.ones((2, 2, 1, 2), np.float32), dy, strides=[1, 1, 1, 1], padding=b"VALID",
...     explicit_paddings=[], data_format=b"NHWC").ravel().tolist()
[2.0, 2.0, 2.0, 2.0]
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidArgumentError, UnimplementedError
from .._checks import FLOAT32, HALVES, known_shape
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import (
    F64,
    Windows,
    checked_window,
    dims4,
    explicit_pads,
    known,
    rank4,
    scatter,
    shape_of_sizes,
    shifted,
    specs3,
)

__all__ = ["depthwise_conv2d_native_backprop_filter", "depthwise_conv2d_native_backprop_input"]


def _depthwise_plan(label: str, x: Shape, f: Shape, dy: Shape, strides: list[int],
                    padding: bytes, explicit_paddings: list[int], data_format: bytes) -> Windows:
    """The checks of TF's depthwise gradient kernels, in their order (NCHW is refused
    later, once known to have work); the windows. Nothing looks at ``dilations``."""
    nchw = data_format == b"NCHW"
    if len(strides) != 4:
        raise InvalidArgumentError("Sliding window strides field must specify 4 dimensions")
    n, h, w, c = (0, 2, 3, 1) if nchw else (0, 1, 2, 3)
    if strides[h] != strides[w]:
        raise InvalidArgumentError(
            "Current implementation only supports equal length strides in the row and "
            "column dimensions."
        )
    if strides[n] != 1 or strides[c] != 1:
        raise InvalidArgumentError(
            "Current implementation does not yet support strides in the batch and depth "
            "dimensions."
        )
    pads = explicit_pads(padding, explicit_paddings, nchw)
    rank4(label, (("input", x), ("filter", f), ("out_backprop", dy)))
    (xn, xh, xw, xc), (dn, dh, dw, dc) = ([dims4(s)[i] for i in (n, h, w, c)] for s in (x, dy))
    kh, kw, fc, m = dims4(f)
    if known(xn, dn) and xn != dn:
        raise InvalidArgumentError(f"{label}: input and out_backprop must have the same batch size")
    if known(xc, fc) and xc != fc:
        raise InvalidArgumentError(f"{label}: input and filter must have the same in_depth")
    if known(xc, m, dc) and xc * m != dc:
        raise InvalidArgumentError(f"{label}: depth_multiplier * in_depth not equal to out_depth")
    wins = []
    for what, size, k, out, pad in (("rows", xh, kh, dh, pads[0]), ("cols", xw, kw, dw, pads[1])):
        win = checked_window(size, k, strides[h], padding, pad)
        if known(win.out, out) and win.out != out:
            raise InvalidArgumentError(
                f"{label}: Number of {what} of out_backprop doesn't match computed: actual = "
                f"{out}, computed = {win.out}"
            )
        wins.append(win)
    return wins[0], wins[1]


_NHWC_ONLY = "Depthwise convolution on CPU is only supported for NHWC format"


def _depthwise_input(sizes: TensorSpec, f: TensorSpec, dy: TensorSpec, strides: list[int],
                     padding: bytes, explicit_paddings: list[int], data_format: bytes
                     ) -> tuple[tuple[int, ...], Windows]:
    shape = shape_of_sizes("Conv2DBackpropInput", sizes, "input_sizes", indexed=True)
    wins = _depthwise_plan("DepthwiseConv2DBackpropInput", shape, f.shape, dy.shape, strides,
                           padding, explicit_paddings, data_format)
    if data_format == b"NCHW" and shape is not None and min(shape) > 0:
        raise UnimplementedError(_NHWC_ONLY)
    return dims4(shape), wins


def _depthwise_filter(x: TensorSpec, sizes: TensorSpec, dy: TensorSpec, strides: list[int],
                      padding: bytes, explicit_paddings: list[int], data_format: bytes
                      ) -> tuple[tuple[int, ...], Windows]:
    shape = shape_of_sizes("Conv2DBackpropFilter", sizes, "filter_sizes", indexed=True)
    wins = _depthwise_plan("DepthwiseConv2DBackpropFilter", x.shape, shape, dy.shape, strides,
                           padding, explicit_paddings, data_format)
    if data_format == b"NCHW" and dy.shape is not None and min(dy.shape) > 0:
        raise UnimplementedError(_NHWC_ONLY)
    return dims4(shape), wins


def _depthwise_input_rule(input_sizes: TensorSpec, filter: TensorSpec, out_backprop: TensorSpec,
                          *, strides: list[int], padding: bytes, explicit_paddings: list[int],
                          data_format: bytes) -> Shape:
    return _depthwise_input(input_sizes, filter, out_backprop, strides, padding,
                            explicit_paddings, data_format)[0]


@op("DepthwiseConv2dNativeBackpropInput", shape=_depthwise_input_rule)
def depthwise_conv2d_native_backprop_input(
    input_sizes: np.ndarray, filter: np.ndarray, out_backprop: np.ndarray, *,
    strides: list[int], padding: bytes, explicit_paddings: list[int], data_format: bytes,
) -> np.ndarray:
    """DepthwiseConv2dNative's gradient for its input: per input element and channel, the
    filter positions' products added in row-major order, then the multiplier's channels."""
    shape, wins = _depthwise_input(*specs3(input_sizes, filter, out_backprop), strides,
                                   padding, explicit_paddings, data_format)
    dtype = filter.dtype
    if min(known_shape(shape)) == 0 or out_backprop.size == 0 or filter.size == 0:
        return np.zeros(shape, dtype)
    n, _, _, c = shape
    kh, kw, _, m = filter.shape
    acc = FLOAT32 if dtype in HALVES else dtype
    dy = out_backprop.astype(acc).reshape(n, wins[0].out, wins[1].out, c, m)
    f = filter.astype(acc)
    order = [(i, j) for i in range(kh) for j in range(kw)]
    with np.errstate(all="ignore"):
        # A float32 product added to a half canvas rounds once, like TF's multiply-add.
        per = scatter(shape, wins, (strides[1], strides[2]), order, lambda i, j: dy * f[i, j],
                       dtype)
        total = per[..., 0]
        for k in range(1, m):
            total = total + per[..., k]
    return np.ascontiguousarray(total, dtype)


def _depthwise_filter_rule(input: TensorSpec, filter_sizes: TensorSpec, out_backprop: TensorSpec,
                           *, strides: list[int], padding: bytes, explicit_paddings: list[int],
                           data_format: bytes) -> Shape:
    return _depthwise_filter(input, filter_sizes, out_backprop, strides, padding,
                             explicit_paddings, data_format)[0]


@op("DepthwiseConv2dNativeBackpropFilter", shape=_depthwise_filter_rule)
def depthwise_conv2d_native_backprop_filter(
    input: np.ndarray, filter_sizes: np.ndarray, out_backprop: np.ndarray, *,
    strides: list[int], padding: bytes, explicit_paddings: list[int], data_format: bytes,
) -> np.ndarray:
    """DepthwiseConv2dNative's gradient for its filter: each channel's windows times the
    gradients of that channel's outputs, summed over the batch and output positions."""
    shape, wins = _depthwise_filter(*specs3(input, filter_sizes, out_backprop), strides,
                                    padding, explicit_paddings, data_format)
    if out_backprop.size == 0:
        return np.zeros(shape, input.dtype)
    kh, kw, c, m = shape
    if input.dtype in HALVES:
        return _depthwise_filter_ordered(input, out_backprop, shape, wins, strides[1])
    at = shifted(input.astype(F64), wins, (strides[1], strides[2]), shape)
    dy = out_backprop.astype(F64).reshape(*out_backprop.shape[:3], c, m)
    grad = np.empty(shape, F64)
    with np.errstate(all="ignore"):
        for i, j in np.ndindex(kh, kw):
            grad[i, j] = np.einsum("nyxc,nyxcm->cm", at(i, j), dy)
    return grad.astype(input.dtype)


def _depthwise_filter_ordered(x: np.ndarray, dy: np.ndarray, shape: tuple[int, ...],
                              wins: Windows, stride: int) -> np.ndarray:
    """The depthwise filter gradient in TF's order, in the dtype: per image, the output
    positions in row-major order (a multiply-add each); then the images in order."""
    kh, kw, c, m = shape
    (rows, cols), n = wins, x.shape[0]
    at = shifted(x.astype(FLOAT32), wins, (stride, stride), shape)
    windows = np.stack([at(i, j) for i, j in np.ndindex(kh, kw)], axis=3)
    windows = windows.reshape(n, rows.out, cols.out, kh, kw, c, 1)
    grads = dy.astype(FLOAT32).reshape(n, rows.out, cols.out, 1, 1, c, m)
    per_image = np.zeros((n, kh, kw, c, m), x.dtype)
    with np.errstate(all="ignore"):
        for r, q in np.ndindex(rows.out, cols.out):
            per_image += windows[:, r, q] * grads[:, r, q]
        total = per_image[0]
        for image in per_image[1:]:
            total = total + image
    return np.asarray(total)
