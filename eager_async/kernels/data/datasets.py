"""tf.data's datasets and iterators as this worker keeps them: a dataset op's DT_VARIANT
output holds a ``Dataset``, an iterator resource the ``Iterator`` it made.

A ``Dataset`` is a recipe, immutable but for the state TF also shares among its
iterators (a reshuffling shuffle's seed generator, a cache). ``iterate()`` is TF's
MakeIterator and does at once what TF's iterators do when they are made (make their input
iterators, draw a shuffle's seeds), so that shared state sees TF's order of events.
An ``Iterator`` pulls lazily: ``next()`` gives the next element, a tuple of arrays (one
per component), or None at the end, and None ever after. An error leaves it usable, as
in TF: a map whose function fails on one element goes on with the next one.

Kernels run one op at a time per context, so nothing here locks.

>>> from eager_async.kernels.data.source_ops import RangeDataset
>>> it = RangeDataset(0, 2, 1, INT64).iterate()
>>> it.next(), it.next(), it.next()
((array(0),), (array(1),), None)
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

from ...attrs import FuncAttr
from ...errors import EagerError, InvalidArgumentError, OutOfRangeError
from .._checks import shape_str, tf_name
from ..specs import Shape, TensorSpec

__all__ = [
    "INFINITE",
    "INT64",
    "UNKNOWN",
    "DataFunction",
    "Dataset",
    "Done",
    "Element",
    "Iterator",
    "check_element",
    "check_structure",
    "compatible",
    "dataset_of",
    "held",
    "int_value",
    "object_of",
    "object_or_dummy",
    "scalar",
    "scalar_arg",
    "variant",
]

INFINITE = -1
"""TF's ``kInfiniteCardinality``."""
UNKNOWN = -2
"""TF's ``kUnknownCardinality``."""
INT64 = np.dtype(np.int64)

Element = tuple[np.ndarray, ...]
T = TypeVar("T")


class Iterator(ABC):
    """One pass over a dataset; ``next()`` gives elements, then None for good."""

    _done = False

    def next(self) -> Element | None:
        """The next element, or None once the sequence has ended."""
        if self._done:
            return None
        element = self._next()
        if element is None:
            self._done = True
        return element

    @abstractmethod
    def _next(self) -> Element | None:
        """The next element or None; called until it answers None."""


class Dataset(ABC):
    """A dataset: its element structure (``types``, ``shapes``: the op's
    ``output_types``/``output_shapes`` attrs) and a way to iterate it."""

    def __init__(self, types: Sequence[np.dtype], shapes: Sequence[Shape]) -> None:
        self.types = tuple(types)
        self.shapes = tuple(shapes)

    @abstractmethod
    def iterate(self) -> Iterator:
        """A new iterator (TF's MakeIterator)."""

    def cardinality(self) -> int:
        """How many elements: a count, ``INFINITE`` or ``UNKNOWN``, as TF computes it."""
        return UNKNOWN


class Done(Iterator):
    """An iterator with nothing to give."""

    def _next(self) -> Element | None:
        return None


class DataFunction:
    """A dataset op's function attr with its captured inputs (``other_arguments``),
    resolved in the context the op ran in; calls run it there when an iterator pulls.

    Errors get TF's prefix naming the transformation; ``OutOfRangeError`` passes as is,
    since for some transformations it means "stop".
    """

    def __init__(self, op: str, func: FuncAttr, captured: Sequence[np.ndarray], env: Any) -> None:
        self.op = op
        self.func = func
        self.captured = tuple(captured)
        self._env = env
        self._kernel = env.function(func.name)

    def instance(self) -> DataFunction:
        """The function as one iterator runs it: TF instantiates a dataset's functions
        per iterator, so their stateful kernels (a seeded RandomShuffle) start afresh."""
        return DataFunction(self.op, self.func, self.captured, self._env.instance())

    def __call__(self, *args: np.ndarray) -> list[np.ndarray]:
        try:
            results: list[np.ndarray] = self._kernel.run([*args, *self.captured], self.func.attrs)
        except EagerError as error:
            if isinstance(error, OutOfRangeError):
                raise
            raise type(error)(
                f"Error in user-defined function passed to {self.op} transformation: "
                f"{error.message}"
            ) from error
        return results


