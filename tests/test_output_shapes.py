"""The output shapes of the ops whose outputs can be far larger than their inputs, known
from their shape rules before anything is allocated: what the worker's memory quota
reads to refuse an output before the kernel makes it.

- ``EXACT``: small calls as the runtime sees them before they run (the values of int32
  and int64 inputs known, other inputs by dtype and shape only): the rule gives every
  dim, and the kernel's outputs have exactly those shapes.
- ``HUGE``: hostile values (a million by a million): the rule answers that shape at once,
  allocating next to nothing.

A test fails when one of these ops has no EXACT record.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from kernel_records import lookup

from eager_async.kernels import TensorSpec, registered_ops
from eager_async.kernels.variables import Variable

F32, I32, I64, U64 = (np.dtype(t) for t in (np.float32, np.int32, np.int64, np.uint64))
BOOL, OBJECT = np.dtype(np.bool_), np.dtype(object)
INDEX = (I32, I64)
M = 10**6


@dataclass(frozen=True)
class Exact:
    """A call whose every output dim the rule must give; ``shapes`` are the outputs'."""

    op: str
    inputs: tuple[np.ndarray, ...]
    shapes: tuple[tuple[int, ...], ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)


def f32(*shape: int) -> np.ndarray:
    return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) / 7


def i32(value: Any) -> np.ndarray:
    return np.array(value, dtype=np.int32)


def i64(value: Any) -> np.ndarray:
    return np.array(value, dtype=np.int64)


def rng_state() -> np.ndarray:
    """A variable holding a Philox state, as a tf.random.Generator makes it."""
    handle = np.empty((), dtype=object)
    handle[()] = Variable(I64, (3,), "rng", np.array([7, 0, 0], np.int64))
    return handle


KEY, COUNTER, ALG = np.array([5], np.uint64), np.array([0, 0], np.uint64), i32(1)
SEED = i64([1, 2])
WINDOW = {"strides": [1, 1, 1, 1], "padding": b"SAME"}

