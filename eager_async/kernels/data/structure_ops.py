"""Datasets that rearrange other datasets' elements: ConcatenateDataset, ZipDataset,
RepeatDataset, TakeDataset and SkipDataset.

Which input iterators exist when follows TF (it matters to a reshuffling shuffle
upstream, which draws new seeds for every iterator made of it): take(0), skip(-1) and
repeat(0) make none; a finite repeat makes one more after its last pass, except where
TF's default rewrites at MakeIterator remove it (``repeat(1)`` is dropped as a no-op,
and a repeat right after a shuffle is fused into it).

>>> from eager_async.kernels.data.source_ops import RangeDataset
>>> three = RangeDataset(0, 3, 1, np.dtype(np.int64))
>>> it = RepeatDataset(three, 2).iterate()
>>> [int(it.next()[0]) for _ in range(6)]
[0, 1, 2, 0, 1, 2]
"""

from __future__ import annotations

import contextlib

import numpy as np

from ...errors import EagerError, InvalidArgumentError
from .._checks import tf_name
from ..registry import op
from ..specs import Shape
from .datasets import (
    INFINITE,
    UNKNOWN,
    Dataset,
    Done,
    Element,
    Iterator,
    dataset_of,
    scalar,
    scalar_arg,
    variant,
)
from .shuffle_ops import ShuffleDataset

__all__ = ["ConcatenateDataset", "RepeatDataset", "SkipDataset", "TakeDataset", "ZipDataset"]


class ConcatenateDataset(Dataset):
    """The elements of ``first``, then those of ``second``."""

    def __init__(self, first: Dataset, second: Dataset, shapes: list[Shape]) -> None:
        super().__init__(first.types, shapes)
        self.first, self.second = first, second

    def iterate(self) -> Iterator:
        return _Concatenated(self)

    def cardinality(self) -> int:
        a, b = self.first.cardinality(), self.second.cardinality()
        if INFINITE in (a, b):
            return INFINITE
        if UNKNOWN in (a, b):
            return UNKNOWN
        return a + b


class _Concatenated(Iterator):
    def __init__(self, dataset: ConcatenateDataset) -> None:
        self.dataset = dataset
        self.current = dataset.first.iterate()
        self.on_second = False

    def _next(self) -> Element | None:
        while (element := self.current.next()) is None:
            if self.on_second:
                return None
            self.on_second = True
            self.current = self.dataset.second.iterate()
        return element


class ZipDataset(Dataset):
    """Tuples of one element of each input; ends with the shortest input."""

    def __init__(self, inputs: list[Dataset]) -> None:
        super().__init__(
            [t for ds in inputs for t in ds.types], [s for ds in inputs for s in ds.shapes]
        )
        self.inputs = inputs

    def iterate(self) -> Iterator:
        return _Zipped([ds.iterate() for ds in self.inputs])

    def cardinality(self) -> int:
        result = INFINITE
        for ds in self.inputs:
            n = ds.cardinality()
            if n == UNKNOWN:
                return UNKNOWN
            if n != INFINITE and (result == INFINITE or n < result):
                result = n
        return result


class _Zipped(Iterator):
    """As TF: every input advances once per element, even past a failing one, and when
    one input ends the inputs after it are pulled once more (so caches of zipped
    datasets of one length complete)."""

    def __init__(self, inputs: list[Iterator]) -> None:
        self.inputs = inputs

    def _next(self) -> Element | None:
        error: EagerError | None = None
        parts: list[np.ndarray] = []
        ended = False
        for index, source in enumerate(self.inputs):
            try:
                element = source.next()
            except EagerError as failure:
                error = error or failure
                continue
            if element is None:
                ended = True
                if error is None:
                    for later in self.inputs[index + 1 :]:
                        with contextlib.suppress(EagerError):
                            later.next()
                    break
                continue
            parts += element
        if ended:
            self.inputs = []
        if error is not None:
            raise error
        return None if ended else tuple(parts)


class RepeatDataset(Dataset):
    """The input's elements ``count`` times over (forever when ``count`` < 0)."""

    def __init__(self, input: Dataset, count: int) -> None:
        super().__init__(input.types, input.shapes)
        self.input, self.count = input, count

    def iterate(self) -> Iterator:
        if self.count == 0:
            return Done()
        return _Repeated(self)

    def cardinality(self) -> int:
        n = self.input.cardinality()
        if self.count < 0:
            return 0 if n == 0 else INFINITE
        if self.count == 0:
            return 0
        return n if n in (INFINITE, UNKNOWN) else self.count * n


