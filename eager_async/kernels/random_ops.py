"""Stateful random ops: RandomUniform, RandomStandardNormal, TruncatedNormal and
RandomUniformInt (the stateless family, bit-identical to TF, is stateless_random.py).

Distributions follow TF; bit-equality with TF's Philox streams is not a goal here. Seeds:
a stateful op with ``seed`` or ``seed2`` set draws from a generator seeded by both, so the
same op gives the same values (TF's advances a per-kernel stream instead); with both 0 it
draws fresh entropy.

>>> random_uniform(np.int32([2]), dtype=np.dtype(np.float32), seed=1, seed2=0).shape
(2,)
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidArgumentError
from ._checks import int_values, known_shape
from .registry import op
from .specs import Shape, TensorSpec

__all__ = ["random_standard_normal", "random_uniform", "random_uniform_int", "truncated_normal"]


def _sample_shape(op_name: str, shape: TensorSpec) -> Shape:
    """The output shape the ``shape`` input holds, as far as its value is known."""
    dims = int_values(op_name, shape, "shape", ranks=(1,))
    if dims is None:
        rank = -1 if shape.shape is None else shape.shape[0]
        return None if rank < 0 else (-1,) * rank
    for index, dim in enumerate(dims):
        if dim < 0:
            raise InvalidArgumentError(f"{op_name}: shape[{index}] = {dim} must be non-negative")
    return tuple(dims)


def _drawn(op_name: str, shape: np.ndarray) -> tuple[int, ...]:
    return known_shape(_sample_shape(op_name, TensorSpec(shape.dtype, shape.shape, shape)))


def _generator(seed: int, seed2: int) -> np.random.Generator:
    if seed == 0 and seed2 == 0:
        return np.random.default_rng()
    return np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, seed2 & 0xFFFFFFFFFFFFFFFF])


def _uniform_shape(shape: TensorSpec) -> Shape:
    return _sample_shape("RandomUniform", shape)


def _normal_shape(shape: TensorSpec) -> Shape:
    return _sample_shape("RandomStandardNormal", shape)


def _truncated_shape(shape: TensorSpec) -> Shape:
    return _sample_shape("TruncatedNormal", shape)


@op("RandomUniform", shape=_uniform_shape)
def random_uniform(shape: np.ndarray, *, dtype: np.dtype, seed: int, seed2: int) -> np.ndarray:
    """Uniform on [0, 1)."""
    return _generator(seed, seed2).random(_drawn("RandomUniform", shape)).astype(dtype)


@op("RandomStandardNormal", shape=_normal_shape)
def random_standard_normal(
    shape: np.ndarray, *, dtype: np.dtype, seed: int, seed2: int
) -> np.ndarray:
    """Normal with mean 0 and standard deviation 1."""
    dims = _drawn("RandomStandardNormal", shape)
    return _generator(seed, seed2).standard_normal(dims).astype(dtype)


@op("TruncatedNormal", shape=_truncated_shape)
def truncated_normal(shape: np.ndarray, *, dtype: np.dtype, seed: int, seed2: int) -> np.ndarray:
    """Standard normal, redrawn wherever it falls more than 2 standard deviations out."""
    rng = _generator(seed, seed2)
    values = rng.standard_normal(_drawn("TruncatedNormal", shape))
    while (outside := np.abs(values) > 2).any():
        values[outside] = rng.standard_normal(int(outside.sum()))
    return values.astype(dtype)


def _uniform_int_shape(shape: TensorSpec, minval: TensorSpec, maxval: TensorSpec) -> Shape:
    op_name = "RandomUniformInt"
    for name, spec in (("minval", minval), ("maxval", maxval)):
        if spec.shape not in (None, ()):
            raise InvalidArgumentError(
                f"{op_name}: {name} must be a scalar, got shape {spec.shape}"
            )
    if minval.value is not None and maxval.value is not None and not minval.value < maxval.value:
        raise InvalidArgumentError(
            f"{op_name}: need minval < maxval, got {int(minval.value)} >= {int(maxval.value)}"
        )
    return _sample_shape(op_name, shape)


@op("RandomUniformInt", shape=_uniform_int_shape)
def random_uniform_int(
    shape: np.ndarray, minval: np.ndarray, maxval: np.ndarray, *, seed: int, seed2: int
) -> np.ndarray:
    """Integers uniform on [minval, maxval)."""
    specs = (TensorSpec(a.dtype, a.shape, a) for a in (shape, minval, maxval))
    dims = known_shape(_uniform_int_shape(*specs))
    values = _generator(seed, seed2).integers(int(minval), int(maxval), size=dims)
    return values.astype(minval.dtype)