EXACT = [
    Exact("Fill", (i32([2, 3]), np.float32(1)), ((2, 3),)),
    Exact("Tile", (f32(2, 1), i32([2, 3])), ((4, 3),)),
    Exact("Range", (i32(0), i32(7), i32(2)), ((4,),)),
    Exact("OneHot", (i32([0, 2]), i32(3), np.float32(1), np.float32(0)), ((2, 3),)),
    Exact("Pad", (f32(2, 3), i32([[1, 0], [2, 2]])), ((3, 7),)),
    Exact("PadV2", (f32(2, 3), i32([[1, 0], [2, 2]]), np.float32(5)), ((3, 7),)),
    Exact("MirrorPad", (f32(2, 3), i32([[1, 1], [2, 2]])), ((4, 7),), {"mode": b"REFLECT"}),
    Exact("LinSpace", (np.float32(0), np.float32(1), i32(5)), ((5,),)),
    Exact("BroadcastTo", (f32(1, 3), i32([4, 2, 3])), ((4, 2, 3),)),
    Exact("MatrixDiag", (f32(2, 3),), ((2, 3, 3),)),
    Exact("MatrixDiagV3", (f32(3), i32(1), i32(-1), i32(-1), np.float32(0)), ((4, 4),)),
    Exact("MatrixDiagV3", (f32(3), i32(0), i32(5), i32(-1), np.float32(0)), ((5, 3),)),
    Exact("Split", (i32(1), f32(2, 6)), ((2, 2),) * 3, {"num_split": 3}),
    Exact("SplitV", (f32(2, 6), i32([1, -1]), i32(1)), ((2, 1), (2, 5)), {"num_split": 2}),
    Exact("Einsum", (f32(2), f32(3)), ((2, 3),), {"equation": b"i,j->ij", "N": 2}),
    Exact("Einsum", (f32(2, 3), f32(3, 4)), ((2, 4),), {"equation": b"ij,jk->ik", "N": 2}),
    Exact("Reshape", (f32(2, 6), i32([3, -1])), ((3, 4),)),
    Exact("ZerosLike", (f32(2, 3),), ((2, 3),)),
    Exact("OnesLike", (f32(2, 3),), ((2, 3),)),
    Exact("ScatterNd", (i32([[1, 0]]), f32(1), i32([3, 2])), ((3, 2),)),
    Exact("TensorScatterUpdate", (f32(3, 2), i32([[1]]), f32(1, 2)), ((3, 2),)),
    Exact("RandomUniform", (i32([2, 3]),), ((2, 3),), {"dtype": F32}),
    Exact("RandomStandardNormal", (i32([2, 3]),), ((2, 3),), {"dtype": F32}),
    Exact("TruncatedNormal", (i64([2, 3]),), ((2, 3),), {"dtype": F32}),
    Exact("RandomUniformInt", (i32([2, 3]), i32(0), i32(9)), ((2, 3),)),
    Exact("StatelessRandomNormal", (i32([2, 3]), SEED), ((2, 3),), {"dtype": F32}),
    Exact("StatelessRandomUniform", (i32([2, 3]), SEED), ((2, 3),), {"dtype": F32}),
    Exact("StatelessRandomUniformInt", (i32([2, 3]), SEED, i32(0), i32(9)), ((2, 3),)),
    Exact("StatelessRandomUniformFullInt", (i32([2, 3]), SEED), ((2, 3),), {"dtype": I64}),
    Exact("StatelessTruncatedNormal", (i32([2, 3]), SEED), ((2, 3),), {"dtype": F32}),
    Exact("StatelessRandomNormalV2", (i32([2, 3]), KEY, COUNTER, ALG), ((2, 3),),
          {"dtype": F32}),
    Exact("StatelessRandomUniformV2", (i32([2, 3]), KEY, COUNTER, ALG), ((2, 3),),
          {"dtype": F32}),
    Exact("StatelessRandomUniformIntV2", (i32([2, 3]), KEY, COUNTER, ALG, i32(0), i32(9)),
          ((2, 3),)),
    Exact("StatelessRandomUniformFullIntV2", (i32([2, 3]), KEY, COUNTER, ALG), ((2, 3),),
          {"dtype": I64}),
    Exact("StatelessTruncatedNormalV2", (i32([2, 3]), KEY, COUNTER, ALG), ((2, 3),),
          {"dtype": F32}),
    Exact("StatefulUniform", (rng_state(), i64(1), i64([2, 3])), ((2, 3),), {"dtype": F32}),
    Exact("StatefulStandardNormalV2", (rng_state(), i64(1), i64([2, 3])), ((2, 3),),
          {"dtype": F32}),
    Exact("StatefulTruncatedNormal", (rng_state(), i64(1), i64([2, 3])), ((2, 3),),
          {"dtype": F32}),
    Exact("StatefulUniformInt", (rng_state(), i64(1), i64([2, 3]), i32(0), i32(9)), ((2, 3),),
          {"dtype": I32}),
    Exact("StatefulUniformFullInt", (rng_state(), i64(1), i64([2, 3])), ((2, 3),),
          {"dtype": I64}),
    Exact("StatefulRandomBinomial",
          (rng_state(), i64(1), i32([2, 3]), np.float32(5), np.float32(0.5)), ((2, 3),),
          {"dtype": I64}),
    Exact("NonDeterministicInts", (i64([2, 3]),), ((2, 3),)),
    Exact("MatMul", (f32(2, 3), f32(3, 4)), ((2, 4),)),
    Exact("MatMul", (f32(3, 2), f32(4, 3)), ((2, 4),), {"transpose_a": True, "transpose_b": True}),
    Exact("BatchMatMul", (f32(5, 2, 3), f32(5, 3, 4)), ((5, 2, 4),)),
    Exact("BatchMatMulV2", (f32(5, 1, 2, 3), f32(6, 3, 4)), ((5, 6, 2, 4),)),
    Exact("BatchMatMulV3", (f32(5, 1, 2, 3), f32(6, 3, 4)), ((5, 6, 2, 4),), {"Tout": F32}),
    Exact("AddV2", (f32(4, 1), f32(1, 5)), ((4, 5),)),
    Exact("Mul", (f32(4, 1, 1), f32(3, 5)), ((4, 3, 5),)),
    Exact("SquaredDifference", (f32(4, 1), f32(5)), ((4, 5),)),
    Exact("SelectV2", (np.ones((4, 1, 1), bool), f32(1, 3, 1), f32(5)), ((4, 3, 5),)),
    Exact("Equal", (f32(4, 1), f32(1, 5)), ((4, 5),)),
    Exact("Conv2D", (f32(1, 5, 5, 2), f32(3, 3, 2, 8)), ((1, 5, 5, 8),), WINDOW),
    Exact("Conv2DBackpropInput", (i32([1, 5, 5, 2]), f32(3, 3, 2, 4), f32(1, 5, 5, 4)),
          ((1, 5, 5, 2),), WINDOW),
    Exact("DepthwiseConv2dNativeBackpropInput",
          (i32([1, 5, 5, 2]), f32(3, 3, 2, 2), f32(1, 5, 5, 4)), ((1, 5, 5, 2),), WINDOW),
    Exact("AvgPoolGrad", (i32([1, 4, 4, 2]), f32(1, 4, 4, 2)), ((1, 4, 4, 2),),
          {**WINDOW, "ksize": [1, 2, 2, 1]}),
    Exact("StridedSliceGrad", (i32([4, 5]), i32([1]), i32([3]), i32([1]), f32(2, 5)),
          ((4, 5),)),
    Exact("UnsortedSegmentSum", (f32(3, 2), i32([0, 4, 0]), i32(6)), ((6, 2),)),
    Exact("Bincount", (i32([0, 4, 0]), i32(6), np.zeros(0, np.float32)), ((6,),)),
    Exact("DenseBincount", (i32([0, 4, 0]), i32(6), np.zeros(0, np.float32)), ((6,),)),
    Exact("ExpandDims", (f32(2, 3), i32(-1)), ((2, 3, 1),)),
]
"""Every op of ``OPS`` at least once."""

