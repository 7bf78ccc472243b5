"""Records of the tf.data ops (``eager_async.kernels.data``).

A dataset op's output is a DT_VARIANT holding a pipeline; a record compares it with
``Elements``, which reads the dataset it is compared with through a new iterator (and
checks its cardinality). Functions (map, filter, flat_map, ...) are registered per record.
Every expected element, order and cardinality is TensorFlow 2.21's, from the same
pipeline built with ``tf.data``/``tf.raw_ops`` in ``.venv-tf``. Behaviour over several
calls (iterators, reshuffling, caches, errors while pulling) is tested below the tables.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from kernel_records import Bad, Case, b, f32, i32, i64, lookup, s

from eager_async.attrs import FuncAttr
from eager_async.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    NotFoundError,
    OutOfRangeError,
    UnimplementedError,
)
from eager_async.functions import ArgSpec, FunctionSpec, NodeSpec
from eager_async.kernels.data.datasets import Dataset
from eager_async.kernels.data.iterator_ops import anonymous_iterator_v3, make_iterator
from eager_async.kernels.data.source_ops import (
    range_dataset,
    tensor_dataset,
    tensor_slice_dataset,
)
from eager_async.kernels.data.tuning_ops import anonymous_memory_cache, dummy_memory_cache

I64, I32, F32 = np.dtype(np.int64), np.dtype(np.int32), np.dtype(np.float32)
OBJ = np.dtype(object)


# --- matchers for variant and resource outputs ------------------------------------------


class Elements:
    """Equal to a dataset whose elements, read through a new iterator, are ``elements``
    (tuples of arrays; an ``Elements`` inside one matches a nested dataset) and whose
    cardinality is ``cardinality`` (unless None)."""

    def __init__(self, elements: Sequence[tuple[Any, ...]], cardinality: int | None = None):
        self.elements = [tuple(e) for e in elements]
        self.cardinality = cardinality
        self.got: list[tuple[np.ndarray, ...]] | str = "not compared yet"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        iterator = other.iterate()
        got = []
        while len(got) <= len(self.elements) and (element := iterator.next()) is not None:
            got.append(element)
        self.got = got
        if self.cardinality is not None and other.cardinality() != self.cardinality:
            self.got = f"cardinality {other.cardinality()}, elements {got}"
            return False
        return len(got) == len(self.elements) and all(
            _same_element(g, e) for g, e in zip(got, self.elements, strict=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Elements(want={self.elements}, card={self.cardinality}, got={self.got})"


def _same_element(got: tuple[np.ndarray, ...], want: tuple[Any, ...]) -> bool:
    if len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        if isinstance(w, Elements):
            if not (g.dtype == OBJ and g.ndim == 0 and w == g.item()):
                return False
        elif g.dtype != w.dtype or g.shape != w.shape or g.tolist() != w.tolist():
            return False
    return True


class Holds:
    """Equal to any object of the class named ``kind`` (a resource, a deleter)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __eq__(self, other: object) -> bool:
        return type(other).__name__ == self.kind

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Holds({self.kind})"


def v(value: object) -> np.ndarray:
    """A 0-d object array holding ``value`` (a matcher, as an expected output)."""
    array = np.empty((), dtype=object)
    array[()] = value
    return array


# --- datasets built by the kernels themselves, as inputs of records -----------------------


def rng(start: int, stop: int, step: int = 1) -> np.ndarray:
    return range_dataset(i64(start), i64(stop), i64(step), output_types=[I64])


def slices(*components: np.ndarray) -> np.ndarray:
    return tensor_slice_dataset(list(components), output_shapes=[c.shape[1:] for c in components])


def tensors(*components: np.ndarray) -> np.ndarray:
    return tensor_dataset(list(components), output_shapes=[c.shape for c in components])


def started(dataset: np.ndarray, types: list[np.dtype], shapes: list[Any]) -> np.ndarray:
    """A new iterator over ``dataset``."""
    iterator = anonymous_iterator_v3(output_types=types, output_shapes=shapes)
    make_iterator(dataset, iterator)
    return iterator


def S(types: list[np.dtype], shapes: list[Any], **more: Any) -> dict[str, Any]:
    """The structure attrs every dataset op carries."""
    return {"output_types": types, "output_shapes": shapes, **more}


def T(types: list[np.dtype], shapes: list[Any]) -> dict[str, Any]:
    """The structure attrs of ops that take their types from their inputs."""
    return {"Toutput_types": types, "output_shapes": shapes}


SCALAR = S([I64], [()])
VECTOR = S([I64], [(-1,)])


# --- functions the records call --------------------------------------------------------


def fn(name: str, inputs: list[tuple[str, np.dtype]], outputs: list[tuple[str, np.dtype]],
       nodes: list[NodeSpec], ret: dict[str, str]) -> FunctionSpec:
    return FunctionSpec(name, tuple(ArgSpec(n, dtype=t) for n, t in inputs),
                        tuple(ArgSpec(n, dtype=t) for n, t in outputs), tuple(nodes), ret)


def const(name: str, value: np.ndarray) -> NodeSpec:
    return NodeSpec(name, "Const", (), {"dtype": value.dtype, "value": value})


I64_T = {"T": I64}
SQUARE = fn("Square", [("x", I64)], [("y", I64)], [NodeSpec("m", "Mul", ("x", "x"), I64_T)],
            {"y": "m:z:0"})
PLUS = fn("Plus", [("x", I64), ("c", I64)], [("y", I64)],
          [NodeSpec("a", "AddV2", ("x", "c"), I64_T)], {"y": "a:z:0"})
SWAP = fn("Swap", [("x", F32), ("y", I32)], [("a", I32), ("b", F32)],
          [NodeSpec("i", "Identity", ("y",), {"T": I32}),
           NodeSpec("j", "Identity", ("x",), {"T": F32})], {"a": "i:output:0", "b": "j:output:0"})
ABOVE_2 = fn("Above2", [("x", I64)], [("keep", np.dtype(bool))],
             [const("two", i64(2)), NodeSpec("g", "Greater", ("x", "two:output:0"), I64_T)],
             {"keep": "g:z:0"})
IDENTITY = fn("Same", [("x", I64)], [("y", I64)], [NodeSpec("i", "Identity", ("x",), I64_T)],
              {"y": "i:output:0"})
