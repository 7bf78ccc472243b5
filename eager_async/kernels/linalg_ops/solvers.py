"""Decompositions and solvers: MatrixInverse, MatrixDeterminant, Cholesky, Qr,
MatrixSolve, MatrixTriangularSolve.

TF's rules, which NumPy's ``linalg`` does not follow by itself:

- half types are in the op defs, but TF's CPU kernels exist only for float, double and
  the complex types (the contract answers NOT_FOUND for the rest); Qr and MatrixInverse
  also have a half kernel, run here in float32 and rounded once;
- a singular matrix (an exactly zero pivot) is an error for MatrixInverse and
  MatrixSolve, but MatrixTriangularSolve just divides by zero (inf/nan), as Eigen does;
- MatrixSolve wants equal batch dims, MatrixTriangularSolve broadcasts them;
- Cholesky and MatrixTriangularSolve read only one triangle of the matrix;
- Qr's signs are not normalised: ``r``'s diagonal is LAPACK's (Householder) choice.

>>> matrix_inverse(np.float32([[2, 0], [0, 4]]), adjoint=False).tolist()
[[0.5, 0.0], [0.0, 0.25]]
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import FLOAT32, broadcast, known_shape, shape_str
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import adjoint as _adjoint  # the kernels' attr "adjoint" shadows the name

__all__ = [
    "cholesky",
    "matrix_determinant",
    "matrix_inverse",
    "matrix_solve",
    "matrix_triangular_solve",
    "qr",
]

F16 = np.dtype(np.float16)


def _square(op_name: str, shape: Shape) -> Shape:
    """A batch of square matrices, checked in TF's LinearAlgebraOp words."""
    if shape is None:
        return None
    if len(shape) < 2:
        raise InvalidArgumentError(
            f"{op_name}: Input tensor 0 must have rank >= 2, got {len(shape)}"
        )
    if shape[-1] >= 0 and shape[-2] >= 0 and shape[-1] != shape[-2]:
        raise InvalidArgumentError(
            f"{op_name}: Input matrix must be square, got shape {shape_str(shape)}"
        )
    n = shape[-1] if shape[-1] >= 0 else shape[-2]
    return (*shape[:-2], n, n)


def _inverse_shape(x: TensorSpec) -> Shape:
    return _square("MatrixInverse", x.shape)


def _determinant_shape(x: TensorSpec) -> Shape:
    shape = _square("MatrixDeterminant", x.shape)
    return None if shape is None else shape[:-2]


def _cholesky_shape(x: TensorSpec) -> Shape:
    return _square("Cholesky", x.shape)


@op("MatrixInverse", shape=_inverse_shape)
def matrix_inverse(x: np.ndarray, *, adjoint: bool) -> np.ndarray:
    """The inverse of each matrix (of its adjoint when ``adjoint``)."""
    _square("MatrixInverse", x.shape)
    a = _adjoint(x) if adjoint else x
    try:
        with np.errstate(all="ignore"):
            return np.linalg.inv(a.astype(FLOAT32) if x.dtype == F16 else a).astype(x.dtype)
    except np.linalg.LinAlgError:
        raise InvalidArgumentError("Input is not invertible.") from None



@op("MatrixDeterminant", shape=_determinant_shape)
def matrix_determinant(x: np.ndarray) -> np.ndarray:
    """The determinant of each matrix; 0 for a singular one, 1 for a 0x0 one."""
    _square("MatrixDeterminant", x.shape)
    with np.errstate(all="ignore"):
        return np.asarray(np.linalg.det(x), dtype=x.dtype)


@op("Cholesky", shape=_cholesky_shape)
def cholesky(x: np.ndarray) -> np.ndarray:
    """The lower factor ``L`` of ``x = L L^H``, read from the lower triangle of ``x``."""
    _square("Cholesky", x.shape)
    try:
        with np.errstate(all="ignore"):
            return np.linalg.cholesky(x).astype(x.dtype, copy=False)
    except np.linalg.LinAlgError:
        # TF up to 2.16 raises this; later CPU kernels instead fill the lower triangle
        # with NaN and log a warning. An error tells the caller more.
        raise InvalidArgumentError(
            "Cholesky decomposition was not successful. The input might not be valid."
        ) from None


def _qr(shape: Shape, full_matrices: bool) -> tuple[Shape, Shape]:
    """q [..., m, p], r [..., p, n]; p = m if full_matrices else min(m, n)."""
    if shape is None:
        return None, None
    if len(shape) < 2:
        raise InvalidArgumentError(f"Qr: Input tensor 0 must have rank >= 2, got {len(shape)}")
    *batch, m, n = shape
    if full_matrices:
        return (*batch, m, m), (*batch, m, n)
    p = -1 if m < 0 or n < 0 else min(m, n)
    return (*batch, m, p), (*batch, p, n)


def _qr_shape(x: TensorSpec, *, full_matrices: bool) -> tuple[Shape, Shape]:
    return _qr(x.shape, full_matrices)


@op("Qr", shape=_qr_shape)
def qr(x: np.ndarray, *, full_matrices: bool) -> tuple[np.ndarray, np.ndarray]:
    """``q, r`` with ``x = q @ r``, ``q`` orthonormal columns, ``r`` upper triangular."""
    _qr(x.shape, full_matrices)
    with np.errstate(all="ignore"):
        q, r = np.linalg.qr(x.astype(FLOAT32) if x.dtype == F16 else x,
                            mode="complete" if full_matrices else "reduced")  # fmt: skip
    return q.astype(x.dtype, copy=False), r.astype(x.dtype, copy=False)


