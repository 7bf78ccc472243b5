"""The special functions behind TF's Erf, Erfc, Lgamma and Digamma, in NumPy alone.

Each takes a float array (float16, bfloat16, float32 or float64) and returns one of the
same shape and dtype, computed in float64 and rounded once, so float32 results are
correctly rounded but for rare ties and float64 results are within a few ulp. They
never warn: domain errors give NaN or inf, as TF's kernels do.

- ``erf``, ``erfc``: W. J. Cody's rational Chebyshev approximations (Math. Comp. 23,
  1969, 631-638), with the coefficients of his SPECFUN routine CALERF, on |x| <= 0.46875,
  0.46875 < |x| <= 4 and |x| > 4, and ``exp(-x*x)`` split so the tail of ``erfc`` keeps
  its precision until it underflows (x ~ 26.5; denormal results are kept).
- ``lgamma``: log|Gamma(x)|. Stirling's series for x >= 10; below, the recurrence
  Gamma(x+1) = x Gamma(x) down or up to [1.5, 2.5), where the Taylor series of
  lgamma about 2 (coefficients (-1)^k (zeta(k) - 1) / k, Abramowitz & Stegun 6.1.33's
  shifted form) is exact near both zeros, 1 and 2; the reflection formula for x < 0.
- ``digamma``: the asymptotic series for x >= 10; below, the recurrence
  psi(x+1) = psi(x) + 1/x to [1.5, 2.5) and there the derivative of lgamma's series
  about 2; the reflection psi(x) = psi(1-x) - pi cot(pi x) for x < 0.

TF's values at the edges: ``lgamma`` is +inf at 0, the negative integers and both
infinities; ``digamma`` is NaN at 0, the negative integers and -inf, +inf at +inf.
(TF runs with denormals flushed to zero; these functions keep denormal inputs and
results as they are.)

>>> erf(np.float64([0.0, 0.5, -1.0]))
array([ 0.        ,  0.52049988, -0.84270079])
>>> float(lgamma(np.float64(0.5))) == math.log(math.pi) / 2
True
>>> digamma(np.float32([1.0, 0.0, -1.5]))
array([-0.5772157 ,         nan,  0.70315665], dtype=float32)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from ._checks import FLOATS

__all__ = ["digamma", "erf", "erfc", "lgamma"]

Array = np.ndarray
_F64 = np.dtype(np.float64)

# fmt: off
# Cody's coefficients, highest power first (CALERF lists the leading numerator
# coefficient last). Numerator and denominator of erf(x)/x in x*x, |x| <= 0.46875:
_ERF_P = (1.85777706184603153e-1, 3.16112374387056560e00, 1.13864154151050156e02,
          3.77485237685302021e02, 3.20937758913846947e03)
_ERF_Q = (1.0, 2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
# exp(x*x) erfc(x) in x, 0.46875 < x <= 4:
_ERFC_P = (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e00,
           6.61191906371416295e01, 2.98635138197400131e02, 8.81952221241769090e02,
           1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03)
_ERFC_Q = (1.0, 1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
           1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
           3.43936767414372164e03, 1.23033935480374942e03)
# The correction to x exp(x*x) erfc(x) ~ 1/sqrt(pi) in z = 1/(x*x), x > 4:
_TAIL_P = (1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1,
           1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4)
_TAIL_Q = (1.0, 2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
           6.05183413124413191e-2, 2.33520497626869185e-3)
_ERF_SMALL = 0.46875
_ERFC_MID = 4.0
_ERFC_ZERO = 40.0  # erfc(x) underflows to 0 well before: exp(-1600) is 0.

# zeta(k) - 1 for k = 2, 3, ..., 30 (computed to 50 digits by Euler-Maclaurin summation;
# tests/test_special.py recomputes them).
_ZETA_MINUS_1 = (
    0.6449340668482264, 0.2020569031595943, 0.08232323371113819, 0.03692775514336993,
    0.01734306198444914, 0.008349277381922827, 0.00407735619794434, 0.0020083928260822143,
    0.0009945751278180853, 0.0004941886041194645, 0.0002460865533080483,
    0.00012271334757848915, 6.124813505870483e-05, 3.058823630702049e-05,
    1.528225940865187e-05, 7.637197637899763e-06, 3.81729326499984e-06,
    1.908212716553939e-06, 9.539620338727962e-07, 4.769329867878064e-07,
    2.38450502727733e-07, 1.1921992596531106e-07, 5.960818905125948e-08,
    2.980350351465228e-08, 1.4901554828365043e-08, 7.45071178983543e-09,
    3.725334024788457e-09, 1.862659723513049e-09, 9.313274324196682e-10,
)
# fmt: on
# About 2 (z = x - 2, |z| <= 1/2, where the terms fall like 4**-k, so 30 of them reach
# double precision): lgamma(2 + z) = z (c1 + c2 z + c3 z^2 + ...), c1 = 1 - gamma,
# ck = (-1)^k (zeta(k) - 1) / k; psi(2 + z), its derivative, = d1 + d2 z + d3 z^2 + ...,
# dk = k ck. Highest power first:
_LGAMMA_AT_2 = (
    *((-1) ** k * zk / k for k, zk in reversed(list(enumerate(_ZETA_MINUS_1, 2)))),
    1 - np.euler_gamma,
)
_DIGAMMA_AT_2 = (
    *((-1) ** k * zk for k, zk in reversed(list(enumerate(_ZETA_MINUS_1, 2)))),
    1 - np.euler_gamma,
)
# Stirling's series of lgamma(x) - ((x - 1/2) log x - x + log(2 pi)/2), times x, in 1/x^2:
# B(2n) / (2n (2n-1)) for n = 7, ..., 1.
_STIRLING = (1 / 156, -691 / 360360, 1 / 1188, -1 / 1680, 1 / 1260, -1 / 360, 1 / 12)
# The asymptotic series of log x - 1/(2x) - psi(x), in 1/x^2 (B(2n) / 2n for n = 7, ..., 1),
# times 1/x^2.
_DIGAMMA_SERIES = (1 / 12, -691 / 32760, 1 / 132, -1 / 240, 1 / 252, -1 / 120, 1 / 12)
_ASYMPTOTIC_FROM = 10.0
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_LOG_PI = math.log(math.pi)


def _horner(coefficients: Sequence[float], x: Array) -> Array:
    """The polynomial with ``coefficients`` (highest power first) at ``x``."""
    result = np.full_like(x, coefficients[0])
    for c in coefficients[1:]:
        result *= x
        result += c
    return result


def _in_float64(name: str, compute: Callable[[Array], Array], x: Array) -> Array:
    """``compute`` (on a flat float64 array) applied to a real array ``x``: in float64,
    rounded back to ``x``'s dtype once (integers and bools give float64), silently."""
    x = np.asarray(x)
    if x.dtype not in FLOATS and x.dtype.kind not in "biu":
        raise TypeError(f"{name} takes real numbers, not {x.dtype}")
    with np.errstate(all="ignore"):
        result = compute(x.astype(_F64, copy=False).reshape(-1))
    return result.reshape(x.shape).astype(x.dtype if x.dtype in FLOATS else _F64, copy=False)


