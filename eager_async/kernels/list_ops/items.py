"""The ops on one item or on the list as a whole: TensorListGetItem, TensorListSetItem,
TensorListPushBack, TensorListPopBack, TensorListPushBackBatch, TensorListResize,
TensorListLength, TensorListElementShape, TensorListConcatLists.

Reading an uninitialized item gives zeros of the element shape: the op's
``element_shape`` input merged with the list's, and for GetItem with the shapes of the
items that are set; TF refuses when that leaves the shape partly unknown.

Where TF differs: an index that is not one number, a negative index with
``resize_if_index_out_of_bounds``, crash TF's process; here they are INVALID_ARGUMENT.

>>> reserved = handle(TensorList(np.dtype("float32"), (2,), (None, None)))
>>> written = tensor_list_set_item(reserved, np.int32(1), np.float32([5, 6]),
...                                element_dtype=np.dtype("float32"))
>>> tensor_list_get_item(written, np.int32(0), np.int32(-1), element_dtype=np.dtype("float32"))
array([0., 0.], dtype=float32)
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import shape_str, tf_name
from ..registry import op
from ..specs import Shape, TensorSpec
from .tensor_list import (
    TensorList,
    check_element_dtype,
    check_length,
    compatible,
    fully_defined,
    handle,
    handle_rule,
    list_of,
    merge,
    parse_shape,
    shape_input,
    zeros,
)

__all__ = [
    "tensor_list_concat_lists",
    "tensor_list_element_shape",
    "tensor_list_get_item",
    "tensor_list_length",
    "tensor_list_pop_back",
    "tensor_list_push_back",
    "tensor_list_push_back_batch",
    "tensor_list_resize",
    "tensor_list_set_item",
]


def _described(tensor: np.ndarray) -> str:
    """A tensor as TF's DebugString shows a small one (flat values, at most three)."""
    values = " ".join(str(v) for v in np.ravel(tensor)[:3]) + (" ..." if tensor.size > 3 else "")
    kind, shape = tf_name(tensor.dtype), shape_str(tensor.shape)
    return f"Tensor<type: {kind} shape: {shape} values: {values}>"


