"""Records of the random ops: their distributions, seeding and errors (values are random,
so these records check statistics instead of exact outputs)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from kernel_records import Bad, f32, i32, i64

from eager_async.kernels import TensorSpec, lookup

U64 = np.uint64
F32, F64, F16 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16)
SHAPE = i32([200, 100])  # 20,000 samples: sample moments within a few 1e-2


@dataclass(frozen=True)
class Distribution:
    """An op whose samples must have this dtype, lie in [low, high] and have this mean
    and standard deviation (within ``tol``)."""

    op: str
    inputs: tuple[np.ndarray, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    mean: float = 0.0
    std: float = 1.0
    low: float = -np.inf
    high: float = np.inf
    tol: float = 0.05


KEY, COUNTER, ALG = np.array([1], U64), np.array([3, 4], U64), i32(1)
DISTRIBUTIONS = [
    # Seeded, so a run cannot land in the tail of the sampling distribution by chance.
    Distribution("RandomUniform", (SHAPE,), {"dtype": F32, "seed": 1}, 0.5, 12**-0.5, 0, 1),
    Distribution("RandomUniform", (SHAPE,), {"dtype": F16, "seed": 3}, 0.5, 12**-0.5, 0, 1),
    Distribution("RandomStandardNormal", (i64([20000]),), {"dtype": F64, "seed": 7}),
    # A normal truncated at 2 sigma has standard deviation 0.8796.
    Distribution("TruncatedNormal", (SHAPE,), {"dtype": F32, "seed": 2}, 0.0, 0.8796, -2, 2),
    Distribution("RandomUniformInt", (SHAPE, i32(-5), i32(5)), {"seed": 4}, -0.5,
                 (99 / 12) ** 0.5,
                 -5, 4),
    Distribution("StatelessRandomUniformV2", (SHAPE, KEY, COUNTER, ALG), {"dtype": F32},
                 0.5, 12**-0.5, 0, 1),
    Distribution("StatelessRandomNormalV2", (SHAPE, KEY, COUNTER, ALG), {"dtype": F64}),
]

ERRORS = [
    Bad("RandomUniform", (i32([2]),), "missing attr \'dtype\'"),
    Bad("RandomUniform", (i32([2, -1]),), "shape[1] = -1 must be non-negative",
        {"dtype": F32}),
    Bad("RandomUniform", (f32([2]),), "Value for attr 'T' of float is not in the list",
        {"dtype": F32}),
    Bad("RandomStandardNormal", (i32([2]),), "of int32 is not in the list",
        {"dtype": np.dtype(np.int32)}),
    Bad("TruncatedNormal", (i32([[2]]),), "shape must be a vector", {"dtype": F32}),
    Bad("RandomUniformInt", (i32([2]), i32(5), i32(5)), "need minval < maxval"),
    Bad("RandomUniformInt", (i32([2]), i32(0), i64(5)), "expected to be a int32 tensor"),
    Bad("StatelessRandomUniformV2", (i32([2]), i32([1, 2]), COUNTER, ALG),
        "input #1(zero-based) was expected to be a uint64 tensor", {"dtype": F32}),
    Bad("StatelessRandomNormalV2", (i32([2]), KEY, COUNTER),
        "do not match 3 inputs specified", {"dtype": F32}),
    Bad("StatelessRandomNormalV2", (i32([2]), np.array([1, 2], U64), COUNTER, ALG),
        "key must have shape [1], not [2]", {"dtype": F32}),
    Bad("StatelessRandomNormalV2", (i32([2]), KEY, np.array([[3, 4]], U64), ALG),
        "counter must be a vector with length at least 1; got shape: [1,2]", {"dtype": F32}),
    Bad("StatelessRandomUniformV2", (i32([2]), KEY, COUNTER, i32([1])),
        "input 3 (0-based) must have shape [], not [1]", {"dtype": F32}),
    Bad("StatelessRandomUniformV2", (i32([2]), KEY, COUNTER, i32(2)),
        "Unsupported algorithm id: 2", {"dtype": F32}),
]


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda d: d.op)
def test_distribution(dist: Distribution) -> None:
    spec = lookup(dist.op)
    (sample,) = spec.run(dist.inputs, dist.attrs)
    (inferred,) = spec.shapes([TensorSpec(a.dtype, a.shape, a) for a in dist.inputs],
                              dist.attrs)
    assert (sample.dtype, sample.shape) == (inferred.dtype, inferred.shape)
    assert sample.shape == tuple(int(d) for d in dist.inputs[0])
    values = sample.astype(np.float64)
    assert values.min() >= dist.low and values.max() <= dist.high
    assert abs(values.mean() - dist.mean) < dist.tol
    assert abs(values.std() - dist.std) < dist.tol


@pytest.mark.parametrize("op", ["RandomUniform", "RandomStandardNormal", "TruncatedNormal"])
def test_seeds_make_stateful_ops_reproducible(op: str) -> None:
    spec, shape = lookup(op), (i32([50]),)
    first = spec.run(shape, {"dtype": F32, "seed": 1, "seed2": 2})[0]
    assert np.array_equal(first, spec.run(shape, {"dtype": F32, "seed": 1, "seed2": 2})[0])
    assert not np.array_equal(first, spec.run(shape, {"dtype": F32, "seed": 1, "seed2": 3})[0])
    unseeded = [spec.run(shape, {"dtype": F32})[0] for _ in range(2)]
    assert not np.array_equal(*unseeded)


def test_stateless_ops_are_functions_of_key_and_counter() -> None:
    spec = lookup("StatelessRandomNormalV2")
    run = lambda key: spec.run((i32([64]), key, COUNTER, ALG), {"dtype": F32})[0]  # noqa: E731
    assert np.array_equal(run(KEY), run(KEY))
    assert not np.array_equal(run(KEY), run(np.array([3], U64)))


def test_unknown_shape_values_give_unknown_dims() -> None:
    spec = lookup("RandomUniform")
    (out,) = spec.shapes([TensorSpec(np.dtype(np.int32), (3,))], {"dtype": F32})
    assert out.shape == (-1, -1, -1)
    (out,) = spec.shapes([TensorSpec(np.dtype(np.int32), None)], {"dtype": F32})
    assert out.shape is None