def variant(value: object) -> np.ndarray:
    """A 0-d object array holding ``value``: a DT_VARIANT or DT_RESOURCE tensor."""
    tensor = np.empty((), dtype=object)
    tensor[()] = value
    return tensor


def held(tensor: np.ndarray) -> object:
    """The object a 0-d DT_VARIANT or DT_RESOURCE tensor holds (None for other shapes)."""
    return tensor.item() if tensor.ndim == 0 else None


def object_of(op: str, tensor: np.ndarray, kind: type[T], what: str) -> T:
    """The ``kind`` object a variant or resource tensor holds; INVALID_ARGUMENT naming
    ``what`` was expected otherwise."""
    item = held(tensor)
    if not isinstance(item, kind):
        found = type(item).__name__ if tensor.ndim == 0 else f"tensor of shape {tensor.shape}"
        raise InvalidArgumentError(f"{op}: expected {what}, got a {found}")
    return item


def object_or_dummy(op: str, tensor: np.ndarray, kind: type[T], dummy: type, what: str) -> T | None:
    """What ``object_of`` gives, or None for the handle a Dummy* op made (``dummy``),
    which asks the dataset to keep a ``kind`` object of its own."""
    if isinstance(held(tensor), dummy):
        return None
    return object_of(op, tensor, kind, what)


def dataset_of(op: str, tensor: np.ndarray) -> Dataset:
    """The dataset a DT_VARIANT input holds, with TF's message when it holds none."""
    item = held(tensor)
    if not isinstance(item, Dataset):
        raise InvalidArgumentError(
            f"Tensor must be a Dataset object. {op} got a {type(item).__name__} "
            "where it takes the output of a dataset op"
        )
    return item


def scalar_arg(name: str, tensor: np.ndarray) -> Any:
    """The value of the scalar input ``name`` (TF's ``ParseScalarArgument``): an int or
    a bool; INVALID_ARGUMENT for a tensor of another shape."""
    if tensor.ndim != 0:
        raise InvalidArgumentError(f"{name} must be a scalar, got shape {shape_str(tensor.shape)}")
    return tensor.item()


def int_value(spec: TensorSpec, name: str) -> int | None:
    """The value of the scalar int input ``name`` a shape rule may read, when known; its
    rank is checked as soon as it is known."""
    if spec.shape is not None and len(spec.shape) != 0:
        raise InvalidArgumentError(f"{name} must be a scalar, got shape {shape_str(spec.shape)}")
    return None if spec.value is None else int(spec.value)


def scalar(*specs: Any, **attrs: Any) -> Shape:
    """The shape rule of ops with one scalar output (a dataset, a resource, a count)."""
    return ()


def compatible(declared: Shape, actual: Shape) -> bool:
    """Whether ``actual`` may be a shape of ``declared`` (-1 dims and None match all)."""
    if declared is None or actual is None:
        return True
    return len(declared) == len(actual) and all(
        d < 0 or a < 0 or d == a for d, a in zip(declared, actual, strict=True)
    )


def check_structure(
    types: Sequence[np.dtype], shapes: Sequence[Shape],
    got_types: Sequence[np.dtype], got_shapes: Sequence[Shape],
) -> None:  # fmt: skip
    """TF's checks that a structure (or an element) matches the declared one."""
    if len(types) != len(got_types):
        raise InvalidArgumentError(
            f"Number of components does not match: expected {len(types)} types but got "
            f"{len(got_types)}."
        )
    for index, (want, got) in enumerate(zip(types, got_types, strict=True)):
        if want != got:
            raise InvalidArgumentError(
                f"Data type mismatch at component {index}: expected {tf_name(want)} but got "
                f"{tf_name(got)}."
            )
    if len(shapes) != len(got_shapes):
        raise InvalidArgumentError(
            f"Number of components does not match: expected {len(shapes)} shapes but got "
            f"{len(got_shapes)}."
        )
    for index, (declared, shape) in enumerate(zip(shapes, got_shapes, strict=True)):
        if not compatible(declared, shape):
            raise InvalidArgumentError(
                f"Incompatible shapes at component {index}: expected {shape_str(declared)} "
                f"but got {shape_str(shape)}."
            )


def check_element(types: Sequence[np.dtype], shapes: Sequence[Shape], element: Element) -> None:
    """``element`` has the declared dtypes and shapes, or INVALID_ARGUMENT as in TF."""
    check_structure(types, shapes, [a.dtype for a in element], [a.shape for a in element])
