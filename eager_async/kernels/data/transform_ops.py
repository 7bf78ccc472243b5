"""Datasets that run a function per element: MapDataset and ParallelMapDatasetV2,
FilterDataset, FlatMapDataset, InterleaveDataset and ParallelInterleaveDatasetV4,
ScanDataset, and ReduceDataset, which folds a whole dataset into one value.

The function of a ``f``/``predicate`` attr is resolved in the context the op runs in and
runs there whenever an iterator pulls (``DataFunction``). A function that returns a
dataset (flat_map's, interleave's) runs dataset ops in its body like any other ops.

Parallel variants run one element at a time, in order: the order TF gives with
``deterministic`` (TF's deterministic parallel interleave gives the sequential order too),
and one of the orders it may give without.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ...attrs import FuncAttr
from ...errors import InvalidArgumentError, OutOfRangeError
from ..registry import op
from ..specs import Shape, TensorSpec
from .datasets import (
    UNKNOWN,
    DataFunction,
    Dataset,
    Element,
    Iterator,
    check_structure,
    dataset_of,
    int_value,
    scalar_arg,
    variant,
)

__all__ = ["FilterDataset", "FlatMapDataset", "MapDataset", "ScanDataset"]

_AUTOTUNE = -1


def _stop_or_fail(error: OutOfRangeError, preserve_cardinality: bool) -> None:
    """TF's rule for a function that raises OUT_OF_RANGE: the end of the sequence, unless
    the transformation promised to keep the cardinality."""
    if preserve_cardinality:
        raise InvalidArgumentError(
            f"Function invocation produced OutOfRangeError: {error.message}"
        ) from error


class MapDataset(Dataset):
    """``f(*element, *captured)`` for each element."""

    def __init__(self, input: Dataset, f: DataFunction, types: list[np.dtype],
                 shapes: list[Shape], preserve_cardinality: bool) -> None:  # fmt: skip
        super().__init__(types, shapes)
        self.input, self.f, self.preserve = input, f, preserve_cardinality

    def iterate(self) -> Iterator:
        return _Mapped(self, self.input.iterate())

    def cardinality(self) -> int:
        return self.input.cardinality() if self.preserve else UNKNOWN


class _Mapped(Iterator):
    def __init__(self, dataset: MapDataset, input: Iterator) -> None:
        self.dataset, self.input = dataset, input
        self.f = dataset.f.instance()

    def _next(self) -> Element | None:
        element = self.input.next()
        if element is None:
            return None
        try:
            return tuple(self.f(*element))
        except OutOfRangeError as error:
            _stop_or_fail(error, self.dataset.preserve)
            return None


class FilterDataset(Dataset):
    """The elements for which ``predicate`` is true."""

    def __init__(self, input: Dataset, predicate: DataFunction) -> None:
        super().__init__(input.types, input.shapes)
        self.input, self.predicate = input, predicate

    def iterate(self) -> Iterator:
        return _Filtered(self.predicate, self.input.iterate())


class _Filtered(Iterator):
    def __init__(self, predicate: DataFunction, input: Iterator) -> None:
        self.predicate, self.input = predicate.instance(), input

    def _next(self) -> Element | None:
        while (element := self.input.next()) is not None:
            result = self.predicate(*element)
            if len(result) != 1 or result[0].dtype != np.bool_ or result[0].size != 1:
                raise InvalidArgumentError("Filter predicate `f` must return a scalar bool.")
            if result[0].reshape(()):
                return element
        return None


def _dataset_from(f: DataFunction, element: Element) -> Dataset:
    """The dataset ``f`` makes of an element (flat_map's and interleave's functions)."""
    result = f(*element)
    if len(result) != 1 or result[0].dtype != object or result[0].ndim != 0:
        raise InvalidArgumentError(
            f"{f.op}: Function must return a single scalar of dtype DT_VARIANT (a dataset)"
        )
    return dataset_of(f.op, result[0])


class FlatMapDataset(Dataset):
    """The elements of ``f(element)``, a dataset, for each element in turn."""

    def __init__(self, input: Dataset, f: DataFunction, types: list[np.dtype],
                 shapes: list[Shape]) -> None:  # fmt: skip
        super().__init__(types, shapes)
        self.input, self.f = input, f

    def iterate(self) -> Iterator:
        return _Interleaved(self.f, self.input.iterate(), 1, 1)


class InterleaveDataset(FlatMapDataset):
    """The elements of the datasets ``f`` makes of ``cycle`` input elements at once,
    ``block`` consecutive elements from each in turn."""

    def __init__(self, input: Dataset, f: DataFunction, types: list[np.dtype],
                 shapes: list[Shape], cycle: int, block: int) -> None:  # fmt: skip
        super().__init__(input, f, types, shapes)
        self.cycle, self.block = cycle, block

    def iterate(self) -> Iterator:
        return _Interleaved(self.f, self.input.iterate(), self.cycle, self.block)


class _Interleaved(Iterator):
    """TF's interleave loop (flat_map is the cycle of one): a slot with an open iterator
    gives up to ``block`` elements; an empty slot takes the next input element."""

    def __init__(self, f: DataFunction, input: Iterator, cycle: int, block: int) -> None:
        self.f, self.input, self.block = f.instance(), input, block
        self.slots: list[Iterator | None] = [None] * cycle
        self.index = self.in_block = self.open = 0
        self.input_done = False

    def _advance(self) -> None:
        self.in_block = 0
        self.index = (self.index + 1) % len(self.slots)

    def _next(self) -> Element | None:
        while not self.input_done or self.open:
            current = self.slots[self.index]
            if current is not None:
                element = current.next()
                if element is not None:
                    self.in_block += 1
                    if self.in_block == self.block:
                        self._advance()
                    return element
                self.slots[self.index] = None
                self.open -= 1
                self._advance()
            elif not self.input_done:
                source = self.input.next()
                if source is None:
                    self.input_done = True
                else:
                    self.slots[self.index] = _dataset_from(self.f, source).iterate()
                    self.open += 1
            else:
                self._advance()
        return None


class ScanDataset(Dataset):
    """``state, *out = f(*state, *element)``: yields ``out``, carries ``state``."""

    def __init__(self, input: Dataset, f: DataFunction, state: list[np.ndarray],
                 types: list[np.dtype], shapes: list[Shape],
                 preserve_cardinality: bool) -> None:  # fmt: skip
        super().__init__(types, shapes)
        self.input, self.f, self.state = input, f, tuple(state)
        self.preserve = preserve_cardinality

    def iterate(self) -> Iterator:
        return _Scanned(self, self.input.iterate())

    def cardinality(self) -> int:
        return self.input.cardinality() if self.preserve else UNKNOWN


class _Scanned(Iterator):
    def __init__(self, dataset: ScanDataset, input: Iterator) -> None:
        self.dataset, self.input = dataset, input
        self.f = dataset.f.instance()
        self.state = dataset.state

    def _next(self) -> Element | None:
        element = self.input.next()
        if element is None:
            return None
        try:
            results = self.f(*self.state, *element)
        except OutOfRangeError as error:
            _stop_or_fail(error, self.dataset.preserve)
            return None
        first = self.dataset.state
        state = tuple(results[: len(first)])
        check_structure([s.dtype for s in first], [s.shape for s in first],
                        [s.dtype for s in state], [s.shape for s in state])  # fmt: skip
        self.state = state
        return tuple(results[len(first) :])


# --- checks shared by kernels and shape rules -------------------------------------------


def _check_parallel_calls(value: int | None) -> None:
    if value is not None and value <= 0 and value != _AUTOTUNE:
        raise InvalidArgumentError("num_parallel_calls must be greater than zero.")


def _check_interleave(cycle: int | None, block: int | None) -> None:
    if cycle is not None and cycle <= 0 and cycle != _AUTOTUNE:
        raise InvalidArgumentError("cycle_length must be greater than zero.")
    if block is not None and block <= 0:
        raise InvalidArgumentError("block_length must be greater than zero.")


def _f_rule(*specs: Any, f: FuncAttr, env: Any) -> Shape:
    """The rule of ops with a function attr ``f``: the function must exist (NOT_FOUND
    when the op is queued, not when an iterator first pulls)."""
    env.function(f.name)
    return ()


def _predicate_rule(*specs: Any, predicate: FuncAttr, env: Any) -> Shape:
    env.function(predicate.name)
    return ()


# --- ops ------------------------------------------------------------------------------


@op("MapDataset", shape=_f_rule)
def map_dataset(
    input_dataset: np.ndarray, other_arguments: list[np.ndarray], *, f: FuncAttr,
    output_types: list[np.dtype], output_shapes: list[Shape], preserve_cardinality: bool,
    env: Any,
) -> np.ndarray:  # fmt: skip
    """``f`` applied to each element."""
    fn = DataFunction("MapDataset", f, other_arguments, env)
    source = dataset_of("MapDataset", input_dataset)
    return variant(MapDataset(source, fn, output_types, output_shapes, preserve_cardinality))


def _parallel_map_rule(
    input_dataset: TensorSpec, other_arguments: list[TensorSpec], num_parallel_calls: TensorSpec,
    *, f: FuncAttr, env: Any,
) -> Shape:  # fmt: skip
    _check_parallel_calls(int_value(num_parallel_calls, "num_parallel_calls"))
    return _f_rule(f=f, env=env)


@op("ParallelMapDatasetV2", shape=_parallel_map_rule)
def parallel_map_dataset_v2(
    input_dataset: np.ndarray, other_arguments: list[np.ndarray], num_parallel_calls: np.ndarray,
    *, f: FuncAttr, output_types: list[np.dtype], output_shapes: list[Shape],
    preserve_cardinality: bool, env: Any,
) -> np.ndarray:  # fmt: skip
    """``f`` applied to each element, in order."""
    _check_parallel_calls(scalar_arg("num_parallel_calls", num_parallel_calls))
    fn = DataFunction("ParallelMapDatasetV2", f, other_arguments, env)
    source = dataset_of("ParallelMapDatasetV2", input_dataset)
    return variant(MapDataset(source, fn, output_types, output_shapes, preserve_cardinality))


@op("FilterDataset", shape=_predicate_rule)
def filter_dataset(
    input_dataset: np.ndarray, other_arguments: list[np.ndarray], *, predicate: FuncAttr,
    env: Any,
) -> np.ndarray:  # fmt: skip
    """The elements for which ``predicate`` returns true."""
    fn = DataFunction("FilterDataset", predicate, other_arguments, env)
    return variant(FilterDataset(dataset_of("FilterDataset", input_dataset), fn))


@op("FlatMapDataset", shape=_f_rule)
def flat_map_dataset(
    input_dataset: np.ndarray, other_arguments: list[np.ndarray], *, f: FuncAttr,
    output_types: list[np.dtype], output_shapes: list[Shape], env: Any,
) -> np.ndarray:  # fmt: skip
    """The datasets ``f`` makes of the elements, one after the other."""
    fn = DataFunction("FlatMapDataset", f, other_arguments, env)
    source = dataset_of("FlatMapDataset", input_dataset)
    return variant(FlatMapDataset(source, fn, output_types, output_shapes))


def _interleave_rule(input_dataset: TensorSpec, other_arguments: list[TensorSpec],
                     cycle_length: TensorSpec, block_length: TensorSpec, *, f: FuncAttr,
                     env: Any) -> Shape:  # fmt: skip
    _check_interleave(
        int_value(cycle_length, "cycle_length"), int_value(block_length, "block_length")
    )
    return _f_rule(f=f, env=env)


@op("InterleaveDataset", shape=_interleave_rule)
def interleave_dataset(
    input_dataset: np.ndarray, other_arguments: list[np.ndarray], cycle_length: np.ndarray,
    block_length: np.ndarray, *, f: FuncAttr, output_types: list[np.dtype],
    output_shapes: list[Shape], env: Any,
) -> np.ndarray:  # fmt: skip
    """The datasets ``f`` makes of the elements, ``cycle_length`` at a time, taking
    ``block_length`` elements from each in turn."""
    cycle = scalar_arg("cycle_length", cycle_length)
    block = scalar_arg("block_length", block_length)
    _check_interleave(cycle, block)
    if cycle == _AUTOTUNE:  # TF takes the machine's parallelism
        cycle = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    fn = DataFunction("InterleaveDataset", f, other_arguments, env)
    source = dataset_of("InterleaveDataset", input_dataset)
    return variant(InterleaveDataset(source, fn, output_types, output_shapes, cycle, block))


def _parallel_interleave_rule(
    input_dataset: TensorSpec, other_arguments: list[TensorSpec], cycle_length: TensorSpec,
    block_length: TensorSpec, buffer_output_elements: TensorSpec,
    prefetch_input_elements: TensorSpec, num_parallel_calls: TensorSpec, *, f: FuncAttr,
    env: Any,
) -> Shape:  # fmt: skip
    _check_parallel_calls(int_value(num_parallel_calls, "num_parallel_calls"))
    return _interleave_rule(input_dataset, other_arguments, cycle_length, block_length, f=f,
                            env=env)  # fmt: skip


@op("ParallelInterleaveDatasetV4", shape=_parallel_interleave_rule)
def parallel_interleave_dataset_v4(
    input_dataset: np.ndarray, other_arguments: list[np.ndarray], cycle_length: np.ndarray,
    block_length: np.ndarray, buffer_output_elements: np.ndarray,
    prefetch_input_elements: np.ndarray, num_parallel_calls: np.ndarray, *, f: FuncAttr,
    output_types: list[np.dtype], output_shapes: list[Shape], env: Any,
) -> np.ndarray:  # fmt: skip
    """As InterleaveDataset, in its order."""
    _check_parallel_calls(scalar_arg("num_parallel_calls", num_parallel_calls))
    result: np.ndarray = interleave_dataset(
        input_dataset, other_arguments, cycle_length, block_length, f=f,
        output_types=output_types, output_shapes=output_shapes, env=env,
    )  # fmt: skip
    return result


@op("ScanDataset", shape=_f_rule)
def scan_dataset(
    input_dataset: np.ndarray, initial_state: list[np.ndarray], other_arguments: list[np.ndarray],
    *, f: FuncAttr, output_types: list[np.dtype], output_shapes: list[Shape],
    preserve_cardinality: bool, env: Any,
) -> np.ndarray:  # fmt: skip
    """A running ``f`` over the elements, yielding its outputs."""
    fn = DataFunction("ScanDataset", f, other_arguments, env)
    source = dataset_of("ScanDataset", input_dataset)
    return variant(ScanDataset(source, fn, initial_state, output_types, output_shapes,
                               preserve_cardinality))  # fmt: skip


def _reduce_rule(input_dataset: TensorSpec, initial_state: list[TensorSpec],
                 other_arguments: list[TensorSpec], *, f: FuncAttr,
                 output_shapes: list[Shape], env: Any) -> list[Shape]:  # fmt: skip
    env.function(f.name)
    return list(output_shapes)


@op("ReduceDataset", shape=_reduce_rule)
def reduce_dataset(
    input_dataset: np.ndarray, initial_state: list[np.ndarray], other_arguments: list[np.ndarray],
    *, f: FuncAttr, output_types: list[np.dtype], output_shapes: list[Shape], env: Any,
) -> list[np.ndarray]:  # fmt: skip
    """``state = f(*state, *element)`` over every element; the final state."""
    fn = DataFunction("ReduceDataset", f, other_arguments, env)
    iterator = dataset_of("ReduceDataset", input_dataset).iterate()
    state = list(initial_state)
    while (element := iterator.next()) is not None:
        results = fn(*state, *element)
        if len(results) != len(state):
            raise InvalidArgumentError(
                "The number of components of the initial state and the reduce function "
                f"output does not match. (initial_state={len(state)}, output={len(results)})."
            )
        state = results
    check_structure(output_types, output_shapes, [v.dtype for v in state],
                    [v.shape for v in state])  # fmt: skip
    return state
