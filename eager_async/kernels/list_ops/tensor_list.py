"""The TensorList a DT_VARIANT tensor holds, and the checks its ops share.

A ``TensorList`` is a value: an op that "changes" a list returns a new one and leaves
its input as it was, as TF's list ops do from the user's point of view (TF forwards a
buffer it alone holds; here the items are a tuple, so a new list shares the arrays it
did not replace). An item is an array, or None where TF holds an uninitialized tensor
(a reserved slot not written yet); reading one gives zeros of the element shape, once
that shape is known.

Element shapes are the registry's static shapes (-1 unknown dims, None unknown rank);
they merge and compare as TF's ``PartialTensorShape`` does, with its messages.

AddN and ZerosLike of a DT_VARIANT holding lists are TF's list sum and zeros
(``add_lists``, ``zeros_like_list``), for those ops' kernels to call.

Where TF differs: an input that holds no list is named by its Python type in the
message (TF prints the variant's debug string).

>>> items = TensorList(np.dtype("float32"), (2,), (np.ones(2, np.float32), None))
>>> len(items), items.element_shape, handle(items).shape
(2, (2,), ())
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from ...errors import InvalidArgumentError, ResourceExhaustedError
from .._checks import checked_dims, shape_str, tf_name
from ..specs import Shape, TensorSpec

__all__ = [
    "MAX_LENGTH",
    "Item",
    "TensorList",
    "add_lists",
    "check_element_dtype",
    "check_length",
    "compatible",
    "fully_defined",
    "handle",
    "handle_rule",
    "holds_lists",
    "list_of",
    "merge",
    "parse_shape",
    "shape_input",
    "zeros",
    "zeros_like_list",
]

Item = np.ndarray | None


@dataclass(frozen=True, slots=True, eq=False)
class TensorList:
    """TF's TensorList: the element dtype and (partial) shape, the items, and the
    ``max_num_elements`` PushBack respects (-1: no limit)."""

    element_dtype: np.dtype
    element_shape: Shape
    items: tuple[Item, ...] = ()
    max_num_elements: int = -1

    def __len__(self) -> int:
        return len(self.items)

    def with_items(self, items: Sequence[Item]) -> TensorList:
        """This list holding ``items`` instead (same dtype, shape and limit)."""
        return replace(self, items=tuple(items))

    def __add__(self, other: TensorList) -> TensorList:
        """TF's sum of two lists (AddN over DT_VARIANT): item by item, an uninitialized
        item taking the other's; the result has no ``max_num_elements``."""
        if self.element_dtype != other.element_dtype:
            raise InvalidArgumentError(
                "Trying to add two lists of tensors of different dtypes. One is "
                f"{tf_name(self.element_dtype)} and the other is {tf_name(other.element_dtype)}"
            )
        if not compatible(self.element_shape, other.element_shape):
            raise InvalidArgumentError(
                "Trying to add two lists of tensors with incompatible element shapes. One is "
                f"{shape_str(self.element_shape)} and the other is "
                f"{shape_str(other.element_shape)}"
            )
        if len(self) != len(other):
            raise InvalidArgumentError(
                "Trying to add two lists of tensors with different lengths. One is "
                f"{len(self)} and the other is {len(other)}"
            )
        shape = merge(self.element_shape, other.element_shape)
        return TensorList(self.element_dtype, shape, tuple(map(_add, self.items, other.items)))

    def zeros_like(self) -> TensorList:
        """TF's ZerosLike of a list: zeros for every initialized item (uninitialized ones
        stay so); no ``max_num_elements``."""
        items = tuple(None if t is None else zeros(t.dtype, t.shape) for t in self.items)
        return TensorList(self.element_dtype, self.element_shape, items)


def _add(a: Item, b: Item) -> Item:
    if a is None:
        return b
    if b is None:
        return a
    if a.dtype != b.dtype:
        raise InvalidArgumentError(
            "Trying to add two tensors with incompatible element types. One is "
            f"{tf_name(a.dtype)} and the other is {tf_name(b.dtype)}"
        )
    if a.shape != b.shape:
        raise InvalidArgumentError(
            "Trying to add two tensors with incompatible element shapes. One is "
            f"{shape_str(a.shape)} and the other is {shape_str(b.shape)}"
        )
    with np.errstate(all="ignore"):  # integers wrap, as in TF
        return np.asarray(a + b, dtype=a.dtype)


def handle(value: TensorList) -> np.ndarray:
    """The 0-d DT_VARIANT tensor holding ``value``."""
    tensor = np.empty((), dtype=object)
    tensor[()] = value
    return tensor


def _describe(item: object) -> str:
    return f"string {item!r}" if isinstance(item, bytes) else type(item).__name__


def list_of(tensor: np.ndarray) -> TensorList:
    """The list a DT_VARIANT input holds, with TF's messages when it is not one list."""
    if tensor.ndim:
        raise InvalidArgumentError(f"Input list must be a scalar saw: {shape_str(tensor.shape)}")
    item = tensor[()]
    if not isinstance(item, TensorList):
        raise InvalidArgumentError(f"Input handle is not a list. Saw: '{_describe(item)}'")
    return item


def handle_rule(spec: TensorSpec) -> None:
    """The shape rule's half of ``list_of``: a list handle is a scalar."""
    if spec.shape is not None and len(spec.shape):
        raise InvalidArgumentError(f"Input list must be a scalar saw: {shape_str(spec.shape)}")


MAX_LENGTH = 1 << 24
"""The most items one list may have. Every item is a slot of memory that no tensor's
bytes account for, so a hostile length (TensorListReserve of 2**31 - 1 items) is refused
before the slots are made."""


