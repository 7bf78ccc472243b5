"""``eager_async.kernels.special`` (Erf, Erfc, Lgamma, Digamma without SciPy): against
Python's ``math`` module, against 50-digit ``decimal`` references, against identities,
and through the registered ops against TensorFlow 2.21's own outputs.

The TF vectors (``tests/vectors/special_functions.json``) were written by
``tests/conformance/special_vectors.py``. TF runs with denormals flushed to zero, so
where TF answers 0 for a result in the denormal range, 0 and the denormal both pass.
"""

from __future__ import annotations

import doctest
import json
import math
from collections.abc import Callable
from decimal import Decimal, localcontext
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
import pytest

from eager_async.kernels import lookup, special
from eager_async.kernels.special import digamma, erf, erfc, lgamma

INF, NAN = math.inf, math.nan
BF16 = np.dtype(ml_dtypes.bfloat16)
FLOATS = (np.dtype(np.float16), BF16, np.dtype(np.float32), np.dtype(np.float64))
VECTORS = json.loads((Path(__file__).parent / "vectors" / "special_functions.json").read_text())
PI = Decimal("3.141592653589793238462643383279502884197169399375105820974944592307816")
EULER_GAMMA = Decimal("0.5772156649015328606065120900824024310421593359399235988057672348848")
RNG = np.random.default_rng(20260530)

Fn = Callable[[np.ndarray], np.ndarray]


# -- 50-digit references ------------------------------------------------------------------


@cache
def bernoulli(n: int) -> Fraction:
    """The Bernoulli number B(n) (B(1) = -1/2), exactly."""
    if n == 0:
        return Fraction(1)
    return -sum((math.comb(n + 1, k) * bernoulli(k) for k in range(n)), Fraction(0)) / (n + 1)


def dec(f: Fraction) -> Decimal:
    return Decimal(f.numerator) / Decimal(f.denominator)


def zeta_minus_1_reference(s: int) -> Decimal:
    """zeta(s) - 1 by Euler-Maclaurin summation from n = 30 on."""
    with localcontext() as ctx:
        ctx.prec = 50
        n = 30
        total = sum((Decimal(1) / Decimal(k) ** s for k in range(2, n)), Decimal(0))
        total += Decimal(n) ** (1 - s) / (s - 1) + Decimal(n) ** -s / 2
        rising = Decimal(s)  # s (s+1) ... (s+2j-2)
        for j in range(1, 20):
            if j > 1:
                rising *= (s + 2 * j - 3) * (s + 2 * j - 2)
            term = dec(bernoulli(2 * j)) / math.factorial(2 * j) * rising
            total += term * Decimal(n) ** (-s - 2 * j + 1)
        return total


def lgamma_reference(x: float) -> float:
    """log Gamma(x) for x > 0: recurrence up to 40, Stirling's series with 15 terms."""
    with localcontext() as ctx:
        ctx.prec = 50
        y, product = Decimal(x), Decimal(1)
        while y < 40:
            product *= y
            y += 1
        total = (y - Decimal("0.5")) * y.ln() - y + (2 * PI).ln() / 2
        for n in range(1, 16):
            total += dec(bernoulli(2 * n)) / (2 * n * (2 * n - 1)) / y ** (2 * n - 1)
        return float(total - product.ln())


def _sin_cos(t: Decimal) -> tuple[Decimal, Decimal]:
    sine, cosine, term, k = Decimal(0), Decimal(0), Decimal(1), 0
    while abs(term) > Decimal(10) ** -60:
        if k % 2:
            sine += term if k % 4 == 1 else -term
        else:
            cosine += term if k % 4 == 0 else -term
        k += 1
        term = term * t / k
    return sine, cosine


def _psi(y: Decimal) -> Decimal:
    if y < 0:  # psi(y) = psi(1 - y) - pi cot(pi y)
        sine, cosine = _sin_cos(PI * (y - y.to_integral_value()))
        return _psi(1 - y) - PI * cosine / sine
    steps = Decimal(0)
    while y < 40:
        steps += 1 / y
        y += 1
    total = y.ln() - 1 / (2 * y)
    for n in range(1, 16):
        total -= dec(bernoulli(2 * n)) / (2 * n) / y ** (2 * n)
    return total - steps


def digamma_reference(x: float) -> float:
    """psi(x) for non-integer or positive x: recurrence up to 40, the asymptotic series
    with 15 terms, reflection below 0."""
    with localcontext() as ctx:
        ctx.prec = 50
        return float(_psi(Decimal(x)))


