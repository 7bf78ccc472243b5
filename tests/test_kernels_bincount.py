"""Records of the counting ops and Angle (``eager_async.kernels.bincount``); every expected
value and message was computed by TensorFlow 2.21 (``tf.raw_ops``) and pasted here."""

from __future__ import annotations

import doctest
from functools import partial

import numpy as np
import pytest
from kernel_records import INF, NAN, Bad, Case, Inference, f32, f64, i32, i64, t

from eager_async.errors import InvalidArgumentError, NotFoundError
from eager_async.kernels import TensorSpec, bincount, lookup

c64 = partial(np.array, dtype=np.complex64)
c128 = partial(np.array, dtype=np.complex128)
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
BINARY = {"binary_output": True}

_rng = np.random.default_rng(2)
Z = (_rng.standard_normal(64) + 1j * _rng.standard_normal(64)).astype(np.complex64)


def _angle(z: np.ndarray) -> np.ndarray:
    return np.angle(z.astype(np.complex128)).astype(z.real.dtype)


C = Case
CASES = [
    C("Angle", (c64([1 + 1j, -1, complex(-1, -0.0), complex(-0.0, -0.0), complex(0.0, -0.0),
                     complex(NAN, 1), complex(INF, INF), complex(-INF, 1)]),),
      (f32([0.7853981852531433, 3.1415927410125732, -3.1415927410125732, -3.1415927410125732,
            -0.0, NAN, 0.7853981852531433, 3.1415927410125732]),), name="complex64 corners"),
    C("Angle", (c128([[3 - 4j], [-0.5j]]),), (f64([[-0.9272952180016122], [-1.5707963267948966]]),),
      {"Tout": F64}, name="complex128"),
    C("Angle", (c64([complex(7.465864e21, -2.4084045e-17), complex(-1e-40, 0)]),),
      (f32([-0.0, 3.1415927410125732]),), name="subnormal result flushed"),
    C("Angle", (c64(2j),), (f32(1.5707963705062866),), name="scalar"),
    # TF's atan2 (Eigen's polynomial) is within an ulp of the correctly rounded one.
    C("Angle", (Z,), _angle, tol=1e-6, name="complex64 reference"),
    C("Angle", (Z.astype(np.complex128),), _angle, {"Tout": F64}, tol=1e-14,
      name="complex128 reference"),
    C("Bincount", (i32([1, 1, 3, 7]), i32(5), f32([])), (f32([0.0, 2.0, 0.0, 1.0, 0.0]),),
      name="counts; past size dropped"),
    C("Bincount", (i32([1, 1, 3, 7]), i32(5), f64([0.5, 1, 2, 3])),
      (f64([0.0, 1.5, 0.0, 2.0, 0.0]),), name="weights summed"),
    C("Bincount", (i32([[1, 2], [0, 0]]), i32(3), i64([[1, 2], [3, 4]])), (i64([7, 1, 2]),),
      name="matrix, flattened"),
    C("Bincount", (i32([1, 1]), i32(3), i32([2147483647, 1])), (i32([0, -2147483648, 0]),),
      name="int32 sums wrap"),
    C("Bincount", (i32([1, 9]), i32(0), f32([])), (f32(np.zeros((0,))),), name="size 0"),
    C("Bincount", (i32(2), i32(3), i32(2)), (i32([0, 0, 2]),), name="scalar arr and weight"),
    C("Bincount", (i32(np.zeros(0)), i32(4), f32([])), (f32([0.0, 0.0, 0.0, 0.0]),),
      name="no values"),
    C("DenseBincount", (i32([1, 1, 3, 7]), i32(5), f32([])), (f32([0.0, 2.0, 0.0, 1.0, 0.0]),),
      name="vector counts"),
    C("DenseBincount", (i32([1, 1, 3, 7]), i32(5), f32([1, 2, 3, 4])),
      (f32([0.0, 3.0, 0.0, 3.0, 0.0]),), name="vector weights"),
    C("DenseBincount", (i32([1, 1, 3, 7]), i32(5), f32([1, 2, 3, 4])),
      (f32([0.0, 1.0, 0.0, 1.0, 0.0]),), BINARY, name="binary ignores weights"),
    C("DenseBincount", (i32([[1, 1], [3, 7]]), i32(5), f32([[1, 2], [3, 4]])),
      (f32([[0.0, 3.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 3.0, 0.0]]),), name="matrix rows"),
    C("DenseBincount", (i64([[5, 2], [1, 1]]), i64(5), i64([])),
      (i64([[0, 0, 1, 0, 0], [0, 2, 0, 0, 0]]),), name="int64 matrix counts"),
    C("DenseBincount", (i64([[5, 2], [1, 1]]), i64(5), i64([[1, 2], [3, 4]])),
      (i64([[0, 0, 1, 0, 0], [0, 1, 0, 0, 0]]),), BINARY, name="binary matrix"),
    C("DenseBincount", (i32(3), i32(5), f64(7)), (f64([0.0, 0.0, 0.0, 7.0, 0.0]),),
      name="scalar is a vector of one"),
    C("DenseBincount", (i32(np.zeros((0, 3))), i32(2), f32([])), (f32(np.zeros((0, 2))),),
      name="no rows"),
    C("DenseBincount", (i32(np.zeros((2, 0))), i32(2), i32([])), (i32([[0, 0], [0, 0]]),),
      name="empty rows"),
    C("DenseBincount", (i64([2**40, 1]), i64(3), f32(np.zeros((0, 2)))), (f32([0.0, 1.0, 0.0]),),
      name="huge value dropped, empty weights of any shape"),
    C("DenseBincount", (i32([1, 2]), i32(0), f32([])), (f32(np.zeros((0,))),), name="size 0"),
    C("RaggedBincount", (i64([0, 2, 2, 5]), i32([1, 1, 3, 0, 9]), i32(4), f32([])),
      (f32([[0.0, 2.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 1.0]]),), name="rows"),
    C("RaggedBincount", (i64([0, 2, 2, 5]), i32([1, 1, 3, 0, 9]), i32(4), f32([1, 2, 3, 4, 5])),
      (f32([[0.0, 3.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [4.0, 0.0, 0.0, 3.0]]),),
      name="weights"),
    C("RaggedBincount", (i64([0, 2, 2, 5]), i32([1, 1, 3, 0, 9]), i32(4), f32([1, 2, 3, 4, 5])),
      (f32([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 1.0]]),), BINARY,
      name="binary"),
    C("RaggedBincount", (i64([0, 3, 2, 5]), i32([1, 1, 3, 0, 9]), i32(4), f32([])),
      (f32([[0.0, 2.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]),),
      name="splits not ascending"),
    C("RaggedBincount", (i64([0, -1, 2]), i64([1, 2]), i64(4), i64([])),
      (i64([[0, 0, 0, 0], [0, 1, 1, 0]]),), name="negative split"),
    C("RaggedBincount", (i64([0]), i32(np.zeros(0)), i32(4), f64([])), (f64(np.zeros((0, 4))),),
      name="no rows"),
    C("RaggedBincount", (i64([[0, 2]]), i32([[1], [2]]), i32(4), f32([5, 6, 7])),
      (f32([[0.0, 5.0, 6.0, 0.0]]),), name="any ranks; extra weights unread"),
]

INFERENCE = [
    Inference("Bincount", (t(np.int32, (-1,)), t(np.int32, ()), t(F32, (0,))), (t(F32, (-1,)),)),
    Inference("Bincount", (t(np.int32, None), t(np.int32, (), 4), t(F32, None)), (t(F32, (4,)),)),
    Inference("DenseBincount", (t(np.int32, (3, -1)), t(np.int32, ()), t(F32, (0,))),
              (t(F32, (3, -1)),)),
    Inference("DenseBincount", (t(np.int64, (-1, 2)), t(np.int64, (), 5), t(F64, (-1, 2))),
              (t(F64, (-1, 5)),)),
    Inference("DenseBincount", (t(np.int32, None), t(np.int32, (), 5), t(F32, (0,))),
              (t(F32, None),)),
    Inference("DenseBincount", (t(np.int32, ()), t(np.int32, ()), t(F32, ())), (t(F32, (-1,)),)),
    Inference("RaggedBincount",
              (t(np.int64, (4,)), t(np.int32, (-1,)), t(np.int32, (), 3), t(F32, (0,))),
              (t(F32, (3, 3)),)),
    Inference("RaggedBincount", (t(np.int64, None), t(np.int32, None), t(np.int32, ()),
                                 t(F32, None)), (t(F32, (-1, -1)),)),
    Inference("Angle", (t(np.complex128, (2, -1)),), (t(F64, (2, -1)),), {"Tout": F64}),
]

ERRORS = [
    Bad("Angle", (f32([1]),),
        "Value for attr 'T' of float is not in the list of allowed values: complex64, complex128"),
    Bad("Angle", (c128([1]),), "Angle with T=complex128, Tout=float", error=NotFoundError),
    Bad("Bincount", (i32([1, 2]), i32([3]), f32([])), "Shape must be rank 0 but is rank 1"),
    Bad("Bincount", (i32(np.zeros(0)), i32(4), f32([1])),
        "Input indices and weights must have the same size."),
    Bad("Bincount", (i32([1, -2]), i32(-5), f32([])), "size (-5) must be non-negative"),
    Bad("Bincount", (i32([1, -2]), i32(5), f32([1])), "Input arr must be non-negative!"),
    Bad("Bincount", (i32([1, 2]), i32(5), f32([1])),
        "Input indices and weights must have the same size."),
    Bad("Bincount", (i32([1, 2]), i32(5), np.array([1, 2], np.float16)),
        "Value for attr 'T' of half is not in the list of allowed values"),
    Bad("Bincount", (i64([1, 2]), i32(5), f32([])),
        "cannot compute Bincount as input #0(zero-based) was expected to be a int32 tensor but "
        "is a int64 tensor"),
    Bad("DenseBincount", (i32([[[1, 2]]]), i32([5]), f32([1])),
        "Shape must be at most rank 2 but is rank 3"),
    Bad("DenseBincount", (i32([1, 2]), i32([5]), f32([1])), "Shape must be rank 0 but is rank 1"),
    Bad("DenseBincount", (i32([1, -2]), i32(-5), f32([1, 2, 3])),
        "`weights` must be the same shape as `arr` or a length-0 `Tensor`, in which case it acts "
        "as all weights equal to 1. Received [3]"),
    Bad("DenseBincount", (i32(3), i32(5), f32([7])),
        "in which case it acts as all weights equal to 1. Received [1]"),
    Bad("DenseBincount", (i32([1, -2]), i32(-5), f32([1, 2])), "size (-5) must be non-negative"),
    Bad("DenseBincount", (i32([1, -2]), i32(5), f32([1, 2])), "Input arr must be non-negative!",
        BINARY),
    Bad("DenseBincount", (i32([[1, -2], [-3, 1]]), i32(5), f32([])),
        "Input 'in' must be non-negative! Negative input value found: -2"),
    Bad("DenseBincount", (i32([1, 2]), i64(5), f32([])),
        "cannot compute DenseBincount as input #1(zero-based) was expected to be a int32 tensor "
        "but is a int64 tensor"),
    Bad("RaggedBincount", (i64([1, 2]), i32([1, -1]), i32(-4), f32([])),
        "size (-4) must be non-negative"),
    Bad("RaggedBincount", (i64([0, 2]), i32([1, 2]), i32([4]), f32([])),
        "Shape must be rank 0 but is rank 1"),
    Bad("RaggedBincount", (i64([]), i32([]), i32(4), f32([])), "Splits must be non-empty"),
    Bad("RaggedBincount", (i64([1, 2]), i32([1, -1]), i32(4), f32([])),
        "Splits must start with 0, not with 1"),
    Bad("RaggedBincount", (i64([0, 3]), i32([1, -1]), i32(4), f32([])),
        "Splits must end with the number of values, got 3 instead of 2"),
    Bad("RaggedBincount", (i64([0, 2]), i32([9, -1]), i32(4), f32([])),
        "Input must be non-negative"),
    Bad("RaggedBincount", (i32([0, 2]), i32([1, 2]), i32(4), f32([])),
        "cannot compute RaggedBincount as input #0(zero-based) was expected to be a int64 tensor "
        "but is a int32 tensor"),
    # TF reads past the end of too few weights (its answer is whatever memory holds).
    Bad("RaggedBincount", (i64([0, 2]), i32([1, 2]), i32(4), f32([5])),
        "weights has 1 values for 2 values; give one weight per value, or none"),
]


def test_dense_2d_names_the_first_negative_value() -> None:
    # TF 2.21 (the Bad record above has -2 first in row-major order, this one -3).
    with pytest.raises(InvalidArgumentError, match="Negative input value found: -3"):
        lookup("DenseBincount").run([i32([[1, 2], [-3, -1]]), i32(5), f32([])], {})


def test_large_inputs_are_checked_by_the_kernels() -> None:
    # Shape rules read at most 64 values; the kernels check all of them.
    values = np.arange(100, dtype=np.int32)
    values[-1] = -1
    for op, inputs in (
        ("Bincount", [values, i32(5), f32([])]),
        ("DenseBincount", [values, i32(5), f32([])]),
        ("RaggedBincount", [i64([0, 100]), values, i32(5), f32([])]),
    ):
        spec = lookup(op)
        spec.shapes([TensorSpec(x.dtype, x.shape, x) for x in inputs], {})
        with pytest.raises(InvalidArgumentError, match="must be non-negative"):
            spec.run(inputs, {})
    splits = np.arange(101, dtype=np.int64) - 1
    with pytest.raises(InvalidArgumentError, match="Splits must start with 0, not with -1"):
        lookup("RaggedBincount").run([splits, np.arange(99, dtype=np.int32), i32(5),
                                      f32([])], {})  # fmt: skip


def test_ragged_rows_follow_tfs_walk_on_many_rows() -> None:
    splits = np.array([0, *range(0, 200, 2), 200, 200], np.int64)
    values = np.arange(200, dtype=np.int32) % 3
    out = lookup("RaggedBincount").run([splits, values, i32(3), f32([])], {})[0]
    assert out.shape == (splits.size - 1, 3)
    assert out.sum() == 200
    assert out[0].sum() == 0 and out[1].tolist() == [1, 1, 0]


def test_doctests() -> None:
    assert doctest.testmod(bincount).failed == 0