def _fill(out: Array, where: Array, compute: Callable[[Array], Array], x: Array) -> None:
    """``out[where] = compute(x[where])``; nothing to compute when nothing qualifies, which
    keeps small tensors (mostly in one region) cheap."""
    if where.any():
        out[where] = compute(x[where])


def _erfc_mid(y: Array) -> Array:
    """exp(y*y) erfc(y) for 0.46875 < y <= 4."""
    ratio: Array = _horner(_ERFC_P, y) / _horner(_ERFC_Q, y)
    return ratio


def _erfc_tail(y: Array) -> Array:
    """exp(y*y) erfc(y) for y > 4."""
    z = 1 / (y * y)
    ratio: Array = (1 / math.sqrt(math.pi) - z * _horner(_TAIL_P, z) / _horner(_TAIL_Q, z)) / y
    return ratio


def _erfc_of_large(y: Array) -> Array:
    """erfc(y) for y > 0.46875 (or +inf)."""
    y = np.minimum(y, _ERFC_ZERO)
    result = np.empty_like(y)
    mid = y <= _ERFC_MID
    _fill(result, mid, _erfc_mid, y)
    _fill(result, ~mid, _erfc_tail, y)
    # exp(-y*y) as exp(-s*s) exp(-(y-s)(y+s)) with s = y rounded down to 1/16: s*s is
    # exact, so the product keeps y*y's low bits that exp(-y*y) would lose.
    s = np.trunc(y * 16) / 16
    scaled: Array = np.exp(-s * s) * np.exp(-(y - s) * (y + s)) * result
    return scaled


