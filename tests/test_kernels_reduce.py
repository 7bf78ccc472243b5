"""Records of the reductions added beside Sum/Mean/Max (whose records stay in
test_kernels_core.py): Min, Prod, All, Any, EuclideanNorm, ArgMax, ArgMin, Cumsum,
Cumprod."""

from __future__ import annotations

import numpy as np
from kernel_records import (
    I32_MAX,
    INF,
    NAN,
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
    u32,
)

KEEP = {"keep_dims": True}
I16, U16, I32 = np.dtype(np.int16), np.dtype(np.uint16), np.dtype(np.int32)
C = Case
CASES = [
    # Min mirrors Max: NaN wins, the empty min is the dtype's highest value.
    C("Min", (f32([[1, NAN], [3, 4]]), i32(1)), (f32([NAN, 3]),), name="nan wins"),
    C("Min", (i32([[1, 5], [3, -4]]), i64([0, 1])), (i32(-4),)),
    C("Min", (f32(np.zeros((0, 2))), i32(0)), (f32([INF, INF]),), name="empty float"),
    C("Min", (i32(np.zeros((0,))), i32(0)), (i32(I32_MAX),), name="empty int"),
    C("Min", (u8([[7, 200]]), i32(-1)), (u8([[7]]),), KEEP, name="keep_dims"),
    C("Min", (bf16([-1, 2]), i32([])), (bf16([-1, 2]),), name="no axes"),
    C("Min", (rand((2, 3, 4)), i32([2, 0])), lambda x, a: x.min(axis=(0, 2)), name="axes"),
    # Prod in the input dtype: integers wrap; the empty product is 1.
    C("Prod", (i8([16, 16]), i32(0)), (i8(0),), name="int8 wraps"),
    C("Prod", (i32([[1, 2], [3, 4]]), i32(1)), (i32([2, 12]),)),
    C("Prod", (f32(np.zeros((2, 0))), i32(1)), (f32([1, 1]),), name="empty"),
    C("Prod", (c64([1j, 1j]), i32(0)), (c64(-1),), name="complex"),
    C("Prod", (f16([[2, 3]]), i64(1)), (f16([[6]]),), KEEP, name="keep_dims"),
    C("Prod", (f64([1.5, NAN]), i32(0)), (f64(NAN),), name="nan"),
    C("Prod", (rand((3, 4)), i32(0)), lambda x, a: x.prod(axis=0), tol=1e-6, name="random"),
    C("Prod", (f32([2]), i32([[0]])), (f32(2),), name="axis of rank 2"),
    # All/Any: bool only; identities True/False.
    C("All", (b([[True, False], [True, True]]), i32(1)), (b([False, True]),)),
    C("All", (b(np.zeros((0, 3))), i32(0)), (b([True, True, True]),), name="empty"),
    C("All", (b(True), i32([])), (b(True),), name="scalar"),
    C("Any", (b([[True, False], [False, False]]), i32(1)), (b([[True], [False]]),), KEEP),
    C("Any", (b(np.zeros((0,))), i64(0)), (b(False),), name="empty"),
    # EuclideanNorm: sqrt of the sum of |x|^2; integers truncate.
    C("EuclideanNorm", (f32([[3, 4], [5, 12]]), i32(1)), (f32([5, 13]),)),
    C("EuclideanNorm", (i32([2, 2]), i32(0)), (i32(2),), name="int truncates"),
    C("EuclideanNorm", (c64([3j, 4]), i32(0)), (c64(5),), name="complex"),
    C("EuclideanNorm", (bf16([3, 4]), i32(0)), (bf16(5),), name="bfloat16"),
    C("EuclideanNorm", (f16([[3], [4]]), i32(0)), (f16([[5]]),), KEEP, name="keep_dims"),
    C("EuclideanNorm", (f64(np.zeros((0, 2))), i32(0)), (f64([0, 0]),), name="empty"),
    C("EuclideanNorm", (rand((3, 4)), i32([0, 1])), lambda x, a: np.linalg.norm(x),
      tol=1e-5, name="all axes"),
    # ArgMax/ArgMin: first index on ties; NaN never picked; all-NaN gives 0.
    C("ArgMax", (f32([[1, 3, 3], [2, 0, 1]]), i32(1)), (i64([1, 0]),)),
    C("ArgMax", (f32([1, NAN, 3]), i32(0)), (i64(2),), name="skips nan"),
    C("ArgMax", (f32([NAN, NAN]), i64(0)), (i64(0),), name="all nan"),
    C("ArgMax", (f16([NAN, -INF, 1]), i32(-1)), (i64(2),), name="float16"),
    C("ArgMax", (i8([[1], [5]]), i32(0)), (i32([1]),), {"output_type": I32}, name="int32"),
    C("ArgMax", (b([False, True, True]), i32(0)), (np.array(1, I16),),
      {"output_type": I16}, name="bool"),
    C("ArgMax", (u32(np.zeros((0, 2))), i32(1)), (i64(np.zeros((0,))),), name="0-size"),
    C("ArgMin", (f32([[1, 0, 0], [2, 3, NAN]]), i32(1)), (i64([1, 0]),)),
    C("ArgMin", (bf16([NAN, 2, 1]), i32(0)), (i32(2),), {"output_type": I32},
      name="bfloat16"),
    C("ArgMin", (rand((2, 3, 4)), i64(1)), lambda x, a: np.argmin(x, axis=1), name="rank 3"),
    # Cumsum/Cumprod: exclusive starts from the identity; reverse runs backwards.
    C("Cumsum", (i32([1, 2, 3]), i32(0)), (i32([1, 3, 6]),)),
    C("Cumsum", (i32([1, 2, 3]), i32(0)), (i32([0, 1, 3]),), {"exclusive": True},
      name="exclusive"),
    C("Cumsum", (i32([1, 2, 3]), i32(0)), (i32([6, 5, 3]),), {"reverse": True},
      name="reverse"),
    C("Cumsum", (i32([1, 2, 3]), i32(0)), (i32([5, 3, 0]),),
      {"exclusive": True, "reverse": True}, name="exclusive reverse"),
    C("Cumsum", (f32([[1, 2], [3, 4]]), i64(-1)), (f32([[1, 3], [3, 7]]),), name="axis -1"),
    C("Cumsum", (i8([100, 100]), i32(0)), (i8([100, -56]),), name="int8 wraps"),
    C("Cumsum", (bf16([0.5, 1]), i32(0)), (bf16([0.5, 1.5]),), name="bfloat16"),
    C("Cumsum", (f64(np.zeros((2, 0))), i32(1)), (f64(np.zeros((2, 0))),),
      {"exclusive": True}, name="0-size"),
    C("Cumprod", (i32([1, 2, 3, 4]), i32(0)), (i32([1, 2, 6, 24]),)),
    C("Cumprod", (f32([[2, 3], [4, 5]]), i32(0)), (f32([[1, 1], [2, 3]]),),
      {"exclusive": True}, name="exclusive"),
    C("Cumprod", (c64([1j, 1j]), i32(0)), (c64([-1, 1j]),), {"reverse": True},
      name="complex reverse"),
    C("Cumprod", (rand((3, 4)), i32(1)), lambda x, a: np.cumprod(x, axis=1), tol=1e-6,
      name="random"),
]