_RANDOM = ("Random", "StatelessRandom", "StatelessTruncated", "TruncatedNormal", "Stateful")
OPS = frozenset(
    {name for name in registered_ops() if name.startswith(_RANDOM)}
    - {"RandomShuffle", "StatelessRandomGetAlg", "StatelessRandomGetKeyCounter",
       "StatelessRandomGetKeyCounterAlg", "StatefulPartitionedCall"}
    | {"Fill", "Tile", "Range", "OneHot", "Pad", "PadV2", "MirrorPad", "LinSpace",
       "BroadcastTo", "MatrixDiag", "MatrixDiagV3", "Split", "SplitV", "Einsum", "Reshape",
       "ZerosLike", "OnesLike", "ScatterNd", "TensorScatterUpdate", "NonDeterministicInts",
       "MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3", "AddV2", "Conv2D",
       "Conv2DBackpropInput", "DepthwiseConv2dNativeBackpropInput", "AvgPoolGrad",
       "StridedSliceGrad", "UnsortedSegmentSum", "Bincount", "DenseBincount", "ExpandDims"}
)  # fmt: skip
"""The ops whose outputs can be far larger than their inputs: every random op but
RandomShuffle and the key and algorithm ops (which give what they take), and these."""


def _as_runtime_sees(inputs: Sequence[np.ndarray]) -> list[TensorSpec]:
    """Before the op runs: int32/int64 values known (inline inputs), others' shapes only."""
    return [TensorSpec(a.dtype, a.shape, a if a.dtype in INDEX else None)
            for a in map(np.asarray, inputs)]  # fmt: skip


@pytest.mark.parametrize("case", EXACT, ids=lambda c: c.op)
def test_rule_gives_every_dim_the_kernel_makes(case: Exact) -> None:
    kernel = lookup(case.op)
    inferred = kernel.shapes(_as_runtime_sees(case.inputs), case.attrs)
    assert [spec.shape for spec in inferred] == list(case.shapes)
    outputs = kernel.run([np.asarray(a) for a in case.inputs], case.attrs)
    assert [out.shape for out in outputs] == list(case.shapes)


