"""Permutations of a tensor's dims: Transpose, ConjugateTranspose, and
InvertPermutation, the permutation that undoes one.

Where TF differs from NumPy: a permutation that is too short, out of range or repeats a
dim is an error with TF's message; ConjugateTranspose conjugates complex values and
passes every other dtype (strings too) through as Transpose does.

>>> conjugate_transpose(np.array([[1 + 2j, 3]]), np.int32([1, 0]))
array([[1.-2.j],
       [3.-0.j]])
"""

from __future__ import annotations

from functools import partial

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import COMPLEX, check_perm
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import read_ints, spec_of, unknown_dims


def _permuted(op_name: str, x: TensorSpec, perm: TensorSpec) -> Shape:
    """x's dims permuted by ``perm``; all -1 while it is unknown."""
    p = read_ints(op_name, perm, "perm", ranks=(1,))
    if p is None:
        return unknown_dims(perm) if x.shape is None else (-1,) * len(x.shape)
    check_perm(p, len(p) if x.shape is None else len(x.shape))
    return (-1,) * len(p) if x.shape is None else tuple(x.shape[d] for d in p)


_transpose_shape = partial(_permuted, "Transpose")
_conjugate_transpose_shape = partial(_permuted, "ConjugateTranspose")


@op("Transpose", shape=_transpose_shape)
def transpose(x: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Output dim i is input dim perm[i]; perm must be a permutation of 0..rank-1."""
    _transpose_shape(spec_of(x), spec_of(perm))
    return np.transpose(x, perm.tolist())


@op("ConjugateTranspose", shape=_conjugate_transpose_shape)
def conjugate_transpose(x: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """Transpose by perm, then conjugate complex values."""
    _conjugate_transpose_shape(spec_of(x), spec_of(perm))
    out = np.transpose(x, perm.tolist())
    return np.conj(out) if out.dtype in COMPLEX else out


def _invert_permutation_shape(x: TensorSpec) -> Shape:
    if x.shape is not None and len(x.shape) != 1:
        raise InvalidArgumentError("invert_permutation expects a 1D vector.")
    perm = read_ints("InvertPermutation", x, "x", ranks=(1,))
    if perm is not None:
        seen: set[int] = set()
        for d in perm:
            if not 0 <= d < len(perm):
                raise InvalidArgumentError(f"{d} is not between 0 and {len(perm)}")
            if d in seen:
                raise InvalidArgumentError(f"{d} is duplicated in the input.")
            seen.add(d)
    return (-1,) if x.shape is None else x.shape


@op("InvertPermutation", shape=_invert_permutation_shape)
def invert_permutation(x: np.ndarray) -> np.ndarray:
    """y with y[x[i]] = i."""
    _invert_permutation_shape(spec_of(x))
    out = np.empty_like(x)
    out[x] = np.arange(x.size, dtype=x.dtype)
    return out
