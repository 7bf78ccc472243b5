"""Matrix products: MatMul (two matrices) and BatchMatMul, V2 and V3 (batches of them).

Where TF differs from ``np.matmul``:

- MatMul takes matrices only; BatchMatMul wants equal batch dims, V2 and V3 broadcast them;
- ``adj_x``/``adj_y`` conjugate-transpose (``transpose_a``/``transpose_b`` of MatMul
  only transpose); a shape mismatch is reported with the shapes as given;
- half types are multiplied in float32 and rounded once at the end; integers wrap;
- BatchMatMulV3 casts both inputs to ``Tout`` first (its op def lists the type mixes TF
  has kernels for: 8-bit integers into int32, bfloat16 with 8-bit integers).

>>> matmul(np.ones((2, 3), np.float32), np.ones((3, 1), np.float32),
...         transpose_a=False, transpose_b=False).shape
(2, 1)
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import FLOAT32, HALVES, broadcast, shape_str
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import adjoint, at_least_matrix, widen

__all__ = ["batch_matmul", "batch_matmul_v2", "batch_matmul_v3", "matmul"]


def _matmul(a: Shape, b: Shape, transpose_a: bool, transpose_b: bool) -> Shape:
    for i, shape in enumerate((a, b)):
        if shape is not None and len(shape) != 2:
            raise InvalidArgumentError(
                f"In[{i}] is not a matrix. Instead it has shape {shape_str(shape)}"
            )
    x, y = a or (-1, -1), b or (-1, -1)
    x, y = (x[::-1] if transpose_a else x), (y[::-1] if transpose_b else y)
    if x[1] >= 0 and y[0] >= 0 and x[1] != y[0]:
        raise InvalidArgumentError(
            f"Matrix size-incompatible: In[0]: {shape_str(a)}, In[1]: {shape_str(b)}"
        )
    return (x[0], y[1])


def _matmul_shape(a: TensorSpec, b: TensorSpec, *, transpose_a: bool, transpose_b: bool
                   ) -> Shape:  # fmt: skip
    return _matmul(a.shape, b.shape, transpose_a, transpose_b)


@op("MatMul", shape=_matmul_shape)
def matmul(a: np.ndarray, b: np.ndarray, *, transpose_a: bool, transpose_b: bool
            ) -> np.ndarray:  # fmt: skip
    """a @ b of two matrices, each transposed first if asked."""
    _matmul(a.shape, b.shape, transpose_a, transpose_b)
    x, y = (a.T if transpose_a else a), (b.T if transpose_b else b)
    if a.dtype in HALVES:  # NumPy has no BLAS for half types
        x, y = x.astype(FLOAT32), y.astype(FLOAT32)
    with np.errstate(all="ignore"):
        return np.asarray(np.matmul(x, y), dtype=a.dtype)


def _batched(a: Shape, b: Shape, adj_x: bool, adj_y: bool, broadcast_batch: bool) -> Shape:
    """The shape of a batched ``x @ y`` (after the adjoints)."""
    at_least_matrix("In[0]", a)
    at_least_matrix("In[1]", b)
    if a is None or b is None:
        return None
    rows, inner_x = (a[-1], a[-2]) if adj_x else (a[-2], a[-1])
    inner_y, cols = (b[-1], b[-2]) if adj_y else (b[-2], b[-1])
    if broadcast_batch:
        try:
            batch = broadcast(a[:-2], b[:-2])
        except InvalidArgumentError:
            raise InvalidArgumentError(
                "In[0] and In[1] must have compatible batch dimensions: "
                f"{shape_str(a)} vs. {shape_str(b)}"
            ) from None
        assert batch is not None
    else:
        if len(a) != len(b):
            raise InvalidArgumentError(
                f"In[0] and In[1] has different ndims: {shape_str(a)} vs. {shape_str(b)}"
            )
        for i, (p, q) in enumerate(zip(a[:-2], b[:-2], strict=True)):
            if p >= 0 and q >= 0 and p != q:
                raise InvalidArgumentError(
                    f"In[0].dim({i}) and In[1].dim({i}) must be the same: "
                    f"{shape_str(a)} vs {shape_str(b)}"
                )
        batch = tuple(p if p >= 0 else q for p, q in zip(a[:-2], b[:-2], strict=True))
    if inner_x >= 0 and inner_y >= 0 and inner_x != inner_y:
        raise InvalidArgumentError(
            f"Matrix size-incompatible: In[0]: {shape_str(a)}, In[1]: {shape_str(b)}"
        )
    return (*batch, rows, cols)


def _product(x: np.ndarray, y: np.ndarray, adj_x: bool, adj_y: bool, out: np.dtype
             ) -> np.ndarray:  # fmt: skip
    x, y = widen(x.astype(out, copy=False)), widen(y.astype(out, copy=False))
    x, y = (adjoint(x) if adj_x else x), (adjoint(y) if adj_y else y)
    with np.errstate(all="ignore"):  # integers wrap, as in TF
        return np.asarray(np.matmul(x, y), dtype=out)


def _v1_shape(x: TensorSpec, y: TensorSpec, *, adj_x: bool, adj_y: bool) -> Shape:
    return _batched(x.shape, y.shape, adj_x, adj_y, broadcast_batch=False)


def _v2_shape(x: TensorSpec, y: TensorSpec, *, adj_x: bool, adj_y: bool) -> Shape:
    return _batched(x.shape, y.shape, adj_x, adj_y, broadcast_batch=True)


@op("BatchMatMul", shape=_v1_shape)
def batch_matmul(x: np.ndarray, y: np.ndarray, *, adj_x: bool, adj_y: bool) -> np.ndarray:
    """``x @ y`` over equal leading batch dims."""
    _batched(x.shape, y.shape, adj_x, adj_y, broadcast_batch=False)
    return _product(x, y, adj_x, adj_y, x.dtype)


@op("BatchMatMulV2", shape=_v2_shape)
def batch_matmul_v2(x: np.ndarray, y: np.ndarray, *, adj_x: bool, adj_y: bool) -> np.ndarray:
    """``x @ y`` with the leading batch dims broadcast."""
    _batched(x.shape, y.shape, adj_x, adj_y, broadcast_batch=True)
    return _product(x, y, adj_x, adj_y, x.dtype)


@op("BatchMatMulV3", shape=_v2_shape)
def batch_matmul_v3(x: np.ndarray, y: np.ndarray, *, adj_x: bool, adj_y: bool, Tout: np.dtype
                     ) -> np.ndarray:  # fmt: skip
    """BatchMatMulV2 of the inputs cast to ``Tout``."""
    _batched(x.shape, y.shape, adj_x, adj_y, broadcast_batch=True)
    return _product(x, y, adj_x, adj_y, Tout)
