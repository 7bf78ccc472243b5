"""Records of the shaping family: ``eager_async/kernels/shaping.py`` and
``shaping_meta.py``."""

from __future__ import annotations

import re

import numpy as np
import pytest
from kernel_records import (
    BF16,
    NAN,
    Bad,
    Case,
    Inference,
    b,
    bf16,
    c64,
    case_id,
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

from eager_async.errors import InvalidArgumentError, NotFoundError, UnimplementedError
from eager_async.kernels import TensorSpec, lookup

I8, I32, I64 = np.dtype(np.int8), np.dtype(np.int32), np.dtype(np.int64)
F32, C128 = np.dtype(np.float32), np.dtype(np.complex128)
REFLECT, SYMMETRIC = {"mode": b"REFLECT"}, {"mode": b"SYMMETRIC"}
M23 = i32([[1, 2, 3], [4, 5, 6]])

C = Case
CASES = [
    # ExpandDims: dim in [-rank-1, rank].
    C("ExpandDims", (i32([1, 2]), i32(0)), (i32([[1, 2]]),)),
    C("ExpandDims", (i32([1, 2]), i64(-1)), (i32([[1], [2]]),), name="-1 appends"),
    C("ExpandDims", (f32([[1, 2]]), i32(-3)), (f32([[[1, 2]]]),), name="-rank-1"),
    C("ExpandDims", (s(b"a"), i32([0])), (s([b"a"]),), name="scalar, 1-element dim"),
    C("ExpandDims", (b(np.zeros((0, 2))), i32(2)), (b(np.zeros((0, 2, 1))),), name="0-size"),
    # Squeeze: all size-1 dims by default, or exactly the listed ones.
    C("Squeeze", (f32(np.ones((1, 2, 1))),), (f32([1, 1]),)),
    C("Squeeze", (f32(np.ones((1, 2, 1))),), (f32([[1, 1]]),), {"squeeze_dims": [-1]},
      name="one dim"),
    C("Squeeze", (s([[b"x"]]),), (s(b"x"),), name="to scalar"),
    C("Squeeze", (i8(np.zeros((1, 0))),), (i8(np.zeros(0)),), name="0-size"),
    C("Squeeze", (f16(3),), (f16(3),), name="scalar"),
    # Tile
    C("Tile", (i32([[1, 2]]), i32([2, 2])), (i32([[1, 2, 1, 2], [1, 2, 1, 2]]),)),
    C("Tile", (s([b"a", b"b"]), i64([2])), (s([b"a", b"b", b"a", b"b"]),), name="strings"),
    C("Tile", (f32([[1, 2]]), i32([0, 3])), (f32(np.zeros((0, 6))),), name="times 0"),
    C("Tile", (c64(1j), i32([])), (c64(1j),), name="scalar"),
    C("Tile", (bf16([1.5]), i32([3])), (bf16([1.5, 1.5, 1.5]),), name="bfloat16"),
    # Pad fills with zero (b"" for strings); PadV2 with constant_values.
    C("Pad", (i32([[1, 2]]), i32([[1, 0], [0, 2]])), (i32([[0, 0, 0, 0], [1, 2, 0, 0]]),)),
    C("Pad", (s([b"a"]), i64([[1, 1]])), (s([b"", b"a", b""]),), name="strings"),
    C("Pad", (b([True]), i32([[0, 1]])), (b([True, False]),), name="bool"),
    C("Pad", (f32(7), i32(np.zeros((0, 2)))), (f32(7),), name="scalar"),
    C("Pad", (bf16(np.zeros((0,))), i32([[1, 1]])), (bf16([0, 0]),), name="0-size"),
    C("PadV2", (f32([1, 2]), i32([[2, 1]]), f32(-1)), (f32([-1, -1, 1, 2, -1]),)),
    C("PadV2", (s([b"a"]), i32([[1, 0]]), s(b"z")), (s([b"z", b"a"]),), name="strings"),
    C("PadV2", (u8([[1]]), i32([[1, 1], [0, 0]]), u8(9)), (u8([[9], [1], [9]]),), name="uint8"),
    # MirrorPad: REFLECT leaves the edge out and needs padding < size; SYMMETRIC repeats
    # it and allows padding <= size.
    C("MirrorPad", (M23, i32([[1, 1], [2, 2]])),
      (i32([[6, 5, 4, 5, 6, 5, 4], [3, 2, 1, 2, 3, 2, 1], [6, 5, 4, 5, 6, 5, 4],
            [3, 2, 1, 2, 3, 2, 1]]),), REFLECT),
    C("MirrorPad", (M23, i32([[1, 1], [2, 2]])),
      (i32([[2, 1, 1, 2, 3, 3, 2], [2, 1, 1, 2, 3, 3, 2], [5, 4, 4, 5, 6, 6, 5],
            [5, 4, 4, 5, 6, 6, 5]]),), SYMMETRIC, name="symmetric"),
    C("MirrorPad", (f32([1, 2]), i64([[2, 2]])), (f32([2, 1, 1, 2, 2, 1]),), SYMMETRIC,
      name="symmetric full size"),
    C("MirrorPad", (s([b"a", b"b"]), i32([[1, 1]])), (s([b"b", b"a", b"b", b"a"]),), REFLECT,
      name="strings"),
    C("MirrorPad", (f32(np.zeros((0, 2))), i32([[0, 0], [1, 0]])), (f32(np.zeros((0, 3))),),
      SYMMETRIC, name="0-size"),
    C("MirrorPad", (i8(3), i32(np.zeros((0, 2)))), (i8(3),), REFLECT, name="scalar"),
    # BroadcastTo
    C("BroadcastTo", (i32([1, 2]), i32([2, 2])), (i32([[1, 2], [1, 2]]),)),
    C("BroadcastTo", (s(b"a"), i64([2])), (s([b"a", b"a"]),), name="scalar string"),
    C("BroadcastTo", (f32([[1], [2]]), i32([2, 0])), (f32(np.zeros((2, 0))),), name="to 0"),
    C("BroadcastTo", (f16(3), i32([])), (f16(3),), name="scalar to scalar"),
    # Bitcast: to a smaller type adds a last dim, to a larger one drops it.
    C("Bitcast", (u32([0xFFFFFFFF]),), (u8([[255, 255, 255, 255]]),), {"type": np.dtype(np.uint8)}),
    C("Bitcast", (f32(1),), (i8([0, 0, -128, 63]),), {"type": I8}, name="scalar"),
    C("Bitcast", (u8([[1, 0, 0, 0], [0, 1, 0, 0]]),), (i32([1, 256]),), {"type": I32},
      name="larger"),
    C("Bitcast", (f64([1.0]),), (i64([4607182418800017408]),), {"type": I64}, name="same size"),
    C("Bitcast", (c64([1 + 2j]),), (f32([[1, 2]]),), {"type": F32}, name="complex"),
    C("Bitcast", (bf16([1]),), (i16([16256]),), {"type": np.dtype(np.int16)}, name="bfloat16"),
    C("Bitcast", (f32(np.zeros((0, 2))),), (u8(np.zeros((0, 2, 4))),),
      {"type": np.dtype(np.uint8)}, name="0-size"),
    # ConjugateTranspose
    C("ConjugateTranspose", (c64([[1 + 1j, 2 - 1j]]), i32([1, 0])), (c64([[1 - 1j], [2 + 1j]]),)),
    C("ConjugateTranspose", (i32([[1, 2]]), i64([1, 0])), (i32([[1], [2]]),), name="real"),
    C("ConjugateTranspose", (rand((2, 0, 3)), i32([2, 0, 1])), lambda x, p: x.transpose(2, 0, 1),
      name="0-size"),
    C("ConjugateTranspose", (s(b"a"), i32([])), (s(b"a"),), name="scalar"),
    # Range: TF raises where np.arange returns an empty array, and adds delta repeatedly.
    C("Range", (i32(0), i32(5), i32(2)), (i32([0, 2, 4]),)),
    C("Range", (i64(5), i64(1), i64(-2)), (i64([5, 3]),), name="negative delta"),
    C("Range", (i32(3), i32(3), i32(1)), (i32(np.zeros(0)),), name="empty"),
    C("Range", (i32([1]), i32(4), i32(1)), (i32([1, 2, 3]),), name="1-element vector start"),
    # LinSpace: computed in T; the last value is exactly stop.
    C("LinSpace", (f32(0), f32(1), i32(5)), (f32([0, 0.25, 0.5, 0.75, 1]),)),
    C("LinSpace", (f64(3), f64(-3), i64(3)), (f64([3, 0, -3]),), name="decreasing"),
    C("LinSpace", (f32(2), f32(9), i32(1)), (f32([2]),), name="num 1 is start"),
    C("LinSpace", (f32(0), f32(0.3), i32(4)), (f32([0, 0.1, 0.2, 0.3]),), tol=1e-7,
      name="ends on stop"),
    # OnesLike
    C("OnesLike", (f32([[5, 6]]),), (f32([[1, 1]]),)),
    C("OnesLike", (b([False, True]),), (b([True, True]),), name="bool"),
    C("OnesLike", (c64(3j),), (c64(1),), name="complex scalar"),
    C("OnesLike", (bf16(np.zeros((0, 2))),), (bf16(np.zeros((0, 2))),), name="0-size"),
    # ShapeN, Size, Rank
    C("ShapeN", (f32(np.zeros((2, 3))), f32(1)), (i32([2, 3]), i32(np.zeros(0)))),
    C("ShapeN", (s([b"a"]),), (i64([1]),), {"out_type": I64, "N": 1}, name="int64"),
    C("Size", (f32(np.zeros((2, 3))),), (i32(6),)),
    C("Size", (s(b"a"),), (i64(1),), {"out_type": I64}, name="scalar int64"),
    C("Size", (u8(np.zeros((3, 0))),), (i32(0),), name="0-size"),
    C("Rank", (f32(np.zeros((2, 0, 1))),), (i32(3),)),
    C("Rank", (s(b"a"),), (i32(0),), name="scalar"),
    # BroadcastArgs
    C("BroadcastArgs", (i32([2, 1]), i32([3])), (i32([2, 3]),)),
    C("BroadcastArgs", (i64([]), i64([4, 1])), (i64([4, 1]),), name="scalar shape"),
    C("BroadcastArgs", (i32([5, 0]), i32([1])), (i32([5, 0]),), name="0"),
    # IdentityN: any inputs, passed through.
    C("IdentityN", (f32([1]), s(b"a"), b(True)), (f32([1]), s(b"a"), b(True))),
    C("IdentityN", (i32(np.zeros((0, 2))),), (i32(np.zeros((0, 2))),),
      {"T": [np.dtype(np.int32)]}, name="with T"),
    # InvertPermutation
    C("InvertPermutation", (i32([3, 4, 0, 2, 1]),), (i32([2, 4, 3, 0, 1]),)),
    C("InvertPermutation", (i64([0]),), (i64([0]),), name="int64"),
    C("InvertPermutation", (i32(np.zeros(0)),), (i32(np.zeros(0)),), name="empty"),
    # Const: no inputs; the value attr is the output.
    C("Const", (), (f32([[1, 2]]),), {"value": f32([[1, 2]]), "dtype": F32}),
    C("Const", (), (s(b"hi"),), {"value": s(b"hi"), "dtype": np.dtype(object)},
      name="string scalar"),
    C("Const", (), (bf16(np.zeros((0, 3))),), {"value": bf16(np.zeros((0, 3))), "dtype": BF16},
      name="0-size"),
]

# Range on other dtypes than int32/int64: the shape function may not read those values,
# so it answers (-1,) even when they are known; test_kernel would want the exact shape.
VALUE_DEPENDENT = [
    Case("Range", (f32(0), f32(1), f32(0.25)), (f32([0, 0.25, 0.5, 0.75]),), name="float"),
    # Repeated float32 additions drift where np.arange's multiplications would not.
    Case("Range", (f32(0), f32(1), f32(0.1)),
         (f32([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.70000005, 0.8000001, 0.9000001]),),
         name="float accumulates"),
    Case("Range", (f64(1), f64(-1), f64(-0.5)), (f64([1, 0.5, 0, -0.5]),), name="double down"),
    Case("Range", (bf16(0), bf16(2), bf16(0.5)), (bf16([0, 0.5, 1, 1.5]),), name="bfloat16"),
]


F, N = np.float32, np.int32
INFERENCE = [
    Inference("ExpandDims", (t(F, (2, -1)), t(N, (), 1)), (t(F, (2, 1, -1)),)),
    Inference("ExpandDims", (t(F, (2, 3)), t(N, ())), (t(F, (-1, -1, -1)),)),
    Inference("ExpandDims", (t(F, None), t(N, (), 0)), (t(F, None),)),
    Inference("Squeeze", (t(F, (1, -1, 3)),), (t(F, None),)),
    Inference("Squeeze", (t(F, (1, -1, 3)),), (t(F, (1, 3)),), {"squeeze_dims": [1]}),
    Inference("Tile", (t(F, (2, -1)), t(N, (2,), [3, 2])), (t(F, (6, -1)),)),
    Inference("Tile", (t(F, (0, 2)), t(N, (2,))), (t(F, (0, -1)),)),
    Inference("Tile", (t(F, None), t(N, (2,), [0, 2])), (t(F, (0, -1)),)),
    Inference("Pad", (t(F, (2, -1)), t(N, (2, 2), [[1, 1], [2, 0]])), (t(F, (4, -1)),)),
    Inference("Pad", (t(F, None), t(N, (3, 2))), (t(F, (-1, -1, -1)),)),
    Inference("MirrorPad", (t(F, (-1,)), t(N, (1, 2), [[5, 5]])), (t(F, (-1,)),), REFLECT),
    Inference("BroadcastTo", (t(F, (3, 1)), t(N, (3,))), (t(F, (-1, 3, -1)),)),
    Inference("BroadcastTo", (t(F, (-1,)), t(N, (2,), [4, 5])), (t(F, (4, 5)),)),
    Inference("BroadcastTo", (t(F, (2,)), t(N, None)), (t(F, None),)),
    Inference("Bitcast", (t(F, (2, -1)),), (t(np.int8, (2, -1, 4)),), {"type": I8}),
    Inference("Bitcast", (t(np.int8, (2, -1)),), (t(F, (2,)),), {"type": F32}),
    Inference("ConjugateTranspose", (t(F, None), t(N, (2,), [1, 0])), (t(F, (-1, -1)),)),
    Inference("Range", (t(F, ()), t(F, ()), t(F, ())), (t(F, (-1,)),)),
    Inference("Range", (t(N, (), 0), t(N, ()), t(N, (), 1)), (t(N, (-1,)),)),
    Inference("Range", (t(N, (), 1), t(N, (), 10), t(N, (), 3)), (t(N, (3,)),)),
    Inference("LinSpace", (t(F, ()), t(F, ()), t(N, ())), (t(F, (-1,)),)),
    Inference("LinSpace", (t(F, ()), t(F, ()), t(N, (), 7)), (t(F, (7,)),)),
    Inference("ShapeN", (t(F, None), t(F, (2, -1))), (t(N, (-1,)), t(N, (2,)))),
    Inference("Size", (t(F, None),), (t(N, ()),)),
    Inference("Rank", (t(F, None),), (t(N, ()),)),
    Inference("BroadcastArgs", (t(N, (2,)), t(N, (3,))), (t(N, (3,)),)),
    Inference("BroadcastArgs", (t(N, (2,)), t(N, (-1,))), (t(N, (-1,)),)),
    Inference("IdentityN", (t(F, None), t(N, (-1, 2))), (t(F, None), t(N, (-1, 2)))),
    Inference("InvertPermutation", (t(N, None),), (t(N, (-1,)),)),
]


ERRORS = [
    # The op def allows int8, but TF registers no CPU kernel for it.
    Bad("Range", (i8(-128), i8(127), i8(127)), "CPU kernel for Range with Tidx=int8",
        error=NotFoundError),
    Bad("ExpandDims", (i32([1, 2]), i32(2)), "Tried to expand dim index 2 for tensor with 1 dim"),
    Bad("ExpandDims", (i32([1, 2]), i32(-3)), "Tried to expand dim index -3"),
    Bad("ExpandDims", (i32([1, 2]), i32([0, 1])), "'dim' must be a tensor with a single value"),
    Bad("ExpandDims", (i32([1, 2]), f32(0)), "Value for attr 'Tdim' of float is not in the list"),
    Bad("Squeeze", (f32(np.ones((1, 2))),), "Can not squeeze dim[1], expected a dimension of 1, "
        "got 2", {"squeeze_dims": [1]}),
    Bad("Squeeze", (f32(np.ones((1, 2))),), "Tried to squeeze dim index 2 for tensor with 2 dim",
        {"squeeze_dims": [2]}),
    Bad("Tile", (i32([[1]]), i32([2])),
        "Expected multiples argument to be a vector of length 2 but got length 1"),
    Bad("Tile", (i32([1]), i32([-1])), "Expected multiples[0] >= 0, but got -1"),
    Bad("Tile", (i32([1]), i32([[1]])), "multiples must be a vector"),
    Bad("Pad", (f32([1]), i32([[1, -1]])), "Paddings must be non-negative: 1 -1"),
    Bad("Pad", (f32([1]), i32([1, 1])), "paddings must be a matrix with 2 columns: [2]"),
    Bad("Pad", (f32([1]), i32([[1, 1], [1, 1]])),
        "The first dimension of paddings must be the rank of inputs[2,2], [1]"),
    Bad("Pad", (f32(np.zeros((1,) * 9)), i32(np.zeros((9, 2)))), "inputs rank not in [0,8]: 9",
        error=UnimplementedError),
    Bad("Pad", (f32([1]), f32([[1, 1]])), "Value for attr 'Tpaddings' of float is not in the list"),
    Bad("PadV2", (f32([1]), i32([[1, 1]]), f32([0, 0])), "constant_values must be a scalar"),
    Bad("PadV2", (f32([1]), i32([[1, 1]]), i32(0)), "input #2(zero-based) was expected to be a "
        "float tensor but is a int32 tensor"),
    Bad("MirrorPad", (f32([1, 2]), i32([[2, 0]])),
        "paddings must be less than the dimension size: 2, 0 not less than 2", REFLECT),
    Bad("MirrorPad", (f32([1, 2]), i32([[0, 3]])),
        "paddings must be no greater than the dimension size: 0, 3 greater than 2", SYMMETRIC),
    Bad("MirrorPad", (f32(np.zeros(0)), i32([[0, 0]])),
        "paddings must be less than the dimension size: 0, 0 not less than 0", REFLECT),
    Bad("MirrorPad", (f32([1, 2]), i32([[0, 0]])), "Value for attr 'mode' of \"EDGE\" is not in "
        "the list of allowed values",
        {"mode": b"EDGE"}),
    Bad("MirrorPad", (f32([1, 2]), i32([[0, 0]])), "missing attr 'mode'"),
    Bad("MirrorPad", (f32(np.zeros((1,) * 6)), i32(np.zeros((6, 2)))),
        "inputs rank not in [0,5]: 6", REFLECT, UnimplementedError),
    Bad("BroadcastTo", (i32([1, 2]), i32([3])), "Incompatible shapes: [2] vs. [3]"),
    Bad("BroadcastTo", (i32([1, 2]), i32([1])),
        "Unable to broadcast tensor of shape [2] to tensor of shape [1]"),
    Bad("BroadcastTo", (i32([[1]]), i32([1])),
        "Rank of input (2) must be no greater than rank of output shape (1)."),
    Bad("BroadcastTo", (i32([1]), i32([-1])), "Dimension -1 must be >= 0"),
    Bad("Bitcast", (i8([[1, 2, 3]]),), "Cannot bitcast from int8 to int32: shape [1,3]; the last "
        "dimension must be 4", {"type": I32}),
    Bad("Bitcast", (f32([1, 2, 3]),), "Cannot bitcast from float to complex128", {"type": C128}),
    Bad("Bitcast", (i8(1),), "Cannot bitcast from int8 to int16: shape []",
        {"type": np.dtype(np.int16)}),
    Bad("Bitcast", (b([True]),), "Value for attr 'T' of bool is not in the list", {"type": I8}),
    Bad("Bitcast", (i8([1]),), "attr 'type' of string is not in the list",
        {"type": np.dtype(object)}),
    Bad("Bitcast", (i8([1]),), "missing attr \'type\'"),
    Bad("ConjugateTranspose", (c64([[1j]]), i32([0])), "transpose expects a vector of size 2"),
    Bad("ConjugateTranspose", (c64([[1j]]), i32([0, 0])), "repeats a dimension"),
    Bad("Range", (i32(5), i32(1), i32(1)), "Requires start <= limit when delta > 0: 5/1"),
    Bad("Range", (i32(1), i32(5), i32(-1)), "Requires start >= limit when delta < 0: 1/5"),
    Bad("Range", (i64(0), i64(5), i64(0)), "Requires delta != 0: 0"),
    Bad("Range", (i32(0), i32(5), i64(1)), "input #2(zero-based) was expected to be a int32"),
    Bad("Range", (i32([0, 1]), i32(5), i32(1)), "start must be a scalar, not shape [2]"),
    Bad("Range", (u8(0), u8(5), u8(1)), "Value for attr 'Tidx' of uint8 is not in the list"),
    Bad("LinSpace", (f32(0), f32(1), i32(0)), "Requires num > 0: 0"),
    Bad("LinSpace", (f32([0]), f32(1), i32(2)), "start must be a scalar, not shape [1]"),
    Bad("LinSpace", (f32(0), f32(1), i32([2])), "num must be a scalar"),
    Bad("LinSpace", (i32(0), i32(1), i32(2)), "Value for attr 'T' of int32 is not in the list"),
    Bad("LinSpace", (bf16(0), bf16(1), i32(3)), "Could not find a CPU kernel for LinSpace",
        error=NotFoundError),
    Bad("OnesLike", (s([b"a"]),), "Value for attr 'T' of string is not in the list"),
    Bad("ShapeN", (f32(1), i32(1)), "input #1(zero-based) was expected to be a float"),
    Bad("ShapeN", (), "Value for attr 'N' of 0 must be at least minimum 1"),
    Bad("ShapeN", (f32(1),), "attr 'out_type' of float", {"out_type": F32}),
    Bad("Size", (f32(1),), "attr 'out_type' of int8 is not in the list", {"out_type": I8}),
    Bad("Size", (np.broadcast_to(f32(0), (2**16, 2**16)),),
        "Number of elements was larger than representable by 32-bit output type"),
    Bad("Rank", (f32(1), f32(2)), "do not match 2 inputs specified"),
    Bad("BroadcastArgs", (i32([2, 3]), i32([4])), "Incompatible shapes: [2,3] vs. [4]"),
    Bad("BroadcastArgs", (i32([[2]]), i32([4])), "In[0] must be a vector.[1,1]"),
    Bad("BroadcastArgs", (f32([2]), f32([4])), "Value for attr 'T' of float is not in the list"),
    Bad("IdentityN", (f32(1), i32(1)), "attr 'T' is [float, float] but the inputs are "
        "[float, int32]", {"T": [F32, F32]}),
    Bad("InvertPermutation", (i32([0, 2]),), "2 is not between 0 and 2"),
    Bad("InvertPermutation", (i32([1, 1]),), "1 is duplicated in the input."),
    Bad("InvertPermutation", (i32([[0]]),), "invert_permutation expects a 1D vector."),
    Bad("InvertPermutation", (f32([0]),), "Value for attr 'T' of float is not in the list"),
    Bad("Const", (), "Type mismatch between value (float) and dtype (int32)",
        {"value": f32(1), "dtype": I32}),
    Bad("Const", (), "missing attr \'value\'"),
    Bad("Const", (), "missing attr \'dtype\'", {"value": s(b"hi")}),
    Bad("Const", (f32(1),), "do not match 1 inputs specified", {"value": f32(1)}),
]


@pytest.mark.parametrize("case", VALUE_DEPENDENT, ids=case_id)
def test_range_of_unreadable_dtypes(case: Case) -> None:
    spec = lookup(case.op)
    (out,) = spec.run(case.inputs, case.attrs)
    assert not callable(case.expected)
    (want,) = case.expected
    assert (out.dtype, out.shape) == (want.dtype, want.shape)
    np.testing.assert_allclose(out.astype(np.float64), want.astype(np.float64), rtol=case.tol)
    known = [TensorSpec(a.dtype, a.shape, a) for a in case.inputs]
    assert [(o.dtype, o.shape) for o in spec.shapes(known, {})] == [(want.dtype, (-1,))]


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        ((f32(0), f32(1), f32(0)), "Requires delta != 0"),
        ((f32(2), f32(1), f32(0.5)), "Requires start <= limit when delta > 0"),
        ((f64(0), f64(1), f64(NAN)), "Requires start >= limit when delta < 0"),
        ((f32(0), f32(np.inf), f32(1)), "Requires ((limit - start) / delta) <="),
    ],
)
def test_float_range_is_checked_by_the_kernel(
    inputs: tuple[np.ndarray, ...], fragment: str
) -> None:
    # A shape function may not read float values: only the kernel sees these.
    assert lookup("Range").shapes([t(a.dtype, a.shape) for a in inputs], {})[0].shape == (-1,)
    with pytest.raises(InvalidArgumentError, match=re.escape(fragment)):
        lookup("Range").run(inputs, {})


def test_const_shape_is_known_before_it_runs() -> None:
    value = i32(np.arange(6).reshape(2, 3))
    (spec,) = lookup("Const").shapes([], {"value": value, "dtype": I32})
    assert (spec.dtype, spec.shape) == (I32, (2, 3))


def test_size_int64_counts_past_int32() -> None:
    big = np.broadcast_to(u8(0), (2**16, 2**16))
    assert lookup("Size").run([big], {"out_type": I64})[0] == 2**32