class _Repeated(Iterator):
    def __init__(self, dataset: RepeatDataset) -> None:
        self.dataset = dataset
        self.current = dataset.input.iterate()
        self.passes = 0
        self.produced = False
        self.extra = dataset.count > 1 and not isinstance(dataset.input, ShuffleDataset)

    def _next(self) -> Element | None:
        ds = self.dataset
        while True:
            element = self.current.next()
            if element is not None:
                self.produced = True
                return element
            self.passes += 1
            if ds.count < 0 and not self.produced:
                return None  # an empty input repeated forever ends at once, as in TF
            self.produced = False
            if 0 <= ds.count <= self.passes and not self.extra:
                return None
            # TF makes the next pass's iterator even after the last pass.
            self.current = ds.input.iterate()
            if 0 <= ds.count <= self.passes:
                return None


class TakeDataset(Dataset):
    """The first ``count`` elements (all of them when ``count`` < 0)."""

    def __init__(self, input: Dataset, count: int) -> None:
        super().__init__(input.types, input.shapes)
        self.input, self.count = input, count

    def iterate(self) -> Iterator:
        return Done() if self.count == 0 else _Taken(self.input.iterate(), self.count)

    def cardinality(self) -> int:
        n = self.input.cardinality()
        if n == UNKNOWN:
            return UNKNOWN
        if n == INFINITE:
            return self.count
        if self.count == INFINITE:
            return n
        return min(n, self.count)  # TF's rule, so take(-5) of 3 elements says -5


class _Taken(Iterator):
    def __init__(self, input: Iterator, count: int) -> None:
        self.input, self.left = input, count

    def _next(self) -> Element | None:
        if self.left == 0:
            return None
        element = self.input.next()
        if element is not None and self.left > 0:
            self.left -= 1
        return element


class SkipDataset(Dataset):
    """The elements after the first ``count`` (none when ``count`` < 0)."""

    def __init__(self, input: Dataset, count: int) -> None:
        super().__init__(input.types, input.shapes)
        self.input, self.count = input, count

    def iterate(self) -> Iterator:
        return Done() if self.count < 0 else _Skipped(self.input.iterate(), self.count)

    def cardinality(self) -> int:
        n = self.input.cardinality()
        if n in (INFINITE, UNKNOWN):
            return n
        return 0 if self.count < 0 else max(0, n - self.count)


class _Skipped(Iterator):
    def __init__(self, input: Iterator, count: int) -> None:
        self.input, self.left = input, count

    def _next(self) -> Element | None:
        while self.left > 0:
            if self.input.next() is None:
                return None
            self.left -= 1
        return self.input.next()


# --- ops ------------------------------------------------------------------------------


@op("ConcatenateDataset", shape=scalar)
def concatenate_dataset(
    input_dataset: np.ndarray, another_dataset: np.ndarray, *, output_shapes: list[Shape]
) -> np.ndarray:
    """The elements of ``input_dataset``, then those of ``another_dataset``."""
    first = dataset_of("ConcatenateDataset", input_dataset)
    second = dataset_of("ConcatenateDataset", another_dataset)
    if first.types != second.types:
        names = ", ".join(map(tf_name, first.types)), ", ".join(map(tf_name, second.types))
        raise InvalidArgumentError(
            "input dataset and dataset to concatenate have different output_types "
            f"[{names[0]}] and [{names[1]}]"
        )
    return variant(ConcatenateDataset(first, second, output_shapes))


@op("ZipDataset", shape=scalar)
def zip_dataset(input_datasets: list[np.ndarray]) -> np.ndarray:
    """Tuples of one element of each input dataset, as long as the shortest."""
    return variant(ZipDataset([dataset_of("ZipDataset", ds) for ds in input_datasets]))


@op("RepeatDataset", shape=scalar)
def repeat_dataset(input_dataset: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The input repeated ``count`` times (-1: forever)."""
    source = dataset_of("RepeatDataset", input_dataset)
    return variant(RepeatDataset(source, scalar_arg("count", count)))


@op("TakeDataset", shape=scalar)
def take_dataset(input_dataset: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The first ``count`` elements (-1: all)."""
    source = dataset_of("TakeDataset", input_dataset)
    return variant(TakeDataset(source, scalar_arg("count", count)))


@op("SkipDataset", shape=scalar)
def skip_dataset(input_dataset: np.ndarray, count: np.ndarray) -> np.ndarray:
    """All but the first ``count`` elements (-1: none)."""
    source = dataset_of("SkipDataset", input_dataset)
    return variant(SkipDataset(source, scalar_arg("count", count)))
