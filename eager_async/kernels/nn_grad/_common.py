"""What the gradients of the convolutions and pools share: TF's checks of their padding
attrs and sizes inputs, their windows (``conv.window``, TF's
``GetWindowedOutputSizeVerbose``, after TF's check of the stride), what is known of
4-d shapes in a shape rule, and the two moves of a windowed gradient: gathering the
element at one offset of every window (``shifted``) and adding values back onto the
windows they came from (``scatter``, TF's col2im).

>>> known(*dims4(None)), known(*dims4((1, 2, 3, 4)))
(False, True)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import concrete_specs
from ..conv import Window, explicit_padding, window
from ..specs import Shape, TensorSpec

Pads = tuple[tuple[int, int], tuple[int, int]]
Windows = tuple[Window, Window]
Piece = Callable[[int, int], np.ndarray]
UNKNOWN4 = (-1, -1, -1, -1)
F64 = np.dtype(np.float64)


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
    h, w, c = (2, 3, 1) if nchw else (1, 2, 3)
    return explicit_padding(padding, explicit, h, w, c)


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


def rank4(label: str, shapes: Sequence[tuple[str, Shape]]) -> None:
    """TF's check that each named shape is 4-d (a shape of unknown rank passes)."""
    for what, shape in shapes:
        if shape is not None and len(shape) != 4:
            raise InvalidArgumentError(f"{label}: {what} must be 4-dimensional")


def shape_of_sizes(label: str, spec: TensorSpec, what: str, indexed: bool) -> Shape:
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


def scatter(shape: tuple[int, ...], wins: Windows, strides: tuple[int, int],
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


def shifted(x: np.ndarray, wins: Windows, strides: tuple[int, int], k: Sequence[int]) -> Piece:
    """For NHWC ``x`` zero-padded as the windows pad it: the element at offset (i, j) of
    every window, shape (N, out_h, out_w, C)."""
    (rows, cols), (sh, sw) = wins, strides
    below = max(0, (rows.out - 1) * sh + k[0] - x.shape[1] - rows.before)
    right = max(0, (cols.out - 1) * sw + k[1] - x.shape[2] - cols.before)
    padded = np.pad(x, ((0, 0), (rows.before, below), (cols.before, right), (0, 0)))
    return lambda i, j: padded[:, i::sh, j::sw][:, : rows.out, : cols.out]