def check_length(op: str, length: int) -> None:
    """RESOURCE_EXHAUSTED for a list longer than ``MAX_LENGTH``."""
    if length > MAX_LENGTH:
        raise ResourceExhaustedError(
            f"{op}: a list of {length} items is longer than the {MAX_LENGTH} a worker makes"
        )


def check_element_dtype(dtype: np.dtype, tensor_list: TensorList) -> None:
    """The op's ``element_dtype`` is the list's."""
    if dtype != tensor_list.element_dtype:
        raise InvalidArgumentError(
            f"Invalid data types; op elements {tf_name(dtype)} but list elements "
            f"{tf_name(tensor_list.element_dtype)}"
        )


def zeros(dtype: np.dtype, shape: Sequence[int]) -> np.ndarray:
    """What an uninitialized item reads as: zeros (empty strings for strings)."""
    shape = checked_dims(shape)  # a first dim may come from an input (leading_dims)
    if dtype == np.dtype(object):
        return np.full(tuple(shape), b"", dtype=object)
    return np.zeros(tuple(shape), dtype=dtype)


# --- AddN and ZerosLike of DT_VARIANT (TF dispatches them to the list's own functions) ---


def holds_lists(tensor: np.ndarray) -> bool:
    """Whether an object tensor holds TensorLists (it may hold strings, or datasets)."""
    return (
        tensor.dtype == np.dtype(object)
        and tensor.size > 0
        and all(isinstance(item, TensorList) for item in tensor.reshape(-1))
    )


def add_lists(tensors: Sequence[np.ndarray]) -> np.ndarray:
    """AddN of DT_VARIANT tensors holding lists: position by position, list + list.

    >>> one = handle(TensorList(np.dtype("float32"), None, (np.float32([1, 2]),)))
    >>> add_lists([one, one])[()].items
    (array([2., 4.], dtype=float32),)
    """
    total = np.array(tensors[0], dtype=object)  # a copy: the inputs stay as they were
    flat = total.reshape(-1)
    for i, term in enumerate(tensors[1:], start=1):
        if not holds_lists(term):
            other = next((v for v in term.reshape(-1) if not isinstance(v, TensorList)), None)
            raise InvalidArgumentError(
                f"AddN: cannot add variants of different types: input 0 holds TensorLists, "
                f"input {i} a {_describe(other)}"
            )
        for k, item in enumerate(term.reshape(-1)):
            flat[k] = flat[k] + item
    return total


def zeros_like_list(tensor: np.ndarray) -> np.ndarray:
    """ZerosLike of a DT_VARIANT holding a list (TF takes only a scalar one)."""
    if tensor.ndim:
        raise InvalidArgumentError(
            "ZerosLike non-scalar Tensor with dtype=DT_VARIANT is not supported."
        )
    return handle(list_of(tensor).zeros_like())


# --- partial shapes, as TF's PartialTensorShape ---------------------------------------


def fully_defined(shape: Shape) -> bool:
    """Whether the rank and every dim are known."""
    return shape is not None and all(d >= 0 for d in shape)


def compatible(a: Shape, b: Shape) -> bool:
    """Whether two partial shapes may describe the same tensor."""
    if a is None or b is None:
        return True
    return len(a) == len(b) and all(x < 0 or y < 0 or x == y for x, y in zip(a, b, strict=True))


def merge(a: Shape, b: Shape) -> Shape:
    """The most specific shape compatible with both; TF's message when there is none."""
    if a is None:
        return b
    if b is None:
        return a
    if len(a) != len(b):
        raise InvalidArgumentError(
            f"PartialTensorShape: Incompatible ranks during merge: {len(a)} vs. {len(b)}"
        )
    if not compatible(a, b):
        raise InvalidArgumentError(
            f"PartialTensorShape: Incompatible shapes during merge: {shape_str(a)} vs. "
            f"{shape_str(b)}"
        )
    return tuple(x if x >= 0 else y for x, y in zip(a, b, strict=True))


def parse_shape(tensor: np.ndarray) -> Shape:
    """An element-shape input as TF reads one: -1 (a scalar) is an unknown shape, a
    vector gives the dims (-1 unknown)."""
    if tensor.ndim == 0:
        if int(tensor) == -1:
            return None
        raise InvalidArgumentError(
            "The only valid scalar shape tensor is the fully unknown shape specified as -1."
        )
    if tensor.ndim > 1:
        raise InvalidArgumentError(f"Shape must be at most rank 1 but is rank {tensor.ndim}")
    dims = tuple(int(d) for d in tensor)
    for d in dims:
        if d < -1:
            raise InvalidArgumentError(f"Dimension {d} must be >= -1")
    return dims


def shape_input(spec: TensorSpec, strict: bool = True) -> Shape:
    """What a shape rule knows of an element-shape input: its value parsed when known,
    else as many unknown dims as the vector has. ``strict=False`` for the ops whose
    kernels read the input only sometimes: an input they might not read raises nothing."""
    if spec.value is not None:
        if strict:
            return parse_shape(spec.value)
        try:
            return parse_shape(spec.value)
        except InvalidArgumentError:
            return None
    if spec.shape is None or len(spec.shape) == 0:
        return None
    if len(spec.shape) > 1:
        if strict:
            rank = len(spec.shape)
            raise InvalidArgumentError(f"Shape must be at most rank 1 but is rank {rank}")
        return None
    return None if spec.shape[0] < 0 else (-1,) * spec.shape[0]
