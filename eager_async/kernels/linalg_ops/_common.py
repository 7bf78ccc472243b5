"""What the linear algebra ops share: adjoints, half types widened, and specs of a
kernel's own inputs for its shape checks."""

from __future__ import annotations

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import COMPLEX, FLOAT32, HALVES, shape_str
from ..specs import Shape, TensorSpec


def adjoint(x: np.ndarray) -> np.ndarray:
    """The conjugate transpose of the innermost matrices."""
    x = np.swapaxes(x, -1, -2)
    return np.conj(x) if x.dtype in COMPLEX else x


def widen(x: np.ndarray) -> np.ndarray:
    """Half types as float32 for arithmetic NumPy has no fast path for; round once after."""
    return x.astype(FLOAT32) if x.dtype in HALVES else x


def spec_of(a: np.ndarray) -> TensorSpec:
    """The spec of a kernel's input, its value known, for a shape check to read."""
    return TensorSpec(a.dtype, a.shape, a)


def at_least_matrix(name: str, shape: Shape) -> None:
    """TF's kernel check that an input holds matrices (rank >= 2)."""
    if shape is not None and len(shape) < 2:
        raise InvalidArgumentError(
            f"{name} ndims must be >= 2: {len(shape)} (shape {shape_str(shape)})"
        )
