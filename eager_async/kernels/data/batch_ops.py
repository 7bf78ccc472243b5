"""Datasets that group or split elements: BatchDatasetV2 (and ParallelBatchDataset, the
same in the same order), PaddedBatchDatasetV2, UnbatchDataset and WindowDataset (whose
elements are datasets, one per component).

Batching follows TF 2.21's copy, which checks only that each element has as many values
as the first: elements of shapes [2, 3] and [3, 2] batch (as [2, 3] rows), [2] and [3]
do not. A padded batch pads each component to ``padded_shapes`` (-1: the longest in
the batch) with its scalar ``padding_values``.

>>> from eager_async.kernels.data.source_ops import RangeDataset
>>> it = BatchDataset(RangeDataset(0, 5, 1, np.dtype(np.int64)), 2, False, [(-1,)]).iterate()
>>> it.next(), it.next(), it.next(), it.next()
((array([0, 1]),), (array([2, 3]),), (array([4]),), None)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import EagerError, InvalidArgumentError
from .._checks import shape_str, tf_name
from ..registry import op
from ..specs import Shape, TensorSpec
from .datasets import (
    INFINITE,
    UNKNOWN,
    Dataset,
    Element,
    Iterator,
    dataset_of,
    int_value,
    scalar,
    scalar_arg,
    variant,
)
from .source_ops import ListDataset

__all__ = ["BatchDataset", "PaddedBatchDataset", "UnbatchDataset", "WindowDataset"]


def _batches(n: int, size: int, drop_remainder: bool) -> int:
    if n in (INFINITE, UNKNOWN):
        return n
    return n // size + (0 if n % size == 0 or drop_remainder else 1)


class BatchDataset(Dataset):
    """Elements stacked ``size`` at a time (the last batch may be short unless
    ``drop_remainder``)."""

    def __init__(self, input: Dataset, size: int, drop_remainder: bool,
                 shapes: Sequence[Shape]) -> None:  # fmt: skip
        super().__init__(input.types, shapes)
        self.input, self.size, self.drop_remainder = input, size, drop_remainder

    def iterate(self) -> Iterator:
        return _Batched(self, self.input.iterate())

    def cardinality(self) -> int:
        return _batches(self.input.cardinality(), self.size, self.drop_remainder)

    def combine(self, elements: list[Element]) -> Element:
        """One batch of ``elements``."""
        return tuple(_stack(c, [e[c] for e in elements]) for c in range(len(elements[0])))


def _stack(component: int, values: list[np.ndarray]) -> np.ndarray:
    first = values[0]
    for value in values[1:]:
        if value.size != first.size:
            raise InvalidArgumentError(
                "Cannot add tensor to the batch: number of elements does not match. Shapes "
                f"are: [tensor]: {shape_str(value.shape)}, [batch]: {shape_str(first.shape)} "
                f"(component {component})"
            )
    return np.stack([value.reshape(first.shape) for value in values])


class _Batched(Iterator):
    def __init__(self, dataset: BatchDataset, input: Iterator) -> None:
        self.dataset, self.input = dataset, input

    def _next(self) -> Element | None:
        ds = self.dataset
        elements: list[Element] = []
        while len(elements) < ds.size and (element := self.input.next()) is not None:
            elements.append(element)
        if not elements or (ds.drop_remainder and len(elements) < ds.size):
            return None
        return ds.combine(elements)


class PaddedBatchDataset(BatchDataset):
    """A batch whose components are padded to ``padded`` shapes with ``values``."""

    def __init__(self, input: Dataset, size: int, drop_remainder: bool, shapes: Sequence[Shape],
                 padded: list[tuple[int, ...]], values: list[np.ndarray]) -> None:  # fmt: skip
        super().__init__(input, size, drop_remainder, shapes)
        self.padded, self.values = padded, values

    def combine(self, elements: list[Element]) -> Element:
        return tuple(self._pad(c, [e[c] for e in elements]) for c in range(len(self.padded)))

    def _pad(self, component: int, values: list[np.ndarray]) -> np.ndarray:
        padded = self.padded[component]
        for value in values:
            if value.ndim != len(padded):
                raise InvalidArgumentError(
                    "All elements in a batch must have the same rank as the padded shape for "
                    f"component{component}: expected rank {len(padded)} but got element with "
                    f"rank {value.ndim}"
                )
        dims = tuple(
            max(v.shape[d] for v in values) if size < 0 else size for d, size in enumerate(padded)
        )
        out = np.full((len(values), *dims), self.values[component], dtype=values[0].dtype)
        for row, value in enumerate(values):
            if any(n > d for n, d in zip(value.shape, dims, strict=True)):
                # TF answers DATA_LOSS here, a status eager_async's error tree lacks.
                raise InvalidArgumentError(
                    "Attempted to pad to a smaller size than the input element: element of "
                    f"shape {shape_str(value.shape)}, padded shape {shape_str(dims)}"
                )
            corner: tuple[int | slice, ...] = (row, *(slice(0, n) for n in value.shape))
            out[corner] = value
        return out


class UnbatchDataset(Dataset):
    """The rows of each element (split along axis 0 of every component)."""

    def __init__(self, input: Dataset, shapes: Sequence[Shape]) -> None:
        super().__init__(input.types, shapes)
        self.input = input
        # TF counts rows only when it knows a batch dimension statically (the first).
        dims = [s[0] for s in input.shapes if s and s[0] >= 0]
        self.rows = dims[0] if dims else None

    def iterate(self) -> Iterator:
        return _Unbatched(self.input.iterate())

    def cardinality(self) -> int:
        n = self.input.cardinality()
        if n in (INFINITE, UNKNOWN):
            return n
        return UNKNOWN if self.rows is None else n * self.rows


class _Unbatched(Iterator):
    def __init__(self, input: Iterator) -> None:
        self.input = input
        self.batch: Element = ()
        self.index = self.rows = 0

    def _next(self) -> Element | None:
        while self.index >= self.rows:
            batch = self.input.next()
            if batch is None:
                return None
            if any(c.ndim == 0 for c in batch):
                raise InvalidArgumentError(
                    "Input element must have a non-scalar value in each component."
                )
            for index, c in enumerate(batch):
                if c.shape[0] != batch[0].shape[0]:
                    raise InvalidArgumentError(
                        "Input element must have the same batch size in each component. "
                        f"Component 0 had size {batch[0].shape[0]} but component {index} had "
                        f"size, {c.shape[0]}."
                    )
            self.batch, self.index, self.rows = batch, 0, batch[0].shape[0]
        row = tuple(c[self.index, ...] for c in self.batch)
        self.index += 1
        return row


class WindowDataset(Dataset):
    """Windows of ``size`` elements taken every ``stride``-th, starting every ``shift``
    elements; each window is one dataset per component."""

    def __init__(self, input: Dataset, size: int, shift: int, stride: int,
                 drop_remainder: bool) -> None:  # fmt: skip
        super().__init__([np.dtype(object)] * len(input.types), [()] * len(input.types))
        self.input = input
        self.size, self.shift, self.stride = size, shift, stride
        self.drop_remainder = drop_remainder

    def iterate(self) -> Iterator:
        return _Windows(self, self.input.iterate())

    def cardinality(self) -> int:
        n = self.input.cardinality()
        if n in (INFINITE, UNKNOWN):
            return n
        if self.drop_remainder:
            rest = n - ((self.size - 1) * self.stride + 1)
            return 0 if rest < 0 else rest // self.shift + 1
        return n // self.shift + (0 if n % self.shift == 0 else 1)


class _Windows(Iterator):
    def __init__(self, dataset: WindowDataset, input: Iterator) -> None:
        self.dataset = dataset
        self.input: Iterator | None = input
        self.buffer: list[Element] = []

    def _next(self) -> Element | None:
        ds = self.dataset
        target = (ds.size - 1) * ds.stride + 1
        while self.input is not None and len(self.buffer) < target:
            element = self.input.next()
            if element is None:
                self.input = None
            else:
                self.buffer.append(element)
        if not self.buffer or (ds.drop_remainder and len(self.buffer) < target):
            return None
        window = self.buffer[:: ds.stride][: ds.size]
        if ds.shift >= len(self.buffer):
            for _ in range(ds.shift - len(self.buffer)):
                try:  # as TF: elements skipped over are dropped, failures with them
                    if self.input is None or self.input.next() is None:
                        self.input = None
                except EagerError:
                    pass
            self.buffer = []
        else:
            del self.buffer[: ds.shift]
        source = ds.input
        return tuple(
            variant(ListDataset([(e[c],) for e in window], [source.types[c]], [source.shapes[c]]))
            for c in range(len(source.types))
        )


# --- checks shared by kernels and shape rules -------------------------------------------


def _check_batch_size(size: int | None) -> None:
    if size is not None and size <= 0:
        raise InvalidArgumentError("Batch size must be greater than zero.")


def _check_parallel_calls(value: int | None) -> None:
    if value is not None and value <= 0 and value != -1:  # -1: AUTOTUNE
        raise InvalidArgumentError("num_parallel_calls must be greater than zero.")


def _check_window(size: int | None, shift: int | None, stride: int | None) -> None:
    for name, value in (("size", size), ("shift", shift), ("stride", stride)):
        if value is not None and value <= 0:
            raise InvalidArgumentError(f"Window {name} must be greater than zero.")


def _check_padding(padded_shapes: Sequence[Shape], padding_values: Sequence[Shape]) -> None:
    if any(shape is not None and len(shape) != 1 for shape in padded_shapes):
        raise InvalidArgumentError("All padded shapes must be vectors")
    if any(shape is not None and len(shape) != 0 for shape in padding_values):
        raise InvalidArgumentError("All padding values must be scalars")


# --- ops ------------------------------------------------------------------------------


def _batch_rule(input_dataset: TensorSpec, batch_size: TensorSpec, drop_remainder: TensorSpec,
                **attrs: Any) -> Shape:  # fmt: skip
    _check_batch_size(int_value(batch_size, "batch_size"))
    return ()


@op("BatchDatasetV2", shape=_batch_rule)
def batch_dataset_v2(
    input_dataset: np.ndarray, batch_size: np.ndarray, drop_remainder: np.ndarray, *,
    output_shapes: list[Shape],
) -> np.ndarray:  # fmt: skip
    """Elements stacked ``batch_size`` at a time."""
    size = scalar_arg("batch_size", batch_size)
    _check_batch_size(size)
    drop = scalar_arg("drop_remainder", drop_remainder)
    source = dataset_of("BatchDatasetV2", input_dataset)
    return variant(BatchDataset(source, size, drop, output_shapes))


def _parallel_batch_rule(
    input_dataset: TensorSpec, batch_size: TensorSpec, num_parallel_calls: TensorSpec,
    drop_remainder: TensorSpec, **attrs: Any,
) -> Shape:  # fmt: skip
    _check_batch_size(int_value(batch_size, "batch_size"))
    _check_parallel_calls(int_value(num_parallel_calls, "num_parallel_calls"))
    return ()


@op("ParallelBatchDataset", shape=_parallel_batch_rule)
def parallel_batch_dataset(
    input_dataset: np.ndarray, batch_size: np.ndarray, num_parallel_calls: np.ndarray,
    drop_remainder: np.ndarray, *, output_shapes: list[Shape],
) -> np.ndarray:  # fmt: skip
    """As BatchDatasetV2."""
    _check_parallel_calls(scalar_arg("num_parallel_calls", num_parallel_calls))
    result: np.ndarray = batch_dataset_v2(input_dataset, batch_size, drop_remainder,
                                          output_shapes=output_shapes)  # fmt: skip
    return result


def _padded_batch_rule(
    input_dataset: TensorSpec, batch_size: TensorSpec, padded_shapes: list[TensorSpec],
    padding_values: list[TensorSpec], drop_remainder: TensorSpec, **attrs: Any,
) -> Shape:  # fmt: skip
    _check_batch_size(int_value(batch_size, "batch_size"))
    _check_padding([s.shape for s in padded_shapes], [s.shape for s in padding_values])
    return ()


@op("PaddedBatchDatasetV2", shape=_padded_batch_rule)
def padded_batch_dataset_v2(
    input_dataset: np.ndarray, batch_size: np.ndarray, padded_shapes: list[np.ndarray],
    padding_values: list[np.ndarray], drop_remainder: np.ndarray, *,
    output_shapes: list[Shape],
) -> np.ndarray:  # fmt: skip
    """Elements padded and stacked ``batch_size`` at a time."""
    size = scalar_arg("batch_size", batch_size)
    _check_batch_size(size)
    drop = scalar_arg("drop_remainder", drop_remainder)
    _check_padding([s.shape for s in padded_shapes], [v.shape for v in padding_values])
    source = dataset_of("PaddedBatchDatasetV2", input_dataset)
    if len(padded_shapes) != len(source.types):
        raise InvalidArgumentError(
            f"Number of padded shapes ({len(padded_shapes)}) must match the number of "
            f"components in the input dataset's elements ({len(source.types)})"
        )
    for index, (value, dtype) in enumerate(zip(padding_values, source.types, strict=True)):
        if value.dtype != dtype:
            raise InvalidArgumentError(
                f"Mismatched type between padding value {index} and input dataset's "
                f"component {index}: {tf_name(value.dtype)} vs. {tf_name(dtype)}"
            )
    padded = [tuple(int(d) for d in s) for s in padded_shapes]
    return variant(PaddedBatchDataset(source, size, drop,
                                      output_shapes, padded, list(padding_values)))  # fmt: skip


@op("UnbatchDataset", shape=scalar)
def unbatch_dataset(input_dataset: np.ndarray, *, output_shapes: list[Shape]) -> np.ndarray:
    """The rows of every element."""
    return variant(UnbatchDataset(dataset_of("UnbatchDataset", input_dataset), output_shapes))


def _window_rule(
    input_dataset: TensorSpec, size: TensorSpec, shift: TensorSpec, stride: TensorSpec,
    drop_remainder: TensorSpec, **attrs: Any,
) -> Shape:  # fmt: skip
    _check_window(
        int_value(size, "size"), int_value(shift, "shift"), int_value(stride, "stride")
    )
    return ()


@op("WindowDataset", shape=_window_rule)
def window_dataset(
    input_dataset: np.ndarray, size: np.ndarray, shift: np.ndarray, stride: np.ndarray,
    drop_remainder: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Windows of elements, each a dataset per component."""
    sizes = (scalar_arg("size", size), scalar_arg("shift", shift), scalar_arg("stride", stride))
    _check_window(*sizes)
    drop = scalar_arg("drop_remainder", drop_remainder)
    source = dataset_of("WindowDataset", input_dataset)
    return variant(WindowDataset(source, *sizes, drop))
