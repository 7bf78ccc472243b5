"""The ops that read many items into one tensor: TensorListStack (every item, as rows),
TensorListGather (chosen items), TensorListConcat and TensorListConcatV2 (items joined
along their first dim, with each item's length).

An uninitialized item reads as zeros. Its shape is the op's ``element_shape`` merged
with the list's, and, while the list's own shape is partly unknown, with the items that
are set; TF refuses when that leaves it partly unknown. ConcatV2 takes the first dim of
an uninitialized item from the shape, from the items (when they all agree) or from
``leading_dims``.

Where TF differs: TF trusts an item whose shape disagrees with a fully defined element
shape (which only ScatterIntoExistingList can leave) and reads past it; here that is
INVALID_ARGUMENT. A ``leading_dims`` that is not a vector crashes TF's process; here it
is INVALID_ARGUMENT. Gather's static shape has one dim for the indices, as its output
does (TF's shape function prepends the indices' shape).

>>> made = np.empty((), dtype=object)
>>> made[()] = TensorList(np.dtype("float32"), (-1,), (np.float32([1, 2]), None))
>>> tensor_list_stack(made, np.int32(-1), element_dtype=np.dtype("float32"))
array([[1., 2.],
       [0., 0.]], dtype=float32)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import shape_str, tf_name
from ..registry import op
from ..specs import Shape, TensorSpec
from .tensor_list import (
    Item,
    TensorList,
    check_element_dtype,
    fully_defined,
    handle_rule,
    list_of,
    merge,
    parse_shape,
    shape_input,
    zeros,
)

__all__ = [
    "tensor_list_concat",
    "tensor_list_concat_v2",
    "tensor_list_gather",
    "tensor_list_stack",
]


def _joined(items: Sequence[Item], shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """The items as rows of one tensor, zeros for the uninitialized ones."""
    rows = [zeros(dtype, shape) if item is None else _checked(item, shape, dtype) for item in items]
    return np.stack(rows) if rows else zeros(dtype, (0, *shape))


def _checked(item: np.ndarray, shape: Sequence[int], dtype: np.dtype) -> np.ndarray:
    if item.dtype != dtype or item.shape != tuple(shape):
        raise InvalidArgumentError(
            f"Tensor with invalid shape in list. List element shape: {shape_str(tuple(shape))} "
            f"and tensor shape: {shape_str(item.shape)} ({tf_name(item.dtype)})"
        )
    return item


def _with_items(shape: Shape, source: TensorList, items: Sequence[Item]) -> Shape:
    """``shape`` merged with the set items' shapes, unless the list's is fully defined."""
    if not fully_defined(source.element_shape):
        for item in items:
            if item is not None:
                shape = merge(shape, item.shape)
    return shape


def _stack_shape(
    input_handle: TensorSpec, element_shape: TensorSpec, *, num_elements: int
) -> Shape:
    handle_rule(input_handle)
    shape = shape_input(element_shape)
    return None if shape is None else (num_elements, *shape)


@op("TensorListStack", shape=_stack_shape)
def tensor_list_stack(
    input_handle: np.ndarray, element_shape: np.ndarray, *, element_dtype: np.dtype,
    num_elements: int = -1,
) -> np.ndarray:  # fmt: skip
    """Every item as a row of one tensor; ``num_elements`` (unless -1) must be the
    list's length."""
    source = list_of(input_handle)
    check_element_dtype(element_dtype, source)
    if num_elements != -1 and len(source) != num_elements:
        raise InvalidArgumentError(
            f"Operation expected a list with {num_elements} elements but got a list with "
            f"{len(source)} elements."
        )
    shape = merge(parse_shape(element_shape), source.element_shape)
    if not fully_defined(shape) and not len(source):
        raise InvalidArgumentError(
            "Tried to stack elements of an empty list with non-fully-defined element_shape: "
            f"{shape_str(shape)}"
        )
    shape = _with_items(shape, source, source.items)
    if shape is None or not fully_defined(shape):
        raise InvalidArgumentError(
            "Tried to stack list which only contains uninitialized tensors and has a "
            f"non-fully-defined element_shape: {shape_str(shape)}"
        )
    return _joined(source.items, shape, element_dtype)


def _gather_shape(
    input_handle: TensorSpec, indices: TensorSpec, element_shape: TensorSpec
) -> Shape:
    handle_rule(input_handle)
    shape = shape_input(element_shape)
    count = -1
    if indices.shape is not None and min(indices.shape, default=0) >= 0:
        count = int(np.prod(indices.shape))
    return None if shape is None else (count, *shape)


@op("TensorListGather", shape=_gather_shape)
def tensor_list_gather(
    input_handle: np.ndarray, indices: np.ndarray, element_shape: np.ndarray,
    *, element_dtype: np.dtype,
) -> np.ndarray:  # fmt: skip
    """Items ``indices`` (flattened) as the rows of one tensor."""
    source = list_of(input_handle)
    check_element_dtype(element_dtype, source)
    shape = merge(parse_shape(element_shape), source.element_shape)
    positions = [int(i) for i in np.ravel(indices)]
    if not fully_defined(shape) and not positions:
        raise InvalidArgumentError(
            "Tried to gather 0-elements from a list with non-fully-defined shape: "
            f"{shape_str(shape)}"
        )
    for i in positions:
        if not 0 <= i < len(source):
            raise InvalidArgumentError(
                f"Trying to gather element {i} in a list with {len(source)} elements."
            )
    chosen = [source.items[i] for i in positions]
    shape = _with_items(shape, source, chosen)
    if shape is None or not fully_defined(shape):
        raise InvalidArgumentError(
            "Tried to gather uninitialized tensors from a list with non-fully-defined "
            f"element_shape: {shape_str(shape)}"
        )
    return _joined(chosen, shape, element_dtype)