# RangeOf(n) = the dataset range(n): a function whose body runs a dataset op.
RANGE_OF = fn("RangeOf", [("n", I64)], [("ds", OBJ)],
              [const("zero", i64(0)), const("one", i64(1)),
               NodeSpec("r", "RangeDataset", ("zero:output:0", "n", "one:output:0"), SCALAR)],
              {"ds": "r:handle:0"})
# Tens(n) = range(n).map(lambda j: n * 10 + j): a nested map capturing n.
TEN_N_PLUS = fn("TenNPlus", [("j", I64), ("n", I64)], [("y", I64)],
                [const("ten", i64(10)), NodeSpec("m", "Mul", ("n", "ten:output:0"), I64_T),
                 NodeSpec("a", "AddV2", ("m:z:0", "j"), I64_T)], {"y": "a:z:0"})
TENS = fn("Tens", [("n", I64)], [("ds", OBJ)],
          [const("zero", i64(0)), const("one", i64(1)),
           NodeSpec("r", "RangeDataset", ("zero:output:0", "n", "one:output:0"), SCALAR),
           NodeSpec("m", "MapDataset", ("r:handle:0", "n"),
                    {**SCALAR, "f": FuncAttr("TenNPlus"), "Targuments": [I64]})],
          {"ds": "m:handle:0"})
ROW_OF = fn("RowOf", [("n", I64)], [("row", I64)],
            [const("zero", i64(0)), const("one", i64(1)),
             NodeSpec("r", "Range", ("zero:output:0", "n", "one:output:0"), {"Tidx": I64})],
            {"row": "r:output:0"})
# Scan step (s, x) -> (s + x, s); Sum (s, x) -> s + x.
SCAN_STEP = fn("ScanStep", [("s", I64), ("x", I64)], [("s2", I64), ("out", I64)],
               [NodeSpec("a", "AddV2", ("s", "x"), I64_T),
                NodeSpec("o", "Identity", ("s",), I64_T)], {"s2": "a:z:0", "out": "o:output:0"})
SUM = fn("Sum2", [("s", I64), ("x", I64)], [("s2", I64)],
         [NodeSpec("a", "AddV2", ("s", "x"), I64_T)], {"s2": "a:z:0"})


def f(name: str, targs: Sequence[np.dtype] = ()) -> dict[str, Any]:
    return {"f": FuncAttr(name), "Targuments": list(targs)}


# --- elements, as TF 2.21 gives them ------------------------------------------------------


def ints(*values: int) -> list[tuple[np.ndarray]]:
    return [(i64(x),) for x in values]


ROWS = f32([[1, 2], [3, 4], [5, 6]]), i32([7, 8, 9])
PAIRS = [(f32([1.0, 2.0]), i32(7)), (f32([3.0, 4.0]), i32(8)), (f32([5.0, 6.0]), i32(9))]
SHUFFLED_10 = ints(9, 0, 8, 6, 1, 3, 7, 2, 4, 5)  # range(10).shuffle(10), seeds (1, 2)
# from_tensor_slices([1..4]).map(range).padded_batch(3, [-1], -1)
PADDED = [(i64([[0, -1, -1], [0, 1, -1], [0, 1, 2]]),), (i64([[0, 1, 2, 3]]),)]
PADDED_5 = [(i64([[0, 7, 7, 7, 7], [0, 1, 7, 7, 7], [0, 1, 2, 7, 7]]),)]
INTERLEAVED = ints(10, 20, 21, 30, 31, 40, 41, 32, 42, 43, 50, 51, 52, 53, 54)


def _rows_of_ranges() -> np.ndarray:
    attrs = {**VECTOR, **f("RowOf"), "preserve_cardinality": True}
    return lookup("MapDataset", (ROW_OF,)).run([rng(1, 5)], attrs)[0]


def _seed_generator(seed: int, seed2: int, reshuffle: bool) -> tuple[np.ndarray, np.ndarray]:
    handle, deleter = lookup("AnonymousSeedGenerator").run(
        [i64(seed), i64(seed2), b(reshuffle)], {})
    return handle, deleter


GEN, GEN_DELETER = _seed_generator(1, 2, True)
CACHE, CACHE_DELETER = anonymous_memory_cache()
DUMMY = lookup("DummySeedGenerator").run([], {})[0]
BATCHED = S([I64], [(-1,)])

