"""Records of the element-wise unary math ops (``eager_async.kernels.unary``): TF's
corners as explicit values, the rest against NumPy references over several dtypes."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import scipy.special
from kernel_records import (
    BF16,
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
    i32,
    i64,
    t,
    u8,
    u32,
)

from eager_async.errors import NotFoundError
from eager_async.kernels import lookup
from eager_async.kernels.unary import UNARY_OPS

c128 = partial(np.array, dtype=np.complex128)
F64, C128 = np.dtype(np.float64), np.dtype(np.complex128)

_rng = np.random.default_rng(1)
# Inside every op's real domain (Acosh gets 1 + x), away from poles and branch cuts.
U = _rng.uniform(0.1, 0.9, (2, 3)).astype(np.float32)
Z = (_rng.uniform(0.1, 0.9, 3) + 1j * _rng.uniform(-0.9, 0.9, 3)).astype(np.complex64)

REFERENCES: dict[str, Callable[..., np.ndarray]] = {
    "Abs": np.abs, "Sign": np.sign, "Reciprocal": np.reciprocal, "Inv": np.reciprocal,
    "Square": np.square,
    "Sqrt": np.sqrt, "Rsqrt": lambda x: 1 / np.sqrt(x), "Exp": np.exp, "Expm1": np.expm1,
    "Log": np.log, "Log1p": np.log1p, "Sin": np.sin, "Cos": np.cos, "Tan": np.tan,
    "Asin": np.arcsin, "Acos": np.arccos, "Atan": np.arctan, "Sinh": np.sinh,
    "Cosh": np.cosh, "Tanh": np.tanh, "Asinh": np.arcsinh, "Acosh": np.arccosh,
    "Atanh": np.arctanh, "Floor": np.floor, "Ceil": np.ceil, "Round": np.round,
    "Erf": scipy.special.erf, "Erfc": scipy.special.erfc, "Lgamma": scipy.special.gammaln,
    "Digamma": scipy.special.psi, "IsNan": np.isnan, "IsInf": np.isinf,
    "IsFinite": np.isfinite,
}


def _in_halves(fn: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    """The reference for float16/bfloat16: compute in float32, round back."""

    def reference(x: np.ndarray) -> np.ndarray:
        y = np.asarray(fn(x.astype(np.float32)))
        return y if y.dtype == np.bool_ else y.astype(x.dtype)

    return reference


def _reference_cases() -> list[Case]:
    cases = []
    for op, fn in REFERENCES.items():
        types = UNARY_OPS[op].types
        x = U + 1 if op == "Acosh" else U
        cases.append(Case(op, (x,), fn, tol=1e-5, name="float32"))
        cases.append(Case(op, (x.astype(np.float64)[:0],), fn, name="0-size"))
        for dtype, tol in ((np.float16, 2e-3), (BF16, 2e-2)):
            if np.dtype(dtype) in types:
                half = x[0, 0].astype(dtype)  # a 0-d tensor
                cases.append(Case(op, (half,), _in_halves(fn), tol=tol, name=str(dtype)))
        if np.dtype(np.complex64) in types:
            cases.append(Case(op, (Z,), fn, tol=1e-5, name="complex64"))
    return cases


C = Case
CASES = [
    *_reference_cases(),
    # Integers wrap, NaN propagates, domain errors give NaN or inf.
    C("Square", (i8([12, -3]),), (i8([-112, 9]),), name="int8 wraps"),
    C("Square", (u32([3]),), (u32([9]),), name="uint32"),
    C("Square", (c64([1 + 2j]),), (c64([-3 + 4j]),), name="complex"),
    C("Abs", (i32([-3, 0, I32_MIN]),), (i32([3, 0, I32_MIN]),), name="int32 min wraps"),
    C("Abs", (i8([-128, -5]),), (i8([-128, 5]),), name="int8"),
    C("Abs", (f16([-1.5, -0.0, -INF]),), (f16([1.5, 0.0, INF]),), name="float16"),
    C("Sign", (f32([-2, -0.0, 3, NAN, -INF]),), (f32([-1, 0, 1, NAN, -1]),), name="nan"),
    C("Sign", (i64([-5, 0, 7]),), (i64([-1, 0, 1]),), name="int64"),
    C("Sign", (c64([3 + 4j, 0, -2j]),), (c64([0.6 + 0.8j, 0, -1j]),), name="complex x/|x|"),
    C("Reciprocal", (f32([2, -0.5, 0, -0.0]),), (f32([0.5, -2, INF, -INF]),), name="zero"),
    C("Reciprocal", (c64([1j, 2]),), (c64([-1j, 0.5]),), name="complex"),
    C("Inv", (f64(4),), (f64(0.25),), name="scalar"),
    C("Sqrt", (f32([4, -1, 0, INF]),), (f32([2, NAN, 0, INF]),), name="domain"),
    C("Sqrt", (c128([-4]),), (c128([2j]),), name="complex negative"),
    C("Sqrt", (bf16([9, 0.25]),), (bf16([3, 0.5]),), name="bfloat16"),
    C("Rsqrt", (f32([4, 0, -1]),), (f32([0.5, INF, NAN]),), name="domain"),
    C("Exp", (f32([0, -INF, INF, 100]),), (f32([1, 0, INF, INF]),), name="overflow"),
    C("Exp", (c64([np.pi * 1j]),), (c64([-1]),), tol=1e-6, name="euler"),
    C("Expm1", (f64([1e-10, -INF]),), (f64([1e-10, -1]),), tol=1e-15, name="tiny"),
    C("Log", (f32([1, 0, -1, INF]),), (f32([0, -INF, NAN, INF]),), name="domain"),
    C("Log", (c64([-1]),), (c64([np.pi * 1j]),), tol=1e-6, name="complex negative"),
    C("Log1p", (f64([1e-10, -1, -2]),), (f64([1e-10, -INF, NAN]),), tol=1e-15, name="domain"),
    C("Asin", (f32([1, 2]),), (f32([np.pi / 2, NAN]),), tol=1e-6, name="domain"),
    C("Acosh", (f64([1, 0.5]),), (f64([0, NAN]),), name="domain"),
    C("Atanh", (f32([1, -1, 2]),), (f32([INF, -INF, NAN]),), name="poles"),
    C("Tanh", (f16([INF, -INF, 0]),), (f16([1, -1, 0]),), name="float16 limits"),
    C("Floor", (f32([-1.5, 1.5, -0.0, NAN]),), (f32([-2, 1, -0.0, NAN]),), name="corners"),
    C("Ceil", (bf16([-1.5, 1.5]),), (bf16([-1, 2]),), name="bfloat16"),
    # Round half to even, like np.round; integers pass through.
    C("Round", (f32([0.5, 1.5, 2.5, -0.5, -2.5, 3.7]),), (f32([0, 2, 2, -0.0, -2, 4]),),
      name="half to even"),
    C("Round", (f16([2.5, -3.5]),), (f16([2, -4]),), name="float16"),
    C("Round", (bf16(2.5),), (bf16(2),), name="bfloat16 scalar"),
    C("Round", (i32([3, -7]),), (i32([3, -7]),), name="int32 unchanged"),
    C("Round", (i64(I32_MIN),), (i64(I32_MIN),), name="int64 scalar"),
    C("Rint", (f64([0.5, 1.5, -2.5, 2.6]),), (f64([0, 2, -2, 3]),), name="half to even"),
    C("Rint", (f32(np.zeros((0, 2))),), (f32(np.zeros((0, 2))),), name="0-size"),
    C("Erf", (f32([0, INF, -INF, NAN]),), (f32([0, 1, -1, NAN]),), name="limits"),
    C("Erfc", (f64([0, INF, -INF]),), (f64([1, 0, 2]),), name="limits"),
    C("Lgamma", (f64([1, 2, 0, -1, 0.5, -0.5]),),
      (f64([0, 0, INF, INF, np.log(np.pi) / 2, np.log(2 * np.sqrt(np.pi))]),), tol=1e-12,
      name="poles"),
    C("Digamma", (f64([1, 0, -2, -0.5]),), (f64([-np.euler_gamma, NAN, NAN, 0.03648997397857652]),),
      tol=1e-12, name="poles are nan"),
    C("Digamma", (f16(0),), (f16(NAN),), name="float16 pole"),
    C("IsNan", (f32([NAN, 1, INF]),), (b([True, False, False]),), name="float32"),
    C("IsNan", (bf16([NAN, 0]),), (b([True, False]),), name="bfloat16"),
    C("IsInf", (f16([INF, -INF, NAN, 0]),), (b([True, True, False, False]),), name="float16"),
    C("IsFinite", (f64([INF, NAN, 1e308]),), (b([False, False, True]),), name="float64"),
    C("IsFinite", (f32(7),), (b(True),), name="scalar"),
    C("Conj", (c64([1 + 2j, -3j]),), (c64([1 - 2j, 3j]),), name="complex64"),
    C("Conj", (c128(1 + 1j),), (c128(1 - 1j),), name="complex128 scalar"),
    C("Conj", (c64(np.zeros((2, 0))),), (c64(np.zeros((2, 0))),), name="0-size"),
    C("Real", (c64([1 + 2j, NAN]),), (f32([1, NAN]),), name="complex64"),
    C("Real", (c128([[3 - 1j]]),), (f64([[3]]),), {"Tout": F64}, name="complex128"),
    C("Imag", (c64(1 + 2j),), (f32(2),), {"Tout": np.dtype(np.float32)}, name="scalar"),
    C("Imag", (c128([3 - 1j]),), (f64([-1]),), {"Tout": F64}, name="complex128"),
    C("ComplexAbs", (c64([3 + 4j, -5]),), (f32([5, 5]),), name="complex64"),
    C("ComplexAbs", (c128([1e200 + 1e200j]),), (f64([np.sqrt(2) * 1e200]),), {"Tout": F64},
      tol=1e-12, name="no overflow"),
]


F, N = np.float32, np.int32
INFERENCE = [
    Inference("Sqrt", (t(F, None),), (t(F, None),)),
    Inference("Exp", (t(np.complex64, (-1, 3)),), (t(np.complex64, (-1, 3)),)),
    Inference("IsNan", (t(np.float16, (2, -1)),), (t(np.bool_, (2, -1)),)),
    Inference("Real", (t(C128, None),), (t(F64, None),), {"Tout": F64}),
    Inference("ComplexAbs", (t(np.complex64, (4,)),), (t(F, (4,)),)),
    Inference("Round", (t(N, ()),), (t(N, ()),)),
]


# bool is in no unary op's type list.
ERRORS = [
    *(Bad(op, (b([True]),), "of bool is not in the list of allowed values")
      for op in UNARY_OPS),
    Bad("Square", (b(True),), "of bool is not in the list of allowed values"),
    Bad("Abs", (u8(1),), "Value for attr 'T' of uint8 is not in the list of allowed values"
        ": bfloat16, half, float, double, int8, int16, int32, int64"),
    Bad("Abs", (c64(1j),), "of complex64 is not in the list of allowed values"),
    # In the op def but without a CPU kernel: NOT_FOUND, as in TF.
    Bad("Reciprocal", (i32([0]),), "Could not find a CPU kernel for Reciprocal with "
        "T=int32; TensorFlow's CPU kernels take T in [half, bfloat16, float, double, complex64, "
        "complex128]",
        error=NotFoundError),
    Bad("Inv", (i64([2]),), "CPU kernel for Inv with T=int64", error=NotFoundError),
    Bad("Reciprocal", (u8([2]),), "of uint8 is not in the list of allowed values"
        ": bfloat16, half, float, double, int8, int16, int32, int64, complex64"),
    Bad("Tan", (i32(1),), "of int32 is not in the list of allowed values"),
    Bad("Floor", (i32(1),), "allowed values: bfloat16, half, float, double"),
    Bad("Round", (i8(1),), "CPU kernel for Round with T=int8", error=NotFoundError),
    Bad("Round", (c64(1),), "CPU kernel for Round with T=complex64", error=NotFoundError),
    Bad("Round", (u8(1),), "of uint8 is not in the list of allowed values"),
    Bad("Rint", (f16(1),), "CPU kernel for Rint with T=half; TensorFlow's CPU kernels take T in "
        "[float, double]", error=NotFoundError),
    Bad("Rint", (i32(1),), "of int32 is not in the list of allowed values"),
    Bad("Digamma", (bf16(1),), "CPU kernel for Digamma with T=bfloat16", error=NotFoundError),
    Bad("Lgamma", (bf16(1),), "CPU kernel for Lgamma with T=bfloat16", error=NotFoundError),
    Bad("Lgamma", (i32(1),), "allowed values: bfloat16, half, float, double"),
    Bad("IsNan", (i32(1),), "of int32 is not in the list of allowed values"),
    Bad("Conj", (f32(1),), "of float is not in the list of allowed values: "
        "complex64, complex128"),
    Bad("Real", (f64(1),), "of double is not in the list of allowed values"),
    # No kernel for the (T, Tout) pair: NOT_FOUND for Real and Imag, as in TF.
    Bad("Real", (c128(1j),), "Real with T=complex128, Tout=float; TensorFlow's CPU kernels take "
        "T in [complex128], Tout in [double]", error=NotFoundError),
    Bad("Imag", (c64(1j),), "Imag with T=complex64, Tout=double",
        {"Tout": F64}, NotFoundError),
    Bad("ComplexAbs", (c128(1j),), "attr 'Tout' is float but the parts of a complex128"),
    Bad("ComplexAbs", (c64(1j),), "Value for attr 'Tout' of int32 is not in the list",
        {"Tout": np.dtype(np.int32)}),
    Bad("ComplexAbs", (f32(1),), "of float is not in the list of allowed values"),
    Bad("Sqrt", (f32(1), f32(1)), "do not match 2 inputs specified"),
    Bad("Exp", (), "do not match 0 inputs specified"),
    Bad("Sign", (u8(1),), "of uint8 is not in the list of allowed values"),
]


def test_every_op_has_a_reference_or_explicit_case() -> None:
    assert set(REFERENCES) | {"Rint", "Conj", "Real", "Imag", "ComplexAbs"} == set(UNARY_OPS)


def test_kernels_never_warn() -> None:
    # Domain errors and overflow are silent, as in TF.
    with np.errstate(all="raise"):
        for op in ("Log", "Sqrt", "Reciprocal", "Acosh", "Exp", "Lgamma", "Digamma"):
            lookup(op).run([f32([-1, 0, 1e30])], {})