B_, F, N = np.bool_, np.float32, np.int32
INFERENCE = [
    Inference("Min", (t(F, (2, 3)), t(N, ())), (t(F, None),)),
    Inference("Prod", (t(F, (-1, 3)), t(N, (), 1)), (t(F, (-1, 1)),), KEEP),
    Inference("All", (t(B_, None), t(N, (1,))), (t(B_, None),)),
    Inference("ArgMax", (t(F, (2, -1, 4)), t(N, ())), (t(np.int64, (-1, -1)),)),
    Inference("ArgMax", (t(F, (2, -1, 4)), t(N, (), 1)), (t(np.int64, (2, 4)),)),
    Inference("ArgMin", (t(F, None), t(N, (), 0)), (t(np.int32, None),),
              {"output_type": I32}),
    Inference("Cumsum", (t(F, (-1, 3)), t(N, ())), (t(F, (-1, 3)),)),
]


ERRORS = [
    Bad("Min", (c64([1j]), i32(0)), "of complex64 is not in the list of allowed values"),
    Bad("Min", (f32(np.ones((2, 3))), i32(2)), "reduction axis 2 is out of range"),
    Bad("Prod", (b([True]), i32(0)), "of bool is not in the list of allowed values"),
    Bad("Prod", (f32([1]), i32([0, -1])), "Axes contains duplicate dimension: 0"),
    Bad("All", (i32([1]), i32(0)), "cannot compute All as input #0(zero-based) was expected "
        "to be a bool tensor but is a int32 tensor"),
    Bad("Any", (b([True]), f32(0)), "Value for attr 'Tidx' of float is not in the list"),
    Bad("EuclideanNorm", (s([b"a"]), i32(0)), "of string is not in the list"),
    Bad("ArgMax", (f32([[1, 2]]), i32(2)), "Expected dimension in the range [-2, 2), but got 2"),
    Bad("ArgMax", (f32([1, 2]), i32([0])),
        "dim must be a scalar, but received tensor of shape: [1]"),
    Bad("ArgMax", (f32(np.ones((2, 0))), i32(1)), "Reduction axis 1 is empty in shape [2,0]"),
    Bad("ArgMax", (c64([1]), i32(0)), "of complex64 is not in the list of allowed values"),
    Bad("ArgMax", (f32([1]), i32(0)), "attr 'output_type' of uint8 is not in the list",
        {"output_type": np.dtype(np.uint8)}),
    Bad("ArgMin", (s([b"a"]), i32(0)), "of string is not in the list"),
    Bad("ArgMin", (f32([1]), i32(0)), "attr 'output_type' of uint16 is not in the list",
        {"output_type": U16}),
    Bad("ArgMin", (f32(1), i32(0)), "Expected dimension in the range [0, 0), but got 0"),
    Bad("Cumsum", (f32([1, 2]), i32(1)), "ScanOp: Expected scan axis in the range [-1, 1), "
        "but got 1"),
    Bad("Cumsum", (f32([1, 2]), i32([0])), "ScanOp: axis must be a scalar, not [1]"),
    Bad("Cumsum", (b([True]), i32(0)), "of bool is not in the list of allowed values"),
    Bad("Cumprod", (i16(1), i32(0)), "Expected scan axis in the range [0, 0)"),
    Bad("Cumprod", (s([b"a"]), i32(0)), "of string is not in the list"),
]
