"""Band and diagonal ops: MatrixBandPart, MatrixDiag, MatrixDiagPart, MatrixDiagV3 and
MatrixDiagPartV3. They move values without arithmetic, so every number type and bool is
accepted (the op defs take strings too, but TF has no CPU kernel for them: NOT_FOUND).

The V3 ops address diagonals by offset ``k`` (0 the main diagonal, > 0 above it) and
take a range ``k = [low, high]`` at once, stacked from ``high`` down to ``low``. A
diagonal shorter than the longest is padded; ``align`` says on which side its values
sit: ``b"RIGHT_LEFT"`` (the default) right-aligns superdiagonals and left-aligns
subdiagonals. Where TF differs from NumPy's ``diag``/``diagonal``:

- ``num_rows``/``num_cols`` of -1 take the smallest size that fits the diagonals;
- MatrixDiagPartV3 takes any ``padding_value`` of one element ([1], [[1]]), MatrixDiagV3
  a scalar only;
- MatrixBandPart keeps a whole triangle for a negative band count, and refuses a count
  larger than the matrix.

>>> matrix_diag_part(np.arange(6).reshape(2, 3)).tolist()
[0, 4]
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import int_values, known_shape, num_elements, shape_str
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import spec_of

__all__ = [
    "matrix_band_part",
    "matrix_diag",
    "matrix_diag_part",
    "matrix_diag_part_v3",
    "matrix_diag_v3",
]


def _matrix_input(op_name: str, shape: Shape) -> None:
    if shape is not None and len(shape) < 2:
        raise InvalidArgumentError(
            f"{op_name}: input must be at least 2-dim, received shape: {shape_str(shape)}"
        )


def _diagonal_input(shape: Shape) -> None:
    if shape is not None and len(shape) < 1:
        raise InvalidArgumentError(
            f"diagonal must be at least 1-dim, received shape: {shape_str(shape)}"
        )


def _band_part_shape(x: TensorSpec, num_lower: TensorSpec, num_upper: TensorSpec) -> Shape:
    _matrix_input("MatrixBandPart", x.shape)
    for spec, what, axis in ((num_lower, "num_lower", -2), (num_upper, "num_upper", -1)):
        if spec.shape not in (None, ()):
            raise InvalidArgumentError(f"{what} must be scalar, got shape {shape_str(spec.shape)}")
        size = -1 if x.shape is None else x.shape[axis]
        if spec.value is not None and size >= 0 and int(spec.value) > size:
            kind = "rows" if axis == -2 else "columns"
            raise InvalidArgumentError(
                f"{what} must be negative or less or equal to number of {kind} ({size}) "
                f"got: {int(spec.value)}"
            )
    return x.shape


@op("MatrixBandPart", shape=_band_part_shape)
def matrix_band_part(x: np.ndarray, num_lower: np.ndarray, num_upper: np.ndarray) -> np.ndarray:
    """Zero everything outside a band of ``num_lower`` subdiagonals and ``num_upper``
    superdiagonals (a negative count keeps the whole triangle)."""
    _band_part_shape(spec_of(x), spec_of(num_lower), spec_of(num_upper))
    lower, upper = int(num_lower), int(num_upper)
    rows = np.arange(x.shape[-2])[:, None]
    cols = np.arange(x.shape[-1])[None, :]
    keep = np.ones((x.shape[-2], x.shape[-1]), dtype=bool)
    if lower >= 0:
        keep &= rows - cols <= lower
    if upper >= 0:
        keep &= cols - rows <= upper
    return np.where(keep, x, np.zeros((), dtype=x.dtype))


def _diag_shape(diagonal: TensorSpec) -> Shape:
    _diagonal_input(diagonal.shape)
    return None if diagonal.shape is None else (*diagonal.shape, diagonal.shape[-1])


@op("MatrixDiag", shape=_diag_shape)
def matrix_diag(diagonal: np.ndarray) -> np.ndarray:
    """Square matrices with ``diagonal`` on the main diagonal and zeros elsewhere."""
    result = np.zeros(known_shape(_diag_shape(spec_of(diagonal))), dtype=diagonal.dtype)
    n = np.arange(diagonal.shape[-1])
    result[..., n, n] = diagonal
    return result


def _diag_part_shape(x: TensorSpec) -> Shape:
    _matrix_input("MatrixDiagPart", x.shape)
    if x.shape is None:
        return None
    *batch, rows, cols = x.shape
    return (*batch, min(rows, cols) if rows >= 0 and cols >= 0 else -1)


@op("MatrixDiagPart", shape=_diag_part_shape)
def matrix_diag_part(x: np.ndarray) -> np.ndarray:
    """The main diagonal of each matrix (``min(rows, cols)`` long)."""
    _diag_part_shape(spec_of(x))
    return np.diagonal(x, axis1=-2, axis2=-1).copy()


# --- V3: a range of diagonals, aligned and padded ------------------------------------


def _k_range(op_name: str, spec: TensorSpec) -> tuple[int, int] | None:
    """``k`` as ``(low, high)``: a scalar or a vector of one or two offsets."""
    if spec.shape is not None and len(spec.shape) == 1 and spec.shape[0] not in (-1, 1, 2):
        raise InvalidArgumentError(
            f"diag_index must have only one or two elements, received {spec.shape[0]} elements."
        )
    k = int_values(op_name, spec, "k (diag_index)")
    if k is None:
        return None
    low, high = k[0], k[-1]
    if low > high:
        raise InvalidArgumentError(
            f"lower_diag_index must not be larger than upper_diag_index: {low} > {high}"
        )
    return low, high


def _left_aligned(align: bytes) -> tuple[bool, bool]:
    """Whether superdiagonals and subdiagonals are left-aligned."""
    return align in (b"LEFT_LEFT", b"LEFT_RIGHT"), align in (b"LEFT_LEFT", b"RIGHT_LEFT")


def _diagonal_at(
    d: int, rows: int, cols: int, width: int, left: tuple[bool, bool]
) -> tuple[np.ndarray, np.ndarray, slice]:
    """Row and column indices of diagonal ``d`` and where its values sit in a padded
    row of ``width``."""
    length = max(min(rows + min(0, d), cols - max(0, d)), 0)
    left_aligned = (d >= 0 and left[0]) or (d <= 0 and left[1])
    offset = 0 if left_aligned else width - length
    steps = np.arange(length)
    return steps + max(0, -d), steps + max(0, d), slice(offset, offset + length)


def _scalar(spec: TensorSpec, what: str) -> None:
    if spec.shape not in (None, ()):
        raise InvalidArgumentError(
            f"MatrixDiagV3: {what} must be a scalar, got {shape_str(spec.shape)}"
        )


def _diag_v3_shape(
    diagonal: TensorSpec, k: TensorSpec, num_rows: TensorSpec, num_cols: TensorSpec,
    padding_value: TensorSpec,
) -> Shape:  # fmt: skip
    """batch + [rows, cols]; a -1 takes the smallest size that fits."""
    _scalar(num_rows, "num_rows")
    _scalar(num_cols, "num_cols")
    _scalar(padding_value, "padding_value")
    k_range = _k_range("MatrixDiagV3", k)
    shape = diagonal.shape
    _diagonal_input(shape)
    if k_range is None or shape is None:
        return None
    low, high = k_range
    batch = shape[:-1] if low == high else shape[:-2]
    if low != high and (len(shape) < 2 or (shape[-2] >= 0 and shape[-2] != high - low + 1)):
        raise InvalidArgumentError(
            "The number of diagonals provided in the input does not match the "
            f"lower_diag_index and upper_diag_index range (k = [{low}, {high}], "
            f"diagonal shape {shape_str(shape)})."
        )
    if num_rows.value is None or num_cols.value is None or shape[-1] < 0:
        return (*batch, -1, -1)
    width, rows, cols = shape[-1], int(num_rows.value), int(num_cols.value)
    min_rows, min_cols = width - min(high, 0), width + max(low, 0)
    if rows != -1 and rows < min_rows:
        raise InvalidArgumentError(f"The number of rows is too small (at least {min_rows}).")
    if cols != -1 and cols < min_cols:
        raise InvalidArgumentError(f"The number of columns is too small (at least {min_cols}).")
    if rows == -1 and cols == -1:
        rows = cols = max(min_rows, min_cols)
    rows = min_rows if rows == -1 else rows
    cols = min_cols if cols == -1 else cols
    if rows != min_rows and cols != min_cols:
        raise InvalidArgumentError(
            "The number of rows or columns is not consistent with the specified d_lower, "
            f"d_upper, and diagonal (num_rows {rows}, num_cols {cols})."
        )
    return (*batch, rows, cols)


@op("MatrixDiagV3", shape=_diag_v3_shape)
def matrix_diag_v3(
    diagonal: np.ndarray, k: np.ndarray, num_rows: np.ndarray, num_cols: np.ndarray,
    padding_value: np.ndarray, *, align: bytes,
) -> np.ndarray:  # fmt: skip
    """A batch of matrices with the diagonals ``k`` and ``padding_value`` elsewhere."""
    specs = map(spec_of, (diagonal, k, num_rows, num_cols, padding_value))
    shape = known_shape(_diag_v3_shape(*specs))
    low, high = int(np.ravel(k)[0]), int(np.ravel(k)[-1])
    *_, rows, cols = shape
    result = np.full(shape, padding_value, dtype=diagonal.dtype)
    stacked = diagonal[..., None, :] if low == high else diagonal
    for d in range(low, high + 1):
        i, j, where = _diagonal_at(d, rows, cols, diagonal.shape[-1], _left_aligned(align))
        result[..., i, j] = stacked[..., high - d, where]
    return result


def _diag_part_v3_shape(x: TensorSpec, k: TensorSpec, padding_value: TensorSpec) -> Shape:
    """batch, [count of k if a range], the longest diagonal's length."""
    if num_elements(padding_value.shape) not in (None, 1):
        raise InvalidArgumentError(
            "Padding must be scalar. MatrixDiagPartV3: padding_value has shape "
            f"{shape_str(padding_value.shape)}"
        )
    _matrix_input("MatrixDiagPartV3", x.shape)
    k_range = _k_range("MatrixDiagPartV3", k)
    if k_range is None or x.shape is None:
        return None
    low, high = k_range
    *batch, rows, cols = x.shape
    width = -1
    if rows >= 0 and cols >= 0:
        for name, d in (("lower_diag_index", low), ("upper_diag_index", high)):
            if not (-rows < d < cols or d == 0):
                raise InvalidArgumentError(
                    f"{name} is out of bound: {d}. It must be between {-rows} and {cols}"
                )
        width = min(rows + min(high, 0), cols - max(low, 0))
    depth = () if low == high else (high - low + 1,)
    return (*batch, *depth, width)


@op("MatrixDiagPartV3", shape=_diag_part_v3_shape)
def matrix_diag_part_v3(
    x: np.ndarray, k: np.ndarray, padding_value: np.ndarray, *, align: bytes
) -> np.ndarray:
    """The diagonals ``k`` of each matrix, padded with ``padding_value`` to one length."""
    shape = known_shape(_diag_part_v3_shape(spec_of(x), spec_of(k), spec_of(padding_value)))
    low, high = int(np.ravel(k)[0]), int(np.ravel(k)[-1])
    width = shape[-1]
    result = np.full((*x.shape[:-2], high - low + 1, width), np.ravel(padding_value)[0],
                     dtype=x.dtype)  # fmt: skip
    for d in range(low, high + 1):
        i, j, where = _diagonal_at(d, x.shape[-2], x.shape[-1], width, _left_aligned(align))
        result[..., high - d, where] = x[..., i, j]
    return result.reshape(shape)