def _solve(matrix: Shape, rhs: Shape) -> Shape:
    """MatrixSolve: the rhs's shape; square matrices, rows and batch dims matching."""
    square = _square("MatrixSolve", matrix)
    if rhs is not None and len(rhs) < 2:
        raise InvalidArgumentError(
            f"MatrixSolve: Input tensor 1 must have rank >= 2, got {len(rhs)}"
        )
    if square is None or rhs is None:
        return rhs  # the matrix is square: the solution has the rhs's shape
    if len(square) != len(rhs):
        raise InvalidArgumentError(
            "MatrixSolve: All input tensors must have the same rank: "
            f"{shape_str(matrix)} vs. {shape_str(rhs)}"
        )
    out = []
    for d, (p, q) in enumerate(zip(square[:-1], rhs[:-1], strict=True)):
        if p >= 0 and q >= 0 and p != q:
            what = "rows" if d == len(rhs) - 2 else "outer dimensions"
            raise InvalidArgumentError(
                f"MatrixSolve: Input matrix and rhs are incompatible: their {what} differ "
                f"({shape_str(matrix)} vs. {shape_str(rhs)})"
            )
        out.append(p if p >= 0 else q)
    return (*out, rhs[-1])


def _solve_shape(matrix: TensorSpec, rhs: TensorSpec) -> Shape:
    return _solve(matrix.shape, rhs.shape)


@op("MatrixSolve", shape=_solve_shape)
def matrix_solve(matrix: np.ndarray, rhs: np.ndarray, *, adjoint: bool) -> np.ndarray:
    """``x`` with ``matrix @ x = rhs`` (``adjoint(matrix) @ x = rhs`` when ``adjoint``)."""
    _solve(matrix.shape, rhs.shape)
    a = _adjoint(matrix) if adjoint else matrix
    if a.size == 0 or rhs.size == 0:
        return np.zeros(rhs.shape, dtype=rhs.dtype)
    try:
        with np.errstate(all="ignore"):
            return np.linalg.solve(a, rhs).astype(rhs.dtype, copy=False)
    except np.linalg.LinAlgError:
        raise InvalidArgumentError("Input matrix is not invertible.") from None


def _triangular(a: Shape, b: Shape, lower: bool, adjoint: bool) -> Shape:
    """MatrixTriangularSolve: the rhs's shape, the batch dims broadcast."""
    for i, shape in enumerate((a, b)):
        if shape is not None and len(shape) < 2:
            raise InvalidArgumentError(f"In[{i}] ndims must be >= 2: {len(shape)}")
    if a is not None and a[-1] >= 0 and a[-2] >= 0 and a[-1] != a[-2]:
        raise InvalidArgumentError(
            f"In[0] matrices in the last dimensions must be square ({a[-1]} =/= {a[-2]})"
        )
    if a is None or b is None:
        return None
    try:
        batch = broadcast(a[:-2], b[:-2])
    except InvalidArgumentError:
        raise InvalidArgumentError(
            "In[0] and In[1] must have compatible batch dimensions: "
            f"{shape_str(a)} vs. {shape_str(b)}"
        ) from None
    assert batch is not None
    m = a[-1] if a[-1] >= 0 else a[-2]
    if m >= 0 and b[-2] >= 0 and m != b[-2]:
        raise InvalidArgumentError(
            f"In[0] mismatch In[1] shape: {m} vs. {b[-2]}: {shape_str(a)} {shape_str(b)} "
            f"{int(lower)} {int(adjoint)}"
        )
    return (*batch, m if m >= 0 else b[-2], b[-1])


def _triangular_shape(matrix: TensorSpec, rhs: TensorSpec, *, lower: bool, adjoint: bool
                      ) -> Shape:  # fmt: skip
    return _triangular(matrix.shape, rhs.shape, lower, adjoint)


@op("MatrixTriangularSolve", shape=_triangular_shape)
def matrix_triangular_solve(matrix: np.ndarray, rhs: np.ndarray, *, lower: bool, adjoint: bool
                            ) -> np.ndarray:  # fmt: skip
    """``x`` with ``tri(matrix) @ x = rhs`` where ``tri`` keeps the lower (or upper)
    triangle; with ``adjoint``, ``adjoint(tri(matrix)) @ x = rhs``."""
    shape = known_shape(_triangular(matrix.shape, rhs.shape, lower, adjoint))
    tri = np.tril(matrix) if lower else np.triu(matrix)
    if adjoint:
        tri, lower = _adjoint(tri), not lower
    tri = np.broadcast_to(tri, (*shape[:-2], *tri.shape[-2:]))
    x = np.array(np.broadcast_to(rhs, shape), dtype=rhs.dtype)
    n = tri.shape[-1]
    # Substitution row by row: a zero on the diagonal gives inf/nan, as in TF (Eigen).
    with np.errstate(all="ignore"):
        for i in range(n) if lower else reversed(range(n)):
            done = slice(0, i) if lower else slice(i + 1, n)
            partial = np.matmul(tri[..., i : i + 1, done], x[..., done, :])
            x[..., i, :] = (x[..., i, :] - partial[..., 0, :]) / tri[..., i, i : i + 1]
    return x