def math_reference(fn: Callable[[float], float], x: np.ndarray) -> np.ndarray:
    return np.array([fn(float(v)) for v in x])


def assert_close(got: np.ndarray, want: np.ndarray, rtol: float, atol: float = 0.0) -> None:
    error = np.abs(got - want)
    bound = rtol * np.abs(want) + atol
    worst = int(np.argmax(error - bound))
    assert np.all(error <= bound), (
        f"{got[worst]!r} != {want[worst]!r} (error {error[worst]:.3g}, allowed {bound[worst]:.3g})"
    )


def ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """|got - want| in units of want's last place, in want's dtype."""
    wide = np.spacing(np.abs(want.astype(np.float64)).astype(want.dtype)).astype(np.float64)
    return np.abs(got.astype(np.float64) - want.astype(np.float64)) / wide


# -- the zeta table -----------------------------------------------------------------------


def test_zeta_table_is_zeta_minus_1() -> None:
    got = special._ZETA_MINUS_1
    want = [float(zeta_minus_1_reference(s)) for s in range(2, 2 + len(got))]
    assert list(got) == want


# -- erf and erfc ---------------------------------------------------------------------------


def _erf_grid() -> np.ndarray:
    tiny = np.geomspace(1e-300, 0.5, 400)
    return np.concatenate([np.linspace(-7, 7, 14001), tiny, -tiny, RNG.uniform(-6, 6, 2000)])


@pytest.mark.parametrize(("fn", "reference"), [(erf, math.erf), (erfc, math.erfc)])
def test_erf_and_erfc_match_math(fn: Fn, reference: Callable[[float], float]) -> None:
    x = _erf_grid()
    assert_close(fn(x), math_reference(reference, x), rtol=2e-15)


def test_erfc_keeps_its_precision_until_it_underflows() -> None:
    x = np.concatenate([np.linspace(0.4, 26.54, 20001), RNG.uniform(4, 26.5, 2000)])
    assert_close(erfc(x), math_reference(math.erfc, x), rtol=2e-15)
    # Denormal results: a few units of the smallest denormal.
    denormal = np.linspace(26.55, 27.3, 2001)
    assert_close(erfc(denormal), math_reference(math.erfc, denormal), rtol=1e-12, atol=1e-322)
    assert np.all(erfc(np.array([27.3, 30.0, 1e10, 1e308, INF])) == 0)
    assert np.all(erfc(np.array([-6.0, -27.0, -1e308, -INF])) == 2)


@pytest.mark.parametrize(("fn", "reference"), [(erf, math.erf), (erfc, math.erfc)])
def test_float32_is_the_exact_value_rounded(fn: Fn, reference: Callable[[float], float]) -> None:
    x = np.linspace(-8, 8, 40001).astype(np.float32)
    want = math_reference(reference, x).astype(np.float32)
    got = fn(x)
    assert got.dtype == np.float32
    normal = np.abs(want) >= np.finfo(np.float32).smallest_normal
    assert ulps(got[normal], want[normal]).max() <= 1


# -- lgamma ---------------------------------------------------------------------------------


def test_lgamma_matches_math() -> None:
    x = np.concatenate([
        np.linspace(1e-6, 12, 60001), np.geomspace(1e-300, 1e305, 3000),
        RNG.uniform(-30, 0, 20000), -np.geomspace(1e-300, 4e15, 3000),
    ])  # fmt: skip
    x = x[(x > 0) | (np.floor(x) != x)]
    # math.lgamma (CPython's own) is off by up to ~1e-15 absolute where lgamma is small.
    assert_close(lgamma(x), math_reference(math.lgamma, x), rtol=1e-14, atol=4e-15)


def test_lgamma_near_its_zeros_matches_a_50_digit_reference() -> None:
    x = np.concatenate([
        RNG.uniform(0.9, 1.1, 200), RNG.uniform(1.9, 2.1, 200), RNG.uniform(0, 12, 400),
        np.array([1 + 2**-40, 1 - 2**-40, 2 + 2**-40, 2 - 2**-40, 1.5, 2.5, 10.0]),
    ])  # fmt: skip
    want = np.array([lgamma_reference(v) for v in x])
    assert_close(lgamma(x), want, rtol=2e-15)


def test_lgamma_float32_is_the_exact_value_rounded() -> None:
    x = np.concatenate([np.linspace(0.01, 40, 20001), np.linspace(-9.99, -0.01, 5001)])
    x = x.astype(np.float32)
    x = x[np.floor(x) != x]
    want = math_reference(math.lgamma, x).astype(np.float32)
    assert ulps(lgamma(x), want).max() <= 1


