"""What the array ops share: reading small integer inputs in a shape rule, and a kernel
re-running its shape rule on its own inputs.

A shape rule reads the values of int32/int64 inputs only: the shape memo keys on those
and on no others. A kernel whose op also takes int8/int16 sizes or indices hands them to
its rule widened to int64 (``widened``), so one rule checks both.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

import numpy as np

from .._checks import INDEX, INT32, STRING, checked_dims, int_values, known_shape
from ..specs import Shape, TensorSpec


def spec_of(value: Any) -> Any:
    """The spec of an array with its value known (a list of specs for a list input)."""
    if isinstance(value, list):
        return [spec_of(v) for v in value]
    return TensorSpec(value.dtype, value.shape, value)


def checked(rule: Callable[..., Shape], *inputs: Any, **attrs: Any) -> tuple[int, ...]:
    """Shape ``rule`` run on a kernel's own inputs: it raises what it raises before the
    kernel runs, and with every value known the shape it answers is exact (and one an
    array can have: ``checked_dims``)."""
    return checked_dims(known_shape(rule(*map(spec_of, inputs), **attrs)))


def widened(a: np.ndarray) -> np.ndarray:
    """An int8/int16 size or index input as int64, which a shape rule reads."""
    return a.astype(np.int64)


def read_ints(
    op: str, spec: TensorSpec, what: str, ranks: Collection[int] = (0, 1)
) -> list[int] | None:
    """The values of a small integer input (an axis, a shape), its rank checked; None
    while unknown, and for dtypes other than int32/int64 (module doc)."""
    if spec.dtype not in INDEX:
        spec = TensorSpec(INT32, spec.shape)  # its rank is checked, its values not read
    return int_values(op, spec, what, ranks)


def unknown_dims(vector: TensorSpec) -> Shape:
    """The shape of unknown dims that a vector input (a shape, a permutation) of unknown
    values gives: one per element, or None while its length is unknown."""
    if vector.shape is None or len(vector.shape) != 1 or vector.shape[0] < 0:
        return None
    return (-1,) * vector.shape[0]


def zero(dtype: np.dtype) -> Any:
    """The zero of ``dtype``: b"" for strings, not NumPy's integer 0."""
    return b"" if dtype == STRING else 0
