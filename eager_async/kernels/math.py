"""Element-wise math: AddV2, Add, Sub, Mul, RealDiv, Neg, and Cast (as in TF's math_ops),
and the broadcasting every binary element-wise op shares.

TF's rules, which NumPy does not follow by itself:

- both inputs share one dtype and the result has it too: no promotion, ever;
- integers wrap on overflow, silently; x/0 gives inf or NaN (IEEE), silently;
- the op contract checks each op's type list: bool is in none of them, Add (the legacy
  op) concatenates strings but has no uint16/32/64 kernels, and RealDiv has CPU kernels
  only for floating and complex types (its op def lists integers: NOT_FOUND, as in TF);
- Cast truncates floats toward zero, drops the imaginary part of complex numbers, and
  never converts between strings and numbers.

>>> ARITHMETIC["AddV2"](np.int8([127]), np.int8([1]))
array([-128], dtype=int8)
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import InvalidArgumentError, UnimplementedError
from ._checks import (
    BFLOAT16,
    BOOL,
    COMPLEX,
    FLOAT32,
    FLOATS,
    HALVES,
    STRING,
    broadcast,
    shape_str,
    tf_name,
)
from .registry import Shape, TensorSpec, op, same_shape

__all__ = ["ARITHMETIC", "broadcast_shape", "broadcasting"]

Ufunc = Callable[..., np.ndarray]


# NumPy 2 returns a 0-d array rather than a NumPy scalar when asked with out=...: the
# registry would otherwise convert every scalar result (as much as the op itself).
_ARRAY_OUT = int(np.__version__.split(".")[0]) >= 2


def broadcasting(fn: Ufunc) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """``fn`` as TF's binary cwise kernels run it: broadcast, with TF's message for
    shapes that do not broadcast. Overflow and division by zero are silent as in TF
    because the executor runs every kernel with NumPy's errors ignored
    (``executor.quietly``): an ``errstate`` here would be a third of a tiny op's cost.

    >>> broadcasting(np.true_divide)(np.float32([1, -1]), np.float32(2))
    array([ 0.5, -0.5], dtype=float32)
    """

    array_out = isinstance(fn, np.ufunc) and _ARRAY_OUT

    def kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        try:
            if array_out:
                return fn(x, y, out=...)
            return fn(x, y)
        except ValueError:
            raise InvalidArgumentError(
                f"Incompatible shapes: {shape_str(x.shape)} vs. {shape_str(y.shape)}"
            ) from None

    return kernel


def broadcast_shape(x: TensorSpec, y: TensorSpec) -> Shape:
    """The shape rule of binary element-wise ops: the two shapes broadcast."""
    return broadcast(x.shape, y.shape)


ARITHMETIC: dict[str, Ufunc] = {
    "AddV2": np.add,
    # On object arrays of bytes np.add concatenates element-wise, as TF does for strings.
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "RealDiv": np.true_divide,
}
for _name, _fn in ARITHMETIC.items():
    op(_name, shape=broadcast_shape)(broadcasting(_fn))


@op("Neg", shape=same_shape)
def neg(x: np.ndarray) -> np.ndarray:
    """-x; -INT_MIN wraps to INT_MIN, as in TF."""
    return np.asarray(np.negative(x))


COMPLEX64 = np.dtype(np.complex64)
_MANTISSA_BITS = {
    np.dtype(np.float16): 10,
    BFLOAT16: 7,
    FLOAT32: 23,
    np.dtype(np.float64): 52,
    np.dtype(np.complex64): 23,
    np.dtype(np.complex128): 52,
}


def _dropped_bits(src: np.dtype, dst: np.dtype) -> int:
    """How many mantissa bits casting src to dst drops (where Truncate would matter)."""
    return max(_MANTISSA_BITS.get(src, 0) - _MANTISSA_BITS.get(dst, 99), 0)


_UINTS = {2: np.uint16, 4: np.uint32, 8: np.uint64}


def _zero_low_bits(x: np.ndarray, bits: int) -> np.ndarray:
    """x with its ``bits`` lowest mantissa bits cleared (TF's LSBZeroSetter), so the
    rounding cast that follows truncates instead; NaN is left alone."""
    if x.dtype.kind == "c":
        out = np.array(x)
        out.real[...] = _zero_low_bits(x.real, bits)
        out.imag[...] = _zero_low_bits(x.imag, bits)
        return out
    uint = _UINTS[x.dtype.itemsize]
    mask = uint((1 << 8 * x.dtype.itemsize) - (1 << bits))  # all bits but the low ones
    cleared = (np.array(x).view(uint) & mask).view(x.dtype)
    return np.where(np.isnan(x), x, cleared)


def _castable(src: np.dtype, dst: np.dtype, truncate: bool) -> None:
    if src != dst and STRING in (src, dst):
        raise UnimplementedError(f"Cast {tf_name(src)} to {tf_name(dst)} is not supported")
    if truncate and (src, dst) == (np.dtype(np.float64), COMPLEX64):
        # TF clears all 53 low bits here (it takes complex64 for a type without a
        # mantissa), mangling the exponent: a TF bug we refuse to copy.
        raise UnimplementedError(
            "Cast: Truncate=True from double to complex64 is not supported; "
            "Cast to float with Truncate=True first"
        )


def cast_shape(x: TensorSpec, *, DstT: np.dtype, Truncate: bool) -> Shape:
    """Cast's shape rule: x's shape; string<->number is UNIMPLEMENTED, as in TF."""
    _castable(x.dtype, DstT, Truncate)
    return x.shape


@op("Cast", shape=cast_shape)
def cast(x: np.ndarray, *, DstT: np.dtype, Truncate: bool) -> np.ndarray:
    """Cast to DstT: floats truncate toward zero into ints, complex drops its imaginary part."""
    _castable(x.dtype, DstT, Truncate)
    dst = DstT
    if x.dtype == dst:
        return x
    if Truncate and (x.dtype, dst) == (FLOAT32, BFLOAT16):
        # Truncation keeps the high 16 bits of the float32 pattern instead of rounding;
        # NaN stays NaN even when its payload lives only in the dropped bits.
        high = (x.view(np.uint32) >> 16).astype(np.uint16).view(BFLOAT16)
        return np.asarray(np.where(np.isnan(x), BFLOAT16.type(np.nan), high))
    if Truncate and dst != BFLOAT16 and _dropped_bits(x.dtype, dst):
        # TF clears the dropped bits, then casts as usual. Other casts to bfloat16 (from
        # half, double, complex) take TF's rounding path whatever Truncate says.
        x = _zero_low_bits(x, _dropped_bits(x.dtype, dst))
    if x.dtype in COMPLEX and dst != BOOL and dst not in COMPLEX:
        x = x.real  # TF drops the imaginary part; NumPy would warn.
    if x.dtype in HALVES and dst not in FLOATS:
        x = x.astype(FLOAT32)
    # Float to int truncates toward zero; NaN and out-of-range values give what the
    # host's C conversion gives (INT_MIN on x86), as TF's CPU kernel does. np.errstate,
    # unlike the warnings module, is thread-local.
    with np.errstate(all="ignore"):
        return x.astype(dst)