# -- digamma --------------------------------------------------------------------------------


def test_digamma_matches_a_50_digit_reference() -> None:
    x = np.concatenate([
        RNG.uniform(0, 25, 1500), np.geomspace(1e-300, 1e300, 200),
        RNG.uniform(-25, 0, 1500), -RNG.uniform(25, 1e6, 100),
    ])  # fmt: skip
    x = x[np.floor(x) != x]
    want = np.array([digamma_reference(v) for v in x])
    # Relative to the value away from digamma's zeros, absolute near them.
    assert_close(digamma(x), want, rtol=1e-14, atol=2e-15)


def test_digamma_known_values() -> None:
    gamma = float(EULER_GAMMA)
    assert digamma(np.float64(1.0)) == pytest.approx(-gamma, rel=1e-15)
    assert digamma(np.float64(0.5)) == pytest.approx(-gamma - 2 * math.log(2), rel=1e-15)
    n = np.arange(1, 60)
    harmonic = np.array([float(sum(Fraction(1, k) for k in range(1, m))) for m in n])
    assert_close(digamma(n.astype(np.float64)), harmonic - gamma, rtol=2e-15, atol=1e-16)


def test_digamma_recurrence_and_reflection() -> None:
    x = RNG.uniform(0.05, 30, 5000)
    # psi(x + 1) - psi(x) = 1/x
    assert_close(digamma(x + 1) - digamma(x), 1 / x, rtol=1e-13, atol=1e-14)
    x = RNG.uniform(-20, 20, 5000)
    x = x[np.abs(x - np.round(x)) > 1e-3]
    # psi(1 - x) - psi(x) = pi cot(pi x)
    assert_close(digamma(1 - x) - digamma(x), np.pi / np.tan(np.pi * x), rtol=1e-11, atol=1e-12)


# -- edges, dtypes, bad inputs -----------------------------------------------------------------

EDGES = [
    # x, erf, erfc, lgamma, digamma: as TF 2.21 gives them
    (0.0, 0.0, 1.0, INF, NAN),
    (-0.0, -0.0, 1.0, INF, NAN),
    (INF, 1.0, 0.0, INF, INF),
    (-INF, -1.0, 2.0, INF, NAN),
    (NAN, NAN, NAN, NAN, NAN),
    (-1.0, -math.erf(1), math.erfc(-1), INF, NAN),
    (-2.0, -math.erf(2), math.erfc(-2), INF, NAN),
    (-1e4, -1.0, 2.0, INF, NAN),
    (1.0, math.erf(1), math.erfc(1), 0.0, -float(EULER_GAMMA)),
    (2.0, math.erf(2), math.erfc(2), 0.0, 1 - float(EULER_GAMMA)),
]


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize(("index", "fn"), list(enumerate((erf, erfc, lgamma, digamma))))
def test_edge_values(dtype: np.dtype, index: int, fn: Fn) -> None:
    x = np.array([row[0] for row in EDGES], dtype)
    got = fn(x)
    want = np.array([row[index + 1] for row in EDGES]).astype(dtype)
    assert got.dtype == dtype
    # Bit for bit where the value is NaN, infinite or zero (the sign of zero kept).
    special_values = ~np.isfinite(want) | (want == 0)
    assert got[special_values].tobytes() == want[special_values].tobytes(), (got, want)
    rest = ~special_values
    assert np.all(ulps(got[rest], want[rest]) <= 1), (got, want)


@pytest.mark.parametrize("dtype", FLOATS, ids=str)
@pytest.mark.parametrize("fn", (erf, erfc, lgamma, digamma))
@pytest.mark.parametrize("shape", [(), (0,), (2, 3), (3, 0, 2)])
def test_dtype_and_shape_are_kept(dtype: np.dtype, fn: Fn, shape: tuple[int, ...]) -> None:
    x = np.full(shape, 0.75, dtype)
    got = fn(x)
    assert (got.dtype, got.shape) == (dtype, shape)
    # Computed in float64 and rounded once.
    assert np.array_equal(got, fn(x.astype(np.float64)).astype(dtype))


@pytest.mark.parametrize("fn", (erf, erfc, lgamma, digamma))
def test_the_input_is_left_alone(fn: Fn) -> None:
    x = np.array([-2.5, -1.0, 0.0, 0.3, 1.0, 7.0, 30.0, INF, NAN])
    before = x.copy()
    assert fn(x) is not x
    assert np.array_equal(x, before, equal_nan=True)


