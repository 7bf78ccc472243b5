"""Convolution and pooling: Conv2D, DepthwiseConv2dNative, MaxPool, AvgPool.

Windows follow TF's arithmetic exactly (``GetWindowedOutputSizeVerboseV2``), with C++
division that truncates toward zero:

- VALID: ``out = (in - eff + stride) / stride`` where ``eff = (k - 1) * dilation + 1``;
- SAME: ``out = ceil(in / stride)``; the padding needed is split with the odd element
  *after* the data;
- EXPLICIT: ``out = (in + before + after - eff + stride) / stride``.

Padding is zeros for convolutions, ignored for pooling: MaxPool never sees it and
AvgPool divides each window by its count of real elements. Conv2D also runs grouped
convolutions (input depth a multiple of the filter's), as TF's op does on GPU.

Where TF's CPU kernels differ from the textbook:

- NCHW is rejected as on TF's CPU: always by the pools (INVALID_ARGUMENT), by the
  convolutions only once the output has elements (UNIMPLEMENTED; an empty one is fine);
- MaxPool starts each window at the dtype's lowest value and skips NaN, so an all-NaN
  (or all -inf) window gives that lowest value. Pooling across depth instead (ksize
  ``[1, 1, 1, k]``, strides ignored but the depth one) folds ``std::max`` from the
  window's first element: a leading NaN wins, a later one is skipped;
- DepthwiseConv2dNative accumulates over the filter positions in row-major order in
  its own dtype, so half types round after every multiply-add.

>>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
>>> conv2d(x, np.ones((2, 2, 1, 1), np.float32), strides=[1, 2, 2, 1], padding=b"VALID",
...        explicit_paddings=[], data_format=b"NHWC", dilations=[1, 1, 1, 1]).ravel().tolist()
[10.0, 18.0, 42.0, 50.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ml_dtypes
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import InvalidArgumentError, UnimplementedError
from ._checks import FLOAT32, FLOATS, HALVES, INT32, INT64, known_shape, shape_str
from .registry import op
from .specs import Shape, TensorSpec

__all__ = [
    "Geometry",
    "Window",
    "avg_pool",
    "conv2d",
    "depthwise_conv2d_native",
    "explicit_padding",
    "geometry",
    "max_pool",
    "window",
]

def _c_div(a: int, b: int) -> int:
    """C++ integer division: truncates toward zero (Python's // floors)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


@dataclass(frozen=True, slots=True)
class Window:
    """One spatial dim of a windowed op: output size and the padding on each side."""

    out: int
    before: int
    after: int


def window(size: int, k: int, dilation: int, stride: int, padding: str,
           explicit: tuple[int, int] = (0, 0)) -> Window:
    """TF's windowed output size; an unknown (-1) ``size`` gives ``out`` -1, and so does
    an unknown ``k`` except with SAME padding, where the output ignores the window.

    >>> window(5, 3, 1, 2, "SAME")
    Window(out=3, before=1, after=1)
    """
    if size < 0 or (k < 0 and padding != "SAME"):
        return Window(-1, 0, 0)
    if k < 0:
        return Window(_c_div(size + stride - 1, stride), 0, 0)
    eff = (k - 1) * dilation + 1
    before, after = explicit
    if padding == "VALID":
        out = _c_div(size - eff + stride, stride)
    elif padding == "EXPLICIT":
        out = _c_div(size + before + after - eff + stride, stride)
    else:
        out = _c_div(size + stride - 1, stride)
        needed = max(0, (out - 1) * stride + eff - size)
        before, after = needed // 2, needed - needed // 2
    if out < 0:
        raise InvalidArgumentError(
            f"Computed output size would be negative: {out} [input_size: {size}, "
            f"effective_filter_size: {eff}, stride: {stride}]"
        )
    return Window(out, before, after)


Windows = tuple[Window, Window]


@dataclass(frozen=True, slots=True)
class Geometry:
    """Validated attrs of a conv or pool: H/W strides, dilations, window sizes, padding."""

    nchw: bool
    padding: str
    strides: tuple[int, int]
    dilations: tuple[int, int]
    explicit: tuple[tuple[int, int], tuple[int, int]]
    ksize: tuple[int, int] = (0, 0)
    depth_window: tuple[int, int] = (1, 1)  # pools: ksize and stride on the depth dim

    def to_nhwc(self, shape: Shape) -> tuple[int, ...]:
        """A rank-4 shape (unknown rank: all unknown) in NHWC order."""
        dims = (-1,) * 4 if shape is None else tuple(shape)
        return (dims[0], dims[2], dims[3], dims[1]) if self.nchw else dims

    def from_nhwc(self, n: int, h: int, w: int, c: int) -> tuple[int, ...]:
        """An NHWC shape in this op's layout."""
        return (n, c, h, w) if self.nchw else (n, h, w, c)

    def spatial(self, h: int, w: int, kh: int, kw: int) -> Windows:
        """The row and column windows of an input of ``h x w`` and a window of ``kh x kw``."""
        return (
            window(h, kh, self.dilations[0], self.strides[0], self.padding, self.explicit[0]),
            window(w, kw, self.dilations[1], self.strides[1], self.padding, self.explicit[1]),
        )


def _four(values: Sequence[int], what: str) -> list[int]:
    if len(values) != 4:
        raise InvalidArgumentError(f"Sliding window {what} field must specify 4 dimensions")
    return list(values)


def geometry(
    op_name: str, *, strides: Sequence[int], padding: bytes, data_format: bytes,
    dilations: Sequence[int] = (1, 1, 1, 1), explicit_paddings: Sequence[int] = (),
    ksize: Sequence[int] | None = None,
) -> Geometry:  # fmt: skip
    """The checks TF's kernels make of a conv's (or, given ``ksize``, a pool's) attrs,
    past those of its op def, with TF's messages.

    >>> geometry("MaxPool", strides=[1, 2, 2, 1], padding=b"VALID", data_format=b"NHWC",
    ...          ksize=[1, 3, 3, 1]).ksize
    (3, 3)
    """
    pool = ksize is not None
    nchw = data_format != b"NHWC"
    h, w, c = (2, 3, 1) if nchw else (1, 2, 3)
    if pool and nchw:
        # TF's CPU pooling kernels refuse any other layout when they are built.
        raise InvalidArgumentError(
            f"Default {op_name.removesuffix('Pool')}PoolingOp only supports NHWC on device "
            "type CPU"
        )
    s = _four(strides, "stride" if pool else "strides")
    d, window_hw, depth_window = [1, 1, 1, 1], (0, 0), (1, 1)
    if ksize is not None:
        k = _four(ksize, "ksize")
        if k[0] != 1 or s[0] != 1:
            raise UnimplementedError("Pooling is not yet supported on the batch dimension.")
        for i, size in enumerate(k):
            if size <= 0:
                raise InvalidArgumentError(f"Sliding window ksize for dimension {i} was zero.")
        window_hw, depth_window = (k[h], k[w]), (k[c], s[c])
    else:
        d = _four(dilations, "dilations")
        if s[0] != 1 or s[c] != 1:
            raise UnimplementedError(
                "Current implementation does not yet support strides in the batch and "
                "depth dimensions."
            )
        if d[0] != 1 or d[c] != 1:
            raise UnimplementedError(
                "Current implementation does not yet support dilations in the batch and "
                "depth dimensions."
            )
        if d[h] <= 0 or d[w] <= 0:
            raise InvalidArgumentError("Dilated rates should be larger than 0.")
    if s[h] <= 0 or s[w] <= 0:
        raise InvalidArgumentError("Row and column strides should be larger than 0.")
    pads = explicit_padding(padding, explicit_paddings, h, w, c)
    return Geometry(nchw, padding.decode(), (s[h], s[w]), (d[h], d[w]), pads, window_hw,
                    depth_window)  # fmt: skip


def explicit_padding(padding: bytes, explicit: Sequence[int], h: int, w: int, c: int
                     ) -> tuple[tuple[int, int], tuple[int, int]]:  # fmt: skip
    """TF's ``CheckValidPadding`` of a 4-d op whose height, width and depth are dims
    ``h``, ``w``, ``c``: the (before, after) pads of height and width."""
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
    if any(explicit[2 * d + s] for d in (0, c) for s in (0, 1)):
        raise InvalidArgumentError(
            "Nonzero explicit padding in the batch or depth dimensions is not supported"
        )
    return (explicit[2 * h], explicit[2 * h + 1]), (explicit[2 * w], explicit[2 * w + 1])


def _rank4(shape: Shape, what: str) -> None:
    if shape is not None and len(shape) != 4:
        raise InvalidArgumentError(f"{what} must be 4-dimensional: {shape_str(shape)}")


# --- Convolutions -----------------------------------------------------------------------


def _conv_plan(op_name: str, x: Shape, f: Shape, g: Geometry) -> tuple[Shape, Windows]:
    """The output shape (in the op's layout) and the H/W windows of a convolution."""
    depthwise = op_name == "DepthwiseConv2dNative"
    if depthwise and g.strides[0] != g.strides[1]:
        raise InvalidArgumentError(
            "Current implementation only supports equal length strides in the row and "
            "column dimensions."
        )
    _rank4(x, "input" if depthwise else "convolution input")
    _rank4(f, "filter" if depthwise else "convolution filter")
    n, h, w, c = g.to_nhwc(x)
    kh, kw, ci, co = f or (-1, -1, -1, -1)
    if depthwise:
        if c >= 0 and ci >= 0 and c != ci:
            raise InvalidArgumentError(f"input and filter must have the same depth: {c} vs {ci}")
        depth = c * co if min(c, co) >= 0 else (ci * co if min(ci, co) >= 0 else -1)
    else:
        if ci == 0:
            raise InvalidArgumentError("filter depth must be strictly positive, got 0")
        if c >= 0 and ci > 0 and c % ci:
            raise InvalidArgumentError(
                f"input depth must be evenly divisible by filter depth: {c} vs {ci}"
            )
        # No groups without input depth (an empty input): its output is all zeros.
        if c > 0 and ci > 0 and co >= 0 and co % (c // ci):
            raise InvalidArgumentError(
                f"output depth must be evenly divisible by number of groups: {co} vs {c // ci}"
            )
        depth = co
    rows, cols = g.spatial(h, w, kh, kw)
    out = (n, rows.out, cols.out, depth)
    # TF's CPU kernels check the layout last, after returning an empty output early.
    if g.nchw and min(out) > 0:
        raise UnimplementedError(
            "Depthwise convolution on CPU is only supported for NHWC format" if depthwise
            else "The Conv2D op currently only supports the NHWC tensor format on the CPU. "
            "The op was given the format: NCHW"
        )
    return g.from_nhwc(*out), (rows, cols)


def _patches(x: np.ndarray, g: Geometry, windows: Windows, k: tuple[int, int], fill: Any
             ) -> np.ndarray:  # fmt: skip
    """Every window of NHWC ``x``: shape (N, out_h, out_w, C, kh, kw)."""
    rows, cols = windows
    x = np.pad(x, ((0, 0), (rows.before, rows.after), (cols.before, cols.after), (0, 0)),
               constant_values=fill)
    eff = tuple((k[i] - 1) * g.dilations[i] + 1 for i in (0, 1))
    view = sliding_window_view(x, eff, axis=(1, 2))
    sh, sw = g.strides
    dh, dw = g.dilations
    return view[:, ::sh, ::sw, :, ::dh, ::dw][:, : rows.out, : cols.out]


def _depthwise_sum(p: np.ndarray, w: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``sum_ij p[..., i, j] * w[i, j]`` as TF's CPU kernel adds it: one multiply-add per
    filter position in row-major order, rounded to ``dtype`` each time (products of
    half types are exact in the float32 ``p`` and ``w``)."""
    kh, kw = w.shape[:2]
    total = np.zeros((*p.shape[:4], w.shape[3]), dtype)
    for i in range(kh):
        for j in range(kw):
            total = (total.astype(p.dtype) + p[..., i, j, None] * w[i, j]).astype(dtype)
    return total


def _convolve(op_name: str, x: np.ndarray, f: np.ndarray, g: Geometry) -> np.ndarray:
    out, windows = _conv_plan(op_name, x.shape, f.shape, g)
    n, oh, ow, depth = g.to_nhwc(known_shape(out))
    x = x.transpose(0, 2, 3, 1) if g.nchw else x
    kh, kw, ci, co = f.shape
    # Accumulate half types in float32 and int32 in int64 (then wrap, as int32 would).
    acc = FLOAT32 if x.dtype in HALVES else INT64 if x.dtype == INT32 else x.dtype
    if min(n, oh, ow, depth) and x.size and not f.size and op_name == "Conv2D":
        # TF's CPU kernel, past its early exits for an empty output or input.
        raise InvalidArgumentError(
            "filter must not have zero elements (i.e. all dimensions must be non-zero)"
        )
    if min(n, oh, ow, depth, kh, kw, ci, x.shape[3]) == 0:
        result = np.zeros((n, oh, ow, depth), acc)
    else:
        p = _patches(x.astype(acc), g, windows, (kh, kw), 0)
        w = f.astype(acc)
        with np.errstate(all="ignore"):
            if op_name == "DepthwiseConv2dNative":
                result = _depthwise_sum(p, w, x.dtype)
            else:
                groups = x.shape[3] // ci
                p = p.reshape(n, oh, ow, groups, ci, kh, kw)
                w = w.reshape(kh, kw, ci, groups, co // groups)
                result = np.einsum("nhwgcij,ijcgo->nhwgo", p, w, optimize=True)
        result = result.reshape(n, oh, ow, depth)
    if g.nchw:
        result = result.transpose(0, 3, 1, 2)
    with np.errstate(all="ignore"):
        return np.ascontiguousarray(result).astype(x.dtype)


def _conv2d_shape(
    x: TensorSpec, f: TensorSpec, *, strides: list[int], padding: bytes,
    explicit_paddings: list[int], data_format: bytes, dilations: list[int],
) -> Shape:  # fmt: skip
    g = geometry("Conv2D", strides=strides, padding=padding, data_format=data_format,
                 dilations=dilations, explicit_paddings=explicit_paddings)  # fmt: skip
    return _conv_plan("Conv2D", x.shape, f.shape, g)[0]


@op("Conv2D", shape=_conv2d_shape)
def conv2d(
    x: np.ndarray, f: np.ndarray, *, strides: list[int], padding: bytes,
    explicit_paddings: list[int], data_format: bytes, dilations: list[int],
) -> np.ndarray:  # fmt: skip
    """Zero-padded cross-correlation with an HWIO filter; grouped if the depths allow."""
    g = geometry("Conv2D", strides=strides, padding=padding, data_format=data_format,
                 dilations=dilations, explicit_paddings=explicit_paddings)  # fmt: skip
    return _convolve("Conv2D", x, f, g)


def _depthwise_shape(
    x: TensorSpec, f: TensorSpec, *, strides: list[int], padding: bytes,
    explicit_paddings: list[int], data_format: bytes, dilations: list[int],
) -> Shape:  # fmt: skip
    g = geometry("DepthwiseConv2dNative", strides=strides, padding=padding,
                 data_format=data_format, dilations=dilations,
                 explicit_paddings=explicit_paddings)  # fmt: skip
    return _conv_plan("DepthwiseConv2dNative", x.shape, f.shape, g)[0]


@op("DepthwiseConv2dNative", shape=_depthwise_shape)
def depthwise_conv2d_native(
    x: np.ndarray, f: np.ndarray, *, strides: list[int], padding: bytes,
    explicit_paddings: list[int], data_format: bytes, dilations: list[int],
) -> np.ndarray:  # fmt: skip
    """Each channel convolved with its own filters (depth: channels * multiplier)."""
    g = geometry("DepthwiseConv2dNative", strides=strides, padding=padding,
                 data_format=data_format, dilations=dilations,
                 explicit_paddings=explicit_paddings)  # fmt: skip
    return _convolve("DepthwiseConv2dNative", x, f, g)


# --- Pooling ----------------------------------------------------------------------------


def _pooled_depth(op_name: str, g: Geometry, depth: int) -> int:
    """The output depth, checking a depth window as TF's ``PoolParameters`` does; with
    a depth window of 1 the depth stride is ignored."""
    k, stride = g.depth_window
    if k == 1:
        return depth
    if g.ksize != (1, 1):
        raise UnimplementedError(
            "MaxPooling supports exactly one of pooling across depth or pooling across "
            "width/height."
        )
    if depth >= 0 and depth % k:
        raise UnimplementedError(
            "Depthwise max pooling requires the depth window to evenly divide the input depth"
        )
    if stride != k:
        raise UnimplementedError(
            "Depthwise max pooling requires the depth window to equal the depth stride"
        )
    if op_name != "MaxPool":
        raise UnimplementedError("Non-spatial pooling is not yet supported. Volunteers? :)")
    if g.padding == "EXPLICIT":
        raise UnimplementedError("Depthwise max pooling does not support explicit padding.")
    return depth // k if depth >= 0 else -1


def _pool_plan(op_name: str, x: Shape, g: Geometry) -> tuple[Shape, Windows]:
    """The output shape and the H/W windows of a pool (NHWC: TF's CPU has no other)."""
    _rank4(x, "tensor_in")
    n, h, w, c = g.to_nhwc(x)
    depth = _pooled_depth(op_name, g, c)
    if g.depth_window[0] > 1:
        # Pooling across depth keeps the spatial dims, whatever the strides.
        return (n, h, w, depth), (Window(h, 0, 0), Window(w, 0, 0))
    rows, cols = g.spatial(h, w, *g.ksize)
    return (n, rows.out, cols.out, c), (rows, cols)


def _lowest(dtype: np.dtype) -> int | float:
    """TF's ``NumTraits<T>::lowest()``: the most negative finite value of ``dtype``."""
    if dtype in FLOATS:
        return float(ml_dtypes.finfo(dtype).min)  # type: ignore[no-untyped-call]
    return int(np.iinfo(dtype).min)


def _max_pool(x: np.ndarray, g: Geometry, windows: Windows, lowest: int | float) -> np.ndarray:
    if g.depth_window[0] > 1:
        # std::max folded from the first element: only a leading NaN survives.
        groups = x.reshape(*x.shape[:3], -1, g.depth_window[0])
        if x.dtype.kind != "f":
            return np.asarray(groups.max(axis=-1))
        top = np.where(np.isnan(groups), -np.inf, groups).max(axis=-1)
        return np.asarray(np.where(np.isnan(groups[..., 0]), groups[..., 0], top))
    if x.dtype.kind != "f":
        return np.asarray(_patches(x, g, windows, g.ksize, lowest).max(axis=(-2, -1)))
    # Padding never wins, nor NaN, nor anything below the dtype's lowest (-inf).
    x = np.where(np.isnan(x), lowest, x)
    top = _patches(x, g, windows, g.ksize, lowest).max(axis=(-2, -1))
    return np.asarray(np.maximum(top, x.dtype.type(lowest)))


def _pool(op_name: str, x: np.ndarray, g: Geometry) -> np.ndarray:
    shape, windows = _pool_plan(op_name, x.shape, g)
    out = known_shape(shape)
    acc = FLOAT32 if x.dtype in HALVES else x.dtype
    wide = x.astype(acc)
    if min(out) == 0:
        result = np.zeros(out, acc)
    elif op_name == "MaxPool":
        result = _max_pool(wide, g, windows, _lowest(x.dtype))
    else:
        total = _patches(wide, g, windows, g.ksize, 0).sum(axis=(-2, -1))
        ones = np.ones((1, *x.shape[1:3], 1), acc)
        count = _patches(ones, g, windows, g.ksize, 0).sum(axis=(-2, -1))
        with np.errstate(all="ignore"):
            result = total / count
    return np.ascontiguousarray(result).astype(x.dtype)


def _max_pool_shape(
    x: TensorSpec, *, ksize: list[int], strides: list[int], padding: bytes,
    explicit_paddings: list[int], data_format: bytes,
) -> Shape:  # fmt: skip
    g = geometry("MaxPool", strides=strides, padding=padding, data_format=data_format,
                 explicit_paddings=explicit_paddings, ksize=ksize)  # fmt: skip
    return _pool_plan("MaxPool", x.shape, g)[0]


@op("MaxPool", shape=_max_pool_shape)
def max_pool(
    x: np.ndarray, *, ksize: list[int], strides: list[int], padding: bytes,
    explicit_paddings: list[int], data_format: bytes,
) -> np.ndarray:  # fmt: skip
    """Window maxima, padding and NaN skipped; across depth a leading NaN wins."""
    g = geometry("MaxPool", strides=strides, padding=padding, data_format=data_format,
                 explicit_paddings=explicit_paddings, ksize=ksize)  # fmt: skip
    return _pool("MaxPool", x, g)


def _avg_pool_shape(
    x: TensorSpec, *, ksize: list[int], strides: list[int], padding: bytes, data_format: bytes
) -> Shape:
    g = geometry("AvgPool", strides=strides, padding=padding, data_format=data_format,
                 ksize=ksize)  # fmt: skip
    return _pool_plan("AvgPool", x.shape, g)[0]


@op("AvgPool", shape=_avg_pool_shape)
def avg_pool(
    x: np.ndarray, *, ksize: list[int], strides: list[int], padding: bytes, data_format: bytes
) -> np.ndarray:
    """Window means, each divided by its count of real (unpadded) elements."""
    g = geometry("AvgPool", strides=strides, padding=padding, data_format=data_format,
                 ksize=ksize)  # fmt: skip
    return _pool("AvgPool", x, g)
