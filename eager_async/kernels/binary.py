"""More element-wise math (TF's math_ops): the four kinds of division and remainder,
DivNoNan, Pow, Maximum, Minimum, SquaredDifference, Atan2, Complex, ClipByValue, AddN
and BiasAdd.

TF's rules, where NumPy's differ:

- Div and TruncateDiv on integers round toward zero (C), FloorDiv rounds down (Python);
  TruncateMod and Mod take the sign of the dividend (C's fmod), FloorMod the divisor's;
- an integer division or remainder by zero is an error, not a warning, unless the output
  is empty (TF stops before computing an empty output); INT_MIN / -1 wraps to INT_MIN and
  INT_MIN % -1 is 0;
- FloorDiv on floats is floor(x / y): 1 // 0.1 is 10, where NumPy's floor_divide says 9;
  FloorMod on floats keeps C's fmod result and adds y when the signs differ, so signed
  zeros follow fmod (NumPy's remainder gives zero the divisor's sign);
- an integer to a negative integer power is an error; Maximum and Minimum propagate NaN;
- DivNoNan gives 0 wherever the divisor is 0, even for an infinite or NaN dividend.

The op contract checks each op's types from TF's op definitions and CPU kernels
(FloorDiv and TruncateDiv define complex but run no complex kernel: NOT_FOUND, as in TF).

>>> ELEMENTWISE["Div"](np.int32([-7, 7]), np.int32([2, -2]))
array([-3, -3], dtype=int32)
>>> ELEMENTWISE["FloorDiv"](np.int32([-7, 7]), np.int32([2, -2]))
array([-4, -4], dtype=int32)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ._checks import NUMBERS, allowed_dtype, broadcast, known_shape, merge, shape_str
from .list_ops.tensor_list import add_lists, holds_lists
from .math import Ufunc, broadcast_shape, broadcasting
from .registry import Shape, TensorSpec, op

__all__ = ["ELEMENTWISE"]

OBJECT = np.dtype(object)


def _out_shape(x: np.ndarray, y: np.ndarray) -> tuple[int, ...]:
    # Raises ValueError on incompatible shapes, which `broadcasting` reports in TF's words.
    return tuple(np.broadcast_shapes(x.shape, y.shape))


def _check_divisor(x: np.ndarray, y: np.ndarray) -> None:
    # TF returns before computing an empty output, so a zero divisor there is no error;
    # in a non-empty output every element of y is used.
    if x.dtype.kind in "iu" and 0 not in _out_shape(x, y) and not np.all(y):
        raise InvalidArgumentError("Integer division by zero")


def _truncate_div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    _check_divisor(x, y)
    if x.dtype.kind == "u":
        return np.asarray(np.floor_divide(x, y))
    if x.dtype.kind == "i":
        # Floor and truncation differ by one where a remainder is left and signs differ.
        inexact = (np.remainder(x, y) != 0) & ((x < 0) != (y < 0))
        return np.asarray(np.floor_divide(x, y) + inexact.astype(x.dtype))
    if x.dtype.kind == "c":  # Div only; TruncateDiv has no complex kernel
        return np.asarray(np.true_divide(x, y))
    return np.asarray(np.trunc(np.true_divide(x, y)))


def _div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if x.dtype.kind in "iu":
        return _truncate_div(x, y)
    return np.asarray(np.true_divide(x, y))


def _floor_div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    _check_divisor(x, y)
    if x.dtype.kind in "iu":
        return np.asarray(np.floor_divide(x, y))
    return np.asarray(np.floor(np.true_divide(x, y)))


def _floor_mod(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    _check_divisor(x, y)
    if x.dtype.kind in "iu":
        return np.asarray(np.remainder(x, y))
    mod = np.fmod(x, y)
    return np.asarray(np.where((mod != 0) & ((y < 0) != (mod < 0)), mod + y, mod))


def _truncate_mod(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    _check_divisor(x, y)
    return np.asarray(np.fmod(x, y))


def _div_no_nan(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    zero = y == 0
    if x.dtype.kind == "c":
        # TF also answers 0 where x * conj(y) is 0: |y|^2 may underflow for y != 0.
        zero = zero | (x * np.conj(y) == 0)
    return np.asarray(np.where(zero, x.dtype.type(0), np.true_divide(x, y)))


def _complex_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a * b as C99 multiplies complex numbers (Annex G): where the plain product is
    NaN + NaN i but a factor is infinite, the result is infinite, as in C."""
    product: np.ndarray = np.multiply(a, b)
    lost = np.isnan(product.real) & np.isnan(product.imag)
    if not np.any(lost):
        return product
    a, b = np.broadcast_arrays(a, b)
    ar, ai, br, bi = (np.array(p[lost]) for p in (a.real, a.imag, b.real, b.imag))
    a_inf, b_inf = np.isinf(ar) | np.isinf(ai), np.isinf(br) | np.isinf(bi)
    big = np.isinf(ar * br) | np.isinf(ai * bi) | np.isinf(ar * bi) | np.isinf(ai * br)
    recalc = a_inf | b_inf | big
    for parts, inf, other in (((ar, ai), a_inf, (br, bi)), ((br, bi), b_inf, (ar, ai))):
        for p in parts:  # an infinite factor becomes a unit box, its NaNs signed zeros
            p[inf] = np.copysign(np.where(np.isinf(p[inf]), 1, 0), p[inf])
        for p in other:
            p[inf & np.isnan(p)] = np.copysign(0, p[inf & np.isnan(p)])
    for p in (ar, ai, br, bi):  # overflowed partial products: NaNs become zeros
        nan = big & ~(a_inf | b_inf) & np.isnan(p)
        p[nan] = np.copysign(0, p[nan])
    out: np.ndarray = product.copy()
    fixed = out[lost]
    fixed.real = np.where(recalc, np.inf * (ar * br - ai * bi), fixed.real)
    fixed.imag = np.where(recalc, np.inf * (ar * bi + ai * br), fixed.imag)
    out[lost] = fixed
    return out