CASES = [
    # sources
    Case("TensorDataset", (f32([1, 2]), i32(3)),
         (v(Elements([(f32([1.0, 2.0]), i32(3))], 1)),), T([F32, I32], [(2,), ()])),
    Case("TensorSliceDataset", ROWS, (v(Elements(PAIRS, 3)),), T([F32, I32], [(2,), ()])),
    Case("TensorSliceDataset", (s([b"a", b"bc"]),), (v(Elements([(s(b"a"),), (s(b"bc"),)], 2)),),
         T([OBJ], [()]), name="strings"),
    Case("RangeDataset", (i64(0), i64(10), i64(3)), (v(Elements(ints(0, 3, 6, 9), 4)),), SCALAR),
    Case("RangeDataset", (i64(10), i64(0), i64(-3)), (v(Elements(ints(10, 7, 4, 1), 4)),),
         SCALAR, name="negative step"),
    Case("RangeDataset", (i64(5), i64(0), i64(1)), (v(Elements([], 0)),), SCALAR, name="empty"),
    Case("RangeDataset", (i64(0), i64(5), i64(2)),
         (v(Elements([(f32(0.0),), (f32(2.0),), (f32(4.0),)], 3)),), S([F32], [()]),
         name="as float"),
    # functions per element
    Case("MapDataset", (rng(0, 4),), (v(Elements(ints(0, 1, 4, 9), -2)),),
         {**SCALAR, **f("Square")}, functions=(SQUARE,)),
    Case("MapDataset", (rng(0, 4),), (v(Elements(ints(0, 1, 4, 9), 4)),),
         {**SCALAR, **f("Square"), "preserve_cardinality": True}, functions=(SQUARE,),
         name="preserve cardinality"),
    Case("MapDataset", (rng(0, 3), i64(10)), (v(Elements(ints(10, 11, 12), 3)),),
         {**SCALAR, **f("Plus", [I64]), "preserve_cardinality": True}, functions=(PLUS,),
         name="captured input"),
    Case("MapDataset", (slices(f32([1, 2]), i32([3, 4])),),
         (v(Elements([(i32(3), f32(1.0)), (i32(4), f32(2.0))])),),
         {**S([I32, F32], [(), ()]), **f("Swap")}, functions=(SWAP,), name="two components"),
    Case("ParallelMapDatasetV2", (rng(0, 4), i64(-1)), (v(Elements(ints(0, 1, 4, 9), 4)),),
         {**SCALAR, **f("Square"), "preserve_cardinality": True, "deterministic": b"true"},
         functions=(SQUARE,)),
    Case("FilterDataset", (rng(0, 6),), (v(Elements(ints(3, 4, 5), -2)),),
         {**SCALAR, "predicate": FuncAttr("Above2"), "Targuments": []}, functions=(ABOVE_2,)),
    Case("FlatMapDataset", (rng(1, 4),), (v(Elements(ints(0, 0, 1, 0, 1, 2), -2)),),
         {**SCALAR, **f("RangeOf")}, functions=(RANGE_OF,)),
    Case("InterleaveDataset", (rng(1, 4), i64(2), i64(1)),
         (v(Elements(ints(0, 0, 1, 0, 1, 2), -2)),), {**SCALAR, **f("RangeOf")},
         functions=(RANGE_OF,)),
    Case("InterleaveDataset", (rng(1, 6), i64(3), i64(2)), (v(Elements(INTERLEAVED)),),
         {**SCALAR, **f("Tens")}, functions=(TENS, TEN_N_PLUS), name="nested map, blocks"),
    Case("ParallelInterleaveDatasetV4", (rng(1, 6), i64(3), i64(2), i64(-1), i64(-1), i64(2)),
         (v(Elements(INTERLEAVED)),), {**SCALAR, **f("Tens"), "deterministic": b"true"},
         functions=(TENS, TEN_N_PLUS)),
    Case("ScanDataset", (rng(0, 5), i64(0)), (v(Elements(ints(0, 0, 1, 3, 6), 5)),),
         {**SCALAR, **f("ScanStep"), "Tstate": [I64], "preserve_cardinality": True},
         functions=(SCAN_STEP,)),
    Case("ReduceDataset", (rng(0, 5), i64(0)), (i64(10),),
         {**SCALAR, **f("Sum2"), "Tstate": [I64]}, functions=(SUM,)),
    # structure
    Case("ConcatenateDataset", (rng(0, 2), rng(5, 7)), (v(Elements(ints(0, 1, 5, 6), 4)),),
         SCALAR),
    Case("ZipDataset", (rng(0, 3), slices(f32([0.5, 1.5, 2.5, 3.5]))),
         (v(Elements([(i64(0), f32(0.5)), (i64(1), f32(1.5)), (i64(2), f32(2.5))], 3)),),
         S([I64, F32], [(), ()])),
    Case("RepeatDataset", (rng(0, 3), i64(2)), (v(Elements(ints(0, 1, 2, 0, 1, 2), 6)),), SCALAR),
    Case("RepeatDataset", (rng(0, 3), i64(0)), (v(Elements([], 0)),), SCALAR, name="zero"),
    Case("TakeDataset", (rng(0, 5), i64(2)), (v(Elements(ints(0, 1), 2)),), SCALAR),
    Case("TakeDataset", (rng(0, 3), i64(-1)), (v(Elements(ints(0, 1, 2), 3)),), SCALAR,
         name="all"),
    Case("TakeDataset", (rng(0, 3), i64(-5)), (v(Elements(ints(0, 1, 2), -5)),), SCALAR,
         name="TF's cardinality of take(-5)"),
    Case("SkipDataset", (rng(0, 5), i64(3)), (v(Elements(ints(3, 4), 2)),), SCALAR),
    Case("SkipDataset", (rng(0, 5), i64(-1)), (v(Elements([], 0)),), SCALAR, name="all"),
    # batching
    Case("BatchDatasetV2", (rng(0, 7), i64(3), b(False)),
         (v(Elements([(i64([0, 1, 2]),), (i64([3, 4, 5]),), (i64([6]),)], 3)),), BATCHED),
    Case("BatchDatasetV2", (rng(0, 7), i64(3), b(True)),
         (v(Elements([(i64([0, 1, 2]),), (i64([3, 4, 5]),)], 2)),), BATCHED,
         name="drop remainder"),
    Case("BatchDatasetV2", (slices(*ROWS), i64(2), b(False)),
         (v(Elements([(f32([[1.0, 2.0], [3.0, 4.0]]), i32([7, 8])),
                      (f32([[5.0, 6.0]]), i32([9]))], 2)),),
         S([F32, I32], [(-1, 2), (-1,)]), name="two components"),
    Case("ParallelBatchDataset", (rng(0, 7), i64(3), i64(2), b(False)),
         (v(Elements([(i64([0, 1, 2]),), (i64([3, 4, 5]),), (i64([6]),)], 3)),), BATCHED),
    Case("PaddedBatchDatasetV2", (slices(i64([1, 2, 3])), i64(2), i64([]), i64(0), b(False)),
         (v(Elements([(i64([1, 2]),), (i64([3]),)], 2)),),
         {"Toutput_types": [I64], "output_shapes": [(-1,)]}, name="scalars"),
    Case("PaddedBatchDatasetV2",
         (_rows_of_ranges(), i64(3), i64([-1]), i64(-1), b(False)), (v(Elements(PADDED, 2)),),
         {"Toutput_types": [I64], "output_shapes": [(-1, -1)]}),
    Case("PaddedBatchDatasetV2",
         (_rows_of_ranges(), i64(3), i64([5]), i64(7), b(True)), (v(Elements(PADDED_5, 1)),),
         {"Toutput_types": [I64], "output_shapes": [(-1, 5)]}, name="fixed, drop remainder"),
    Case("UnbatchDataset", (tensors(i64([[0, 1], [2, 3], [4, 5]])),),
         (v(Elements([(i64([0, 1]),), (i64([2, 3]),), (i64([4, 5]),)], 3)),), S([I64], [(2,)])),
    Case("WindowDataset", (rng(0, 7), i64(3), i64(2), i64(1), b(True)),
         (v(Elements([(Elements(ints(0, 1, 2)),), (Elements(ints(2, 3, 4)),),
                      (Elements(ints(4, 5, 6)),)], 3)),), S([OBJ], [()])),
    # shuffling
    Case("ShuffleDatasetV3", (rng(0, 10), i64(10), i64(1), i64(2), DUMMY),
         (v(Elements(SHUFFLED_10, 10)),), {**SCALAR, "reshuffle_each_iteration": False}),
    Case("ShuffleDatasetV3", (rng(0, 8), i64(-2), i64(5), i64(6), DUMMY),
         (v(Elements(ints(3, 5, 0, 6, 1, 4, 7, 2))),),
         {**SCALAR, "reshuffle_each_iteration": False}, name="buffer of unknown size"),
    Case("ShuffleDatasetV2", (rng(0, 5), i64(5), _seed_generator(1, 2, True)[0]),
         (v(Elements(ints(2, 0, 1, 3, 4))),), SCALAR),
    Case("AnonymousSeedGenerator", (i64(1), i64(2), b(True)),
         (v(Holds("SeedGenerator")), v(Holds("_Deleter")))),
    Case("DummySeedGenerator", (), (v(Holds("_NoGenerator")),)),
    Case("DeleteSeedGenerator", (GEN, GEN_DELETER), ()),
    # tuning and caching
    Case("PrefetchDataset", (rng(0, 3), i64(-1)), (v(Elements(ints(0, 1, 2), 3)),), SCALAR),
    Case("OptionsDataset", (rng(0, 3),), (v(Elements(ints(0, 1, 2), 3)),),
         {**SCALAR, "serialized_options": b"\x12\x00"}),
    Case("ModelDataset", (rng(0, 3),), (v(Elements(ints(0, 1, 2), 3)),), SCALAR),
    Case("MaxIntraOpParallelismDataset", (rng(0, 3), i64(1)), (v(Elements(ints(0, 1, 2), 3)),),
         SCALAR),
    Case("PrivateThreadPoolDataset", (rng(0, 3), i64(0)), (v(Elements(ints(0, 1, 2), 3)),),
         SCALAR),
    Case("RewriteDataset", (rng(0, 3), s(b"replicate_on_split")),
         (v(Elements(ints(0, 1, 2), 3)),), SCALAR),
    Case("CacheDatasetV2", (rng(0, 3), s(b""), dummy_memory_cache()),
         (v(Elements(ints(0, 1, 2), 3)),), SCALAR),
    Case("CacheDatasetV2", (rng(0, 3), s(b""), CACHE), (v(Elements(ints(0, 1, 2), 3)),),
         SCALAR, name="shared cache"),
    Case("AnonymousMemoryCache", (), (v(Holds("MemoryCache")), v(Holds("_Deleter")))),
    Case("DummyMemoryCache", (), (v(Holds("_NoCache")),)),
    Case("DeleteMemoryCache", (CACHE, CACHE_DELETER), ()),
    Case("DatasetCardinality", (rng(0, 10),), (i64(10),)),
    # iterators and optionals
    Case("AnonymousIteratorV3", (), (v(Holds("IteratorResource")),), SCALAR),
    Case("AnonymousIteratorV2", (), (v(Holds("IteratorResource")), v(Holds("_Deleter"))),
         SCALAR),
    Case("MakeIterator", (rng(0, 2), anonymous_iterator_v3(**SCALAR)), ()),
    Case("DeleteIterator", (started(rng(0, 2), [I64], [()]), v(None)), ()),
    Case("IteratorGetNext", (started(slices(*ROWS), [F32, I32], [(2,), ()]),), PAIRS[0],
         S([F32, I32], [(2,), ()])),
    Case("IteratorGetNextSync", (started(rng(4, 6), [I64], [()]),), (i64(4),), SCALAR),
    Case("IteratorGetNextAsOptional", (started(rng(4, 6), [I64], [()]),),
         (v(Holds("Optional")),), SCALAR),
    Case("OptionalFromValue", (i32([1, 2]), s(b"a")), (v(Holds("Optional")),)),
    Case("OptionalNone", (), (v(Holds("Optional")),)),
    Case("OptionalHasValue", (lookup("OptionalNone").run([], {})[0],), (b(False),)),
    Case("OptionalGetValue", (lookup("OptionalFromValue").run([i32([1, 2]), s(b"a")], {})[0],),
         (i32([1, 2]), s(b"a")), S([I32, OBJ], [(2,), ()])),
]

