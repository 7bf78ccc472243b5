"""Records of the starter kernels: element-wise arithmetic, MatMul, array basics,
Cast and reductions."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from kernel_records import (
    BF16,
    I32_MAX,
    I32_MIN,
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

from eager_async.dtypes import DataType
from eager_async.errors import InvalidArgumentError, NotFoundError, UnimplementedError
from eager_async.kernels import lookup
from eager_async.kernels._checks import broadcast

C = Case
CASES = [
    # Element-wise arithmetic: one dtype in, the same dtype out; ints wrap.
    C("AddV2", (rand((2, 3)), rand((3,))), np.add, tol=1e-6, name="broadcast"),
    C("AddV2", (i8([127, -128]), i8([1, -1])), (i8([-128, 127]),), name="int8 wraps"),
    # TF infers T from the inputs and ignores a T attr that contradicts them.
    C("AddV2", (f32(1), f32(1)), (f32(2),), {"T": np.dtype(np.float64)}, name="T ignored"),
    C("Cast", (f32(1.5),), (i8(1),), {"DstT": np.dtype(np.int8), "SrcT": np.dtype(np.int32)},
      name="SrcT ignored"),
    C("AddV2", (i64(2**63 - 1), i64(1)), (i64(-(2**63)),), name="int64 wraps"),
    C("AddV2", (u8([250]), u8([10])), (u8([4]),), name="uint8 wraps"),
    C("AddV2", (bf16([1.5, 2]), bf16([0.25, 1])), (bf16([1.75, 3]),), name="bfloat16"),
    C("AddV2", (f16([1, 2]), f16(0.5)), (f16([1.5, 2.5]),), name="float16"),
    C("AddV2", (f64(1.5), f64(2)), (f64(3.5),), name="scalars"),
    C("AddV2", (rand((0, 3)), rand((3,))), (f32(np.zeros((0, 3))),), name="0-size"),
    C("AddV2", (c64([1 + 2j]), c64([3 - 1j])), (c64([4 + 1j]),), name="complex64"),
    C("Add", (s([b"a", b""]), s(b"cd")), (s([b"acd", b"cd"]),), name="strings"),
    C("Add", (s(b"x"), s(b"\x00y")), (s(b"x\x00y"),), name="string scalars"),
    C("Add", (i32([1, 2]), i32([3, 4])), (i32([4, 6]),), name="int32"),
    C("Sub", (i32(I32_MIN), i32(1)), (i32(I32_MAX),), name="int32 wraps"),
    C("Sub", (u8([0]), u8([1])), (u8([255]),), name="uint8 wraps"),
    C("Sub", (rand((2, 1), np.float16), rand((1, 3), np.float16)), np.subtract, tol=1e-3),
    C("Mul", (i16([300]), i16([300])), (i16([24464]),), name="int16 wraps"),
    C("Mul", (rand((2, 1)), rand((1, 3))), np.multiply, tol=1e-6, name="outer"),
    C("Mul", (bf16([3, -2]), bf16(0.5)), (bf16([1.5, -1]),), name="bfloat16"),
    C("RealDiv", (f32([1, -1, 0, 3]), f32([0, 0, 0, 2])), (f32([INF, -INF, NAN, 1.5]),)),
    C("RealDiv", (bf16([1, 3]), bf16([4, 2])), (bf16([0.25, 1.5]),), name="bfloat16"),
    C("RealDiv", (c64([2j]), c64([1 + 1j])), (c64([1 + 1j]),), tol=1e-6, name="complex"),
    C("Neg", (i8([-128, 5]),), (i8([-128, -5]),), name="int8 min wraps"),
    C("Neg", (f16([0.5, -0.0]),), (f16([-0.5, 0.0]),), name="float16"),
    C("Neg", (c64([1 - 2j]),), (c64([-1 + 2j]),), name="complex"),
    # MatMul
    C("MatMul", (rand((2, 3)), rand((3, 4))), np.matmul, tol=1e-5),
    C("MatMul", (rand((3, 2)), rand((4, 3))), lambda x, y: x.T @ y.T,
      {"transpose_a": True, "transpose_b": True}, tol=1e-5, name="transposed"),
    C("MatMul", (bf16([[1, 2]]), bf16([[3], [4]])), (bf16([[11]]),), name="bfloat16"),
    C("MatMul", (i32([[1, 2], [3, 4]]), i32([[1], [1]])), (i32([[3], [7]]),), name="int32"),
    C("MatMul", (rand((2, 0)), rand((0, 3))), (f32(np.zeros((2, 3))),), name="empty inner"),
    # Array ops
    C("Identity", (s([b"a", b"b"]),), (s([b"a", b"b"]),), name="strings"),
    C("Identity", (f16(1.5),), (f16(1.5),), name="scalar"),
    C("Reshape", (i32(np.arange(6)), i32([3, -1])), (i32([[0, 1], [2, 3], [4, 5]]),)),
    C("Reshape", (f32([7]), i32(-1)), (f32([7]),), name="scalar shape"),
    C("Reshape", (f32(np.zeros((0, 3))), i64([3, 0])), (f32(np.zeros((3, 0))),), name="0-size"),
    C("Reshape", (f32([[2]]), i32([])), (f32(2),), name="to scalar"),
    # With a 0 size, TF leaves zero dims out of both counts to resolve -1.
    C("Reshape", (f32(np.ones(0)), i32([0, -1])), (f32(np.zeros((0, 1))),), name="0 and -1"),
    C("Reshape", (f32(np.ones(0)), i32([2, 0, -1])), (f32(np.zeros((2, 0, 0))),),
      name="2, 0 and -1"),
    C("Transpose", (i32([[1, 2, 3]]), i32([1, 0])), (i32([[1], [2], [3]]),)),
    C("Transpose", (rand((2, 3, 4)), i64([2, 0, 1])), lambda x, p: x.transpose(2, 0, 1),
      name="rank 3"),
    C("Transpose", (b(True), i32([])), (b(True),), name="scalar"),
    C("Fill", (i32([2, 2]), f32(1.5)), (f32([[1.5, 1.5], [1.5, 1.5]]),)),
    C("Fill", (i64([2]), s(b"ab")), (s([b"ab", b"ab"]),), name="string"),
    C("Fill", (i32([0, 2]), b(True)), (b(np.zeros((0, 2))),), name="0-size"),
    C("Fill", (i32([]), i8(3)), (i8(3),), name="scalar"),
    C("Fill", (i32([2]), f32([1])), (f32([1, 1]),), name="one-element value"),
    C("ZerosLike", (f32([[1, 2]]),), (f32([[0, 0]]),)),
    C("ZerosLike", (s([b"a", b"b"]),), (s([b"", b""]),), name="strings"),
    C("ZerosLike", (b([True]),), (b([False]),), name="bool"),
    C("ZerosLike", (bf16(2),), (bf16(0),), name="bfloat16 scalar"),
    C("Pack", (i32([1, 2]), i32([3, 4])), (i32([[1, 2], [3, 4]]),)),
    C("Pack", (i32([1, 2]), i32([3, 4])), (i32([[1, 3], [2, 4]]),), {"axis": -1}, name="-1"),
    C("Pack", (f16(1), f16(2), f16(3)), (f16([1, 2, 3]),), {"N": 3}, name="scalars"),
    C("Pack", (s([b"a"]),), (s([[b"a"]]),), name="one string"),
    C("Unpack", (i32([[1, 2, 3], [4, 5, 6]]),), (i32([1, 2, 3]), i32([4, 5, 6])), {"num": 2}),
    C("Unpack", (i32([[1, 2], [3, 4]]),), (i32([1, 3]), i32([2, 4])), {"axis": -1, "num": 2},
      name="axis -1"),
    C("Unpack", (s([b"a", b"b"]),), (s(b"a"), s(b"b")), {"num": 2}, name="strings"),
    C("ConcatV2", (i32([[1]]), i32([[2, 3]]), i32(1)), (i32([[1, 2, 3]]),)),
    C("ConcatV2", (i32([[1]]), i32([[2]]), i64(-2)), (i32([[1], [2]]),), name="axis -2"),
    C("ConcatV2", (i32([1]), i32([2]), i32([0])), (i32([1, 2]),), name="one-element axis"),
    C("ConcatV2", (f32(np.zeros((0, 2))), f32([[1, 2]]), i32(0)), (f32([[1, 2]]),),
      name="with 0-size"),
    C("ConcatV2", (s([b"a"]), s([b"b"]), s([b"c"]), i32(0)), (s([b"a", b"b", b"c"]),),
      {"N": 3}, name="strings"),
    # ConcatOffset: where each input starts in ConcatV2's output (the gradient's slices).
    C("ConcatOffset", (i32(1), i32([2, 2, 5]), i32([2, 3, 5]), i32([2, 4, 5])),
      (i32([0, 0, 0]), i32([0, 2, 0]), i32([0, 5, 0])), {"N": 3}),
    C("ConcatOffset", (i32(-2), i64([2, 2, 5]), i64([2, 3, 5])), (i64([0, 0, 0]), i64([0, 2, 0])),
      name="int64, axis -2"),
    C("ConcatOffset", (i32(1), i32([2, I32_MAX]), i32([2, 5]), i32([2, 1])),
      (i32([0, 0]), i32([0, I32_MAX]), i32([0, I32_MIN + 4])), {"N": 3}, name="wraps"),
    C("ConcatOffset", (i32(0), i32([-1, 3]), i32([2, 3])), (i32([0, 0]), i32([-1, 0])),
      name="unchecked sizes"),
    C("Shape", (f32(np.zeros((2, 0, 3))),), (i32([2, 0, 3]),)),
    C("Shape", (f32(np.zeros((2, 3))),), (i64([2, 3]),), {"out_type": np.dtype(np.int64)},
      name="int64"),
    C("Shape", (s(b"x"),), (i32(np.zeros(0)),), name="scalar"),
    # Cast: float to int truncates toward zero; complex to real drops the imaginary part.
    C("Cast", (f32([-1.7, -0.5, 2.9]),), (i32([-1, 0, 2]),), {"DstT": np.dtype(np.int32)}),
    C("Cast", (f16([-2.7, 3.5]),), (i8([-2, 3]),), {"DstT": np.dtype(np.int8)}, name="f16"),
    C("Cast", (bf16([-1.5]),), (i64([-1]),), {"DstT": np.dtype(np.int64)}, name="bf16"),
    C("Cast", (i32([300, -1]),), (i8([44, -1]),), {"DstT": np.dtype(np.int8)}, name="wraps"),
    C("Cast", (c64([1 + 2j]),), (f32([1]),), {"DstT": np.dtype(np.float32)}, name="complex"),
    C("Cast", (b([True, False]),), (f32([1, 0]),), {"DstT": np.dtype(np.float32)}),
    C("Cast", (f32([0.0, -0.5, NAN]),), (b([False, True, True]),), {"DstT": np.dtype(bool)}),
    C("Cast", (f32([1.00390625 * 3]),), (bf16([3.015625]),), {"DstT": BF16}, name="rounds"),
    C("Cast", (f32([1.00390625 * 3, NAN]),), (bf16([3, NAN]),), {"DstT": BF16, "Truncate": True},
      name="truncates"),
    # Truncate clears the dropped mantissa bits before the usual rounding cast...
    C("Cast", (f64([-1.999999, 3.1415926535, NAN]),), (f16([-1.9990234375, 3.140625, NAN]),),
      {"DstT": np.dtype(np.float16), "Truncate": True}, name="truncates double to half"),
    C("Cast", (np.array([-1.999999 + 1j], np.complex128),), (f32([-1.999998927116394]),),
      {"DstT": np.dtype(np.float32), "Truncate": True}, name="truncates complex to float"),
    # ... except into bfloat16 from anything but float: TF rounds whatever Truncate says.
    C("Cast", (f64([-1.999999]),), (bf16([-2]),), {"DstT": BF16, "Truncate": True},
      name="double to bfloat16 rounds"),
    C("Cast", (i32([1]),), (i32([1]),), {"DstT": np.dtype(np.int32), "SrcT": np.dtype(np.int32)},
      name="same dtype"),
    C("Cast", (s(b"a"),), (s(b"a"),), {"DstT": np.dtype(object)}, name="string to string"),
    # Reductions keep the input dtype.
    C("Sum", (rand((2, 3, 4)), i32([0, -1])), lambda x, a: x.sum(axis=(0, 2)), tol=1e-5),
    C("Sum", (i8([100, 100]), i32(0)), (i8(-56),), name="int8 wraps"),
    C("Sum", (f16([[1, 2], [3, 4]]), i64(1)), (f16([[3], [7]]),), {"keep_dims": True},
      name="keep_dims"),
    C("Sum", (i32([[1, 2]]), i32([])), (i32([[1, 2]]),), name="no axes"),
    C("Sum", (f32(np.zeros((0, 2))), i32(0)), (f32([0, 0]),), name="0-size"),
    C("Sum", (f32(np.ones((2, 3))), i32([[0]])), (f32([2, 2, 2]),), name="axis of rank 2"),
    C("Mean", (i32([-3, -4, 3, 4]).reshape(2, 2), i32(1)), (i32([-3, 3]),),
      name="int truncates toward zero"),
    C("Mean", (i8([100, 100, 100]), i32(0)), (i8(100),), name="int8 no overflow"),
    C("Mean", (u8(np.ones(256)), i32(0)), (u8(1),), name="uint8 count 256"),
    C("Mean", (rand((3, 4)), i32(-1)), lambda x, a: x.mean(axis=1, keepdims=True),
      {"keep_dims": True}, tol=1e-5),
    C("Mean", (bf16([1, 2]), i32(0)), (bf16(1.5),), name="bfloat16"),
    C("Mean", (f32(np.zeros((0, 2))), i32(0)), (f32([NAN, NAN]),), name="empty float"),
    C("Mean", (i32(np.zeros((2, 0))), i32(1)), (i32([0, 0]),), name="empty int"),
    C("Mean", (c64([1 + 1j, 3 + 3j]), i32(0)), (c64(2 + 2j),), name="complex"),
    C("Max", (f32([[1, NAN], [3, 4]]), i32(1)), (f32([NAN, 4]),), name="nan wins"),
    C("Max", (i32([[1, 5], [3, 4]]), i64([0, 1])), (i32(5),)),
    C("Max", (f32(np.zeros((0, 2))), i32(0)), (f32([-INF, -INF]),), name="empty float"),
    C("Max", (i32(np.zeros((0,))), i32(0)), (i32(I32_MIN),), name="empty int"),
    C("Max", (u8([[1, 200]]), i32(1)), (u8([[200]]),), {"keep_dims": True}, name="keep_dims"),
    C("Max", (bf16([-1, 2]), i32(0)), (bf16(2),), name="bfloat16"),
]


F, N = np.float32, np.int32
INFERENCE = [
    Inference("AddV2", (t(F, (2, -1)), t(F, (3,))), (t(F, (2, 3)),)),
    Inference("AddV2", (t(F, (-1,)), t(F, (1,))), (t(F, (-1,)),)),
    Inference("AddV2", (t(F, None), t(F, (2,))), (t(F, None),)),
    Inference("MatMul", (t(F, (-1, 3)), t(F, None)), (t(F, (-1, -1)),)),
    Inference("MatMul", (t(F, (2, -1)), t(F, (4, 5))), (t(F, (2, 5)),)),
    Inference("Reshape", (t(F, (2, 3)), t(N, (3,))), (t(F, (-1, -1, -1)),)),
    Inference("Reshape", (t(F, (2, -1)), t(N, (2,), [3, -1])), (t(F, (3, -1)),)),
    Inference("Reshape", (t(F, (2, 3)), t(N, None)), (t(F, None),)),
    Inference("Transpose", (t(F, (2, 3, 4)), t(N, (3,))), (t(F, (-1, -1, -1)),)),
    Inference("Transpose", (t(F, None), t(N, (2,), [1, 0])), (t(F, (-1, -1)),)),
    Inference("Fill", (t(N, (2,)), t(F, ())), (t(F, (-1, -1)),)),
    Inference("Pack", (t(F, (2, -1)), t(F, (-1, 3))), (t(F, (2, 2, 3)),)),
    Inference("Pack", (t(F, None), t(F, None)), (t(F, None),)),
    Inference("Unpack", (t(F, None),), (t(F, None), t(F, None)), {"num": 2}),
    Inference("ConcatV2", (t(F, (2, -1)), t(F, (2, 3)), t(N, ())), (t(F, (-1, -1)),)),
    Inference("ConcatV2", (t(F, (-1, 2)), t(F, (3, 2)), t(N, (), 0)), (t(F, (-1, 2)),)),
    Inference("ConcatV2", (t(F, (-1, 2)), t(F, (3, -1)), t(N, (), 1)), (t(F, (3, -1)),)),
    Inference("ConcatOffset", (t(N, ()), t(N, (3,)), t(N, (-1,))), (t(N, (3,)), t(N, (-1,)))),
    Inference("ConcatOffset", (t(N, (), 0), t(N, (2,), [2, 2]), t(N, (2,), [3, 2])),
              (t(N, (2,)), t(N, (2,)))),
    Inference("Shape", (t(F, None),), (t(N, (-1,)),)),
    Inference("Sum", (t(F, (2, 3)), t(N, ())), (t(F, (-1, -1)),), {"keep_dims": True}),
    Inference("Sum", (t(F, (2, 3)), t(N, ())), (t(F, None),)),
    Inference("Max", (t(F, None), t(N, (), 0)), (t(F, None),)),
    Inference("Mean", (t(F, (2, -1)), t(N, (), 0)), (t(F, (-1,)),)),
]


ERRORS = [
    Bad("AddV2", (f32(np.ones((2, 3))), f32(np.ones((4, 5)))),
        "Incompatible shapes: [2,3] vs. [4,5]"),
    Bad("AddV2", (f32(1), i32(1)), "cannot compute AddV2 as input #1(zero-based) was expected "
        "to be a float tensor but is a int32 tensor"),
    Bad("AddV2", (b(True), b(True)), "Value for attr 'T' of bool is not in the list"),
    Bad("AddV2", (f32(1),), "do not match 1 inputs specified"),
    Bad("Add", (u32(1), u32(1)), "of uint32 is not in the list of allowed values"),
    Bad("Add", (s(b"a"), f32(1)), "expected to be a string tensor but is a float tensor"),
    Bad("Sub", (s(b"a"), s(b"b")), "of string is not in the list"),
    Bad("Mul", (i32([1, 2]), i32([1, 2, 3])), "Incompatible shapes: [2] vs. [3]"),
    # In RealDiv's op def, but without a CPU kernel: NOT_FOUND, as in TF.
    Bad("RealDiv", (i32(1), i32(2)), "Could not find a CPU kernel for RealDiv with T=int32",
        error=NotFoundError),
    Bad("Neg", (u8(1),), "of uint8 is not in the list of allowed values"),
    Bad("Neg", (f32(1), f32(1)), "do not match 2 inputs specified"),
    Bad("MatMul", (f32(np.ones((2, 3))), f32(np.ones((4, 5)))),
        "Matrix size-incompatible: In[0]: [2,3], In[1]: [4,5]"),
    Bad("MatMul", (f32(np.ones((2, 3))), f32(np.ones((3, 2)))),
        "Matrix size-incompatible: In[0]: [2,3], In[1]: [3,2]", {"transpose_a": True}),
    Bad("MatMul", (f32(np.ones((1, 2, 3))), f32(np.ones((3, 1)))), "In[0] is not a matrix"),
    Bad("MatMul", (i8([[1]]), i8([[1]])), "of int8 is not in the list"),
    Bad("Identity", (), "do not match 0 inputs specified"),
    Bad("Reshape", (f32(np.ones(6)), i32([8])),
        "Input to reshape is a tensor with 6 values, but the requested shape has 8"),
    Bad("Reshape", (f32(np.ones(6)), i32([4, -1])), "requested shape requires a multiple of 4"),
    Bad("Reshape", (f32(np.ones(6)), i32([-1, -1])), "Only one input size may be -1"),
    Bad("Reshape", (f32(np.ones(6)), i32([3, -2])), "Size 1 must be non-negative, not -2"),
    Bad("Reshape", (f32(np.ones(6)), i32([0, -1])), "tensor with 6 values, but the requested "
        "shape has 0"),
    Bad("Reshape", (f32(np.ones(6)), f32([6])), "Value for attr 'Tshape' of float "
        "is not in the list"),
    Bad("Reshape", (f32(np.ones(6)), i32([[6]])), "shape must be a scalar or a vector"),
    Bad("Transpose", (f32(np.ones((2, 3))), i32([0])), "transpose expects a vector of size 2"),
    Bad("Transpose", (f32(np.ones((2, 3))), i32([0, 2])), "2 is out of range [0 .. 2)"),
    Bad("Transpose", (f32(np.ones((2, 3))), i32([1, 1])), "repeats a dimension"),
    Bad("Fill", (i32([2, -1]), f32(1)), "dims[1] = -1 must be non-negative"),
    Bad("Fill", (i32([2]), f32([1, 2])), "value must represent a scalar, got shape [2]"),
    Bad("Fill", (i32([[2]]), f32(1)), "dims must be a vector"),
    Bad("ZerosLike", (f32(1), f32(1)), "do not match 2 inputs specified"),
    Bad("Pack", (i32([1, 2]), i32([1, 2, 3])), "Shapes of all inputs must match"),
    Bad("Pack", (i32([1]), f32([1])), "input #1(zero-based) was expected to be a int32"),
    Bad("Pack", (i32([1]), i32([1])), "axis 2 is out of range; expected a value in [-2, 2)",
        {"axis": 2}),
    Bad("Pack", (i32([1]), i32([1])), "do not match 2 inputs specified", {"N": 3}),
    Bad("Unpack", (i32([[1, 2, 3]]),), "Input shape axis 0 must equal 3", {"num": 3}),
    Bad("Unpack", (i32([[1, 2, 3]]),), "axis -3 is out of range", {"axis": -3, "num": 1}),
    Bad("Unpack", (i32(1),), "axis 0 is out of range", {"num": 1}),
    Bad("Unpack", (i32([1, 2]),), "missing attr \'num\'"),
    Bad("ConcatV2", (i32([[1]]), i32([[2]]), i32(2)),
        "Expected concatenating dimensions in the range [-2, 2), but got 2"),
    Bad("ConcatV2", (i32([[1]]), i32([[2, 3]]), i32(0)),
        "Dimension 1 in both shapes must be equal: shape[0] = [1,1] vs. shape[1] = [1,2]"),
    Bad("ConcatV2", (i32([[1]]), i32([2]), i32(0)), "Ranks of all input tensors should match"),
    Bad("ConcatV2", (i32(1), i32(2), i32(0)), "Can't concatenate scalars"),
    Bad("ConcatV2", (i32([1]), i32(0)), "Value for attr 'N' of 1 must be at least minimum 2"),
    Bad("ConcatV2", (i32([1]), i32([2]), i32([0, 0])),
        "axis tensor should be a scalar integer, but got shape [2]"),
    Bad("ConcatOffset", (i32([1]), i32([2, 2]), i32([2, 3])),
        "Concat dim tensor should be a scalar integer, but got shape [1]"),
    Bad("ConcatOffset", (i32(1), i32([[2, 2]]), i32([2, 3])),
        "input 1 should be a vector, but got shape [1,2]"),
    Bad("ConcatOffset", (i32(-3), i32([2, 2]), i32([2, 3])),
        "Concat dim is out of range: -3 vs. 2"),
    Bad("ConcatOffset", (i32(0), i32([]), i32([])), "Concat dim is out of range: 0 vs. 0"),
    Bad("ConcatOffset", (i32(1), i32([2, 2, 4]), i32([2, 3])),
        "input 1 should contain 3 elements, but got 2"),
    Bad("ConcatOffset", (i32(1), i32([2, 2, 4]), i32([2, 3, 4]), i32([2, 3, 5])),
        "All dimensions except 1 must match. Input 2 has shape [2 3 5] and doesn't match "
        "input 0 with shape [2 2 4].", {"N": 3}),
    Bad("ConcatOffset", (i32(1), i32(np.arange(1, 12)), i32([*range(1, 11), 5])),
        "Input 1 has shape [1 2 3 4 5 6 7 8 9 10...] and doesn't match input 0 with shape "
        "[1 2 3 4 5 6 7 8 9 10...]."),
    Bad("ConcatOffset", (i32(0), i32([2]), i64([2])), "expected to be a int32 tensor"),
    Bad("Shape", (f32(1),), "attr 'out_type' of float", {"out_type": np.dtype(np.float32)}),
    Bad("Cast", (f32(1),), "missing attr \'DstT\'"),
    Bad("Cast", (f32(1),), "attr 'DstT' is DT_RESOURCE",
        {"DstT": DataType.DT_RESOURCE}, UnimplementedError),
    Bad("Cast", (s(b"1"),), "Cast string to int32 is not supported",
        {"DstT": np.dtype(np.int32)}, UnimplementedError),
    Bad("Cast", (f64(1),), "Truncate=True from double to complex64 is not supported",
        {"DstT": np.dtype(np.complex64), "Truncate": True}, UnimplementedError),
    Bad("Sum", (f32(np.ones((2, 3))), i32(2)), "reduction axis 2 is out of range"),
    Bad("Sum", (f32(np.ones((2, 3))), f32(0)), "Value for attr 'Tidx' of float is not in the list"),
    Bad("Sum", (i32([1, 2]), i32([0, 0, -1])), "Axes contains duplicate dimension: 0"),
    Bad("Sum", (b([True]), i32(0)), "of bool is not in the list of allowed values"),
    Bad("Sum", (f32(1),), "do not match 1 inputs specified"),
    Bad("Mean", (s([b"a"]), i32(0)), "of string is not in the list"),
    Bad("Max", (c64([1j]), i32(0)), "of complex64 is not in the list of allowed values"),
    Bad("Max", (i32(1), i32(-1)), "reduction axis -1 is out of range"),
]



def test_value_dependent_checks_wait_for_the_value() -> None:
    # Without the value, a bad reshape size cannot be seen: no guess, no error.
    specs = [t(F, (6,)), t(N, (1,))]
    assert lookup("Reshape").shapes(specs, {})[0].shape == (-1,)


dims = st.lists(st.sampled_from([0, 1, 2, 3]), max_size=4).map(tuple)


@given(dims, dims)
def test_broadcast_matches_numpy(x: tuple[int, ...], y: tuple[int, ...]) -> None:
    try:
        want = np.broadcast_shapes(x, y)
    except ValueError:
        with pytest.raises(InvalidArgumentError, match="Incompatible shapes"):
            broadcast(x, y)
    else:
        assert broadcast(x, y) == want