def _read(item: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if item.dtype != dtype:  # only the filler of ScatterIntoExistingList can differ
        raise InvalidArgumentError(
            f"Type mismatch: actual {tf_name(item.dtype)} vs. expect {tf_name(dtype)}"
        )
    return item


def _one_index(shape: Shape) -> None:
    """GetItem reads any one-element index (TF's process crashes on more)."""
    if shape is not None and -1 not in shape and int(np.prod(shape)) != 1:
        raise InvalidArgumentError(
            f"TensorListGetItem: index must hold one value, got shape {shape_str(shape)}"
        )


def _get_item_shape(
    input_handle: TensorSpec, index: TensorSpec, element_shape: TensorSpec
) -> Shape:
    handle_rule(input_handle)
    _one_index(index.shape)
    return shape_input(element_shape, strict=False)


@op("TensorListGetItem", shape=_get_item_shape)
def tensor_list_get_item(
    input_handle: np.ndarray, index: np.ndarray, element_shape: np.ndarray,
    *, element_dtype: np.dtype,
) -> np.ndarray:  # fmt: skip
    """Item ``index``; zeros for an uninitialized one (see the module doc)."""
    source = list_of(input_handle)
    check_element_dtype(element_dtype, source)
    _one_index(index.shape)
    i = int(np.ravel(index)[0])
    if not 0 <= i < len(source):
        raise InvalidArgumentError(
            f"Trying to access element {i} in a list with {len(source)} elements."
        )
    item = source.items[i]
    if item is not None:
        return _read(item, element_dtype)
    shape = merge(parse_shape(element_shape), source.element_shape)
    if not fully_defined(shape):
        for other in source.items:
            if other is not None:
                shape = merge(shape, other.shape)
    if not fully_defined(shape):
        raise InvalidArgumentError(
            "Trying to read an uninitialized tensor but element_shape is not fully defined: "
            f"{shape_str(shape)} and no list element is set."
        )
    return zeros(element_dtype, shape or ())


def _set_item_shape(input_handle: TensorSpec, index: TensorSpec, item: TensorSpec) -> Shape:
    handle_rule(input_handle)
    return ()


@op("TensorListSetItem", shape=_set_item_shape)
def tensor_list_set_item(
    input_handle: np.ndarray, index: np.ndarray, item: np.ndarray,
    *, element_dtype: np.dtype, resize_if_index_out_of_bounds: bool = False,
) -> np.ndarray:  # fmt: skip
    """The list with item ``index`` replaced; with ``resize_if_index_out_of_bounds`` an
    index past the end first grows the list with uninitialized items."""
    source = list_of(input_handle)
    check_element_dtype(element_dtype, source)
    if index.ndim:
        raise InvalidArgumentError(
            f"Expected argument 1 to be a scalar. Received{_described(index)}"
        )
    i, items = int(index), list(source.items)
    if resize_if_index_out_of_bounds and i >= len(items):
        check_length("TensorListSetItem", i + 1)
        items += [None] * (i + 1 - len(items))
    if not 0 <= i < len(items):
        raise InvalidArgumentError(
            f"Trying to modify element {i} in a list with {len(items)} elements."
        )
    if not compatible(source.element_shape, item.shape):
        raise InvalidArgumentError(
            "Tried to set a tensor with incompatible shape at a list index. Item element "
            f"shape: {shape_str(item.shape)} list shape: {shape_str(source.element_shape)}"
        )
    items[i] = item
    return handle(source.with_items(items))


def _on_list(input_handle: TensorSpec, *rest: TensorSpec) -> Shape:
    handle_rule(input_handle)
    return ()


def _check_push(source: TensorList, tensor: np.ndarray, at: str = "") -> None:
    if not compatible(source.element_shape, tensor.shape):
        raise InvalidArgumentError(
            f"Tried to append a tensor with incompatible shape to a list{at}. Op element "
            f"shape: {shape_str(tensor.shape)} list shape: {shape_str(source.element_shape)}"
        )


@op("TensorListPushBack", shape=_on_list)
def tensor_list_push_back(input_handle: np.ndarray, tensor: np.ndarray) -> np.ndarray:
    """The list with ``tensor`` appended."""
    source = list_of(input_handle)
    _check_push(source, tensor)
    check_element_dtype(tensor.dtype, source)
    # TF takes any negative max_num_elements for "no limit".
    if 0 <= source.max_num_elements <= len(source):
        raise InvalidArgumentError(
            f"Tried to push item into a full list list size: {len(source)} max_num_elements: "
            f"{source.max_num_elements}"
        )
    return handle(source.with_items((*source.items, tensor)))


def _pop_back_shape(input_handle: TensorSpec, element_shape: TensorSpec) -> tuple[Shape, Shape]:
    handle_rule(input_handle)
    return (), None


@op("TensorListPopBack", shape=_pop_back_shape)
def tensor_list_pop_back(
    input_handle: np.ndarray, element_shape: np.ndarray, *, element_dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """The list without its last item, and that item (zeros when uninitialized; unlike
    GetItem, the other items' shapes are no help)."""
    source = list_of(input_handle)
    check_element_dtype(element_dtype, source)
    if not len(source):
        raise InvalidArgumentError("Trying to pop from an empty list.")
    last = source.items[-1]
    if last is None:
        shape = merge(parse_shape(element_shape), source.element_shape)
        if not fully_defined(shape):
            raise InvalidArgumentError(
                "Trying to read an uninitialized tensor but element_shape is not fully "
                f"defined.{shape_str(shape)}"
            )
        value = zeros(element_dtype, shape or ())
    else:
        value = _read(last, element_dtype)
    return handle(source.with_items(source.items[:-1])), value


def _batch_checks(input_handles: Shape, tensor: Shape) -> Shape:
    if tensor is not None and len(tensor) == 0:
        raise InvalidArgumentError(
            f"Expected tensor to be at least a vector, but saw shape: {shape_str(tensor)}"
        )
    if input_handles is not None and len(input_handles) != 1:
        raise InvalidArgumentError(
            f"Expected input_handles to be a vector, but saw shape: {shape_str(input_handles)}"
        )
    batch = -1 if input_handles is None else input_handles[0]
    rows = -1 if tensor is None else tensor[0]
    if min(batch, rows) >= 0 and batch != rows:
        raise InvalidArgumentError(
            f"Expected tensor.shape[0] == input_handles.size, but saw {rows} vs. {batch}"
        )
    return (max(batch, rows),)


def _push_back_batch_shape(input_handles: TensorSpec, tensor: TensorSpec) -> Shape:
    return _batch_checks(input_handles.shape, tensor.shape)


@op("TensorListPushBackBatch", shape=_push_back_batch_shape)
def tensor_list_push_back_batch(input_handles: np.ndarray, tensor: np.ndarray) -> np.ndarray:
    """Row b of ``tensor`` appended to list b of the vector ``input_handles`` (TF checks
    no ``max_num_elements`` here)."""
    _batch_checks(input_handles.shape, tensor.shape)
    out = np.empty(input_handles.shape, dtype=object)
    for b, held in enumerate(input_handles):
        if not isinstance(held, TensorList):
            raise InvalidArgumentError(
                f"Input handle at index {b} is not a list. Saw: '{type(held).__name__}'"
            )
        _check_push(held, tensor[b, ...], f" at index {b}")
        if tensor.dtype != held.element_dtype:
            raise InvalidArgumentError(
                f"Invalid data type at index {b}; op elements {tf_name(tensor.dtype)} but list "
                f"elements {tf_name(held.element_dtype)}"
            )
        out[b] = held.with_items((*held.items, tensor[b, ...]))
    return out


def _resize_checks(size: Shape, value: np.ndarray | None) -> None:
    if size is not None and len(size):
        raise InvalidArgumentError("size must be a scalar")
    if value is not None and int(value) < 0:
        raise InvalidArgumentError(
            f"TensorListSlice expects size to be non-negative. Got: {int(value)}"
        )
    if value is not None:
        check_length("TensorListResize", int(value))


def _resize_shape(input_handle: TensorSpec, size: TensorSpec) -> Shape:
    handle_rule(input_handle)
    _resize_checks(size.shape, size.value)
    return ()


@op("TensorListResize", shape=_resize_shape)
def tensor_list_resize(input_handle: np.ndarray, size: np.ndarray) -> np.ndarray:
    """The list cut to ``size`` items, or grown with uninitialized ones."""
    source = list_of(input_handle)
    _resize_checks(size.shape, size)
    n = int(size)
    return handle(source.with_items(source.items[:n] + (None,) * (n - len(source))))


@op("TensorListLength", shape=_on_list)
def tensor_list_length(input_handle: np.ndarray) -> np.ndarray:
    """The number of items, initialized or not."""
    return np.array(len(list_of(input_handle)), dtype=np.int32)


def _element_shape_shape(input_handle: TensorSpec, *, shape_type: np.dtype) -> Shape:
    handle_rule(input_handle)
    return None  # a vector of the rank, or the scalar -1: known once the list is


@op("TensorListElementShape", shape=_element_shape_shape)
def tensor_list_element_shape(input_handle: np.ndarray, *, shape_type: np.dtype) -> np.ndarray:
    """The list's element shape: its dims (-1 unknown), or -1 when the rank is unknown."""
    shape = list_of(input_handle).element_shape
    return np.asarray(-1 if shape is None else shape, dtype=shape_type)


def _concat_lists_checks(a: Shape, b: Shape) -> Shape:
    if not compatible(a, b):
        raise InvalidArgumentError(
            f"Incompatible input TensorList tensor shapes: {shape_str(a)} vs. {shape_str(b)}"
        )
    return merge(a, b)


def _list_at(name: str, held: object, k: int) -> TensorList:
    if not isinstance(held, TensorList):
        raise InvalidArgumentError(
            f"{name} is not a TensorList at index {k}.  Saw: '{type(held).__name__}'"
        )
    return held


def _concat_lists_shape(input_a: TensorSpec, input_b: TensorSpec) -> Shape:
    return _concat_lists_checks(input_a.shape, input_b.shape)


@op("TensorListConcatLists", shape=_concat_lists_shape)
def tensor_list_concat_lists(
    input_a: np.ndarray, input_b: np.ndarray, *, element_dtype: np.dtype
) -> np.ndarray:
    """Lists of ``input_a`` followed by the items of the lists of ``input_b``, position
    by position (any shape of handles); ``input_a``'s limit carries over."""
    _concat_lists_checks(input_a.shape, input_b.shape)
    out = np.empty(input_a.shape, dtype=object)
    flat = out.reshape(-1)
    for k, (a, b) in enumerate(zip(input_a.reshape(-1), input_b.reshape(-1), strict=True)):
        a, b = _list_at("input_a", a, k), _list_at("input_b", b, k)
        for name, held in (("input_a", a), ("input_b", b)):
            if held.element_dtype != element_dtype:
                raise InvalidArgumentError(
                    f"{name}[{k}].dtype != element_dtype.  Saw: {tf_name(held.element_dtype)} "
                    f"vs. {tf_name(element_dtype)}"
                )
        if a.element_shape != b.element_shape:
            raise InvalidArgumentError(
                "input_a and input_b TensorList element shapes are not identical at index "
                f"{k}.  Saw {shape_str(a.element_shape)} vs. {shape_str(b.element_shape)}"
            )
        flat[k] = a.with_items(a.items + b.items)
    return out