# Cardinalities of TF 2.21 (``dataset.cardinality()``) for pipelines built here.
CARDINALITIES = [
    (lambda: _card("RepeatDataset", [rng(0, 3), i64(-1)]), -1),
    (lambda: _card("RepeatDataset", [rng(0, 0), i64(-1)]), 0),
    (lambda: _card("BatchDatasetV2", [rng(0, 10), i64(3), b(False)]), 4),
    (lambda: _card("BatchDatasetV2", [rng(0, 10), i64(3), b(True)]), 3),
    (lambda: _card("SkipDataset", [rng(0, 10), i64(20)]), 0),
    (lambda: _card("TakeDataset", [_ds("RepeatDataset", [rng(0, 10), i64(-1)]), i64(5)]), 5),
    (lambda: _card("ZipDataset", [rng(0, 3), _ds("RepeatDataset", [rng(0, 5), i64(-1)])],
                   S([I64, I64], [(), ()])), 3),
    (lambda: _card("ConcatenateDataset", [rng(0, 3), rng(0, 4)]), 7),
    (lambda: _card("ConcatenateDataset", [rng(0, 3),
                                          _ds("RepeatDataset", [rng(0, 4), i64(-1)])]), -1),
    (lambda: _card("WindowDataset", [rng(0, 7), i64(3), i64(2), i64(1), b(True)]), 3),
    (lambda: _card("WindowDataset", [rng(0, 7), i64(3), i64(2), i64(2), b(False)]), 4),
    (lambda: _card("UnbatchDataset", [_ds("BatchDatasetV2", [slices(f32(np.zeros((6, 2)))),
                                                             i64(4), b(True)],
                                          S([F32], [(4, 2)]))], S([F32], [(2,)])), 4),
    (lambda: _card("UnbatchDataset", [_ds("BatchDatasetV2", [slices(f32(np.zeros((6, 2)))),
                                                             i64(2), b(False)],
                                          S([F32], [(-1, 2)]))], S([F32], [(2,)])), -2),
]


def _ds(op: str, inputs: list[Any], attrs: dict[str, Any] | None = None) -> np.ndarray:
    return lookup(op).run(inputs, attrs or SCALAR)[0]


