"""Records of the stateful random ops (RandomUniform, RandomStandardNormal,
TruncatedNormal, RandomUniformInt, RandomShuffle), their expected values TF 2.21's own
outputs on CPU; and the distributions of the stateless V2 ops (their exact values are
``test_kernels_stateless_random.py``'s).

A record runs on a fresh kernel instance, so it holds the first values of the instance's
stream. The tests below follow one instance through several calls, and check what TF
counts as one instance: the same op and attrs enqueued again, or one node of a function
across calls of the function.
"""

from __future__ import annotations

import doctest
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from kernel_records import BF16, RENDEZVOUS, STEP, Bad, Case, b, bf16, f16, f32, f64, i32, i64, s

from eager_async.functions import ArgSpec, FunctionLibrary, FunctionSpec, NodeSpec
from eager_async.kernels import TensorSpec, random_ops
from eager_async.op_env import OpEnv, OpKernel

U64 = np.uint64
F32, F64, F16 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16)
I32, I64 = np.dtype(np.int32), np.dtype(np.int64)
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


def C(op: str, inputs: tuple[np.ndarray, ...], expected: np.ndarray, attrs: Mapping[str, Any],
      name: str) -> Case:  # fmt: skip
    return Case(op, inputs, (expected,), attrs, name=name)


# The first call of each instance, as TF answers it (tf.raw_ops with these attrs).
CASES = [
    C("RandomUniform", (i32([2, 3]),),
      f32([0.44746375, 0.620757, 0.25906932, 0.30077982, 0.20554817, 0.5832572]).reshape(2, 3),
      {"dtype": F32, "seed": 5, "seed2": 7}, "float"),
    # Negative and wide seeds are widened to uint64.
    C("RandomUniform", (i32([5]),),
      f64([0.8452091271503026, 0.358182097731645, 0.6057739290358151, 0.1414369431074909,
           0.24051265009134792]),
      {"dtype": F64, "seed": -3, "seed2": 2**40}, "double"),
    C("RandomUniform", (i64([5]),), f16([0.5996, 0.9336, 0.705, 0.2236, 0.3184]),
      {"dtype": F16, "seed": 11}, "half"),
    C("RandomUniform", (i64([5]),), bf16([0.109375, 0.9375, 0.1328125, 0.71875, 0.5390625]),
      {"dtype": BF16, "seed2": 12}, "bfloat16"),
    C("RandomUniform", (i32([0, 4]),), f32(np.zeros((0, 4))), {"dtype": F32, "seed": 1},
      "empty"),
    C("RandomStandardNormal", (i32([6]),),
      f32([-0.07916145, -0.9959097, -0.55463785, -0.9015274, 0.7852254, -0.60027736]),
      {"dtype": F32, "seed": 13, "seed2": 1}, "float"),
    C("RandomStandardNormal", (i32([5]),),
      f64([0.9852682361741574, -0.5774143696283658, -1.0734185240570864, 1.254557501969475,
           -1.6479649642040546]),
      {"dtype": F64, "seed": 14, "seed2": 1}, "double"),
    C("RandomStandardNormal", (i32([4]),), f16([0.663, 1.415, -0.4478, 0.09033]),
      {"dtype": F16, "seed": 15, "seed2": 1}, "half"),
    C("RandomStandardNormal", (i32([3]),), bf16([1.71875, -1.484375, 0.46484375]),
      {"dtype": BF16, "seed": 16, "seed2": 1}, "bfloat16"),
    C("TruncatedNormal", (i32([3, 3]),),
      f32([0.3328761, -0.3436228, -0.37206316, 1.7066255, -1.4693762, 0.5957528, 1.0029111,
           0.6252864, -0.041199308]).reshape(3, 3),
      {"dtype": F32, "seed": 17, "seed2": 1}, "float"),
    C("TruncatedNormal", (i32([5]),),
      f64([1.9528961895006456, -0.8394941182022756, 1.6770053424528593, 1.4637172808607124,
           0.6110933064297759]),
      {"dtype": F64, "seed": 18, "seed2": 1}, "double"),
    C("TruncatedNormal", (i32([5]),), f16([1.671, 1.619, 1.365, -0.5337, 1.116]),
      {"dtype": F16, "seed": 19, "seed2": 1}, "half"),
    C("TruncatedNormal", (i32([5]),),
      bf16([-0.58203125, -1.0234375, -0.68359375, 0.77734375, -0.07080078125]),
      {"dtype": BF16, "seed": 20, "seed2": 1}, "bfloat16"),
    C("RandomUniformInt", (i32([8]), i32(-5), i32(5)), i32([2, 0, -3, -2, 4, -5, 4, 1]),
      {"seed": 21, "seed2": 1}, "int32"),
    C("RandomUniformInt", (i32([5]), i64(-(2**40)), i64(2**50)),
      i64([497363898777474, 175910591543647, 619533011555196, 302080323901477,
           287135667683539]),
      {"seed": 22, "seed2": 1}, "int64"),
    # An empty output needs no minval < maxval.
    C("RandomUniformInt", (i32([0, 3]), i32(5), i32(5)), i32(np.zeros((0, 3))),
      {"seed": 23, "seed2": 1}, "empty"),
    C("RandomShuffle", (i32(np.arange(10)),), i32([7, 3, 2, 8, 4, 6, 0, 1, 5, 9]),
      {"seed": 24, "seed2": 1}, "vector"),
    C("RandomShuffle", (f32(np.arange(10).reshape(5, 2)),),
      f32([[4, 5], [2, 3], [6, 7], [8, 9], [0, 1]]), {"seed": 25, "seed2": 1}, "rows"),
    C("RandomShuffle", (i64(np.arange(24).reshape(4, 3, 2)),),
      i64(np.arange(24).reshape(4, 3, 2)[[0, 3, 1, 2]]), {"seed": 28, "seed2": 1}, "rank 3"),
    C("RandomShuffle", (s([b"a", b"b", b"c", b"d", b"e"]),), s([b"d", b"e", b"b", b"a", b"c"]),
      {"seed": 26, "seed2": 1}, "strings"),
    C("RandomShuffle", (b([True, False, False, True, True, False]),),
      b([True, False, True, False, False, True]), {"seed": 27, "seed2": 1}, "bool"),
    C("RandomShuffle", (f32(np.arange(3).reshape(1, 3)),), f32([[0, 1, 2]]), {"seed": 1},
      "one row"),
    C("RandomShuffle", (s(b"x"),), s(b"x"), {"seed": 1}, "scalar"),
]