def _erf_of_small(x: Array) -> Array:
    """erf(x) for |x| <= 0.46875."""
    t = x * x
    ratio: Array = x * _horner(_ERF_P, t) / _horner(_ERF_Q, t)
    return ratio


def _erf_of_large(x: Array) -> Array:
    """erf(x) for |x| > 0.46875."""
    erf: Array = np.copysign(1 - _erfc_of_large(np.abs(x)), x)
    return erf


def _erfc_of_small(x: Array) -> Array:
    """erfc(x) for |x| <= 0.46875."""
    erfc: Array = 1 - _erf_of_small(x)
    return erfc


def _erfc_of_larger(x: Array) -> Array:
    """erfc(x) for |x| > 0.46875, by erfc(-x) = 2 - erfc(x)."""
    tail = _erfc_of_large(np.abs(x))
    erfc: Array = np.where(x < 0, 2 - tail, tail)
    return erfc


def _erf(x: Array) -> Array:
    """erf on a flat float64 array."""
    result = np.full_like(x, np.nan)
    y = np.abs(x)
    _fill(result, y <= _ERF_SMALL, _erf_of_small, x)
    _fill(result, y > _ERF_SMALL, _erf_of_large, x)
    return result


def _erfc(x: Array) -> Array:
    """erfc on a flat float64 array."""
    result = np.full_like(x, np.nan)
    y = np.abs(x)
    _fill(result, y <= _ERF_SMALL, _erfc_of_small, x)
    _fill(result, y > _ERF_SMALL, _erfc_of_larger, x)
    return result


def _about_two(x: Array) -> tuple[Array, Array]:
    """(n, z) with x = 2 + n + z, n an integer in [-2, 8] and z in [-1/2, 1/2), exactly,
    for 0 < x < 10."""
    shift = np.floor(x - 1.5)
    return shift, x - (shift + 2)


def _lgamma_stirling(x: Array) -> Array:
    """lgamma(x) for x >= 10."""
    series = _horner(_STIRLING, 1 / (x * x)) / x
    lgamma: Array = (x - 0.5) * np.log(x) - x + _HALF_LOG_2PI + series
    return lgamma


def _lgamma_by_recurrence(x: Array) -> Array:
    """lgamma(x) for 0 < x < 10."""
    shift, z = _about_two(x)
    # lgamma(x) = lgamma(x - n) + log((x-1) (x-2) ... (x-n)), and for n < 0 the same
    # recurrence run upwards.
    product = np.ones_like(x)
    for k in range(1, int(shift.max(initial=0)) + 1):
        product = np.where(shift >= k, product * (x - k), product)
    correction = np.log(product)
    correction -= np.where(shift < 0, np.log(x), 0.0)
    correction -= np.where(shift < -1, np.log1p(x), 0.0)
    lgamma: Array = z * _horner(_LGAMMA_AT_2, z) + correction
    return lgamma


def _lgamma_positive(x: Array) -> Array:
    """lgamma(x) for finite x > 0."""
    result = np.empty_like(x)
    big = x >= _ASYMPTOTIC_FROM
    _fill(result, big, _lgamma_stirling, x)
    _fill(result, ~big, _lgamma_by_recurrence, x)
    return result


def _lgamma_reflected(x: Array) -> Array:
    """lgamma(x) for finite non-integer x < 0, by Gamma(x) Gamma(1-x) = pi / sin(pi x)."""
    sine = np.sin(np.pi * np.abs(x - np.round(x)))  # |sin(pi x)|, exact at the integers
    lgamma: Array = _LOG_PI - np.log(sine) - _lgamma_positive(1 - x)
    return lgamma