def _card(op: str, inputs: list[Any], attrs: dict[str, Any] | None = None) -> int:
    dataset = _ds(op, inputs, attrs)
    return int(lookup("DatasetCardinality").run([dataset], {})[0])


ITERATOR = anonymous_iterator_v3(**SCALAR)
NOT_A_DATASET = v(object())

ERRORS = [
    Bad("TensorDataset", (f32([1, 2, 3]),),
        "Incompatible shapes at component 0: expected [3] but got [5].", T([F32], [(5,)])),
    Bad("TensorSliceDataset", (f32(1),), "All components must be at least 1-dimensional",
        T([F32], [()])),
    Bad("TensorSliceDataset", (f32([1, 2]), f32([1, 2, 3])),
        "All components must have the same size in the 0th dimension", T([F32, F32], [(), ()])),
    Bad("RangeDataset", (i64(0), i64(3), i64(0)), "step must be a non-zero integer.", SCALAR),
    Bad("MapDataset", (rng(0, 3),), "Function 'Nope' is not registered",
        {**SCALAR, **f("Nope")}, NotFoundError),
    Bad("MapDataset", (rng(0, 3), i64(1)), "do not match 2 inputs specified",
        {**SCALAR, **f("Square")}, functions=(SQUARE,)),
    Bad("ParallelMapDatasetV2", (rng(0, 3), i64(0)),
        "num_parallel_calls must be greater than zero.", {**SCALAR, **f("Square")},
        functions=(SQUARE,)),
    Bad("FilterDataset", (rng(0, 3),), "missing attr 'predicate'", {**SCALAR, "Targuments": []}),
    Bad("FlatMapDataset", (rng(0, 3),), "Function 'Nope' is not registered",
        {**SCALAR, **f("Nope")}, NotFoundError),
    Bad("InterleaveDataset", (rng(0, 3), i64(0), i64(1)),
        "cycle_length must be greater than zero.", {**SCALAR, **f("RangeOf")},
        functions=(RANGE_OF,)),
    Bad("InterleaveDataset", (rng(0, 3), i64(2), i64(0)),
        "block_length must be greater than zero.", {**SCALAR, **f("RangeOf")},
        functions=(RANGE_OF,)),
    Bad("ParallelInterleaveDatasetV4", (rng(0, 3), i64(2), i64(1), i64(-1), i64(-1), i64(0)),
        "num_parallel_calls must be greater than zero.", {**SCALAR, **f("RangeOf")},
        functions=(RANGE_OF,)),
    Bad("ScanDataset", (rng(0, 3),), "do not match 1 inputs specified", {**SCALAR, **f("ScanStep"),
                                                            "Tstate": [I64]}),
    Bad("ReduceDataset", (rng(0, 3), f32(0)), "attr 'Tstate' is [int64] but the inputs are [float]",
        {**SCALAR, **f("Sum2"), "Tstate": [I64]}, functions=(SUM,)),
    Bad("ConcatenateDataset", (rng(0, 3), i64(1)), "was expected to be a variant tensor", SCALAR),
    Bad("ZipDataset", (rng(0, 3), i64(1)), "was expected to be a variant tensor",
        S([I64, I64], [(), ()])),
    Bad("RepeatDataset", (rng(0, 3), i32(2)), "was expected to be a int64 tensor", SCALAR),
    Bad("TakeDataset", (rng(0, 3),), "do not match 1 inputs specified", SCALAR),
    Bad("SkipDataset", (rng(0, 3), i64(1)), "missing attr 'output_types'"),
    Bad("BatchDatasetV2", (rng(0, 3), i64(0), b(False)), "Batch size must be greater than zero.",
        BATCHED),
    Bad("ParallelBatchDataset", (rng(0, 3), i64(0), i64(2), b(False)),
        "Batch size must be greater than zero.", BATCHED),
    Bad("PaddedBatchDatasetV2", (rng(0, 3), i64(0), i64([]), i64(0), b(False)),
        "Batch size must be greater than zero.",
        {"Toutput_types": [I64], "output_shapes": [(-1,)]}),
    Bad("PaddedBatchDatasetV2", (rng(0, 3), i64(2), i64(5), i64(0), b(False)),
        "All padded shapes must be vectors",
        {"Toutput_types": [I64], "output_shapes": [(-1,)]}),
    Bad("PaddedBatchDatasetV2", (rng(0, 3), i64(2), i64([5]), i64([1, 2]), b(False)),
        "All padding values must be scalars", {"Toutput_types": [I64],
                                               "output_shapes": [(-1, 5)]}),
    Bad("UnbatchDataset", (i64(3),), "was expected to be a variant tensor", SCALAR),
    Bad("WindowDataset", (rng(0, 3), i64(0), i64(1), i64(1), b(False)),
        "Window size must be greater than zero.", S([OBJ], [()])),
    Bad("WindowDataset", (rng(0, 3), i64(2), i64(0), i64(1), b(False)),
        "Window shift must be greater than zero.", S([OBJ], [()])),
    Bad("ShuffleDatasetV3", (rng(0, 3), i64(0), i64(0), i64(0), DUMMY),
        "buffer_size must be greater than zero or UNKNOWN_CARDINALITY", SCALAR),
    Bad("ShuffleDatasetV2", (rng(0, 3), i64(-5), DUMMY),
        "buffer_size must be greater than zero or UNKNOWN_CARDINALITY", SCALAR),
    Bad("AnonymousSeedGenerator", (i64(1), i64(2)), "do not match 2 inputs specified"),
    Bad("DummySeedGenerator", (i64(1),), "do not match 1 inputs specified"),
    Bad("DeleteSeedGenerator", (GEN,), "do not match 1 inputs specified"),
    Bad("PrefetchDataset", (rng(0, 3), i64(-5)),
        "buffer_size must be >= 0 or set buffer_size to be -1 for auto-tuning", SCALAR),
    Bad("OptionsDataset", (rng(0, 3),), "missing attr 'serialized_options'", SCALAR),
    Bad("ModelDataset", (i64(1),), "was expected to be a variant tensor", SCALAR),
    Bad("MaxIntraOpParallelismDataset", (rng(0, 3), i64(-1)),
        "`max_intra_op_parallelism` must be >= 0", SCALAR),
    Bad("PrivateThreadPoolDataset", (rng(0, 3), i64(-1)), "`num_threads` must be >= 0", SCALAR),
    Bad("RewriteDataset", (rng(0, 3), i64(1)), "was expected to be a string tensor", SCALAR),
    Bad("CacheDatasetV2", (rng(0, 3), s(b"")), "do not match 2 inputs specified", SCALAR),
    Bad("AnonymousMemoryCache", (i64(1),), "do not match 1 inputs specified"),
    Bad("DummyMemoryCache", (i64(1),), "do not match 1 inputs specified"),
    Bad("DeleteMemoryCache", (CACHE,), "do not match 1 inputs specified"),
    Bad("DatasetCardinality", (i64(1),), "was expected to be a variant tensor"),
    Bad("AnonymousIteratorV3", (), "missing attr 'output_types'"),
    Bad("AnonymousIteratorV2", (), "missing attr 'output_shapes'", {"output_types": [I64]}),
    Bad("MakeIterator", (i64(1), ITERATOR), "was expected to be a variant tensor"),
    Bad("DeleteIterator", (ITERATOR,), "do not match 1 inputs specified"),
    Bad("IteratorGetNext", (ITERATOR,), "missing attr 'output_types'"),
    Bad("IteratorGetNextSync", (i64(1),), "was expected to be a resource tensor", SCALAR),
    Bad("IteratorGetNextAsOptional", (ITERATOR,), "missing attr 'output_shapes'",
        {"output_types": [I64]}),
    Bad("OptionalFromValue", (), "Length for attr 'Toutput_types' of 0 must be at least minimum 1",
        {"Toutput_types": []}),
    Bad("OptionalNone", (i64(1),), "do not match 1 inputs specified"),
    Bad("OptionalHasValue", (i64(1),), "was expected to be a variant tensor"),
    Bad("OptionalGetValue", (i64(1),), "was expected to be a variant tensor", SCALAR),
]


