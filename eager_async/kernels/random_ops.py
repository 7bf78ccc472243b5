"""Stateful random ops: RandomUniform, RandomStandardNormal, TruncatedNormal and
RandomUniformInt (the stateless family, bit-identical to TF, is stateless_random.py).

Distributions follow TF; bit-equality with TF's Philox streams is not a goal here. Seeds:
a stateful op with ``seed`` or ``seed2`` set draws from a generator seeded by both, so the
same op gives the same values (TF's advances a per-kernel stream instead); with both 0 it
draws fresh entropy.

>>> random_uniform([np.int32([2])], {"dtype": np.dtype(np.float32), "seed": 1})[0].shape
(2,)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import InvalidArgumentError
from ._checks import (
    FLOATS,
    INDEX,
    allowed_dtype,
    as_dtype,
    concrete_specs,
    expect_inputs,
    int_values,
    same_dtype,
)
from .registry import Attrs, Shape, ShapeFn, TensorSpec, register

_SEED_DEFAULTS = {"seed": 0, "seed2": 0}


def _sample_shape(op: str, spec: TensorSpec) -> Shape:
    dims = int_values(op, spec, "shape", ranks=(1,))
    if dims is None:
        known_rank = spec.shape is not None and spec.shape[0] >= 0
        return (-1,) * spec.shape[0] if known_rank else None  # type: ignore[index]
    for index, dim in enumerate(dims):
        if dim < 0:
            raise InvalidArgumentError(f"{op}: shape[{index}] = {dim} must be non-negative")
    return tuple(dims)


def sampling_shape(op: str, inputs: int, dtype_attr: str, allowed: frozenset[np.dtype]) -> ShapeFn:
    """Shape function of an op whose output has the shape its first input holds and the
    dtype of attr ``dtype_attr``."""

    def infer(specs: Sequence[TensorSpec], attrs: Attrs) -> list[TensorSpec]:
        expect_inputs(op, specs, inputs)
        if dtype_attr not in attrs:
            raise InvalidArgumentError(f"{op} needs attr '{dtype_attr}'")
        dtype = as_dtype(op, dtype_attr, attrs[dtype_attr])
        allowed_dtype(op, dtype, allowed, attr=dtype_attr)
        return [TensorSpec(dtype, _sample_shape(op, specs[0]))]

    return infer


def _generator(attrs: Attrs) -> np.random.Generator:
    seed, seed2 = int(attrs["seed"]), int(attrs["seed2"])
    if seed == 0 and seed2 == 0:
        return np.random.default_rng()
    return np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, seed2 & 0xFFFFFFFFFFFFFFFF])


def _sampled(infer: ShapeFn, inputs: Sequence[np.ndarray], attrs: Attrs) -> TensorSpec:
    """The one output spec, every input known: its shape is fully known."""
    (out,) = infer(concrete_specs(inputs), attrs)
    return out


uniform_shape = sampling_shape("RandomUniform", 1, "dtype", FLOATS)
normal_shape = sampling_shape("RandomStandardNormal", 1, "dtype", FLOATS)
truncated_shape = sampling_shape("TruncatedNormal", 1, "dtype", FLOATS)


@register("RandomUniform", infer=uniform_shape, defaults=_SEED_DEFAULTS, stateful=True)
def random_uniform(inputs: Sequence[np.ndarray], attrs: Attrs) -> list[np.ndarray]:
    """Uniform on [0, 1)."""
    out = _sampled(uniform_shape, inputs, attrs)
    return [_generator(attrs).random(out.shape).astype(out.dtype)]


@register("RandomStandardNormal", infer=normal_shape, defaults=_SEED_DEFAULTS, stateful=True)
def random_standard_normal(inputs: Sequence[np.ndarray], attrs: Attrs) -> list[np.ndarray]:
    """Normal with mean 0 and standard deviation 1."""
    out = _sampled(normal_shape, inputs, attrs)
    return [_generator(attrs).standard_normal(out.shape).astype(out.dtype)]


@register("TruncatedNormal", infer=truncated_shape, defaults=_SEED_DEFAULTS, stateful=True)
def truncated_normal(inputs: Sequence[np.ndarray], attrs: Attrs) -> list[np.ndarray]:
    """Standard normal, redrawn wherever it falls more than 2 standard deviations out."""
    out = _sampled(truncated_shape, inputs, attrs)
    rng = _generator(attrs)
    values = rng.standard_normal(out.shape)
    while (outside := np.abs(values) > 2).any():
        values[outside] = rng.standard_normal(int(outside.sum()))
    return [values.astype(out.dtype)]


def _uniform_int_shape(specs: Sequence[TensorSpec], attrs: Attrs) -> list[TensorSpec]:
    op = "RandomUniformInt"
    expect_inputs(op, specs, 3)
    dtype = same_dtype(op, specs[1:])
    allowed_dtype(op, dtype, INDEX, attr="Tout")
    for name, spec in (("minval", specs[1]), ("maxval", specs[2])):
        if spec.shape not in (None, ()):
            raise InvalidArgumentError(f"{op}: {name} must be a scalar, got shape {spec.shape}")
    low, high = int_values(op, specs[1], "minval", (0,)), int_values(op, specs[2], "maxval", (0,))
    if low is not None and high is not None and not low[0] < high[0]:
        raise InvalidArgumentError(
            f"{op}: need minval < maxval, got {low[0]} >= {high[0]}"
        )
    return [TensorSpec(dtype, _sample_shape(op, specs[0]))]


@register("RandomUniformInt", infer=_uniform_int_shape, defaults=_SEED_DEFAULTS, stateful=True)
def random_uniform_int(inputs: Sequence[np.ndarray], attrs: Attrs) -> list[np.ndarray]:
    """Integers uniform on [minval, maxval)."""
    out = _sampled(_uniform_int_shape, inputs, attrs)
    values = _generator(attrs).integers(int(inputs[1]), int(inputs[2]), size=out.shape)
    return [values.astype(out.dtype)]
