"""Datasets made from tensors: TensorDataset (one element), TensorSliceDataset (the rows
of its components) and RangeDataset (``range(start, stop, step)``).

>>> ds = tensor_slice_dataset([np.arange(4).reshape(2, 2)], output_shapes=[(2,)])
>>> ds[()].iterate().next()
(array([0, 1]),)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import InvalidArgumentError
from ..registry import op
from ..specs import Shape, TensorSpec
from .datasets import (
    Dataset,
    Element,
    Iterator,
    check_structure,
    int_value,
    scalar_arg,
    variant,
)

__all__ = ["ListDataset", "RangeDataset", "TensorDataset", "TensorSliceDataset"]


class TensorDataset(Dataset):
    """One element: the components themselves."""

    def __init__(self, components: Sequence[np.ndarray], shapes: Sequence[Shape]) -> None:
        super().__init__([c.dtype for c in components], shapes)
        self.components = tuple(components)

    def iterate(self) -> Iterator:
        return _Rows(self.components, None)

    def cardinality(self) -> int:
        return 1


class TensorSliceDataset(Dataset):
    """One element per row (index along axis 0) of the components."""

    def __init__(self, components: Sequence[np.ndarray], shapes: Sequence[Shape]) -> None:
        super().__init__([c.dtype for c in components], shapes)
        self.components = tuple(components)

    def iterate(self) -> Iterator:
        return _Rows(self.components, self.cardinality())

    def cardinality(self) -> int:
        return int(self.components[0].shape[0])


class _Rows(Iterator):
    """The components once (``rows`` None) or row by row."""

    def __init__(self, components: tuple[np.ndarray, ...], rows: int | None) -> None:
        self.components = components
        self.rows = rows
        self.index = 0

    def _next(self) -> Element | None:
        if self.rows is None:
            if self.index:
                return None
            self.index = 1
            return self.components
        if self.index >= self.rows:
            return None
        # [i, ...] keeps a 0-d row an ndarray (a plain [i] would give a NumPy scalar).
        row = tuple(c[self.index, ...] for c in self.components)
        self.index += 1
        return row


class ListDataset(Dataset):
    """Elements held in a list (a window's, a filled cache's)."""

    def __init__(self, elements: Sequence[Element], types: Sequence[np.dtype],
                 shapes: Sequence[Shape]) -> None:  # fmt: skip
        super().__init__(types, shapes)
        self.elements = elements

    def iterate(self) -> Iterator:
        return _Listed(self.elements)

    def cardinality(self) -> int:
        return len(self.elements)


class _Listed(Iterator):
    def __init__(self, elements: Sequence[Element]) -> None:
        self.elements, self.index = elements, 0

    def _next(self) -> Element | None:
        if self.index >= len(self.elements):
            return None
        self.index += 1
        return self.elements[self.index - 1]


class RangeDataset(Dataset):
    """``start, start + step, ...`` up to ``stop`` (excluded), as ``dtype`` scalars."""

    def __init__(self, start: int, stop: int, step: int, dtype: np.dtype) -> None:
        super().__init__([dtype], [()])
        self.start, self.stop, self.step = start, stop, step

    def iterate(self) -> Iterator:
        return _Counter(self)

    def cardinality(self) -> int:
        if self.step > 0:
            return max(0, (self.stop - self.start - 1) // self.step + 1)
        return max(0, (self.start - self.stop - 1) // -self.step + 1)


class _Counter(Iterator):
    def __init__(self, dataset: RangeDataset) -> None:
        self.dataset = dataset
        self.value = dataset.start

    def _next(self) -> Element | None:
        ds = self.dataset
        if (ds.step > 0 and self.value >= ds.stop) or (ds.step < 0 and self.value <= ds.stop):
            return None
        element = (np.array(self.value, dtype=ds.types[0]),)
        self.value += ds.step
        return element


# --- checks, shared by kernels and shape rules ------------------------------------------


def _check_slices(shapes: Sequence[Shape]) -> None:
    if any(shape is not None and len(shape) == 0 for shape in shapes):
        raise InvalidArgumentError(
            "All components must be at least 1-dimensional: TensorSliceDataset slices "
            "each component along its first axis"
        )
    rows = {shape[0] for shape in shapes if shape is not None and shape[0] >= 0}
    if len(rows) > 1:
        raise InvalidArgumentError(
            "All components must have the same size in the 0th dimension; got sizes "
            f"{sorted(rows)}"
        )


def _check_step(step: int | None) -> None:
    if step == 0:
        raise InvalidArgumentError("step must be a non-zero integer.")


# --- ops ------------------------------------------------------------------------------


def _check_declared(shapes: Sequence[Shape], declared: Sequence[Shape]) -> None:
    """The components' (or rows') shapes fit ``output_shapes``; TF's message names the
    actual shape first."""
    types = [np.dtype(object)] * len(shapes)
    check_structure(types, shapes, types, declared)


def _tensor_rule(components: list[TensorSpec], *, output_shapes: list[Shape]) -> Shape:
    _check_declared([spec.shape for spec in components], output_shapes)
    return ()


@op("TensorDataset", shape=_tensor_rule)
def tensor_dataset(components: list[np.ndarray], *, output_shapes: list[Shape]) -> np.ndarray:
    """A dataset of one element, ``components``."""
    _check_declared([c.shape for c in components], output_shapes)
    return variant(TensorDataset(components, output_shapes))


def _rows(shapes: Sequence[Shape]) -> list[Shape]:
    _check_slices(shapes)
    return [None if shape is None else shape[1:] for shape in shapes]


def _slices_rule(components: list[TensorSpec], *, output_shapes: list[Shape]) -> Shape:
    _check_declared(_rows([spec.shape for spec in components]), output_shapes)
    return ()


@op("TensorSliceDataset", shape=_slices_rule)
def tensor_slice_dataset(
    components: list[np.ndarray], *, output_shapes: list[Shape]
) -> np.ndarray:
    """A dataset of the rows of ``components``."""
    _check_declared(_rows([c.shape for c in components]), output_shapes)
    return variant(TensorSliceDataset(components, output_shapes))


def _range_rule(start: TensorSpec, stop: TensorSpec, step: TensorSpec, **attrs: object) -> Shape:
    _check_step(int_value(step, "step"))
    return ()


@op("RangeDataset", shape=_range_rule)
def range_dataset(
    start: np.ndarray, stop: np.ndarray, step: np.ndarray, *, output_types: list[np.dtype]
) -> np.ndarray:
    """``range(start, stop, step)``, cast to ``output_types[0]``."""
    bounds = scalar_arg("start", start), scalar_arg("stop", stop), scalar_arg("step", step)
    _check_step(bounds[2])
    if len(output_types) != 1:
        raise InvalidArgumentError(
            f"RangeDataset yields one component, but output_types names {len(output_types)}"
        )
    return variant(RangeDataset(*bounds, output_types[0]))
