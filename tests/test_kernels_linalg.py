"""Records of the linear algebra kernels: batched products, Einsum, decompositions and
solvers, band and diagonal ops (MatMul's records are in test_kernels_core.py)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from kernel_records import (
    INF,
    Bad,
    Case,
    Inference,
    b,
    bf16,
    c64,
    f16,
    f32,
    f64,
    i8,
    i16,
    i32,
    i64,
    rand,
    s,
    t,
    u8,
)

from eager_async.errors import InvalidArgumentError, NotFoundError
from eager_async.kernels import lookup

C128 = np.complex128


def crand(shape: tuple[int, ...], dtype: type = np.complex64) -> np.ndarray:
    return (rand(shape, np.float64) + 1j * rand(shape, np.float64)).astype(dtype)


def adj(x: np.ndarray) -> np.ndarray:
    return np.conj(np.swapaxes(x, -1, -2))


def spd(n: int, batch: tuple[int, ...] = (), dtype: type = np.float64) -> np.ndarray:
    """A well-conditioned symmetric (Hermitian) positive definite batch."""
    a = rand((*batch, n, n), np.float64)
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dtype)


def well_conditioned(n: int, batch: tuple[int, ...] = (), dtype: type = np.float64) -> np.ndarray:
    return (rand((*batch, n, n), np.float64) + 4 * np.eye(n)).astype(dtype)


def _qr_case(x: np.ndarray, full: bool, tol: float, name: str) -> Case:
    q, r = np.linalg.qr(x.astype(np.float64), mode="complete" if full else "reduced")
    return Case("Qr", (x,), (q.astype(x.dtype), r.astype(x.dtype)),
                {"full_matrices": full}, tol=tol, name=name)


SPD2 = spd(3, (2,))
WC = well_conditioned(3, (2,))
RHS = rand((2, 3, 2), np.float64)
CWC = (well_conditioned(2) + 1j * rand((2, 2), np.float64)).astype(C128)
DIAGS = i32([[[0, 8, 9], [1, 2, 3], [4, 5, 0]], [[0, 2, 3], [6, 7, 9], [9, 1, 0]]])
BAND = i32([[[1, 8, 0], [4, 2, 9], [0, 5, 3]], [[6, 2, 0], [9, 7, 3], [0, 1, 9]]])
PART_IN = i32([[[1, 2, 3, 4], [5, 6, 7, 8], [9, 8, 7, 6]],
               [[5, 4, 3, 2], [1, 2, 3, 4], [5, 6, 7, 8]]])
LOWER = f64([[2, 99], [1, 1]])  # 99 sits in the triangle a lower solve never reads
Z = i32(0)

C = Case
CASES = [
    # BatchMatMul: batch dims must be equal.
    C("BatchMatMul", (rand((2, 2, 3)), rand((2, 3, 4))), np.matmul, tol=1e-5),
    C("BatchMatMul", (crand((2, 3, 2)), crand((2, 4, 3))), lambda x, y: adj(x) @ adj(y),
      {"adj_x": True, "adj_y": True}, tol=1e-5, name="adjoint complex"),
    C("BatchMatMul", (i32([[[1, 2]]]), i32([[[3], [4]]])), (i32([[[11]]]),), name="int32"),
    C("BatchMatMul", (bf16([[1, 2]]), bf16([[3], [4]])), (bf16([[11]]),), name="bfloat16"),
    C("BatchMatMul", (f16([[[0.5, 2]]]), f16([[[2], [0.25]]])), (f16([[[1.5]]]),),
      name="float16"),
    C("BatchMatMul", (rand((0, 2, 3)), rand((0, 3, 1))), (f32(np.zeros((0, 2, 1))),),
      name="empty batch"),
    C("BatchMatMul", (rand((1, 2, 0)), rand((1, 0, 3))), (f32(np.zeros((1, 2, 3))),),
      name="empty inner"),
    # BatchMatMulV2: batch dims broadcast.
    C("BatchMatMulV2", (rand((2, 1, 2, 3)), rand((3, 3, 4))), np.matmul, tol=1e-5,
      name="broadcast"),
    C("BatchMatMulV2", (rand((2, 3)), rand((4, 3, 2), np.float32)), np.matmul, tol=1e-5,
      name="rank 2 by rank 3"),
    C("BatchMatMulV2", (rand((3, 2), np.float64), rand((2, 3, 2), np.float64)),
      lambda x, y: adj(x) @ y, {"adj_x": True}, tol=1e-12, name="adj_x float64"),
    C("BatchMatMulV2", (i16([[300]]), i16([[300]])), (i16([[24464]]),), name="int16 wraps"),
    C("BatchMatMulV2", (i64([[[2**62]]]), i64([[[4]]])), (i64([[[0]]]),), name="int64 wraps"),
    # BatchMatMulV3: inputs cast to Tout.
    C("BatchMatMulV3", (i8([[100, 100]]), i8([[100], [100]])), (i32([[20000]]),),
      {"Tout": np.dtype(np.int32)}, name="int8 into int32"),
    C("BatchMatMulV3", (u8([[200]]), i8([[-2]])), (i32([[-400]]),),
      {"Tout": np.dtype(np.int32)}, name="uint8 by int8"),
    C("BatchMatMulV3", (bf16([[1.5, 2]]), i8([[2], [-1]])), (bf16([[1]]),),
      {"Tout": np.dtype(bf16([]).dtype)}, name="bfloat16 by int8"),
    C("BatchMatMulV3", (rand((2, 2, 3)), rand((3, 1))), np.matmul,
      {"Tout": np.dtype(np.float32)}, tol=1e-5, name="float32"),
    C("BatchMatMulV3", (rand((2, 3), np.float64), rand((2, 3), np.float64)),
      lambda x, y: x @ y.T, {"Tout": np.dtype(np.float64), "adj_y": True}, tol=1e-12,
      name="adj_y float64"),
    # Einsum: one or two inputs.
    C("Einsum", (rand((2, 3)), rand((3, 4))), lambda x, y: x @ y,
      {"equation": b"ij,jk->ik"}, tol=1e-5),
    C("Einsum", (rand((2, 1, 2, 3)), rand((3, 3, 4))), np.matmul,
      {"equation": b"...ij,...jk->...ik"}, tol=1e-5, name="ellipsis broadcast"),
    C("Einsum", (i32([[1, 2], [3, 4]]),), (i32([1, 4]),), {"equation": b"ii->i"},
      name="diagonal"),
    C("Einsum", (f64([[1, 2], [3, 4.5]]),), (f64(10.5),), {"equation": b"ij->"},
      name="sum to scalar"),
    C("Einsum", (i64([1, 2]), i64([3, 4, 5])), (i64([[3, 4, 5], [6, 8, 10]]),),
      {"equation": b"i,j->ij"}, name="outer int64"),
    C("Einsum", (bf16([1, 2]), bf16([3, 0.5])), (bf16(4),), {"equation": b"i,i->"},
      name="bfloat16 dot"),
    C("Einsum", (c64([[1j, 2]]),), (c64([[1j], [2]]),), {"equation": b"ij->ji"},
      name="transpose complex"),
    C("Einsum", (rand((2, 0)), rand((0, 3))), (f32(np.zeros((2, 3))),),
      {"equation": b"ij,jk->ik"}, name="0-size contraction"),
    # TF: any character but '.' is a label; a label repeated in the output fills a diagonal.
    C("Einsum", (f32([[0, 1, 2], [3, 4, 5]]),), (f32([3, 12]),), {"equation": b"i1->i"},
      name="digit label"),
    C("Einsum", (f32([[0, 1, 2], [3, 4, 5]]),), (f32([[3, 0], [0, 12]]),),
      {"equation": b"ij->ii"}, name="repeated output label"),
    C("Einsum", (i32([[1], [2]]), i32([[3, 4]])), (i32([[[3, 0], [4, 0]], [[0, 6], [0, 8]]]),),
      {"equation": b"ij,jk->iki"}, name="repeated output label, two inputs"),
    # MatrixInverse
    C("MatrixInverse", (f64([[2, 1], [1, 1]]),), (f64([[1, -1], [-1, 2]]),), tol=1e-12),
    C("MatrixInverse", (f32(WC),), lambda x: np.linalg.inv(x.astype(np.float64)).astype(
        np.float32), tol=1e-5, name="batch float32"),
    C("MatrixInverse", (CWC,), lambda x: np.linalg.inv(adj(x)), {"adjoint": True},
      tol=1e-12, name="adjoint complex"),
    C("MatrixInverse", (f32(np.zeros((3, 0, 0))),), (f32(np.zeros((3, 0, 0))),), name="0x0"),
    C("MatrixInverse", (f16([[2, 1], [1, 3]]),), (f16([[0.6, -0.2], [-0.2, 0.4]]),),
      name="float16"),
    # MatrixDeterminant
    C("MatrixDeterminant", (f64([[1, 2], [3, 4]]),), (f64(-2),), tol=1e-12),
    C("MatrixDeterminant", (f32(WC),), lambda x: np.linalg.det(x.astype(np.float64)).astype(
        np.float32), tol=1e-4, name="batch float32"),
    C("MatrixDeterminant", (f64([[1, 2], [2, 4]]),), (f64(0),), name="singular"),
    C("MatrixDeterminant", (f32(np.zeros((2, 0, 0))),), (f32([1, 1]),), name="0x0"),
    C("MatrixDeterminant", (c64([[1j, 0], [0, 2]]),), (c64(2j),), tol=1e-6, name="complex"),
    # Cholesky: the upper triangle is never read.
    C("Cholesky", (f64([[4, 99], [2, 3]]),), (f64([[2, 0], [1, np.sqrt(2)]]),), tol=1e-12),
    C("Cholesky", (f32(SPD2),), lambda x: np.linalg.cholesky(x.astype(np.float64)).astype(
        np.float32), tol=1e-5, name="batch float32"),
    C("Cholesky", (np.array([[4, -2j], [2j, 5]], C128),),
      (np.array([[2, 0], [1j, 2]], C128),), tol=1e-12, name="complex"),
    C("Cholesky", (f64(np.zeros((0, 0))),), (f64(np.zeros((0, 0))),), name="0x0"),
    # Qr: TF's Householder signs match LAPACK's: r's diagonal is -sign(x) * norm.
    C("Qr", (f64([[3], [4]]),), (f64([[-0.6], [-0.8]]), f64([[-5]])), tol=1e-12,
      name="column"),
    _qr_case(rand((2, 4, 3), np.float64), False, 1e-12, "batch reduced"),
    _qr_case(rand((3, 2), np.float32), True, 1e-5, "full_matrices float32"),
    _qr_case(f16([[1, 2], [3, 4]]), False, 1e-2, "float16"),
    C("Qr", (f32(np.zeros((0, 3))),), (f32(np.zeros((0, 0))), f32(np.zeros((0, 3)))),
      name="0 rows"),
    # MatrixSolve
    C("MatrixSolve", (f64([[2, 0], [0, 4]]), f64([[2], [4]])), (f64([[1], [1]]),), tol=1e-12),
    C("MatrixSolve", (WC, RHS), np.linalg.solve, tol=1e-10, name="batch"),
    C("MatrixSolve", (CWC, crand((2, 3), C128)), lambda a, r: np.linalg.solve(adj(a), r),
      {"adjoint": True}, tol=1e-10, name="adjoint complex"),
    C("MatrixSolve", (f32(WC), f32(RHS)), lambda a, r: np.linalg.solve(
        a.astype(np.float64), r.astype(np.float64)).astype(np.float32), tol=1e-4,
      name="float32"),
    C("MatrixSolve", (f32(np.eye(2)), f32(np.zeros((2, 0)))), (f32(np.zeros((2, 0))),),
      name="no right-hand sides"),
    # MatrixTriangularSolve: one triangle read; batch dims broadcast; no singular check.
    C("MatrixTriangularSolve", (LOWER, f64([[2], [3]])), (f64([[1], [2]]),), tol=1e-12),
    C("MatrixTriangularSolve", (f64([[2, 1], [99, 1]]), f64([[4], [2]])), (f64([[1], [2]]),),
      {"lower": False}, tol=1e-12, name="upper"),
    C("MatrixTriangularSolve", (LOWER, f64([[4], [2]])), (f64([[1], [2]]),),
      {"adjoint": True}, tol=1e-12, name="adjoint of lower"),
    C("MatrixTriangularSolve", (f32(WC), f32(rand((3, 2)))),
      lambda a, r: np.linalg.solve(np.tril(a.astype(np.float64)), r).astype(np.float32),
      tol=1e-4, name="broadcast rhs"),
    C("MatrixTriangularSolve", (np.triu(CWC), crand((1, 2, 2), C128)),
      lambda a, r: np.linalg.solve(adj(np.triu(a)), r), {"lower": False, "adjoint": True},
      tol=1e-10, name="complex upper adjoint"),
    C("MatrixTriangularSolve", (f32([[0, 0], [1, 1]]), f32([[1], [1]])), (f32([[INF], [-INF]]),),
      name="zero pivot divides"),
    C("MatrixTriangularSolve", (f64(np.eye(2)), f64(np.zeros((0, 2, 3)))),
      (f64(np.zeros((0, 2, 3))),), name="empty batch"),
    # MatrixBandPart: negative counts keep a whole triangle.
    C("MatrixBandPart", (i32(np.arange(9).reshape(3, 3)), i64(1), i64(0)),
      (i32([[0, 0, 0], [3, 4, 0], [0, 7, 8]]),)),
    C("MatrixBandPart", (f32(np.ones((2, 2, 3))), i32(-1), i32(0)),
      (f32(np.tril(np.ones((2, 2, 3)))),), {"Tindex": np.dtype(np.int32)}, name="lower"),
    C("MatrixBandPart", (b(np.ones((3, 3))), i64(0), i64(-1)), (b(np.triu(np.ones((3, 3)))),),
      name="upper bool"),
    C("MatrixBandPart", (c64(np.ones((2, 2))), i64(-1), i64(-1)), (c64(np.ones((2, 2))),),
      name="keep all"),
    C("MatrixBandPart", (f16(np.zeros((0, 2))), i64(0), i64(0)), (f16(np.zeros((0, 2))),),
      name="0-size"),
    # MatrixDiag / MatrixDiagPart (main diagonal)
    C("MatrixDiag", (i32([1, 2]),), (i32([[1, 0], [0, 2]]),)),
    C("MatrixDiag", (b([[True], [False]]),), (b([[[True]], [[False]]]),), name="batch bool"),
    C("MatrixDiag", (f32(np.zeros((2, 0))),), (f32(np.zeros((2, 0, 0))),), name="0-size"),
    C("MatrixDiagPart", (i32(np.arange(6).reshape(2, 3)),), (i32([0, 4]),)),
    C("MatrixDiagPart", (PART_IN,), (i32([[1, 6, 7], [5, 2, 7]]),), name="batch"),
    C("MatrixDiagPart", (bf16(np.zeros((0, 3))),), (bf16(np.zeros((0,))),), name="0-size"),
    # MatrixDiagV3 (examples of TF's documentation)
    C("MatrixDiagV3", (DIAGS, i32([-1, 1]), i32(-1), i32(-1), Z), (BAND,), name="band"),
    C("MatrixDiagV3", (i32([[8, 9, 0], [1, 2, 3], [0, 4, 5]]), i32([-1, 1]), i32(-1), i32(-1),
                       Z), (BAND[0],), {"align": b"LEFT_RIGHT"}, name="LEFT_RIGHT"),
    C("MatrixDiagV3", (i32([[1, 2], [3, 4]]), i32(-1), i32(-1), i32(-1), Z),
      (i32([[[0, 0, 0], [1, 0, 0], [0, 2, 0]], [[0, 0, 0], [3, 0, 0], [0, 4, 0]]]),),
      name="subdiagonal"),
    C("MatrixDiagV3", (f32([1, 2]), i32(-1), i32(3), i32(-1), f32(9)),
      (f32([[9, 9], [1, 9], [9, 2]]),), name="rectangular padded"),
    C("MatrixDiagV3", (b([True]), i32(0), i32(2), i32(1), b(False)), (b([[True], [False]]),),
      name="rows given bool"),
    # MatrixDiagPartV3 (examples of TF's documentation)
    C("MatrixDiagPartV3", (PART_IN, i32(1), Z), (i32([[2, 7, 6], [4, 3, 8]]),),
      name="superdiagonal"),
    C("MatrixDiagPartV3", (PART_IN, i32([-1, 2]), Z),
      (i32([[[0, 3, 8], [2, 7, 6], [1, 6, 7], [5, 8, 0]],
            [[0, 3, 4], [4, 3, 8], [5, 2, 7], [1, 6, 0]]]),), name="band"),
    C("MatrixDiagPartV3", (PART_IN, i32([-1, 2]), Z),
      (i32([[[3, 8, 0], [2, 7, 6], [1, 6, 7], [0, 5, 8]],
            [[3, 4, 0], [4, 3, 8], [5, 2, 7], [0, 1, 6]]]),), {"align": b"LEFT_RIGHT"},
      name="LEFT_RIGHT"),
    C("MatrixDiagPartV3", (PART_IN, i32([-2, -1]), Z),
      (i32([[[5, 8], [9, 0]], [[1, 6], [5, 0]]]),), name="shorter than main"),
    C("MatrixDiagPartV3", (PART_IN, i32([1, 3]), i32(9)),
      (i32([[[9, 9, 4], [9, 3, 8], [2, 7, 6]], [[9, 9, 2], [9, 3, 4], [4, 3, 8]]]),),
      name="padding 9"),
    C("MatrixDiagPartV3", (PART_IN, i32([1, 3]), i32([[9]])),
      (i32([[[9, 9, 4], [9, 3, 8], [2, 7, 6]], [[9, 9, 2], [9, 3, 4], [4, 3, 8]]]),),
      name="one-element padding"),
    C("MatrixDiagPartV3", (f64(np.zeros((0, 0))), i32(0), f64(0)), (f64(np.zeros((0,))),),
      name="0x0"),
]


F, D, N = np.float32, np.float64, np.int32
INFERENCE = [
    Inference("BatchMatMul", (t(F, (-1, 2, 3)), t(F, (4, -1, 5))), (t(F, (4, 2, 5)),)),
    Inference("BatchMatMulV2", (t(F, (-1, 2, 3)), t(F, (3, 5))), (t(F, (-1, 2, 5)),)),
    Inference("BatchMatMulV2", (t(F, None), t(F, (3, 5))), (t(F, None),)),
    Inference("Einsum", (t(F, (2, -1)), t(F, (-1, 4))), (t(F, (2, 4)),),
              {"equation": b"ij,jk->ik"}),
    Inference("Einsum", (t(F, None), t(F, (3, 4))), (t(F, (-1, 4)),), {"equation": b"ij,jk->ik"}),
    Inference("MatrixInverse", (t(D, (5, -1, 3)),), (t(D, (5, 3, 3)),)),
    Inference("MatrixDeterminant", (t(D, (5, -1, -1)),), (t(D, (5,)),)),
    Inference("Qr", (t(D, (-1, 4, 3)),), (t(D, (-1, 4, 3)), t(D, (-1, 3, 3)))),
    Inference("Qr", (t(D, (2, -1)),), (t(D, (2, 2)), t(D, (2, -1))), {"full_matrices": True}),
    Inference("MatrixSolve", (t(D, (-1, 3, 3)), t(D, (2, -1, 4))), (t(D, (2, 3, 4)),)),
    Inference("MatrixTriangularSolve", (t(D, (3, 3)), t(D, (2, -1, 4))), (t(D, (2, 3, 4)),)),
    Inference("MatrixBandPart", (t(F, (-1, 3)), t(np.int64, ()), t(np.int64, ())),
              (t(F, (-1, 3)),)),
    Inference("MatrixDiagV3", (t(F, (2, 3)), t(N, (), 0), t(N, ()), t(N, ()), t(F, ())),
              (t(F, (2, -1, -1)),)),
    Inference("MatrixDiagV3", (t(F, (2, 3)), t(N, (2,)), t(N, ()), t(N, ()), t(F, ())),
              (t(F, None),)),
    Inference("MatrixDiagPartV3", (t(F, (4, -1, 3)), t(N, (2,), [-1, 0]), t(F, ())),
              (t(F, (4, 2, -1)),)),
    Inference("MatrixDiagPart", (t(F, (2, 3)),), (t(F, (2,)),)),
]


M22 = f32(np.eye(2))
ERRORS = [
    Bad("BatchMatMul", (rand((2, 2, 3)), rand((3, 4))), "has different ndims"),
    Bad("BatchMatMul", (rand((2, 2, 3)), rand((1, 3, 4))), "In[0].dim(0) and In[1].dim(0)"),
    Bad("BatchMatMul", (rand((1, 2, 3)), rand((1, 2, 4))), "Matrix size-incompatible"),
    Bad("BatchMatMul", (i16([[1]]), i16([[1]])), "of int16 is not in the list"),
    Bad("BatchMatMul", (rand((3,)), rand((3, 1))), "In[0] ndims must be >= 2"),
    Bad("BatchMatMulV2", (rand((2, 2, 3)), rand((3, 3, 4))),
        "must have compatible batch dimensions"),
    Bad("BatchMatMulV2", (u8([[1]]), u8([[1]])), "CPU kernel for BatchMatMulV2 with T=uint8",
        error=NotFoundError),
    Bad("BatchMatMulV2", (rand((2, 3)), rand((2, 3))), "Matrix size-incompatible",
        {"adj_y": False}),
    Bad("BatchMatMulV3", (rand((2, 2)), rand((2, 2), np.float64)), "Could not find a CPU kernel",
        {"Tout": np.dtype(np.float64)}, error=NotFoundError),
    Bad("BatchMatMulV3", (b([[True]]), b([[True]])), "attr 'Ta' of bool"),
    Bad("BatchMatMulV3", (i8([[1]]), u8([[1]])), "missing attr \'Tout\'"),
    Bad("BatchMatMulV3", (f64([[1]]), f64([[1]])), "missing attr \'Tout\'", {"adj_y": True}),
    Bad("BatchMatMulV3", (i8([[1]]), i8([[1]])), "attr 'Tout' of int8",
        {"Tout": np.dtype(np.int8)}),
    Bad("Einsum", (rand((2, 3)),), "Expecting exactly one '->'", {"equation": b"ij"}),
    Bad("Einsum", (rand((2,)), rand((2,)), rand((2,))), "Expecting 1 or 2 input subscripts",
        {"equation": b"i,i,i->"}),
    Bad("Einsum", (rand((2, 3)),), "Expected input 0 to have rank 3", {"equation": b"ijk->i"}),
    Bad("Einsum", (rand((2, 3)), rand((4, 5))), "label 'j' has size 3",
        {"equation": b"ij,jk->ik"}),
    Bad("Einsum", (rand((2, 3)),), "has label 'k' which is not present",
        {"equation": b"ij->k"}),
    Bad("Einsum", (rand((2, 3)),), "has 2 input subscripts but the op got 1 inputs",
        {"equation": b"ij,jk->ik"}),
    Bad("Einsum", (rand((2, 3, 3)),), "need '...'", {"equation": b"...ij->ij"}),
    Bad("Einsum", (rand((2, 3)),), "'.' only in one '...'", {"equation": b"ij->..i"}),
    Bad("Einsum", (rand((2, 3)),), "rank 3 but got: 2", {"equation": b"i j->ij"}),
    Bad("Einsum", (b([True]),), "CPU kernel for Einsum with T=bool", {"equation": b"i->i"},
        error=NotFoundError),
    Bad("MatrixInverse", (rand((2, 3)),), "Input matrix must be square"),
    Bad("MatrixInverse", (rand((3,)),), "Input tensor 0 must have rank >= 2"),
    Bad("MatrixInverse", (bf16([[1]]),), "of bfloat16 is not in the list"),
    Bad("MatrixInverse", (i32([[1]]),), "of int32 is not in the list"),
    Bad("MatrixDeterminant", (rand((2, 2, 3)),), "Input matrix must be square"),
    Bad("MatrixDeterminant", (bf16([[1]]),), "of bfloat16 is not in the list"),
    Bad("Cholesky", (f16([[1]]),), "CPU kernel for Cholesky with T=half", error=NotFoundError),
    Bad("MatrixDeterminant", (f16([[1]]),), "with T=half", error=NotFoundError),
    Bad("MatrixSolve", (f16([[1]]), f16([[1]])), "with T=half", error=NotFoundError),
    Bad("Cholesky", (rand((1, 3)),), "Input matrix must be square"),
    Bad("Qr", (rand((3,)),), "Input tensor 0 must have rank >= 2"),
    Bad("Qr", (i32([[1]]),), "of int32 is not in the list"),
    Bad("MatrixSolve", (M22, f32([[1], [2], [3]])), "Input matrix and rhs are incompatible"),
    Bad("MatrixSolve", (f32(np.ones((2, 2, 2))), f32(np.ones((1, 2, 1)))),
        "outer dimensions differ"),
    Bad("MatrixSolve", (M22, f32(np.ones((1, 2, 1)))), "must have the same rank"),
    Bad("MatrixSolve", (M22, f64([[1], [2]])), "expected to be a float tensor"),
    Bad("MatrixTriangularSolve", (rand((2, 3)), rand((3, 1))), "must be square (3 =/= 2)"),
    Bad("MatrixTriangularSolve", (M22, rand((3, 1))), "In[0] mismatch In[1] shape: 2 vs. 3"),
    Bad("MatrixTriangularSolve", (f32(np.ones((2, 2, 2))), f32(np.ones((3, 2, 1)))),
        "compatible batch dimensions"),
    Bad("MatrixTriangularSolve", (f16([[1]]), f16([[1]])), "with T=half", error=NotFoundError),
    Bad("MatrixTriangularSolve", (bf16([[1]]), bf16([[1]])), "with T=bfloat16",
        error=NotFoundError),
    Bad("MatrixBandPart", (M22, i64(3), i64(0)),
        "num_lower must be negative or less or equal to number of rows (2) got: 3"),
    Bad("MatrixBandPart", (M22, i64(0), i64(5)), "number of columns (2) got: 5"),
    Bad("MatrixBandPart", (f32([1, 2]), i64(0), i64(0)), "input must be at least 2-dim"),
    Bad("MatrixBandPart", (M22, i64([0]), i64(0)), "num_lower must be scalar"),
    Bad("MatrixBandPart", (M22, i32(0), i64(0)), "expected to be a int32 tensor"),
    Bad("MatrixBandPart", (s([[b"a"]]), i64(0), i64(0)), "with T=string", error=NotFoundError),
    Bad("MatrixDiag", (f32(1),), "diagonal must be at least 1-dim"),
    Bad("MatrixDiag", (s([b"a"]),), "with T=string", error=NotFoundError),
    Bad("MatrixDiagPart", (s([[b"a"]]),), "with T=string", error=NotFoundError),
    Bad("MatrixDiagPart", (f32([1, 2]),), "input must be at least 2-dim"),
    Bad("MatrixDiagV3", (f32([1, 2]), i32(0), i32(1), i32(-1), f32(0)),
        "The number of rows is too small"),
    Bad("MatrixDiagV3", (f32([1, 2]), i32([1, 0]), i32(-1), i32(-1), f32(0)),
        "lower_diag_index must not be larger than upper_diag_index: 1 > 0"),
    Bad("MatrixDiagV3", (f32([[1, 2]]), i32([0, 1]), i32(-1), i32(-1), f32(0)),
        "The number of diagonals provided in the input does not match"),
    Bad("MatrixDiagV3", (f32([1, 2]), i32(0), i32(3), i32(3), f32(0)),
        "The number of rows or columns is not consistent"),
    Bad("MatrixDiagV3", (f32([1]), i32(0), i32(-1), i32(-1), f32(0)), "attr 'align'",
        {"align": b"CENTER"}),
    Bad("MatrixDiagV3", (f32([1]), i64(0), i32(-1), i32(-1), f32(0)), "input #1(zero-based) was "
        "expected to be a int32 tensor"),
    Bad("MatrixDiagV3", (f32([1]), i32(0), i32(-1), i32(-1), f64(0)),
        "expected to be a float tensor"),
    Bad("MatrixDiagPartV3", (PART_IN, i32([0, 4]), Z), "upper_diag_index is out of bound: 4"),
    Bad("MatrixDiagPartV3", (PART_IN, i32([-3, 0]), Z), "lower_diag_index is out of bound"),
    Bad("MatrixDiagPartV3", (PART_IN, i32([0, 1, 2]), Z), "only one or two elements"),
    Bad("MatrixDiagPartV3", (PART_IN, i32(0), i32([0, 1])), "Padding must be scalar"),
]


# Value-dependent failures: no shape function can see them (it never reads float values),
# so only the kernel raises.
@pytest.mark.parametrize(
    ("op", "inputs", "message"),
    [
        ("MatrixInverse", (f64([[1, 2], [2, 4]]),), "Input is not invertible."),
        ("MatrixInverse", (f32(np.zeros((2, 1, 1))),), "Input is not invertible."),
        ("MatrixSolve", (f64([[1, 2], [2, 4]]), f64([[1], [1]])), "Input matrix is not"),
        ("Cholesky", (f64([[1, 2], [2, 1]]),), "Cholesky decomposition was not successful"),
        ("Cholesky", (f64([[-1]]),), "The input might not be valid."),
    ],
)
def test_value_errors(op: str, inputs: tuple[np.ndarray, ...], message: str) -> None:
    spec = lookup(op)
    spec.shapes([t(x.dtype, x.shape) for x in inputs], {})  # shapes are fine
    with pytest.raises(InvalidArgumentError, match=message.replace(".", r"\.")):
        spec.run(inputs, {})


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("shape", [(3, 2), (2, 3), (2, 4, 4)])
def test_qr_factors(dtype: type, full: bool, shape: tuple[int, ...]) -> None:
    x = (crand(shape, dtype) if np.dtype(dtype).kind == "c" else rand(shape, dtype))
    q, r = lookup("Qr").run((x,), {"full_matrices": full})
    tol = 1e-4 if np.dtype(dtype).itemsize <= 8 and dtype != np.float64 else 1e-10
    np.testing.assert_allclose(q @ r, x, atol=tol)
    eye = np.broadcast_to(np.eye(q.shape[-1]), (*q.shape[:-2], q.shape[-1], q.shape[-1]))
    np.testing.assert_allclose(adj(q) @ q, eye, atol=tol)
    np.testing.assert_array_equal(np.tril(r, -1), 0)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("adjoint", [True, False])
def test_triangular_solve_matches_scipy(lower: bool, adjoint: bool) -> None:
    a, rhs = well_conditioned(4), rand((4, 3), np.float64)
    (x,) = lookup("MatrixTriangularSolve").run((a, rhs), {"lower": lower, "adjoint": adjoint})
    want = scipy.linalg.solve_triangular(a, rhs, lower=lower, trans=1 if adjoint else 0)
    np.testing.assert_allclose(x, want, rtol=1e-10)