KEY, COUNTER, ALG = np.array([1], U64), np.array([3, 4], U64), i32(1)
DISTRIBUTIONS = [
    Distribution("StatelessRandomUniformV2", (SHAPE, KEY, COUNTER, ALG), {"dtype": F32},
                 0.5, 12**-0.5, 0, 1),
    Distribution("StatelessRandomNormalV2", (SHAPE, KEY, COUNTER, ALG), {"dtype": F64}),
]

ERRORS = [
    Bad("RandomUniform", (i32([2]),), "missing attr \'dtype\'"),
    Bad("RandomUniform", (i32([2, -1]),), "Dimension -1 must be >= 0", {"dtype": F32}),
    Bad("RandomUniform", (i32(2),), "shape must be a vector of {int32,int64}, got shape []",
        {"dtype": F32}),
    Bad("RandomUniform", (f32([2]),), "Value for attr 'T' of float is not in the list",
        {"dtype": F32}),
    Bad("RandomUniform", (i64([2**40, 2**40]),),
        "Shape [1099511627776,1099511627776] would have more than 2**63 - 1 elements",
        {"dtype": F32}),
    Bad("RandomStandardNormal", (i32([2, -3]),), "Dimension -3 must be >= 0", {"dtype": F32}),
    Bad("RandomStandardNormal", (i32([2]),), "of int32 is not in the list", {"dtype": I32}),
    Bad("TruncatedNormal", (i32([[2]]),),
        "shape must be a vector of {int32,int64}, got shape [1,1]", {"dtype": F32}),
    Bad("RandomUniformInt", (i32([2]), i32(5), i32(5)), "Need minval < maxval, got 5 >= 5"),
    Bad("RandomUniformInt", (i32([2]), i32([5]), i32(6)), "minval must be 0-D, got shape [1]"),
    Bad("RandomUniformInt", (i32([[2]]), i32(5), i32([6])), "maxval must be 0-D, got shape [1]"),
    Bad("RandomUniformInt", (i32([-2]), i32(5), i32(4)), "Dimension -2 must be >= 0"),
    Bad("RandomUniformInt", (i32([2]), i32(0), i64(5)), "expected to be a int32 tensor"),
    Bad("RandomShuffle", (), "do not match 0 inputs specified"),
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


class Context:
    """Ops and functions run in one context, whose kernel instances keep their state
    between calls."""

    def __init__(self, *functions: FunctionSpec) -> None:
        self.library = FunctionLibrary()
        for function in functions:
            self.library.add(function)
        self.env = OpEnv(context_id=STEP, step_id=STEP, rendezvous=RENDEZVOUS,
                         lookup=self.library.lookup)  # fmt: skip

    def kernel(self, op: str) -> OpKernel:
        return self.library.lookup(op, self.env)

    def run(self, op: str, *inputs: np.ndarray, **attrs: Any) -> list[np.ndarray]:
        return self.kernel(op).run(inputs, attrs)


def assert_exact(got: Sequence[np.ndarray], want: Sequence[np.ndarray]) -> None:
    assert [(g.dtype, g.shape) for g in got] == [(w.dtype, w.shape) for w in want]
    for g, w in zip(got, want, strict=True):
        assert g.tobytes() == w.tobytes()


TF_SEED = {"seed": 87654321, "seed2": 1}  # tf.random.uniform(..., seed=1) with no global seed


def test_an_instance_moves_on_in_its_stream_whatever_the_shape() -> None:
    """TF's eager kernel cache gives every call with the same attrs the same kernel; each
    call reserves 256 blocks per output, an empty one nothing."""
    ctx = Context()
    got = [ctx.run("RandomUniform", i32(shape), dtype=F32, **TF_SEED)[0]
           for shape in ([2], [2], [3], [0], [1])]  # fmt: skip
    assert_exact(got, [f32([0.2390374, 0.92039955]), f32([0.34304976, 0.1896193]),
                       f32([0.97840536, 0.7541301, 0.79549515]), f32([]), f32([0.03848493])])
    # Another dtype, or an int64 shape (attr T), is another instance, from the start.
    assert_exact(ctx.run("RandomUniform", i64([2]), dtype=F32, **TF_SEED),
                 [f32([0.2390374, 0.92039955])])
    assert_exact(ctx.run("RandomUniform", i32([2]), dtype=F64, **TF_SEED),
                 [f64([0.9122999234504989, 0.4040997484619626])])


def test_every_op_keeps_its_place() -> None:
    ctx = Context()
    truncated = [ctx.run("TruncatedNormal", i32([n]), dtype=F32, seed=30, seed2=2)[0]
                 for n in (3, 5)]  # fmt: skip
    assert_exact(truncated, [f32([1.243198, 0.25553867, 0.7401877]),
                             f32([0.1022427, 1.2053093, 0.2688555, 0.25822702, 0.66911113])])
    ints = [ctx.run("RandomUniformInt", i32([n]), i32(0), i32(100), seed=31, seed2=2)[0]
            for n in (4, 0, 4)]  # fmt: skip
    assert_exact(ints, [i32([31, 27, 6, 66]), i32([]), i32([50, 38, 19, 59])])
    # minval >= maxval is fine for an empty output, which reserves nothing.
    ints = [ctx.run("RandomUniformInt", i32([n]), i32(0), i32(high), seed=32, seed2=2)[0]
            for n, high in ((0, 0), (4, 100))]  # fmt: skip
    assert_exact(ints, [i32([]), i32([4, 98, 88, 83])])
    # A shuffle reserves ceil((rows - 1) / 4) blocks; one row, nothing.
    shuffled = [ctx.run("RandomShuffle", value, seed=33, seed2=2)[0]
                for value in (i32(np.arange(10)), i32([7]), i32(np.arange(6)),
                              i32(np.arange(10)))]  # fmt: skip
    assert_exact(shuffled, [i32([9, 1, 7, 3, 6, 2, 8, 4, 0, 5]), i32([7]),
                            i32([4, 0, 5, 3, 2, 1]), i32([5, 3, 0, 7, 6, 2, 1, 9, 8, 4])])


def test_each_function_node_is_an_instance_kept_across_calls() -> None:
    """Two nodes with the same attrs draw the same values; a second call of the function
    goes on from where the first left each node; an enqueued op is an instance of its own
    (``tf.function`` returning two ``tf.raw_ops.RandomUniform`` with seed 40, seed2 1)."""
    attrs = {"dtype": F32, "seed": 40, "seed2": 1, "T": I32}
    two = FunctionSpec("two_uniform", (), (ArgSpec("a", F32), ArgSpec("b", F32)), (
        NodeSpec("shape", "Const", (), {"value": i32([2]), "dtype": I32}),
        NodeSpec("u1", "RandomUniform", ("shape:output:0",), attrs),
        NodeSpec("u2", "RandomUniform", ("shape:output:0",), attrs),
    ), {"a": "u1:output:0", "b": "u2:output:0"})  # fmt: skip
    ctx = Context(two)
    first, second = f32([0.8589729, 0.6499766]), f32([0.6450021, 0.037077665])
    assert_exact(ctx.run("two_uniform"), [first, first])
    assert_exact(ctx.run("two_uniform"), [second, second])
    assert_exact(ctx.run("RandomUniform", i32([2]), dtype=F32, seed=40, seed2=1), [first])


@pytest.mark.parametrize("op", ["RandomUniform", "RandomStandardNormal", "TruncatedNormal"])
def test_no_seed_draws_fresh_seeds_per_instance(op: str) -> None:
    ctx, other = Context(), Context()
    calls = [ctx.run(op, i32([50]), dtype=F32)[0] for _ in range(2)]
    assert not np.array_equal(*calls)
    assert not np.array_equal(calls[0], other.run(op, i32([50]), dtype=F32)[0])


# Larger outputs (many groups; truncated normal's rejections; a long shuffle), as the
# first 32 hex digits of the SHA-256 of TF's output bytes.
DIGESTS = [
    ("RandomStandardNormal", (i32([1001]),), {"dtype": F32, "seed": 50, "seed2": 3},
     ["c33950ff551f88679fb88a08b74c3d99"]),
    ("TruncatedNormal", (i32([1003]),), {"dtype": F64, "seed": 51, "seed2": 3},
     ["5c1222aefef198292b43610c57263d12"]),
    ("TruncatedNormal", (i32([4097]),), {"dtype": F32, "seed": 52, "seed2": 3},
     ["1350f4460cc9a64d16e73e8dbf6479c8"]),
    ("RandomUniformInt", (i32([1001]), i64(-7), i64(2**62 + 3)), {"seed": 53, "seed2": 3},
     ["2dbd76c82f40157539fd78dc45d34267"]),
    ("RandomUniform", (i32([999]),), {"dtype": BF16, "seed": 55, "seed2": 3},
     ["c3a8e5853eee66350bfa69ca0138e5d4"]),
    ("RandomShuffle", (i64(np.arange(5000)),), {"seed": 54, "seed2": 3},
     ["9b1066efb515e954b63472f47118180e", "30612b6b03e5ed1e3d05fe69ddcbf48d"]),
]


@pytest.mark.parametrize(("op", "inputs", "attrs", "digests"), DIGESTS,
                         ids=[d[0] for d in DIGESTS])  # fmt: skip
def test_long_outputs_match_tf(
    op: str, inputs: tuple[np.ndarray, ...], attrs: dict[str, Any], digests: list[str]
) -> None:
    ctx = Context()
    for digest in digests:
        (out,) = ctx.run(op, *inputs, **attrs)
        assert hashlib.sha256(out.tobytes()).hexdigest()[:32] == digest


def test_doctests() -> None:
    failed, _ = doctest.testmod(random_ops, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failed == 0


@pytest.mark.parametrize("dist", DISTRIBUTIONS, ids=lambda d: d.op)
def test_distribution(dist: Distribution) -> None:
    spec = Context().kernel(dist.op)
    (sample,) = spec.run(dist.inputs, dist.attrs)
    (inferred,) = spec.shapes([TensorSpec(a.dtype, a.shape, a) for a in dist.inputs],
                              dist.attrs)
    assert (sample.dtype, sample.shape) == (inferred.dtype, inferred.shape)
    assert sample.shape == tuple(int(d) for d in dist.inputs[0])
    values = sample.astype(np.float64)
    assert values.min() >= dist.low and values.max() <= dist.high
    assert abs(values.mean() - dist.mean) < dist.tol
    assert abs(values.std() - dist.std) < dist.tol


def test_stateless_ops_are_functions_of_key_and_counter() -> None:
    ctx = Context()
    run = lambda key: ctx.run("StatelessRandomNormalV2", i32([64]), key, COUNTER, ALG,  # noqa: E731
                              dtype=F32)[0]  # fmt: skip
    assert np.array_equal(run(KEY), run(KEY))
    assert not np.array_equal(run(KEY), run(np.array([3], U64)))


def test_unknown_shape_values_give_unknown_dims() -> None:
    spec = Context().kernel("RandomUniform")
    (out,) = spec.shapes([TensorSpec(I32, (3,))], {"dtype": F32})
    assert out.shape == (-1, -1, -1)
    (out,) = spec.shapes([TensorSpec(I32, None)], {"dtype": F32})
    assert out.shape is None