def _complex_pow(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    # TF calls C's cpow, which is exp(y * log(x)) with no special cases: 0 ** 0 is NaN,
    # and integer powers carry log's rounding. NumPy calls cpow too, except for y == 0,
    # x == 0 and real integer y in (-100, 100), which it computes exactly; those follow
    # C's formula here.
    out = np.asarray(np.power(x, y))
    x, y = np.broadcast_arrays(x, y)
    special = (y == 0) | (x == 0) | ((y.imag == 0) & (np.abs(y.real) < 100)
                                     & (np.trunc(y.real) == y.real))
    if np.any(special):
        xs, ys = x[special], y[special]
        out = out.copy() if out.shape == x.shape else np.broadcast_to(out, x.shape).copy()
        out[special] = np.exp(_complex_mul(ys, np.log(xs)))
    return out


def _pow(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if x.dtype.kind == "i" and 0 not in _out_shape(x, y) and np.any(y < 0):
        raise InvalidArgumentError("Integers to negative integer powers are not allowed")
    if x.dtype.kind == "c":
        return _complex_pow(x, y)
    return np.asarray(np.power(x, y))


def _squared_difference(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    diff = np.subtract(x, y)
    return np.asarray(diff * np.conj(diff) if x.dtype.kind == "c" else diff * diff)


ELEMENTWISE: dict[str, Ufunc] = {
    "Div": _div,
    "DivNoNan": _div_no_nan,
    "FloorDiv": _floor_div,
    "TruncateDiv": _truncate_div,
    "FloorMod": _floor_mod,
    "TruncateMod": _truncate_mod,
    "Mod": _truncate_mod,  # TruncateMod's twin
    "Pow": _pow,
    "Maximum": np.maximum,  # NaN wins, as in TF
    "Minimum": np.minimum,
    "SquaredDifference": _squared_difference,
    "Atan2": np.arctan2,  # inputs (y, x), as np.arctan2 takes them
}
for _name, _fn in ELEMENTWISE.items():
    op(_name, shape=broadcast_shape)(broadcasting(_fn))


@op("Complex", shape=broadcast_shape)
def complex_(real: np.ndarray, imag: np.ndarray, *, Tout: np.dtype) -> np.ndarray:
    """TF's Complex; the parts are stored directly, so inf and NaN parts stay apart
    (``real + 1j * imag`` would turn an infinite imag into a NaN real part). The contract
    finds no kernel for float parts of a complex128, as TF."""
    result = np.empty(known_shape(broadcast(real.shape, imag.shape)), dtype=Tout)
    result.real[...] = real
    result.imag[...] = imag
    return result


def _bounds_fit(t: Shape, bound: Shape) -> bool:
    if t is None or bound is None or bound == ():
        return True
    if len(t) != len(bound):
        return False
    return all(a < 0 or b < 0 or a == b for a, b in zip(t, bound, strict=True))


def _clipped(t: Shape, low: Shape, high: Shape) -> Shape:
    """ClipByValue(t, min, max): each bound is a scalar or has t's shape (no broadcasting)."""
    if not (_bounds_fit(t, low) and _bounds_fit(t, high)):
        raise InvalidArgumentError(
            "clip_value_min and clip_value_max must be either of the same shape as input, "
            f"or a scalar. input shape: {shape_str(t)}, clip_value_min shape: "
            f"{shape_str(low)}, clip_value_max shape: {shape_str(high)}"
        )
    shape = t
    for bound in (low, high):
        if bound is not None and bound != ():
            shape = merge("ClipByValue", shape, bound, "bound shape")
    return shape


def clip_shape(t: TensorSpec, low: TensorSpec, high: TensorSpec) -> Shape:
    """ClipByValue's shape rule: t's shape, with the bounds' shapes checked."""
    return _clipped(t.shape, low.shape, high.shape)


def _clip(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    # max(min(x, high), low) with C++'s std::min/std::max: a NaN x stays NaN, a NaN bound
    # is ignored, and low wins when low > high.
    under = np.where(high < x, high, x)
    return np.where(under < low, low, under)


@op("ClipByValue", shape=clip_shape)
def clip_by_value(x: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """TF's ClipByValue; complex numbers are clipped to the box of the bounds' real and
    imaginary parts.

    >>> clip_by_value(np.int32([-5, 0, 5]), np.int32(-1), np.int32(1))
    array([-1,  0,  1], dtype=int32)
    """
    _clipped(x.shape, low.shape, high.shape)
    with np.errstate(all="ignore"):
        if x.dtype.kind == "c":
            result = np.empty(x.shape, dtype=x.dtype)
            result.real[...] = _clip(x.real, low.real, high.real)
            result.imag[...] = _clip(x.imag, low.imag, high.imag)
            return result
        return _clip(x, low, high)


def _summed(inputs: Sequence[TensorSpec | np.ndarray]) -> Shape:
    """AddN(inputs): one shape; strings refused (TF's op def takes variants, held as
    objects here like strings, so the contract lets strings through: a variant must hold
    TensorLists, which add item by item, as TF adds them)."""
    first = inputs[0]
    value = first.value if isinstance(first, TensorSpec) else np.asarray(first)
    if first.dtype != OBJECT or (value is not None and not holds_lists(value)):
        allowed_dtype("AddN", first.dtype, NUMBERS)
    shape: Shape = inputs[0].shape
    for i, spec in enumerate(inputs[1:], start=1):
        try:
            shape = merge("AddN", shape, spec.shape, "input shapes")
        except InvalidArgumentError:
            raise InvalidArgumentError(
                "Inputs to operation AddN of type AddN must have the same size and shape.  "
                f"Input 0: {shape_str(inputs[0].shape)} != input {i}: {shape_str(spec.shape)}"
            ) from None
    return shape


@op("AddN", shape=_summed)
def add_n(inputs: list[np.ndarray]) -> np.ndarray:
    """TF's AddN: an element-wise sum of its inputs; integers wrap.

    >>> add_n([np.int8([100]), np.int8([100]), np.int8([1])])
    array([-55], dtype=int8)
    """
    _summed(inputs)
    if holds_lists(inputs[0]):
        return add_lists(inputs)
    # np.array, not .copy(): a 0-d input may come as a NumPy scalar, which np.add's
    # out= cannot take.
    total = np.array(inputs[0])
    with np.errstate(all="ignore"):
        for term in inputs[1:]:
            np.add(total, term, out=total)
    return total


def _biased(value: Shape, bias: Shape, nchw: bool) -> Shape:
    """BiasAdd(value, bias): bias is 1-D with the size of value's channel dimension
    (the last for NHWC, dimension 1 for NCHW of rank 3 or more)."""
    if value is not None and len(value) < 2:
        raise InvalidArgumentError(f"Input tensor must be at least 2D: {shape_str(value)}")
    if bias is not None and len(bias) != 1:
        raise InvalidArgumentError(f"Biases must be 1D: {shape_str(bias)}")
    if value is None:
        return None
    # TF's kernel takes a matrix's last dimension as its channels even for NCHW.
    channel = 1 if nchw and len(value) > 2 else len(value) - 1
    size = -1 if bias is None else bias[0]
    if value[channel] >= 0 and size >= 0 and value[channel] != size:
        raise InvalidArgumentError(
            "Must provide as many biases as the last dimension of the input tensor: "
            f"{shape_str(bias)} vs. {shape_str(value)}"
        )
    out = list(value)
    out[channel] = max(out[channel], size)
    return tuple(out)


def bias_add_shape(value: TensorSpec, bias: TensorSpec, *, data_format: bytes) -> Shape:
    """BiasAdd's shape rule: value's shape, with the bias checked against its channels."""
    return _biased(value.shape, bias.shape, data_format == b"NCHW")


@op("BiasAdd", shape=bias_add_shape)
def bias_add(value: np.ndarray, bias: np.ndarray, *, data_format: bytes) -> np.ndarray:
    """TF's BiasAdd: adds the bias along the channel dimension; integers wrap.

    >>> bias_add(np.zeros((1, 2, 2), np.int32), np.int32([1, 2]), data_format=b"NCHW").tolist()
    [[[1, 1], [2, 2]]]
    """
    _biased(value.shape, bias.shape, data_format == b"NCHW")
    if data_format == b"NCHW" and value.ndim > 2:
        bias = bias.reshape((-1,) + (1,) * (value.ndim - 2))
    with np.errstate(all="ignore"):
        return np.asarray(np.add(value, bias))
