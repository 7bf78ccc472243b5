"""Gradients of the convolutions, as TensorFlow 2.21's CPU kernels compute them (its
reference kernels; a oneDNN build accepts more): Conv2DBackpropInput,
Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropInput and
DepthwiseConv2dNativeBackpropFilter. The pooling gradients are in ``pool_grad``.

Windows follow ``conv.window`` (TF's ``GetWindowedOutputSizeVerbose``). Where TF's CPU
kernels differ from the textbook gradient:

- Conv2DBackprop*: NHWC only and dilations of 1 only (both INVALID_ARGUMENT, even for an
  empty output), and no grouped convolutions: the input depth must equal the filter's;
  ``input_sizes`` may also be just (rows, cols), batch and depth then coming from
  ``out_backprop`` and the filter;
- the depthwise gradients ignore ``dilations`` entirely (any value, even 0, of any
  length), need equal row and column strides, and refuse NCHW (UNIMPLEMENTED) only once
  there is something to compute;
- the depthwise filter gradient of an empty ``out_backprop`` is uninitialised memory in
  TF; zeros here.

Sums follow TF's order: Conv2DBackpropInput's col2im adds output by output;
DepthwiseConv2dNativeBackpropInput adds the filter positions in row-major order, then the
depth multiplier's channels; the depthwise filter gradient adds the output positions of
each image, then the images. Half types round to their dtype at every add, as TF's Eigen
code does, products in Eigen packets rounding before the add and the others fused with it
(see ``_half_col`` and ``_ordered_sum``). That reproduces TF bit for bit on small shapes;
how Eigen's GEMM blocks larger or oddly sized products is not modelled, so half-type
results of the Conv2D gradients can then differ from TF's by a few ulps. The float32 and
float64 filter gradients are summed in float64 and rounded once: over large batches TF's
own float32 rounding then shows, at the level of float32 precision.

>>> dy = np.ones((1, 1, 1, 1), np.float32)
>>> conv2d_backprop_input(np.array([1, 2, 2, 1], np.int32), np.ones((2, 2, 1, 1), np.float32),
...     dy, strides=[1, 1, 1, 1], padding=b"VALID", explicit_paddings=[],
...     data_format=b"NHWC", dilations=[1, 1, 1, 1]).ravel().tolist()
[1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..errors import InvalidArgumentError, UnimplementedError
from ._checks import FLOAT32, HALVES, INT32, INT64, concrete_specs, known_shape
from .conv import Window, window
from .registry import op
from .specs import Shape, TensorSpec

__all__ = [
    "UNKNOWN4",
    "Windows",
    "checked_window",
    "conv2d_backprop_filter",
    "conv2d_backprop_input",
    "depthwise_conv2d_native_backprop_filter",
    "depthwise_conv2d_native_backprop_input",
    "dims4",
    "explicit_pads",
    "int_list",
    "known",
    "specs3",
]

Pads = tuple[tuple[int, int], tuple[int, int]]
Windows = tuple[Window, Window]
Piece = Callable[[int, int], np.ndarray]
UNKNOWN4 = (-1, -1, -1, -1)
_F64 = np.dtype(np.float64)


def dims4(shape: Shape) -> tuple[int, ...]:
    """``shape``, or four unknown dims when its rank is unknown."""
    return UNKNOWN4 if shape is None else shape


def known(*dims: int) -> bool:
    """Whether every one of ``dims`` is known (not -1)."""
    return min(dims) >= 0


def int_list(spec: TensorSpec) -> list[int] | None:
    """The values of an int32 input, flattened; None while unknown."""
    return None if spec.value is None else [int(v) for v in np.ravel(spec.value)]


def explicit_pads(padding: bytes, explicit: Sequence[int], nchw: bool = False) -> Pads:
    """TF's ``CheckValidPadding`` for 4-d ops; the (before, after) pads of H and W.

    >>> explicit_pads(b"EXPLICIT", [0, 0, 1, 2, 3, 4, 0, 0])
    ((1, 2), (3, 4))
    """
    if padding != b"EXPLICIT":
        if explicit:
            raise InvalidArgumentError(
                "explicit_paddings attribute must be empty if the padding attribute is not "
                "EXPLICIT"
            )
        return (0, 0), (0, 0)
    if len(explicit) != 8:
        raise InvalidArgumentError(
            f"explicit_paddings attribute must contain 8 values, but got: {len(explicit)}"
        )
    if min(explicit) < 0:
        raise InvalidArgumentError("All elements of explicit_paddings must be nonnegative")
    h, w, c = (2, 3, 1) if nchw else (1, 2, 3)
    if any(explicit[i] for i in (0, 1, 2 * c, 2 * c + 1)):
        raise InvalidArgumentError(
            "Nonzero explicit padding in the batch or depth dimensions is not supported"
        )
    return (explicit[2 * h], explicit[2 * h + 1]), (explicit[2 * w], explicit[2 * w + 1])


def checked_window(size: int, k: int, stride: int, padding: bytes,
                   pads: tuple[int, int] = (0, 0)) -> Window:
    """``conv.window`` without dilation, after TF's check of the stride.

    >>> checked_window(5, 3, 2, b"SAME")
    Window(out=3, before=1, after=1)
    """
    if stride <= 0:
        raise InvalidArgumentError(f"Stride must be > 0, but got {stride}")
    return window(size, k, 1, stride, padding.decode(), pads)


def specs3(a: np.ndarray, b: np.ndarray, c: np.ndarray
           ) -> tuple[TensorSpec, TensorSpec, TensorSpec]:
    """Specs of three arrays with their values, for a kernel to re-run its checks."""
    x, y, z = concrete_specs((a, b, c))
    return x, y, z


def _rank4(label: str, shapes: Sequence[tuple[str, Shape]]) -> None:
    for what, shape in shapes:
        if shape is not None and len(shape) != 4:
            raise InvalidArgumentError(f"{label}: {what} must be 4-dimensional")


def _sizes(label: str, spec: TensorSpec, what: str, indexed: bool) -> Shape:
    """The shape an ``input_sizes``/``filter_sizes`` vector names (``indexed``: the
    depthwise kernels' message for a negative size)."""
    if spec.shape is not None and len(spec.shape) != 1:
        raise InvalidArgumentError(f"{label}: {what} input must be 1-dim, not {len(spec.shape)}")
    values = int_list(spec)
    if values is None:
        return None if spec.shape is None or spec.shape[0] < 0 else (-1,) * spec.shape[0]
    for i, size in enumerate(values):
        if size < 0:
            raise InvalidArgumentError(
                f"Dimension {i} of {what} must be >= 0" if indexed
                else f"Dimension {size} must be >= 0"
            )
    return tuple(values)


def _scatter(shape: tuple[int, ...], wins: Windows, strides: tuple[int, int],
             order: Sequence[tuple[int, int]], piece: Piece, dtype: np.dtype) -> np.ndarray:
    """Col2im: add ``piece(i, j)`` (a value per output position) to the input element at
    offset (i, j) of each output's window, offsets in ``order``, in ``dtype``; what lands
    on padding is dropped."""
    (rows, cols), (sh, sw) = wins, strides
    n, h, w = shape[:3]
    kh, kw = max(i for i, _ in order) + 1, max(j for _, j in order) + 1
    height = max((rows.out - 1) * sh + kh, rows.before + h)
    width = max((cols.out - 1) * sw + kw, cols.before + w)
    canvas: np.ndarray | None = None
    for i, j in order:
        part = piece(i, j)
        if canvas is None:
            canvas = np.zeros((n, height, width, *part.shape[3:]), dtype)
        rows_at = slice(i, i + (rows.out - 1) * sh + 1, sh)
        canvas[:, rows_at, j : j + (cols.out - 1) * sw + 1 : sw] += part
    assert canvas is not None
    return canvas[:, rows.before : rows.before + h, cols.before : cols.before + w]


def _shifted(x: np.ndarray, wins: Windows, strides: tuple[int, int], k: Sequence[int]) -> Piece:
    """For NHWC ``x`` zero-padded as the windows pad it: the element at offset (i, j) of
    every window, shape (N, out_h, out_w, C)."""
    (rows, cols), (sh, sw) = wins, strides
    below = max(0, (rows.out - 1) * sh + k[0] - x.shape[1] - rows.before)
    right = max(0, (cols.out - 1) * sw + k[1] - x.shape[2] - cols.before)
    padded = np.pad(x, ((0, 0), (rows.before, below), (cols.before, right), (0, 0)))
    return lambda i, j: padded[:, i::sh, j::sw][:, : rows.out, : cols.out]


# --- Conv2DBackpropInput / Conv2DBackpropFilter -----------------------------------------


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
    _rank4(label, (("input", x), ("filter", f), ("out_backprop", dy)))
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
    return _sizes("Conv2DBackpropInput", sizes, "input_sizes", indexed=False) or UNKNOWN4


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
    shape = _sizes(label, sizes, "filter_sizes", indexed=False)
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
    if min(known_shape(shape)) == 0 or out_backprop.size == 0:
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
        grad = _scatter(shape, wins, (strides[1], strides[2]), order, piece,
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
        at = _shifted(input.astype(FLOAT32), wins, (strides[1], strides[2]), shape)
        rows = np.stack([at(i, j) for i, j in np.ndindex(*shape[:2])], axis=3)
        return _ordered_sum(rows.reshape(-1, rows.shape[3] * rows.shape[4]),
                            out_backprop.reshape(-1, shape[3]).astype(FLOAT32),
                            dtype).reshape(shape)
    at = _shifted(input.astype(_F64), wins, (strides[1], strides[2]), shape)
    dy = out_backprop.reshape(-1, shape[3]).astype(_F64)
    grad = np.empty(shape, _F64)
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


# --- Depthwise gradients ------------------------------------------------------------------


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
    _rank4(label, (("input", x), ("filter", f), ("out_backprop", dy)))
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
    shape = _sizes("Conv2DBackpropInput", sizes, "input_sizes", indexed=True)
    wins = _depthwise_plan("DepthwiseConv2DBackpropInput", shape, f.shape, dy.shape, strides,
                           padding, explicit_paddings, data_format)
    if data_format == b"NCHW" and shape is not None and min(shape) > 0:
        raise UnimplementedError(_NHWC_ONLY)
    return dims4(shape), wins


def _depthwise_filter(x: TensorSpec, sizes: TensorSpec, dy: TensorSpec, strides: list[int],
                      padding: bytes, explicit_paddings: list[int], data_format: bytes
                      ) -> tuple[tuple[int, ...], Windows]:
    shape = _sizes("Conv2DBackpropFilter", sizes, "filter_sizes", indexed=True)
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
    if min(known_shape(shape)) == 0 or out_backprop.size == 0:
        return np.zeros(shape, dtype)
    n, _, _, c = shape
    kh, kw, _, m = filter.shape
    acc = FLOAT32 if dtype in HALVES else dtype
    dy = out_backprop.astype(acc).reshape(n, wins[0].out, wins[1].out, c, m)
    f = filter.astype(acc)
    order = [(i, j) for i in range(kh) for j in range(kw)]
    with np.errstate(all="ignore"):
        # A float32 product added to a half canvas rounds once, like TF's multiply-add.
        per = _scatter(shape, wins, (strides[1], strides[2]), order, lambda i, j: dy * f[i, j],
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
    at = _shifted(input.astype(_F64), wins, (strides[1], strides[2]), shape)
    dy = out_backprop.astype(_F64).reshape(*out_backprop.shape[:3], c, m)
    grad = np.empty(shape, _F64)
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
    at = _shifted(x.astype(FLOAT32), wins, (stride, stride), shape)
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
