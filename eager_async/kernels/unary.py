"""Element-wise unary math (TF's cwise ops): Abs, Sign, Reciprocal/Inv, Sqrt, Exp, Log,
the trigonometric and hyperbolic functions, rounding, Erf, Lgamma, Digamma, the IsNan
family, and the complex-part ops Conj, Real, Imag, ComplexAbs.

One table, ``UNARY_OPS``, maps each TF op name to its NumPy function. Where a row's
function is not a plain NumPy alias, the difference from NumPy is the reason. The op
contract checks the dtypes, from TF's op definitions: where an op def lists more types
than TF has CPU kernels for (Reciprocal, Round, Rint, Lgamma, ...) the rest give
NOT_FOUND, as in TF. Rules every row shares:

- the output has the input's shape, and the dtype the op def gives it (the input's;
  bool for the IsNan family; ``Tout`` for Real, Imag and ComplexAbs);
- float16 and bfloat16 are computed in float32 and rounded back, as Eigen does;
- integers wrap (``Abs(INT_MIN)`` is ``INT_MIN``); NaN propagates; domain errors give
  NaN or inf silently.

>>> UNARY_OPS["Round"].fn(np.float32([0.5, 1.5, 2.5]))
array([0., 2., 2.], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError
from . import special
from ._checks import BOOL, COMPLEX, FLOAT32, HALVES, DTypes, allowed_dtype, tf_name
from .contract import lookup_def
from .registry import Shape, TensorSpec, op, same_shape

__all__ = ["UNARY_OPS", "Unary"]

Fn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True, slots=True)
class Unary:
    """One element-wise op: its TF name and function; a row whose op checks more than
    its op definition says names its own ``kernel`` and ``shape`` rule.

    >>> Unary("Sqrt", np.sqrt).fn(np.float32(4.0))
    np.float32(2.0)
    """

    name: str
    fn: Fn
    kernel: Callable[..., np.ndarray] | None = None
    shape: Callable[..., Shape] = same_shape

    @property
    def types(self) -> DTypes:
        """The dtypes TF runs the op on: its op def's, less those without a CPU kernel."""
        definition = lookup_def(self.name)
        allowed = definition.attrs["T"].allowed or frozenset()
        return allowed & frozenset().union(*(k["T"] for k in definition.cpu_kernels))


def _cwise(fn: Fn) -> Fn:
    """``fn`` as TF's cwise kernels run it: halves in float32, no warnings."""

    def kernel(x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            if x.dtype in HALVES:
                y = np.asarray(fn(x.astype(FLOAT32)))
                return y if y.dtype == BOOL else y.astype(x.dtype)
            return fn(x)

    return kernel


def _rsqrt(x: np.ndarray) -> np.ndarray:
    root: np.ndarray = np.sqrt(x)
    return 1 / root


# TF 2.21's double Erf is NaN from here up: x*x overflows inside its approximation.
_ERF_NAN_FROM = 1.3407807830046643e154


def _erf(x: np.ndarray) -> np.ndarray:
    y = special.erf(x)
    if x.dtype == np.float64:
        y[np.abs(x) >= _ERF_NAN_FROM] = np.nan
    return y


def _conj_shape(x: TensorSpec | np.ndarray) -> Shape:
    # TF's op def also takes variants, which eager_async holds as objects, as it holds
    # strings; the contract cannot tell them apart, TF refuses strings.
    allowed_dtype("Conj", x.dtype, COMPLEX)
    return x.shape


def conj(x: np.ndarray) -> np.ndarray:
    """The complex conjugate; the raw op takes complex tensors only."""
    _conj_shape(x)
    return np.asarray(np.conj(x))


def _complex_abs_shape(x: TensorSpec | np.ndarray, *, Tout: np.dtype) -> Shape:
    # TF finds no Real/Imag kernel for (complex128, float): the contract says NOT_FOUND.
    # ComplexAbs has one kernel per T, which then checks Tout itself.
    want = np.dtype(np.float32) if x.dtype == np.complex64 else np.dtype(np.float64)
    if Tout != want:
        raise InvalidArgumentError(
            f"ComplexAbs: attr 'Tout' is {tf_name(Tout)} but the parts of a "
            f"{tf_name(x.dtype)} tensor are {tf_name(want)}; set Tout to {tf_name(want)}"
        )
    return x.shape


def complex_abs(x: np.ndarray, *, Tout: np.dtype) -> np.ndarray:
    """|x| of a complex tensor, in the precision of its parts (which Tout must name)."""
    _complex_abs_shape(x, Tout=Tout)
    return np.asarray(np.abs(x))


# fmt: off
UNARY_OPS: dict[str, Unary] = {row.name: row for row in (
    Unary("Abs", np.abs),                   # complex goes to ComplexAbs
    # NumPy >= 2 matches TF: NaN for NaN, and x/|x| (0 at 0) for complex numbers.
    Unary("Sign", np.sign),
    Unary("Reciprocal", np.reciprocal),
    Unary("Inv", np.reciprocal),            # the legacy name
    Unary("Square", np.square),             # ints wrap
    Unary("Sqrt", np.sqrt),
    Unary("Rsqrt", _rsqrt),
    Unary("Exp", np.exp),
    Unary("Expm1", np.expm1),
    Unary("Log", np.log),
    Unary("Log1p", np.log1p),
    Unary("Sin", np.sin),
    Unary("Cos", np.cos),
    Unary("Tan", np.tan),
    Unary("Asin", np.arcsin),
    Unary("Acos", np.arccos),
    Unary("Atan", np.arctan),
    Unary("Sinh", np.sinh),
    Unary("Cosh", np.cosh),
    Unary("Tanh", np.tanh),
    Unary("Asinh", np.arcsinh),
    Unary("Acosh", np.arccosh),
    Unary("Atanh", np.arctanh),
    Unary("Floor", np.floor),
    Unary("Ceil", np.ceil),
    # Half to even (banker's rounding), as np.round; integers come back unchanged (TF's
    # raw Round kernel answers 0 for them, a bug tf.round avoids by not calling it).
    Unary("Round", np.round),
    Unary("Rint", np.rint),
    Unary("Erf", _erf),                     # float64: NaN from |x| ~ 2**512 up, as TF
    Unary("Erfc", special.erfc),
    Unary("Lgamma", special.lgamma),        # log|Gamma(x)|: +inf at the poles, as C's
    Unary("Digamma", special.digamma),      # NaN at the poles 0, -1, -2, ..., as Eigen's
    Unary("IsNan", np.isnan),
    Unary("IsInf", np.isinf),
    Unary("IsFinite", np.isfinite),
    # The raw ops take complex tensors only; tf.math.conj/real pass reals through in
    # Python, before any op runs.
    Unary("Conj", np.conj, conj, _conj_shape),
    Unary("Real", np.real),                 # a complex128 call must set Tout=double
    Unary("Imag", np.imag),
    Unary("ComplexAbs", np.abs, complex_abs, _complex_abs_shape),
)}
# fmt: on

for _row in UNARY_OPS.values():
    op(_row.name, shape=_row.shape)(_row.kernel or _cwise(_row.fn))