# --- behaviour over several calls ---------------------------------------------------------


def run(op: str, inputs: Sequence[Any], attrs: dict[str, Any] | None = None,
        functions: Sequence[FunctionSpec] = ()) -> list[np.ndarray]:
    return lookup(op, functions).run(list(inputs), attrs or {})


def read_all(dataset: np.ndarray, attrs: dict[str, Any] = SCALAR) -> list[list[Any]]:
    """Every element, read through IteratorGetNext until OUT_OF_RANGE."""
    iterator = run("AnonymousIteratorV3", [], attrs)[0]
    run("MakeIterator", [dataset, iterator])
    out = []
    while True:
        try:
            out.append([x.tolist() for x in run("IteratorGetNext", [iterator], attrs)])
        except OutOfRangeError as error:
            assert error.message == "End of sequence"
            return out


@pytest.mark.parametrize("index", range(len(CARDINALITIES)))
def test_cardinality(index: int) -> None:
    make, want = CARDINALITIES[index]
    assert make() == want


def test_reading_past_the_end_keeps_answering_out_of_range() -> None:
    iterator = started(rng(0, 1), [I64], [()])
    assert run("IteratorGetNext", [iterator], SCALAR) == [i64(0)]
    for _ in range(3):
        with pytest.raises(OutOfRangeError, match=r"^End of sequence$"):
            run("IteratorGetNext", [iterator], SCALAR)
    (optional,) = run("IteratorGetNextAsOptional", [iterator], SCALAR)
    assert not run("OptionalHasValue", [optional])[0]


def test_iterators_are_independent_and_make_iterator_starts_over() -> None:
    dataset = rng(0, 4)
    first, second = started(dataset, [I64], [()]), started(dataset, [I64], [()])
    take = lambda it: int(run("IteratorGetNext", [it], SCALAR)[0])  # noqa: E731
    assert [take(first), take(first), take(second), take(first)] == [0, 1, 0, 2]
    run("MakeIterator", [rng(7, 9), first])
    assert [take(first), take(second)] == [7, 1]


def test_get_next_before_make_iterator_fails_as_in_tf() -> None:
    with pytest.raises(FailedPreconditionError, match="iterator has not been initialized"):
        run("IteratorGetNext", [anonymous_iterator_v3(**SCALAR)], SCALAR)


@pytest.mark.parametrize(("iterator_attrs", "message"), [
    (S([F32], [()]), "Data type mismatch at component 0: expected float but got int64."),
    (S([I64, I64], [(), ()]), "Number of components does not match: expected 2 types but got 1."),
    (S([I64], [(2,)]), "Incompatible shapes at component 0: expected [2] but got []."),
])
def test_make_iterator_checks_the_structure(iterator_attrs: dict[str, Any], message: str) -> None:
    iterator = run("AnonymousIteratorV3", [], iterator_attrs)[0]
    with pytest.raises(InvalidArgumentError) as caught:
        run("MakeIterator", [rng(0, 1), iterator])
    assert caught.value.message == message


def test_get_next_checks_the_element_against_its_attrs() -> None:
    iterator = started(rng(0, 3), [I64], [()])
    with pytest.raises(InvalidArgumentError, match="expected int32 but got int64"):
        run("IteratorGetNext", [iterator], S([I32], [()]))
    with pytest.raises(InvalidArgumentError, match=r"expected \[3\] but got \[\]"):
        run("IteratorGetNext", [iterator], S([I64], [(3,)]))
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "does not match the expected type for component 0. Expected: int32. Actual: int64.")):
        run("IteratorGetNextAsOptional", [iterator], S([I32], [()]))


def test_optional_get_value_errors() -> None:
    (none,) = run("OptionalNone", [])
    with pytest.raises(InvalidArgumentError, match=r"^The given optional does not have a value\.$"):
        run("OptionalGetValue", [none], SCALAR)
    (one,) = run("OptionalFromValue", [i32(1)])
    with pytest.raises(InvalidArgumentError, match="has 1 components, expected 2"):
        run("OptionalGetValue", [one], S([I32, I32], [(), ()]))
    with pytest.raises(InvalidArgumentError, match=r"Expected: \[2\]. Actual: \[\]."):
        run("OptionalGetValue", [one], S([I32], [(2,)]))


def test_reshuffling_follows_tf_epoch_after_epoch() -> None:
    (shuffled,) = run("ShuffleDatasetV3", [rng(0, 10), i64(4), i64(87654321), i64(1), DUMMY],
                      {**SCALAR, "reshuffle_each_iteration": True})
    epochs = [[x for (x,) in read_all(shuffled)] for _ in range(3)]
    assert epochs == [[0, 4, 5, 1, 2, 7, 9, 8, 6, 3], [2, 1, 3, 4, 6, 8, 7, 9, 5, 0],
                      [3, 1, 0, 4, 6, 5, 9, 8, 2, 7]]


