"""The ops that make a list: EmptyTensorList, TensorListReserve (uninitialized items),
TensorListFromTensor (one item per row) and TensorListSplit (one item per run of rows).

Each check is shared by the kernel and its shape rule, in TF's order and with its
messages; the rule sees only what is known before the op runs.

>>> made = tensor_list_from_tensor(np.float32([[1, 2], [3, 4]]), np.int32(-1))
>>> [item.tolist() for item in made[()].items]
[[1.0, 2.0], [3.0, 4.0]]
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import shape_str
from ..registry import op
from ..specs import Shape, TensorSpec
from .tensor_list import (
    TensorList,
    check_length,
    compatible,
    handle,
    parse_shape,
    shape_input,
)

__all__ = [
    "check_rows",
    "empty_tensor_list",
    "tensor_list_from_tensor",
    "tensor_list_reserve",
    "tensor_list_split",
]


def _max_num_elements(shape: Shape) -> None:
    if shape is not None and len(shape):
        raise InvalidArgumentError(
            f"max_num_elements expected to be a scalar but got shape: {shape_str(shape)}"
        )


def _empty_shape(element_shape: TensorSpec, max_num_elements: TensorSpec) -> Shape:
    _max_num_elements(max_num_elements.shape)
    shape_input(element_shape)
    return ()


@op("EmptyTensorList", shape=_empty_shape)
def empty_tensor_list(
    element_shape: np.ndarray, max_num_elements: np.ndarray, *, element_dtype: np.dtype
) -> np.ndarray:
    """A list of no items; PushBack refuses to grow it past ``max_num_elements``
    (-1: no limit)."""
    _max_num_elements(max_num_elements.shape)
    limit = int(max_num_elements)
    return handle(TensorList(element_dtype, parse_shape(element_shape), (), limit))


def _reserve_count(shape: Shape, value: np.ndarray | None) -> None:
    if shape is not None and len(shape):
        raise InvalidArgumentError(
            f"The num_elements to reserve must be a tensor size 1, but got {shape_str(shape)}"
        )
    if value is not None and int(value) < 0:
        raise InvalidArgumentError(
            f"The num_elements to reserve must be a non negative number, but got {int(value)}"
        )
    if value is not None:
        check_length("TensorListReserve", int(value))


def _reserve_shape(element_shape: TensorSpec, num_elements: TensorSpec) -> Shape:
    shape_input(element_shape)
    _reserve_count(num_elements.shape, num_elements.value)
    return ()


@op("TensorListReserve", shape=_reserve_shape)
def tensor_list_reserve(
    element_shape: np.ndarray, num_elements: np.ndarray, *, element_dtype: np.dtype
) -> np.ndarray:
    """A list of ``num_elements`` uninitialized items."""
    shape = parse_shape(element_shape)
    _reserve_count(num_elements.shape, num_elements)
    return handle(TensorList(element_dtype, shape, (None,) * int(num_elements)))


def check_rows(tensor: Shape, element_shape: Shape) -> None:
    """A tensor cut into items by its rows: at least a vector, its rows of a shape
    compatible with the list's element shape."""
    if tensor is not None and len(tensor) == 0:
        raise InvalidArgumentError(
            f"Tensor must be at least a vector, but saw shape: {shape_str(tensor)}"
        )
    rows = None if tensor is None else tensor[1:]
    if not compatible(element_shape, rows):
        raise InvalidArgumentError(
            f"Specified a list with shape {shape_str(element_shape)} from a tensor with "
            f"shape {shape_str(rows)}"
        )


def _from_tensor_shape(tensor: TensorSpec, element_shape: TensorSpec) -> Shape:
    check_rows(tensor.shape, shape_input(element_shape))
    return ()


@op("TensorListFromTensor", shape=_from_tensor_shape)
def tensor_list_from_tensor(tensor: np.ndarray, element_shape: np.ndarray) -> np.ndarray:
    """A list whose items are the rows of ``tensor``."""
    shape = parse_shape(element_shape)
    check_rows(tensor.shape, shape)
    return handle(
        TensorList(tensor.dtype, shape, tuple(tensor[i, ...] for i in range(len(tensor))))
    )


def _split_checks(tensor: Shape, element_shape: Shape, lengths: Shape) -> None:
    if element_shape is not None and len(element_shape) == 0:
        raise InvalidArgumentError(
            "TensorListSplit requires element_shape to be at least of rank 1, but saw: "
            f"{shape_str(element_shape)}"
        )
    if tensor is not None and len(tensor) == 0:
        raise InvalidArgumentError(
            f"Tensor must be at least a vector, but saw shape: {shape_str(tensor)}"
        )
    inner = None if element_shape is None else element_shape[1:]
    if not compatible(inner, None if tensor is None else tensor[1:]):
        raise InvalidArgumentError(
            f"tensor shape {shape_str(tensor)} is not compatible with element_shape "
            f"{shape_str(element_shape)}"
        )
    if lengths is not None and len(lengths) != 1:
        raise InvalidArgumentError(
            f"Expected lengths to be a vector, received shape: {shape_str(lengths)}"
        )


def _split_shape(tensor: TensorSpec, element_shape: TensorSpec, lengths: TensorSpec) -> Shape:
    _split_checks(tensor.shape, shape_input(element_shape), lengths.shape)
    return ()


@op("TensorListSplit", shape=_split_shape)
def tensor_list_split(
    tensor: np.ndarray, element_shape: np.ndarray, lengths: np.ndarray
) -> np.ndarray:
    """A list whose item i is the next ``lengths[i]`` rows of ``tensor``; the lengths
    must use every row. The list keeps ``element_shape`` as given, its first dim too."""
    shape = parse_shape(element_shape)
    _split_checks(tensor.shape, shape, lengths.shape)
    items, start, rows = [], 0, tensor.shape[0]
    for length in (int(n) for n in lengths):
        if length < 0:
            raise InvalidArgumentError(f"Invalid value in lengths: {length}")
        end = start + length
        if end > rows:
            raise InvalidArgumentError(
                f"Attempting to slice [{start}, {end}] from tensor with length {rows}"
            )
        items.append(tensor[start:end])
        start = end
    if start != rows:
        raise InvalidArgumentError(
            f"Unused values in tensor. Length of tensor: {rows} Values used: {start}"
        )
    return handle(TensorList(tensor.dtype, shape, tuple(items)))
