"""Iterators: AnonymousIteratorV3 (and V2, with a deleter) make a DT_RESOURCE holding an
``IteratorResource``; MakeIterator starts a pass over a dataset in it; IteratorGetNext
(and IteratorGetNextSync) pull the next element, OUT_OF_RANGE "End of sequence" at the
end and ever after, as TF; IteratorGetNextAsOptional gives an optional instead.
DeleteIterator frees nothing: the iterator lives as long as a handle to it, as with
TF's eager (reference-counted) handles.

Each iterator is independent; MakeIterator again on the same handle starts over.

>>> from eager_async.kernels.data.source_ops import range_dataset
>>> it = anonymous_iterator_v3(output_types=[np.dtype(np.int64)], output_shapes=[()])
>>> make_iterator(range_dataset(np.int64(0), np.int64(1), np.int64(1),
...               output_types=[np.dtype(np.int64)]), it)
>>> iterator_get_next(it, output_types=[np.dtype(np.int64)], output_shapes=[()])
[array(0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import FailedPreconditionError, OutOfRangeError
from ..registry import no_outputs, op
from ..specs import Shape, TensorSpec
from .datasets import (
    Dataset,
    Element,
    Iterator,
    check_element,
    check_structure,
    dataset_of,
    object_of,
    scalar,
    variant,
)
from .optional_ops import Optional, check_optional_value

__all__ = ["IteratorResource"]


class IteratorResource:
    """An iterator handle's state: the element structure it was made for and, once
    MakeIterator ran, the pass it pulls from."""

    def __init__(self, types: Sequence[np.dtype], shapes: Sequence[Shape]) -> None:
        self.types, self.shapes = tuple(types), tuple(shapes)
        self.current: Iterator | None = None

    def start(self, dataset: Dataset) -> None:
        """Start a new pass over ``dataset`` (TF's MakeIterator)."""
        check_structure(self.types, self.shapes, dataset.types, dataset.shapes)
        self.current = dataset.iterate()

    def next(self) -> Element | None:
        """The next element, None at the end; FAILED_PRECONDITION before ``start``."""
        if self.current is None:
            raise FailedPreconditionError(
                "GetNext() failed because the iterator has not been initialized. Ensure that "
                "you have run the initializer operation for this iterator before getting the "
                "next element."
            )
        return self.current.next()


class _Deleter:
    """What AnonymousIteratorV2's ``deleter`` holds."""


def _iterator(op_name: str, handle: np.ndarray) -> IteratorResource:
    return object_of(op_name, handle, IteratorResource,
                     "an iterator (the output of AnonymousIteratorV3)")  # fmt: skip


@op("AnonymousIteratorV3", shape=scalar)
def anonymous_iterator_v3(
    *, output_types: list[np.dtype], output_shapes: list[Shape]
) -> np.ndarray:
    """A new iterator for elements of this structure."""
    return variant(IteratorResource(output_types, output_shapes))


def _v2_rule(**attrs: Any) -> list[Shape]:
    return [(), ()]


@op("AnonymousIteratorV2", shape=_v2_rule)
def anonymous_iterator_v2(
    *, output_types: list[np.dtype], output_shapes: list[Shape]
) -> tuple[np.ndarray, np.ndarray]:
    """A new iterator and its deleter."""
    return variant(IteratorResource(output_types, output_shapes)), variant(_Deleter())



@op("MakeIterator", shape=no_outputs)
def make_iterator(dataset: np.ndarray, iterator: np.ndarray) -> None:
    """Start ``iterator`` over ``dataset``."""
    _iterator("MakeIterator", iterator).start(dataset_of("MakeIterator", dataset))


@op("DeleteIterator", shape=no_outputs)
def delete_iterator(handle: np.ndarray, deleter: np.ndarray) -> None:
    """Nothing to free (see the module docstring)."""
    _iterator("DeleteIterator", handle)


def _get_next_rule(iterator: TensorSpec, *, output_shapes: list[Shape]) -> list[Shape]:
    return list(output_shapes)


def _get_next(
    op_name: str, iterator: np.ndarray, types: list[np.dtype], shapes: list[Shape]
) -> list[np.ndarray]:
    element = _iterator(op_name, iterator).next()
    if element is None:
        raise OutOfRangeError("End of sequence")
    check_element(types, shapes, element)
    return list(element)


@op("IteratorGetNext", shape=_get_next_rule)
def iterator_get_next(
    iterator: np.ndarray, *, output_types: list[np.dtype], output_shapes: list[Shape]
) -> list[np.ndarray]:
    """The next element; OUT_OF_RANGE "End of sequence" after the last."""
    return _get_next("IteratorGetNext", iterator, output_types, output_shapes)


@op("IteratorGetNextSync", shape=_get_next_rule)
def iterator_get_next_sync(
    iterator: np.ndarray, *, output_types: list[np.dtype], output_shapes: list[Shape]
) -> list[np.ndarray]:
    """As IteratorGetNext."""
    return _get_next("IteratorGetNextSync", iterator, output_types, output_shapes)


@op("IteratorGetNextAsOptional", shape=scalar)
def iterator_get_next_as_optional(
    iterator: np.ndarray, *, output_types: list[np.dtype], output_shapes: list[Shape]
) -> np.ndarray:
    """The next element as an optional; an empty one after the last."""
    element = _iterator("IteratorGetNextAsOptional", iterator).next()
    if element is not None:
        check_optional_value(output_types, output_shapes, element)
    return variant(Optional(element))