@pytest.mark.parametrize("fn", (erf, erfc, lgamma, digamma))
def test_integers_give_float64(fn: Fn) -> None:
    assert fn(np.array([1, 3], np.int32)).dtype == np.float64


@pytest.mark.parametrize("fn", (erf, erfc, lgamma, digamma))
@pytest.mark.parametrize("bad", [np.array([1j]), np.array(["1.0"]), np.array([b"x"])])
def test_non_real_input_is_refused(fn: Fn, bad: np.ndarray) -> None:
    with pytest.raises(TypeError, match=f"{fn.__name__} takes real numbers, not "):
        fn(bad)


@pytest.mark.parametrize("fn", (erf, erfc, lgamma, digamma))
def test_never_warns(fn: Fn) -> None:
    with np.errstate(all="raise"):
        fn(np.array([-INF, -1e308, -3.0, -0.0, 0.0, 5e-324, 1e308, INF, NAN]))


def test_doctests() -> None:
    assert doctest.testmod(special, raise_on_error=False).failed == 0


# -- TensorFlow 2.21 ------------------------------------------------------------------------

# (op, dtype) -> (ulps of TF's value, absolute slack) where ours differs from TF's at all:
# float32 TF computes in float32 and loses a few ulp where we compute in float64, most of
# all near digamma's zeros; float64 TF differs by a few ulp.
TF_TOLERANCE = {
    ("Erf", "float32"): (4, 0.0),
    ("Erfc", "float32"): (4, 0.0),
    ("Lgamma", "float32"): (2, 0.0),
    ("Digamma", "float32"): (2, 5e-7),
    ("Erf", "float64"): (8, 0.0),
    ("Erfc", "float64"): (8, 0.0),
    ("Lgamma", "float64"): (16, 0.0),
    ("Digamma", "float64"): (8, 1e-15),
}


def _case_id(case: dict[str, Any]) -> str:
    return f"{case['op']}-{case['dtype']}"


@pytest.mark.parametrize("case", VECTORS["cases"], ids=_case_id)
def test_ops_match_tensorflow(case: dict[str, Any]) -> None:
    dtype = np.dtype(BF16 if case["dtype"] == "bfloat16" else case["dtype"])
    x = np.frombuffer(bytes.fromhex(case["inputs_hex"]), dtype)
    want = np.frombuffer(bytes.fromhex(case["outputs_hex"]), dtype)
    (got,) = lookup(case["op"]).run([x], {})
    assert got.dtype == dtype
    if dtype.itemsize == 2:  # float16 and bfloat16: the same bits as TF
        assert got.tobytes() == want.tobytes()
        return
    g, w = got.astype(np.float64), want.astype(np.float64)
    assert np.array_equal(np.isnan(g), np.isnan(w)), x[np.isnan(g) != np.isnan(w)]
    flushed = (w == 0) & (np.abs(g) < np.finfo(dtype).smallest_normal)
    finite = np.isfinite(w) & ~flushed
    assert np.array_equal(g[np.isinf(w)], w[np.isinf(w)])
    count, slack = TF_TOLERANCE[(case["op"], case["dtype"])]
    error = np.abs(g[finite] - w[finite])
    allowed = count * np.spacing(np.abs(want[finite])).astype(np.float64) + slack
    worst = int(np.argmax(error - allowed))
    assert np.all(error <= allowed), (x[finite][worst], got[finite][worst], want[finite][worst])


def test_the_erf_op_is_nan_where_tf_2_21s_double_erf_overflows() -> None:
    x = np.array([1e154, 1.3407807830046642e154, 1.3407807830046643e154, 1e300, INF, -INF])
    (got,) = lookup("Erf").run([x], {})
    assert got.tolist()[:2] == [1.0, 1.0]
    assert np.isnan(got[2:]).all()
    # float32 (and the halves, computed in float32) are not affected.
    (got32,) = lookup("Erf").run([np.array([1e30, 3.4e38, INF, -INF], np.float32)], {})
    assert got32.tolist() == [1.0, 1.0, 1.0, -1.0]


def test_vectors_cover_every_op_and_dtype() -> None:
    seen = {(case["op"], case["dtype"]) for case in VECTORS["cases"]}
    halves = {(op, "float16") for op in ("Erf", "Erfc", "Lgamma", "Digamma")}
    assert seen == set(TF_TOLERANCE) | halves | {("Erf", "bfloat16"), ("Erfc", "bfloat16")}