def _lgamma(x: Array) -> Array:
    """lgamma on a flat float64 array."""
    result = np.full_like(x, np.nan)
    result[np.isinf(x) | ((x <= 0) & (np.floor(x) == x))] = np.inf
    _fill(result, (x > 0) & np.isfinite(x), _lgamma_positive, x)
    _fill(result, (x < 0) & (np.floor(x) != x) & np.isfinite(x), _lgamma_reflected, x)
    return result


def _pi_cot_pi(x: Array) -> Array:
    """pi cot(pi x) for non-integer x, accurate near the integers and half-integers."""
    r = x - np.round(x)  # in [-1/2, 1/2], exactly
    near_integer = np.abs(r) <= 0.25
    by_tan = np.pi / np.tan(np.pi * np.where(near_integer, r, 0.25))
    # cot(pi r) = tan(pi (1/2 - |r|)) sign(r), well conditioned for |r| > 1/4.
    by_complement = np.pi * np.copysign(np.tan(np.pi * (0.5 - np.abs(r))), r)
    cot: Array = np.where(near_integer, by_tan, by_complement)
    return cot


def _digamma_asymptotic(x: Array) -> Array:
    """psi(x) for x >= 10 (or +inf)."""
    t = 1 / (x * x)
    psi: Array = np.log(x) - 0.5 / x - t * _horner(_DIGAMMA_SERIES, t)
    return psi


def _digamma_by_recurrence(x: Array) -> Array:
    """psi(x) for 0 < x < 10."""
    shift, z = _about_two(x)
    # psi(x) = psi(x - n) + 1/(x-1) + 1/(x-2) + ... + 1/(x-n), and upwards for n < 0.
    correction = np.zeros_like(x)
    for k in range(1, int(shift.max(initial=0)) + 1):
        correction = np.where(shift >= k, correction + 1 / (x - k), correction)
    correction -= np.where(shift < 0, 1 / x, 0.0)
    correction -= np.where(shift < -1, 1 / (x + 1), 0.0)
    psi: Array = _horner(_DIGAMMA_AT_2, z) + correction
    return psi


def _digamma_positive(x: Array) -> Array:
    """psi(x) for x > 0 (or +inf)."""
    result = np.empty_like(x)
    big = x >= _ASYMPTOTIC_FROM
    _fill(result, big, _digamma_asymptotic, x)
    _fill(result, ~big, _digamma_by_recurrence, x)
    return result


def _digamma_reflected(x: Array) -> Array:
    """psi(x) for non-integer x < 0, by psi(x) = psi(1 - x) - pi cot(pi x)."""
    psi: Array = _digamma_positive(1 - x) - _pi_cot_pi(x)
    return psi


def _digamma(x: Array) -> Array:
    """digamma on a flat float64 array."""
    result = np.full_like(x, np.nan)
    _fill(result, x > 0, _digamma_positive, x)
    _fill(result, (x < 0) & (np.floor(x) != x), _digamma_reflected, x)
    return result


def erf(x: Array) -> Array:
    """The error function, 2/sqrt(pi) times the integral of exp(-t*t) from 0 to x.

    >>> erf(np.float32([0.0, 1.0, np.inf]))
    array([0.       , 0.8427008, 1.       ], dtype=float32)
    """
    return _in_float64("erf", _erf, x)


def erfc(x: Array) -> Array:
    """The complementary error function 1 - erf(x), accurate where erf(x) is near 1.

    >>> erfc(np.float64([0.0, 5.0, -np.inf]))
    array([1.00000000e+00, 1.53745979e-12, 2.00000000e+00])
    """
    return _in_float64("erfc", _erfc, x)


def lgamma(x: Array) -> Array:
    """log|Gamma(x)|, +inf at the poles (0 and the negative integers) and at +-inf.

    >>> lgamma(np.float64([1.0, 0.0, -0.5, np.inf]))
    array([0.        ,        inf, 1.26551212,        inf])
    """
    return _in_float64("lgamma", _lgamma, x)


def digamma(x: Array) -> Array:
    """psi(x), the derivative of log Gamma(x); NaN at 0, the negative integers and -inf.

    >>> digamma(np.float64([1.0, 0.5, np.inf]))
    array([-0.57721566, -1.96351003,         inf])
    """
    return _in_float64("digamma", _digamma, x)