def test_a_shared_seed_generator_advances_across_datasets() -> None:
    handle, _ = _seed_generator(3, 4, True)
    made = [run("ShuffleDatasetV2", [rng(0, 6), i64(3), handle], SCALAR)[0] for _ in range(2)]
    assert [[x for (x,) in read_all(ds)] for ds in made] == [[2, 1, 0, 4, 5, 3],
                                                              [1, 3, 0, 2, 5, 4]]


def _epochs(pipeline: np.ndarray, count: int = 2) -> list[list[int]]:
    return [[x for (x,) in read_all(pipeline)] for _ in range(count)]


def _reshuffling(n: int, seed: int, seed2: int) -> np.ndarray:
    return run("ShuffleDatasetV3", [rng(0, n), i64(n), i64(seed), i64(seed2), DUMMY],
               {**SCALAR, "reshuffle_each_iteration": True})[0]


def test_shuffle_inside_repeat_draws_seeds_as_tf() -> None:
    # TF 2.21, range(4).shuffle(4, seed=7) (seeds 87654321, 7) iterated twice under a
    # repeat: each pass's shuffle iterator draws new seeds, and a finite repeat makes one
    # more iterator after its last pass (seeds drawn, never read) unless TF's rewrites at
    # MakeIterator fuse it into the shuffle or drop it as repeat(1).
    by_seeds = [[0, 2, 1, 3], [1, 0, 3, 2], [3, 0, 2, 1], [0, 3, 1, 2], [2, 1, 0, 3],
                [2, 0, 1, 3], [2, 1, 3, 0]]
    (fused,) = run("RepeatDataset", [_reshuffling(4, 87654321, 7), i64(3)], SCALAR)
    assert _epochs(fused) == [[*by_seeds[0], *by_seeds[1], *by_seeds[2]],
                              [*by_seeds[3], *by_seeds[4], *by_seeds[5]]]
    (once,) = run("RepeatDataset", [_reshuffling(4, 87654321, 7), i64(1)], SCALAR)
    assert _epochs(once) == [by_seeds[0], by_seeds[1]]
    (mapped,) = run("MapDataset", [_reshuffling(4, 87654321, 7)], {**SCALAR, **f("Square")},
                    (SQUARE,))
    (apart,) = run("RepeatDataset", [mapped, i64(2)], SCALAR)
    squares = [[x * x for x in seeds] for seeds in by_seeds]
    assert _epochs(apart) == [squares[0] + squares[1], squares[3] + squares[4]]


def test_fixed_seeds_give_the_same_order_every_epoch() -> None:
    (shuffled,) = run("ShuffleDatasetV3", [rng(0, 10), i64(10), i64(1), i64(2), DUMMY],
                      {**SCALAR, "reshuffle_each_iteration": False})
    want = [[x] for (x,) in [(int(e[0]),) for e in SHUFFLED_10]]
    assert read_all(shuffled) == want and read_all(shuffled) == want


def test_map_errors_leave_the_iterator_usable_and_out_of_range_ends_or_fails() -> None:
    # Ends(x) reads an empty optional: it fails on every element.
    ends = fn("Ends", [("x", I64)], [("y", I64)],
              [NodeSpec("o", "OptionalNone", (), {}),
               NodeSpec("g", "OptionalGetValue", ("o:optional:0",), SCALAR)],
              {"y": "g:components:0"})
    (mapped,) = run("MapDataset", [rng(0, 3)], {**SCALAR, **f("Ends")}, (ends,))
    iterator = started(mapped, [I64], [()])
    for _ in range(2):  # the error is per element; the next call reads the next element
        with pytest.raises(InvalidArgumentError, match=r"^Error in user-defined function "
                           r"passed to MapDataset transformation: .*does not have a value"):
            run("IteratorGetNext", [iterator], SCALAR)


@pytest.mark.parametrize("preserve", [False, True])
def test_out_of_range_in_a_map_function_ends_or_fails(preserve: bool) -> None:
    # NextPlus(x, it) = next(it) + x, with ``it`` an exhausted iterator (TF 2.21: the map
    # ends at once, or fails when it promised to keep the cardinality).
    next_plus = fn("NextPlus", [("x", I64), ("it", OBJ)], [("y", I64)],
                   [NodeSpec("n", "IteratorGetNext", ("it",), SCALAR),
                    NodeSpec("a", "AddV2", ("n:components:0", "x"), I64_T)], {"y": "a:z:0"})
    exhausted = started(rng(0, 0), [I64], [()])
    (mapped,) = run("MapDataset", [rng(0, 3), exhausted],
                    {**SCALAR, **f("NextPlus", [OBJ]), "preserve_cardinality": preserve},
                    (next_plus,))
    if not preserve:
        assert read_all(mapped) == []
        return
    with pytest.raises(InvalidArgumentError, match=r"^Function invocation produced "
                       r"OutOfRangeError: .*End of sequence"):
        read_all(mapped)


def test_filter_predicate_must_be_a_scalar_bool() -> None:
    (filtered,) = run("FilterDataset", [rng(0, 3)],
                      {**SCALAR, "predicate": FuncAttr("Same"), "Targuments": []}, (IDENTITY,))
    with pytest.raises(InvalidArgumentError, match=r"^Filter predicate `f` must return a "
                       r"scalar bool\.$"):
        read_all(filtered)


def test_flat_map_function_must_return_a_dataset() -> None:
    (flat,) = run("FlatMapDataset", [rng(0, 3)], {**SCALAR, **f("Same")}, (IDENTITY,))
    with pytest.raises(InvalidArgumentError, match="single scalar of dtype DT_VARIANT"):
        read_all(flat)


def test_batch_elements_must_have_as_many_values_as_the_first() -> None:
    (rows,) = run("MapDataset", [rng(1, 4)], {**VECTOR, **f("RowOf")}, (ROW_OF,))
    (batched,) = run("BatchDatasetV2", [rows, i64(2), b(False)], S([I64], [(-1, -1)]))
    with pytest.raises(InvalidArgumentError, match=r"number of elements does not match. "
                       r"Shapes are: \[tensor\]: \[2\], \[batch\]: \[1\]"):
        read_all(batched, S([I64], [(-1, -1)]))


