"""Records of the binary math kernels: division and remainder in TF's flavours, DivNoNan,
Pow, Maximum, Minimum, SquaredDifference, Atan2, Complex, ClipByValue, AddN, BiasAdd."""

from __future__ import annotations

import numpy as np
import pytest
from kernel_records import (
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

from eager_async.errors import NotFoundError
from eager_async.kernels import TensorSpec, lookup

c128 = np.complex128
C = Case
CASES = [
    # Div: integers truncate toward zero (C), floats divide; INT_MIN / -1 wraps.
    C("Div", (i32([-7, 7, -7, 7]), i32([2, -2, -2, 2])), (i32([-3, -3, 3, 3]),), name="int"),
    C("Div", (i32(I32_MIN), i32(-1)), (i32(I32_MIN),), name="INT_MIN/-1 wraps"),
    C("Div", (i8([-128, 100]), i8([-1, 3])), (i8([-128, 33]),), name="int8"),
    C("Div", (u8([255, 7]), u8([2, 7])), (u8([127, 1]),), name="uint8"),
    C("Div", (u32([7]), u32(2)), (np.array([3], np.uint32),), name="uint32 scalar"),
    C("Div", (f32([1, -1, 0, 3]), f32([0, 0, 0, 2])), (f32([INF, -INF, NAN, 1.5]),)),
    C("Div", (bf16([1, 3]), bf16([4, 2])), (bf16([0.25, 1.5]),), name="bfloat16"),
    C("Div", (c64([2j]), c64([1 + 1j])), (c64([1 + 1j]),), tol=1e-6, name="complex"),
    C("Div", (i32(np.zeros((0, 2))), i32([0, 1])), (i32(np.zeros((0, 2))),),
      name="empty ignores zero divisor"),
    C("Div", (rand((2, 3), np.float64), rand((3,), np.float64)), np.true_divide, tol=1e-12,
      name="broadcast"),
    # DivNoNan: 0 wherever the divisor is 0, even for inf or NaN dividends.
    C("DivNoNan", (f32([NAN, INF, 1, 3]), f32([0, 0, -0.0, 2])), (f32([0, 0, 0, 1.5]),)),
    C("DivNoNan", (f16([1, 2]), f16(0)), (f16([0, 0]),), name="float16 scalar"),
    C("DivNoNan", (bf16([1, 3]), bf16([0, 2])), (bf16([0, 1.5]),), name="bfloat16"),
    C("DivNoNan", (c64([1 + 1j, 2]), c64([0, 1j])), (c64([0, -2j]),), tol=1e-6,
      name="complex"),
    C("DivNoNan", (f64(np.zeros((2, 0))), f64(1)), (f64(np.zeros((2, 0))),), name="0-size"),
    # FloorDiv: rounds down (Python); on floats floor(x / y).
    C("FloorDiv", (i32([-7, 7, -7, 7]), i32([2, -2, -2, 2])), (i32([-4, -4, 3, 3]),)),
    C("FloorDiv", (i32(I32_MIN), i32(-1)), (i32(I32_MIN),), name="INT_MIN/-1 wraps"),
    C("FloorDiv", (i32([I32_MIN]), i32([2])), (i32([-(2**30)]),), name="INT_MIN/2"),
    C("FloorDiv", (i16([-1]), i16([3])), (i16([-1]),), name="int16"),
    C("FloorDiv", (f64([1.0]), f64([0.1])), (f64([10.0]),), name="floor of the quotient"),
    C("FloorDiv", (f32([-7.5, 7.5, 1, -1]), f32([2, 2, 0, 0])), (f32([-4, 3, INF, -INF]),),
      name="float"),
    C("FloorDiv", (f16([-3]), f16([2])), (f16([-2]),), name="float16"),
    C("FloorDiv", (u8([255]), u8([16])), (u8([15]),), name="uint8"),
    # TruncateDiv: rounds toward zero.
    C("TruncateDiv", (i32([-7, 7, -7]), i32([2, -2, -2])), (i32([-3, -3, 3]),)),
    C("TruncateDiv", (i64([-(2**63)]), i64([-1])), (i64([-(2**63)]),), name="INT64_MIN/-1"),
    C("TruncateDiv", (f32([-7.5, 7.5]), f32([2, 2])), (f32([-3, 3]),), name="float"),
    C("TruncateDiv", (i8(np.zeros((0,))), i8(0)), (i8(np.zeros((0,))),), name="0-size"),
    # FloorMod: the sign of the divisor; floats keep fmod's signed zero.
    C("FloorMod", (i32([-7, 7, -7, 7]), i32([2, -2, -2, 2])), (i32([1, -1, -1, 1]),)),
    C("FloorMod", (i32(I32_MIN), i32(-1)), (i32(0),), name="INT_MIN%-1"),
    C("FloorMod", (u8([250]), u8([7])), (u8([5]),), name="uint8"),
    C("FloorMod", (i8([-128]), i8([3])), (i8([1]),), name="int8"),
    C("FloorMod", (f32([-7.5, 7.5, 5, -5, 5]), f32([2, -2, 0, INF, -INF])),
      (f32([0.5, -0.5, NAN, INF, -INF]),), name="float"),
    C("FloorMod", (f32([-0.0, 3.0]), f32([3, -3])), (f32([-0.0, 0.0]),), name="signed zero"),
    C("FloorMod", (bf16([-1]), bf16([3])), (bf16([2]),), name="bfloat16"),
    C("FloorMod", (f16([5.5]), f16(-2)), (f16([-0.5]),), name="float16"),
    # TruncateMod and Mod: C's fmod, the sign of the dividend.
    C("TruncateMod", (i32([-7, 7, -7, 7]), i32([2, -2, -2, 2])), (i32([-1, 1, -1, 1]),)),
    C("TruncateMod", (i64([-(2**63)]), i64([-1])), (i64([0]),), name="INT64_MIN%-1"),
    C("TruncateMod", (f32([-7.5, 7.5, 1]), f32([2, -2, 0])), (f32([-1.5, 1.5, NAN]),),
      name="float"),
    C("Mod", (i32([-7, 7]), i32([2, -2])), (i32([-1, 1]),)),
    C("Mod", (f64([-7.5]), f64(2)), (f64([-1.5]),), name="double"),
    C("Mod", (i64(np.zeros((2, 0))), i64(0)), (i64(np.zeros((2, 0))),), name="0-size"),
    # Pow
    C("Pow", (i32([2, 3, -2, 0]), i32([10, 0, 3, 0])), (i32([1024, 1, -8, 1]),)),
    C("Pow", (i8([3]), i8([5])), (i8([-13]),), name="int8 wraps"),
    C("Pow", (i64([2]), i64([63])), (i64([-(2**63)]),), name="int64 wraps"),
    C("Pow", (i32(np.zeros((0,))), i32(-1)), (i32(np.zeros((0,))),),
      name="empty ignores negative exponent"),
    C("Pow", (f32([2, 4, -8, 0]), f32([-1, 0.5, 1 / 3, -1])), (f32([0.5, 2, NAN, INF]),),
      tol=1e-6, name="float"),
    C("Pow", (f16([3]), f16([2])), (f16([9]),), name="float16"),
    C("Pow", (bf16([2]), bf16([3])), (bf16([8]),), name="bfloat16"),
    C("Pow", (c64([1j]), c64([2])), (c64([-1]),), tol=1e-6, name="complex"),
    # C's cpow, exp(y * log(x)), as TF: 0 ** 0 is NaN, 0 ** 2 is 0, inf ** 1 is inf.
    C("Pow", (c64([0, 0, complex(INF, NAN)]), c64([0, 2, 1])),
      (c64([complex(NAN, NAN), 0, complex(INF, NAN)]),), name="complex corners"),
    C("Pow", (rand((2, 3), np.float64) ** 2, rand((3,), np.float64)), np.power, tol=1e-12,
      name="broadcast"),
    # Maximum and Minimum propagate NaN.
    C("Maximum", (f32([NAN, 1, 2]), f32([1, NAN, 1])), (f32([NAN, NAN, 2]),)),
    C("Maximum", (u8([1, 255]), u8(7)), (u8([7, 255]),), name="uint8 scalar"),
    C("Maximum", (i64([-(2**63)]), i64([0])), (i64([0]),), name="int64"),
    C("Maximum", (bf16([1, -2]), bf16([0, -3])), (bf16([1, -2]),), name="bfloat16"),
    C("Minimum", (f64([NAN, 1, 2]), f64([1, NAN, 1])), (f64([NAN, NAN, 1]),)),
    C("Minimum", (i8([-128, 5]), i8([0, 3])), (i8([-128, 3]),), name="int8"),
    C("Minimum", (f16(np.zeros((0, 3))), f16([1, 2, 3])), (f16(np.zeros((0, 3))),),
      name="0-size"),
    # SquaredDifference: conj(x - y) * (x - y); integers wrap.
    C("SquaredDifference", (f32([1, 5]), f32([3, 5])), (f32([4, 0]),)),
    C("SquaredDifference", (c64([1 + 2j]), c64([0])), (c64([5]),), name="complex"),
    C("SquaredDifference", (i32([70000]), i32([0])), (i32([605032704]),), name="int32 wraps"),
    C("SquaredDifference", (bf16([3]), bf16(1)), (bf16([4]),), name="bfloat16"),
    C("SquaredDifference", (rand((2, 1)), rand((1, 3))), lambda x, y: (x - y) ** 2, tol=1e-5,
      name="broadcast"),
    # Atan2(y, x)
    C("Atan2", (f32([1, 1, -1, 0]), f32([1, -1, -1, 0])),
      (f32([np.pi / 4, 3 * np.pi / 4, -3 * np.pi / 4, 0]),), tol=1e-6),
    C("Atan2", (f16([1]), f16([0])), (f16([np.pi / 2]),), tol=1e-3, name="float16"),
    C("Atan2", (bf16([1]), bf16([1])), (bf16([np.pi / 4]),), tol=1e-2, name="bfloat16"),
    C("Atan2", (rand((3,), np.float64), rand((2, 1), np.float64)), np.arctan2, tol=1e-12,
      name="broadcast"),
    # Complex: the parts are stored as given, inf included.
    C("Complex", (f32([1, INF]), f32([INF, 2])), (c64([complex(1, INF), complex(INF, 2)]),)),
    C("Complex", (f64([1, 2]), f64(3)), (np.array([1 + 3j, 2 + 3j], c128),),
      {"Tout": np.dtype(c128)}, name="complex128"),
    C("Complex", (f32(np.zeros((0,))), f32(1)), (c64(np.zeros((0,))),), name="0-size"),
    # ClipByValue: bounds are scalars or t's shape; NaN stays NaN; min wins over max.
    C("ClipByValue", (f32([-5, 0, 5, NAN]), f32(-1), f32(1)), (f32([-1, 0, 1, NAN]),)),
    C("ClipByValue", (i32([1, 5]), i32(3), i32(2)), (i32([3, 3]),), name="min > max"),
    C("ClipByValue", (i8([[1, 5], [7, -9]]), i8([[2, 2], [0, 0]]), i8(4)),
      (i8([[2, 4], [4, 0]]),), name="tensor min"),
    C("ClipByValue", (u8([0, 200]), u8(10), u8([5, 100])), (u8([10, 100]),),
      name="tensor max"),
    C("ClipByValue", (c64([5 + 5j, -5 - 5j, 0]), c64(-1 - 2j), c64(1 + 2j)),
      (c64([1 + 2j, -1 - 2j, 0]),), name="complex box"),
    C("ClipByValue", (bf16(3), bf16(0), bf16(2)), (bf16(2),), name="bfloat16 scalar"),
    C("ClipByValue", (f64(np.zeros((0, 2))), f64(0), f64(1)), (f64(np.zeros((0, 2))),),
      name="0-size"),
    # AddN
    C("AddN", (i8([100]), i8([100]), i8([1])), (i8([-55]),), {"N": 3}, name="int8 wraps"),
    C("AddN", (f32([[1, 2]]),), (f32([[1, 2]]),), name="one input"),
    C("AddN", (c64([1j]), c64([1])), (c64([1 + 1j]),), name="complex"),
    C("AddN", (f16(0.5), f16(0.25), f16(1)), (f16(1.75),), name="float16 scalars"),
    C("AddN", (np.int32(1), i32(2), i32(3)), (i32(6),), {"N": 3}, name="int32 scalars"),
    C("AddN", (rand((2, 3)), rand((2, 3)), rand((2, 3))), lambda *xs: sum(xs), tol=1e-5,
      name="float"),
    C("AddN", (i64(np.zeros((0, 3))), i64(np.zeros((0, 3)))), (i64(np.zeros((0, 3))),),
      name="0-size"),
    # BiasAdd: along the last dim (NHWC) or dim 1 (NCHW).
    C("BiasAdd", (f32(np.zeros((2, 3))), f32([1, 2, 3])), (f32([[1, 2, 3], [1, 2, 3]]),)),
    C("BiasAdd", (i32(np.zeros((1, 2, 2))), i32([1, 2])), (i32([[[1, 1], [2, 2]]]),),
      {"data_format": b"NCHW"}, name="NCHW"),
    C("BiasAdd", (rand((2, 3, 4, 5)), rand((3,))), lambda v, x: v + x.reshape(3, 1, 1),
      {"data_format": b"NCHW"}, tol=1e-6, name="NCHW rank 4"),
    C("BiasAdd", (rand((2, 1, 2, 1, 2, 3)), rand((3,))), np.add, tol=1e-6,
      name="NHWC rank 6"),
    C("BiasAdd", (i8([[127]]), i8([1])), (i8([[-128]]),), name="int8 wraps"),
    C("BiasAdd", (rand((1, 2, 1, 2, 1, 3)), rand((2,))), lambda v, x: v + x.reshape(2, 1, 1, 1, 1),
      {"data_format": b"NCHW"}, tol=1e-6, name="NCHW rank 6"),
    C("BiasAdd", (f32(np.zeros((2, 3))), f32([1, 2, 3])), (f32([[1, 2, 3], [1, 2, 3]]),),
      {"data_format": b"NCHW"}, name="NCHW matrix"),
    C("BiasAdd", (f32(np.zeros((0, 3))), f32([1, 2, 3])), (f32(np.zeros((0, 3))),),
      name="0-size"),
]


F, N = np.float32, np.int32
INFERENCE = [
    Inference("FloorDiv", (t(N, (2, -1)), t(N, (3,))), (t(N, (2, 3)),)),
    Inference("Pow", (t(F, None), t(F, (2,))), (t(F, None),)),
    Inference("Complex", (t(F, (-1,)), t(F, (1,))), (t(np.complex64, (-1,)),)),
    Inference("Complex", (t(np.float64, (2,)), t(np.float64, ())), (t(c128, (2,)),),
              {"Tout": np.dtype(c128)}),
    Inference("ClipByValue", (t(F, None), t(F, (2, -1)), t(F, ())), (t(F, (2, -1)),)),
    Inference("ClipByValue", (t(F, (-1, 3)), t(F, (2, -1)), t(F, None)), (t(F, (2, 3)),)),
    Inference("AddN", (t(F, (2, -1)), t(F, None), t(F, (-1, 3))), (t(F, (2, 3)),)),
    Inference("BiasAdd", (t(F, (2, -1)), t(F, (3,))), (t(F, (2, 3)),)),
    Inference("BiasAdd", (t(F, (2, -1, 4)), t(F, (-1,))), (t(F, (2, -1, 4)),),
              {"data_format": b"NCHW"}),
    Inference("BiasAdd", (t(F, None), t(F, (3,))), (t(F, None),)),
]


I32_1 = i32([1])
ERRORS = [
    Bad("Div", (b([True]), b([True])), "Value for attr 'T' of bool is not in the list"),
    Bad("Div", (f32([1, 2]), f32([1, 2, 3])), "Incompatible shapes: [2] vs. [3]"),
    Bad("DivNoNan", (i32(1), i32(1)), "of int32 is not in the list of allowed values"),
    # In the op def but without a CPU kernel: NOT_FOUND, as in TF.
    Bad("FloorDiv", (c64([1]), c64([1])), "Could not find a CPU kernel for FloorDiv with "
        "T=complex64", error=NotFoundError),
    Bad("FloorDiv", (f32(1), f64(1)), "expected to be a float tensor but is a double tensor"),
    Bad("TruncateDiv", (c64([1]), c64([1])), "CPU kernel for TruncateDiv with T=complex64",
        error=NotFoundError),
    Bad("FloorMod", (c64([1]), c64([1])), "of complex64 is not in the list"),
    Bad("TruncateMod", (f16([1]), f16([1])), "CPU kernel for TruncateMod with T=half; TensorFlow's "
        "CPU kernels take T in [float, double, int32, int64]", error=NotFoundError),
    Bad("Mod", (u8([1]), u8([1])), "of uint8 is not in the list of allowed values"),
    Bad("Mod", (bf16([1]), bf16([1])), "CPU kernel for Mod with T=bfloat16",
        error=NotFoundError),
    Bad("Pow", (u8([2]), u8([2])), "of uint8 is not in the list of allowed values"),
    Bad("Maximum", (c64([1]), c64([1])), "of complex64 is not in the list"),
    Bad("Minimum", (s([b"a"]), s([b"b"])), "of string is not in the list"),
    Bad("SquaredDifference", (i8([1]), i8([1])), "of int8 is not in the list"),
    Bad("Atan2", (i32([1]), i32([1])), "of int32 is not in the list of allowed values"),
    Bad("Atan2", (f32([1]),), "do not match 1 inputs specified"),
    Bad("Complex", (f32([1]), f32([1])), "Complex with T=float, Tout=complex128",
        {"Tout": np.dtype(c128)}, NotFoundError),
    Bad("Complex", (f16([1]), f16([1])), "of half is not in the list of allowed values"),
    Bad("Complex", (f32([1]), f32([1])), "attr 'Tout' of float is not in the list",
        {"Tout": np.dtype(np.float32)}),
    Bad("Complex", (f32([1, 2]), f32([1, 2, 3])), "Incompatible shapes: [2] vs. [3]"),
    Bad("ClipByValue", (f32([[1, 2]]), f32([1, 2]), f32(3)),
        "must be either of the same shape as input, or a scalar. input shape: [1,2], "
        "clip_value_min shape: [2], clip_value_max shape: []"),
    Bad("ClipByValue", (f32(1), f32([1]), f32(3)), "clip_value_min shape: [1]"),
    Bad("ClipByValue", (u32([1]), u32(0), u32(2)), "CPU kernel for ClipByValue with "
        "T=uint32", error=NotFoundError),
    Bad("ClipByValue", (b([True]), b(False), b(True)), "of bool is not in the list"),
    Bad("ClipByValue", (f32([1]), f32(0)), "do not match 2 inputs specified"),
    Bad("ClipByValue", (f32([1]), f64(0), f32(1)), "input #1(zero-based) was expected"),
    Bad("AddN", (i32([1]), i32([2, 3])), "Inputs to operation AddN of type AddN must have "
        "the same size and shape.  Input 0: [1] != input 1: [2]"),
    Bad("AddN", (I32_1, I32_1), "expected inputs 'N*T, N*T, N*T' do not match 2 inputs "
        "specified", {"N": 3}),
    Bad("AddN", (b([True]),), "of bool is not in the list of allowed values"),
    Bad("AddN", (), "Value for attr 'N' of 0 must be at least minimum 1"),
    Bad("BiasAdd", (f32(np.zeros((2, 3))), f32([1, 2])),
        "Must provide as many biases as the last dimension of the input tensor: [2] vs. [2,3]"),
    Bad("BiasAdd", (f32([1, 2]), f32([1, 2])), "Input tensor must be at least 2D: [2]"),
    Bad("BiasAdd", (f32(np.zeros((2, 3))), f32([[1, 2, 3]])), "Biases must be 1D: [1,3]"),
    Bad("BiasAdd", (f32(np.zeros((2, 3))), f32([1, 2])),  # a matrix's channels are last
        "as many biases as the last dimension of the input tensor: [2] vs. [2,3]",
        {"data_format": b"NCHW"}),
    Bad("BiasAdd", (f32(np.zeros((2, 3, 4))), f32([1, 2, 3, 4])), "[4] vs. [2,3,4]",
        {"data_format": b"NCHW"}),
    Bad("BiasAdd", (f32(np.zeros((1, 2, 1, 1, 1, 1))), f32([1, 2, 3])),
        "[3] vs. [1,2,1,1,1,1]", {"data_format": b"NCHW"}),
    Bad("BiasAdd", (f32(np.zeros((2, 3))), f32([1, 2, 3])),
        "attr 'data_format' of \"NCDHW\" is not in the list", {"data_format": b"NCDHW"}),
    Bad("BiasAdd", (s([[b"a"]]), s([b"b"])), "of string is not in the list"),
]


# Errors that depend on input values: only the kernel can see them (TF's shape functions
# do not look either), so the shape function must accept these inputs.
VALUE_ERRORS = [
    Bad("Div", (i32([1, 2]), i32([1, 0])), "Integer division by zero"),
    Bad("Div", (u8([1]), u8(0)), "Integer division by zero"),
    Bad("FloorDiv", (i64([1]), i64([0])), "Integer division by zero"),
    Bad("TruncateDiv", (i16([1]), i16([0])), "Integer division by zero"),
    Bad("FloorMod", (u32([1]), u32([0])), "Integer division by zero"),
    Bad("TruncateMod", (i32([1]), i32([0])), "Integer division by zero"),
    Bad("Mod", (i64([5]), i64(0)), "Integer division by zero"),
    Bad("Pow", (i32([2, 2]), i32([1, -1])), "Integers to negative integer powers are not allowed"),
]


@pytest.mark.parametrize("bad", VALUE_ERRORS, ids=lambda b: f"{b.op}-{b.inputs[1].dtype}")
def test_rejects_values(bad: Bad) -> None:
    spec = lookup(bad.op)
    assert len(spec.shapes([TensorSpec(a.dtype, a.shape, a) for a in bad.inputs], {})) == 1
    with pytest.raises(bad.error) as raised:
        spec.run(bad.inputs, bad.attrs)
    assert bad.fragment in raised.value.message


@pytest.mark.parametrize("op", ["Div", "FloorDiv", "TruncateDiv", "FloorMod", "TruncateMod"])
def test_integer_division_identities(op: str) -> None:
    # x == q * y + r for each rounding: Div/TruncateDiv with TruncateMod, FloorDiv with
    # FloorMod; checked on every sign combination, without any NumPy warning.
    x = np.repeat(np.arange(-9, 10, dtype=np.int32), 5)
    y = np.tile(i32([-3, -2, 1, 2, 3]), 19)
    quotient = "FloorDiv" if op in ("FloorDiv", "FloorMod") else "TruncateDiv"
    remainder = "FloorMod" if quotient == "FloorDiv" else "TruncateMod"
    q = lookup(quotient).run([x, y], {})[0]
    r = lookup(remainder).run([x, y], {})[0]
    np.testing.assert_array_equal(q * y + r, x)
    np.testing.assert_array_equal(lookup(op).run([x, y], {})[0], q if "Div" in op else r)
    want = np.sign(y) if remainder == "FloorMod" else np.sign(x)
    assert np.all((r == 0) | (np.sign(r) == want))


def test_int32_bounds_are_exact() -> None:
    x, y = i32([I32_MAX, I32_MIN]), i32([-1, 1])
    assert lookup("Div").run([x, y], {})[0].tolist() == [-I32_MAX, I32_MIN]
