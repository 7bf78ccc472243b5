"""The ops that write rows of a tensor to chosen items: TensorListScatter and
TensorListScatterV2 (into a new list), TensorListScatterIntoExistingList.

Row k of ``tensor`` becomes item ``indices[k]``; a later row wins over an earlier one
at the same index. Checks are shared by each kernel and its shape rule.

Where TF differs: ScatterIntoExistingList with a negative index crashes TF's process;
here it is INVALID_ARGUMENT. Like TF, it grows a list whose indices run past its end
with TF's default tensor (an empty float vector), not with uninitialized items, and
checks neither the rows' shape against the list's nor ``max_num_elements``.

>>> made = tensor_list_scatter_v2(np.float32([[1], [2]]), np.int32([2, 0]), np.int32(-1),
...                               np.int32(-1))
>>> [None if item is None else item.tolist() for item in made[()].items]
[[2.0], None, [1.0]]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import shape_str, tf_name
from ..registry import op
from ..specs import Shape, TensorSpec
from .create import check_rows
from .tensor_list import (
    Item,
    TensorList,
    check_length,
    handle,
    handle_rule,
    list_of,
    parse_shape,
    shape_input,
)

__all__ = [
    "tensor_list_scatter",
    "tensor_list_scatter_into_existing_list",
    "tensor_list_scatter_v2",
]

# What TF's ``Tensor()`` is: the filler ScatterIntoExistingList grows a list with.
_DEFAULT_TENSOR = np.zeros((0,), np.float32)


Count = tuple[Shape, np.ndarray | None]
"""ScatterV2's ``num_elements``: its shape, and its value when known."""


def _scatter_checks(
    tensor: Shape, indices: Shape, element_shape: Shape, num_elements: Count | None
) -> int:
    """The checks of Scatter(V2) before the indices' values; the list length asked for."""
    count = -1
    if num_elements is not None:
        count_shape, value = num_elements
        if count_shape is not None and len(count_shape):
            raise InvalidArgumentError("num_elements must be a scalar")
        if value is not None:
            count = int(value)
            if count < -1:
                raise InvalidArgumentError(
                    f"TensorListScatter expects num_elements >= -1, found: {count}"
                )
    check_rows(tensor, element_shape)
    rows = None if tensor is None else tensor[0]
    n = None if indices is None or min(indices, default=0) < 0 else int(np.prod(indices))
    if rows is not None and rows >= 0 and n is not None and n != rows:
        raise InvalidArgumentError(
            f"Invalid number of rows in input tensor. Expected: {n} Actual: {rows}"
        )
    return count


def _scatter(
    tensor: np.ndarray, indices: np.ndarray, element_shape: np.ndarray,
    num_elements: np.ndarray | None,
) -> np.ndarray:  # fmt: skip
    shape = parse_shape(element_shape)
    given = None if num_elements is None else (num_elements.shape, num_elements)
    count = _scatter_checks(tensor.shape, indices.shape, shape, given)
    positions = [int(i) for i in np.ravel(indices)]
    for i in positions:
        if i < 0:
            raise InvalidArgumentError("Indices in TensorListScatter must all be non-negative.")
        if count != -1 and i >= count:
            raise InvalidArgumentError(
                f"TensorListScatter: Trying to scatter at index {i} in list with size {count}"
            )
    length = max(max(positions, default=-1) + 1, count)
    check_length("TensorListScatter", length)
    items: list[Item] = [None] * length
    for row, i in enumerate(positions):
        items[i] = tensor[row, ...]
    return handle(TensorList(tensor.dtype, shape, tuple(items)))


def _scatter_shape(tensor: TensorSpec, indices: TensorSpec, element_shape: TensorSpec) -> Shape:
    _scatter_checks(tensor.shape, indices.shape, shape_input(element_shape), None)
    return ()


@op("TensorListScatter", shape=_scatter_shape)
def tensor_list_scatter(
    tensor: np.ndarray, indices: np.ndarray, element_shape: np.ndarray
) -> np.ndarray:
    """A list as long as the largest index needs, row k of ``tensor`` at ``indices[k]``
    and the other items uninitialized."""
    return _scatter(tensor, indices, element_shape, None)


def _scatter_v2_shape(
    tensor: TensorSpec, indices: TensorSpec, element_shape: TensorSpec, num_elements: TensorSpec
) -> Shape:
    given = (num_elements.shape, num_elements.value)
    _scatter_checks(tensor.shape, indices.shape, shape_input(element_shape), given)
    return ()


@op("TensorListScatterV2", shape=_scatter_v2_shape)
def tensor_list_scatter_v2(
    tensor: np.ndarray, indices: np.ndarray, element_shape: np.ndarray, num_elements: np.ndarray
) -> np.ndarray:
    """TensorListScatter into a list of ``num_elements`` items (-1: as many as the
    largest index needs)."""
    return _scatter(tensor, indices, element_shape, num_elements)


def _into_checks(tensor: Shape, indices: Shape) -> None:
    if tensor is not None and len(tensor) == 0:
        raise InvalidArgumentError(
            f"Tensor must be at least a vector, but saw shape: {shape_str(tensor)}"
        )
    if indices is not None and len(indices) != 1:
        raise InvalidArgumentError(
            f"Expected indices to be a vector, but received shape: {shape_str(indices)}"
        )
    if tensor is not None and indices is not None:
        rows, count = tensor[0], indices[0]
        if min(rows, count) >= 0 and rows != count:
            raise InvalidArgumentError(
                f"Expected len(indices) == tensor.shape[0], but saw: {count} vs. {rows}"
            )


def _into_shape(input_handle: TensorSpec, tensor: TensorSpec, indices: TensorSpec) -> Shape:
    handle_rule(input_handle)
    _into_checks(tensor.shape, indices.shape)
    return ()


@op("TensorListScatterIntoExistingList", shape=_into_shape)
def tensor_list_scatter_into_existing_list(
    input_handle: np.ndarray, tensor: np.ndarray, indices: np.ndarray
) -> np.ndarray:
    """The list with row k of ``tensor`` at ``indices[k]``, grown to reach the largest
    index (see the module doc for what fills the gap)."""
    source = list_of(input_handle)
    if tensor.dtype != source.element_dtype:
        raise InvalidArgumentError(
            f"Invalid data types; input tensor type: {tf_name(tensor.dtype)} list "
            f"element_type: {tf_name(source.element_dtype)}"
        )
    _into_checks(tensor.shape, indices.shape)
    positions: Sequence[int] = [int(i) for i in indices]
    if any(i < 0 for i in positions):
        raise InvalidArgumentError(
            "Indices in TensorListScatterIntoExistingList must all be non-negative."
        )
    items: list[Item] = list(source.items)
    check_length("TensorListScatterIntoExistingList", max(positions, default=-1) + 1)
    grow = max(positions, default=-1) + 1 - len(items)
    items += [_DEFAULT_TENSOR] * grow
    for row, i in enumerate(positions):
        items[i] = tensor[row, ...]
    return handle(source.with_items(items))