def test_padded_batch_errors() -> None:
    (rows,) = run("MapDataset", [rng(1, 5)], {**VECTOR, **f("RowOf")}, (ROW_OF,))
    attrs = {"Toutput_types": [I64], "output_shapes": [(-1, 2)]}
    (small,) = run("PaddedBatchDatasetV2", [rows, i64(3), i64([2]), i64(0), b(False)], attrs)
    with pytest.raises(InvalidArgumentError, match="Attempted to pad to a smaller size"):
        read_all(small, S([I64], [(-1, 2)]))
    (rank,) = run("PaddedBatchDatasetV2", [rows, i64(3), i64([2, 2]), i64(0), b(False)],
                  {"Toutput_types": [I64], "output_shapes": [(-1, 2, 2)]})
    with pytest.raises(InvalidArgumentError, match="same rank as the padded shape for "
                       "component0: expected rank 2 but got element with rank 1"):
        read_all(rank, S([I64], [(-1, 2, 2)]))
    with pytest.raises(InvalidArgumentError, match=r"Number of padded shapes \(2\) must match"):
        run("PaddedBatchDatasetV2", [rows, i64(3), i64([2]), i64([2]), i64(0), i64(0),
                                     b(False)],
            {"Toutput_types": [I64, I64], "output_shapes": [(-1, 2)] * 2})
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "Mismatched type between padding value 0 and input dataset's component 0: int32 "
            "vs. int64")):
        run("PaddedBatchDatasetV2", [rows, i64(3), i64([2]), i32(0), b(False)],
            {"Toutput_types": [I32], "output_shapes": [(-1, 2)]})


def test_unbatch_errors() -> None:
    with pytest.raises(InvalidArgumentError, match="non-scalar value in each component"):
        read_all(run("UnbatchDataset", [rng(0, 2)], SCALAR)[0])
    (pair,) = run("TensorDataset", [i64([1, 2]), i64([1, 2, 3])], T([I64, I64], [(2,), (3,)]))
    with pytest.raises(InvalidArgumentError, match=re.escape(
            "Component 0 had size 2 but component 1 had size, 3.")):
        read_all(run("UnbatchDataset", [pair], S([I64, I64], [(), ()]))[0],
                 S([I64, I64], [(), ()]))


@pytest.mark.parametrize("op", ["MapDataset", "ZipDataset", "BatchDatasetV2", "MakeIterator"])
def test_a_variant_that_is_not_a_dataset_is_refused(op: str) -> None:
    inputs: dict[str, list[Any]] = {
        "MapDataset": [NOT_A_DATASET], "ZipDataset": [rng(0, 3), NOT_A_DATASET],
        "BatchDatasetV2": [NOT_A_DATASET, i64(2), b(False)],
        "MakeIterator": [NOT_A_DATASET, anonymous_iterator_v3(**SCALAR)],
    }
    attrs = {"MapDataset": {**SCALAR, **f("Square")}, "ZipDataset": S([I64] * 2, [()] * 2),
             "BatchDatasetV2": BATCHED, "MakeIterator": {}}
    with pytest.raises(InvalidArgumentError, match=r"^Tensor must be a Dataset object\."):
        run(op, inputs[op], attrs[op], (SQUARE,))


def test_concatenate_needs_the_same_types() -> None:
    with pytest.raises(InvalidArgumentError, match="different output_types"):
        run("ConcatenateDataset", [rng(0, 3), slices(f32([1.0]))], SCALAR)


def test_memory_cache_fills_once_and_drops_a_partial_pass() -> None:
    # Counted(x, counter) = x, adding 1 to the captured variable on every call.
    counted = fn("Counted", [("x", I64), ("counter", OBJ)], [("y", I64)],
                 [const("one", i64(1)),
                  NodeSpec("add", "AssignAddVariableOp", ("counter", "one:output:0"),
                           {"dtype": I64}),
                  NodeSpec("i", "Identity", ("x",), I64_T)], {"y": "i:output:0"})
    (counter,) = run("VarHandleOp", [], {"dtype": I64, "shape": ()})
    run("AssignVariableOp", [counter, i64(0)])
    (mapped,) = run("MapDataset", [rng(0, 4), counter],
                    {**SCALAR, **f("Counted", [OBJ])}, (counted,))
    (cached,) = run("CacheDatasetV2", [mapped, s(b""), dummy_memory_cache()], SCALAR)
    (first_two,) = run("TakeDataset", [cached, i64(2)], SCALAR)
    # As TF 2.21: take(2) reads 2 (dropped), a full pass reads 4, then the cache serves.
    assert read_all(first_two) == [[0], [1]]
    assert read_all(cached) == [[0], [1], [2], [3]]
    assert read_all(cached) == [[0], [1], [2], [3]]
    assert run("ReadVariableOp", [counter], {"dtype": I64}) == [i64(6)]


def test_cache_in_a_file_is_not_built() -> None:
    with pytest.raises(UnimplementedError, match="in memory only"):
        run("CacheDatasetV2", [rng(0, 3), s(b"/tmp/cache"), dummy_memory_cache()], SCALAR)


def test_zip_pulls_every_input_once_per_element() -> None:
    (ended,) = run("TakeDataset", [rng(0, 10), i64(1)], SCALAR)
    (longer,) = run("RangeDataset", [i64(0), i64(10), i64(1)], SCALAR)
    (zipped,) = run("ZipDataset", [ended, longer], S([I64, I64], [(), ()]))
    iterator = started(zipped, [I64, I64], [(), ()])
    assert run("IteratorGetNext", [iterator], S([I64, I64], [(), ()])) == [i64(0), i64(0)]
    with pytest.raises(OutOfRangeError):
        run("IteratorGetNext", [iterator], S([I64, I64], [(), ()]))


def test_reduce_checks_the_state_count() -> None:
    first = fn("First", [("s", I64), ("t", I64), ("x", I64)], [("s2", I64)],
               [NodeSpec("a", "AddV2", ("s", "x"), I64_T)], {"s2": "a:z:0"})
    with pytest.raises(InvalidArgumentError, match=r"initial_state=2, output=1"):
        run("ReduceDataset", [rng(0, 3), i64(0), i64(0)],
            {**SCALAR, "output_types": [I64, I64], "output_shapes": [(), ()], **f("First"),
             "Tstate": [I64, I64]}, (first,))