def test_every_op_that_grows_its_output_has_a_record() -> None:
    assert set(OPS) <= set(registered_ops())
    assert OPS - {case.op for case in EXACT} == set()


def spec(dtype: np.dtype, shape: tuple[int, ...]) -> TensorSpec:
    return TensorSpec(dtype, shape)


def known(dtype: np.dtype, value: Any) -> TensorSpec:
    array = np.asarray(value, dtype=dtype)
    return TensorSpec(array.dtype, array.shape, array)


MM = (M, M)
HUGE = [
    ("Fill", (known(I32, MM), spec(F32, ())), {}, MM),
    ("Tile", (spec(F32, (2, 3)), known(I32, MM)), {}, (2 * M, 3 * M)),
    ("Range", (known(I64, 0), known(I64, M * M), known(I64, 1)), {}, (M * M,)),
    ("OneHot", (spec(I32, (M,)), known(I32, M), spec(F32, ()), spec(F32, ())), {}, MM),
    ("Pad", (spec(F32, (2, 3)), known(I32, [[M, M], [0, 0]])), {}, (2 * M + 2, 3)),
    ("LinSpace", (spec(F32, ()), spec(F32, ()), known(I64, M * M)), {}, (M * M,)),
    ("BroadcastTo", (spec(F32, (1,)), known(I32, MM)), {}, MM),
    ("MatrixDiag", (spec(F32, (M,)),), {}, MM),
    ("Einsum", (spec(F32, (M,)), spec(F32, (M,))), {"equation": b"i,j->ij", "N": 2}, MM),
    ("Reshape", (spec(F32, MM), known(I64, [M * M])), {}, (M * M,)),
    ("ScatterNd", (spec(I32, (1, 2)), spec(F32, (1,)), known(I32, MM)), {}, MM),
    ("RandomUniform", (known(I32, MM),), {"dtype": F32}, MM),
    ("StatelessRandomNormalV2",
     (known(I32, MM), spec(U64, (1,)), spec(U64, (2,)), known(I32, 1)), {"dtype": F32}, MM),
    ("StatefulUniform", (spec(OBJECT, ()), known(I64, 1), known(I64, MM)), {"dtype": F32}, MM),
    ("MatMul", (spec(F32, (M, 1)), spec(F32, (1, M))), {}, MM),
    ("AddV2", (spec(F32, (M, 1)), spec(F32, (1, M))), {}, MM),
    ("Conv2DBackpropInput",
     (known(I32, [1, M, M, 1]), spec(F32, (1, 1, 1, 1)), spec(F32, (1, M, M, 1))), WINDOW,
     (1, M, M, 1)),
    ("AvgPoolGrad", (known(I32, [1, M, M, 1]), spec(F32, (1, M, M, 1))),
     {**WINDOW, "ksize": [1, 1, 1, 1]}, (1, M, M, 1)),
    ("StridedSliceGrad",
     (known(I32, MM), known(I32, [0]), known(I32, [1]), known(I32, [1]), spec(F32, (1, M))),
     {}, MM),
    ("UnsortedSegmentSum", (spec(F32, (3,)), spec(I32, (3,)), known(I32, M * 1000)), {},
     (M * 1000,)),
    ("Bincount", (spec(I32, (3,)), known(I32, M * 1000), spec(F32, (0,))), {}, (M * 1000,)),
]


@pytest.mark.parametrize(("op", "specs", "attrs", "shape"), HUGE, ids=[h[0] for h in HUGE])
def test_rule_answers_a_hostile_size_without_allocating(
    op: str, specs: tuple[TensorSpec, ...], attrs: Mapping[str, Any], shape: tuple[int, ...]
) -> None:
    kernel = lookup(op)
    tracemalloc.start()
    try:
        inferred = kernel.shapes(list(specs), attrs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert inferred[0].shape == shape
    assert peak < 1 << 20