def _concat(source: TensorList, element_shape: Shape, leading_dims: np.ndarray | None,
            dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """TensorListConcat(V2) once the element shape is known: ``leading_dims`` is None for
    the first version, which has no such input."""
    check_element_dtype(dtype, source)
    first, inner = -1, None
    if leading_dims is not None:  # V2's element_shape input, merged with the list's
        shape = merge(element_shape, source.element_shape)
        if shape is not None and len(shape) < 1:
            raise InvalidArgumentError(
                "Concat requires elements to be at least vectors, found scalars instead."
            )
        if shape is not None:
            first, inner = shape[0], shape[1:]
    elif element_shape is not None:  # V1's element_shape attr
        inner = element_shape[1:]
    if not len(source) and not fully_defined(inner):
        raise InvalidArgumentError(
            "All except the first dimension must be fully defined when concating an empty "
            f"tensor list. element_shape: {shape_str(inner)}"
        )
    if not fully_defined(source.element_shape):
        inferred, agreeing = first, first == -1
        for i, item in enumerate(source.items):
            if item is None:
                continue
            if item.ndim < 1:
                raise InvalidArgumentError(
                    f"Concat saw a scalar shape at index {i} but requires at least vectors."
                )
            inner = merge(inner, item.shape[1:])
            if first not in (-1, item.shape[0]):
                raise InvalidArgumentError(
                    "First entry of element_shape input does not match the first dim of list "
                    f"element at index: {i} Expected: {first} Actual: {item.shape[0]}"
                )
            if agreeing and inferred == -1:
                inferred = item.shape[0]
            elif agreeing and inferred != item.shape[0]:
                inferred, agreeing = -1, False
        first = inferred
    if inner is None or not fully_defined(inner):
        raise InvalidArgumentError(
            "Trying to concat list with only uninitialized tensors but "
            f"element_shape_except_first_dim is not fully defined: {shape_str(inner)}"
        )
    lengths = [_length(i, item, first, leading_dims) for i, item in enumerate(source.items)]
    parts = [
        zeros(dtype, (n, *inner)) if item is None else _checked(item, (n, *inner), dtype)
        for item, n in zip(source.items, lengths, strict=True)
    ]
    joined = np.concatenate(parts) if parts else zeros(dtype, (0, *inner))
    return joined, np.asarray(lengths, dtype=np.int64)


def _length(i: int, item: Item, first: int, leading_dims: np.ndarray | None) -> int:
    """The first dim of item ``i``: its own, else the shape's, else ``leading_dims[i]``."""
    if item is not None:
        if item.ndim < 1:  # a list whose element shape says scalars
            raise InvalidArgumentError(
                f"Concat saw a scalar shape at index {i} but requires at least vectors."
            )
        return int(item.shape[0])
    given = 0 if leading_dims is None else leading_dims.size
    if i >= given and first != -1:
        return first
    if leading_dims is None:
        raise InvalidArgumentError(
            "Concating lists with uninitialized tensors is not supported in this version of "
            "TensorListConcat. Consider updating your GraphDef to run the newer version."
        )
    if i >= given:
        raise InvalidArgumentError(
            f"List contains uninitialized tensor at index {i} but leading_dims has only "
            f"{given} elements."
        )
    return int(leading_dims[i])


def _concat_result(shape: Shape) -> tuple[Shape, Shape]:
    tensor = None if shape is None else (-1, *shape[1:])
    return tensor, (-1,)


def _concat_shape(input_handle: TensorSpec, *, element_shape: Shape) -> tuple[Shape, Shape]:
    handle_rule(input_handle)
    return _concat_result(element_shape)


@op("TensorListConcat", shape=_concat_shape)
def tensor_list_concat(
    input_handle: np.ndarray, *, element_dtype: np.dtype, element_shape: Shape
) -> tuple[np.ndarray, np.ndarray]:
    """The items joined along their first dim, and each item's length; the first
    version, whose element shape is an attr and which cannot size uninitialized items
    but from that shape."""
    return _concat(list_of(input_handle), element_shape, None, element_dtype)


def _leading_dims(shape: Shape) -> None:
    if shape is not None and len(shape) != 1:
        raise InvalidArgumentError(f"leading_dims must be a vector, got shape {shape_str(shape)}")


def _concat_v2_shape(
    input_handle: TensorSpec, element_shape: TensorSpec, leading_dims: TensorSpec
) -> tuple[Shape, Shape]:
    handle_rule(input_handle)
    _leading_dims(leading_dims.shape)
    shape = shape_input(element_shape)
    if shape is not None and len(shape) < 1:
        raise InvalidArgumentError(
            "Concat requires elements to be at least vectors, found scalars instead."
        )
    return _concat_result(shape)


@op("TensorListConcatV2", shape=_concat_v2_shape)
def tensor_list_concat_v2(
    input_handle: np.ndarray, element_shape: np.ndarray, leading_dims: np.ndarray,
    *, element_dtype: np.dtype,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The items joined along their first dim, and each item's length; an uninitialized
    item's first dim comes from ``element_shape``, the items, or ``leading_dims[i]``."""
    source = list_of(input_handle)
    check_element_dtype(element_dtype, source)
    shape = parse_shape(element_shape)
    _leading_dims(leading_dims.shape)
    return _concat(source, shape, leading_dims, element_dtype)
