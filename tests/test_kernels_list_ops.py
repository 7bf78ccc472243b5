"""Records of TF's list ops (``eager_async.kernels.list_ops``).

A list op's input or output is a DT_VARIANT holding a ``TensorList``; a record builds
input lists directly (``tl``) and compares an output list with ``Items`` (element dtype
and shape, the items, None for an uninitialized one). Every expected value and message
is TensorFlow 2.21's, from the same calls through ``tf.raw_ops`` in ``.venv-tf``.

A shape rule never reads a list (the shape memo keys on int inputs only), so records
whose output shape depends on the list's contents are ``data_dependent``; the errors
that depend on the contents are in ``RUNTIME_ERRORS``, checked on the kernels alone.
"""

from __future__ import annotations

import doctest
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from kernel_records import Bad, Case, Inference, b, f32, i32, i64, lookup, s, t

from eager_async.errors import InvalidArgumentError
from eager_async.kernels.list_ops import create, items, scatter, stack, tensor_list
from eager_async.kernels.list_ops.tensor_list import (
    TensorList,
    add_lists,
    handle,
    holds_lists,
    list_of,
    zeros_like_list,
)

F32, I32, I64 = np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.int64)
OBJ, BOOL = np.dtype(object), np.dtype(np.bool_)
FLOAT = {"element_dtype": F32}


def tl(*values: Any, es: Any = None, dtype: np.dtype = F32, limit: int = -1) -> np.ndarray:
    """A list handle holding ``values`` (None: uninitialized) of element shape ``es``."""
    held = tuple(None if v is None else np.asarray(v, dtype=dtype) for v in values)
    return handle(TensorList(dtype, es, held, limit))


def pair(*lists: np.ndarray) -> np.ndarray:
    """A vector of list handles."""
    out = np.empty(len(lists), dtype=object)
    for k, held in enumerate(lists):
        out[k] = held[()]
    return out


class Items:
    """Equal to a TensorList of ``dtype``, element shape ``es`` and these items (None
    for uninitialized), with ``limit`` as its max_num_elements."""

    def __init__(self, *values: Any, es: Any = None, dtype: np.dtype = F32, limit: int = -1,
                 item_dtype: np.dtype | None = None) -> None:  # fmt: skip
        self.values = [None if v is None else np.asarray(v, dtype=item_dtype or dtype)
                       for v in values]  # fmt: skip
        self.es, self.dtype, self.limit = es, dtype, limit

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TensorList):
            return NotImplemented
        if (other.element_dtype, other.element_shape, other.max_num_elements) != (
            self.dtype, self.es, self.limit,
        ) or len(other.items) != len(self.values):  # fmt: skip
            return False
        return all(_same(g, w) for g, w in zip(other.items, self.values, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Items({self.values}, es={self.es}, dtype={self.dtype}, limit={self.limit})"


def _same(got: np.ndarray | None, want: np.ndarray | None) -> bool:
    if got is None or want is None:
        return got is want
    return got.dtype == want.dtype and got.shape == want.shape and got.tolist() == want.tolist()


def v(value: object) -> np.ndarray:
    """A 0-d object array holding a matcher, as an expected output."""
    array = np.empty((), dtype=object)
    array[()] = value
    return array


def vec(*values: object) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for k, value in enumerate(values):
        out[k] = value
    return out


A = f32([[1, 2], [3, 4], [5, 6]])
ROWS = (f32([1, 2]), f32([3, 4]), f32([5, 6]))
UNKNOWN = i32(-1)
NO_DIMS = i32([]).astype(np.int32)
DD = {"data_dependent": True}

CASES = [
    # --- create ---
    Case("EmptyTensorList", (i32([2, -1]), i32(-1)), (v(Items(es=(2, -1))),), FLOAT),
    Case("EmptyTensorList", (i64(-1), i32(5)), (v(Items(dtype=I64, limit=5)),),
         {"element_dtype": I64}, name="unknown shape, limit"),
    Case("TensorListReserve", (i32([2]), i32(3)), (v(Items(None, None, None, es=(2,))),), FLOAT),
    Case("TensorListFromTensor", (A, UNKNOWN), (v(Items(*ROWS)),)),
    Case("TensorListFromTensor", (np.zeros((0, 2), np.float32), i32([2])), (v(Items(es=(2,))),),
         name="no rows"),
    Case("TensorListFromTensor", (s([b"a", b"b"]), NO_DIMS),
         (v(Items(b"a", b"b", es=(), dtype=OBJ)),), name="strings"),
    Case("TensorListSplit", (f32([[1], [2], [3]]), i32([-1, 1]), i64([1, 2])),
         (v(Items([[1]], [[2], [3]], es=(-1, 1))),)),
    Case("TensorListSplit", (f32([1, 2]), UNKNOWN, i64([0, 2])), (v(Items([], [1, 2])),),
         name="empty piece"),
    # --- scatter ---
    Case("TensorListScatter", (A, i32([2, 0, 4]), UNKNOWN),
         (v(Items(ROWS[1], None, ROWS[0], None, ROWS[2])),)),
    Case("TensorListScatter", (A, i32([1, 1, 0]), UNKNOWN), (v(Items(ROWS[2], ROWS[1])),),
         name="later row wins"),
    Case("TensorListScatterV2", (A, i32([2, 0, 1]), UNKNOWN, i32(5)),
         (v(Items(ROWS[1], ROWS[2], ROWS[0], None, None)),)),
    Case("TensorListScatterV2", (A, i32([2, 0, 1]), i32([2]), i32(-1)),
         (v(Items(ROWS[1], ROWS[2], ROWS[0], es=(2,))),), name="as many as needed"),
    Case("TensorListScatterIntoExistingList", (tl(*ROWS), f32([[7, 7]]), i32([1])),
         (v(Items(ROWS[0], [7, 7], ROWS[2])),)),
    Case("TensorListScatterIntoExistingList", (tl(*ROWS), f32([[7, 7]]), i32([4])),
         (v(Items(*ROWS, np.zeros(0, np.float32), [7, 7])),), name="grows with TF's filler"),
    # --- items ---
    Case("TensorListGetItem", (tl(*ROWS), i32(1), UNKNOWN), (ROWS[1],), FLOAT, **DD),
    Case("TensorListGetItem", (tl(None, None, es=(2,)), i32(1), UNKNOWN), (f32([0, 0]),),
         FLOAT, name="uninitialized, shape from the list", **DD),
    Case("TensorListGetItem", (tl(None, [1, 2], None), i32(0), UNKNOWN), (f32([0, 0]),), FLOAT,
         name="uninitialized, shape from another item", **DD),
    Case("TensorListGetItem", (tl(None, None), i32(1), i32([2, 2])), (f32([[0, 0], [0, 0]]),),
         FLOAT, name="uninitialized, shape from the input"),
    Case("TensorListGetItem", (tl(*ROWS), i32([1]), UNKNOWN), (ROWS[1],), FLOAT,
         name="one-element index", **DD),
    Case("TensorListSetItem", (tl(*ROWS), i32(1), f32([9, 9])),
         (v(Items(ROWS[0], [9, 9], ROWS[2])),)),
    Case("TensorListSetItem", (tl(*ROWS), i32(5), f32([9, 9])),
         (v(Items(*ROWS, None, None, [9, 9])),), {"resize_if_index_out_of_bounds": True},
         name="resize"),
    Case("TensorListPushBack", (tl(es=(2,)), f32([1, 2])), (v(Items([1, 2], es=(2,))),)),
    Case("TensorListPushBack", (tl([1, 2], limit=-5), f32([3, 4])),
         (v(Items([1, 2], [3, 4], limit=-5)),), name="negative limit is none"),
    Case("TensorListPopBack", (tl(*ROWS), UNKNOWN), (v(Items(*ROWS[:2])), ROWS[2]), FLOAT, **DD),
    Case("TensorListPopBack", (tl(None, es=(-1,)), i32([3])), (v(Items(es=(-1,))), f32([0, 0, 0])),
         FLOAT, name="uninitialized", **DD),
    Case("TensorListPushBackBatch", (pair(tl(*ROWS), tl(es=(2,))), f32([[7, 8], [9, 10]])),
         (vec(Items(*ROWS, [7, 8]), Items([9, 10], es=(2,))),)),
    Case("TensorListResize", (tl(*ROWS), i32(5)), (v(Items(*ROWS, None, None)),)),
    Case("TensorListResize", (tl(*ROWS, limit=3), i32(1)), (v(Items(ROWS[0], limit=3)),),
         name="shrink"),
    Case("TensorListLength", (tl(None, *ROWS),), (i32(4),)),
    Case("TensorListElementShape", (tl(es=(3, -1)),), (i64([3, -1]),), {"shape_type": I64}, **DD),
    Case("TensorListElementShape", (tl(),), (i32(-1),), {"shape_type": I32},
         name="unknown rank", **DD),
    Case("TensorListConcatLists", (tl(*ROWS, es=(2,)), tl([7, 8], es=(2,))),
         (v(Items(*ROWS, [7, 8], es=(2,))),), FLOAT),
    Case("TensorListConcatLists", (pair(tl(*ROWS), tl()), pair(tl(), tl([1, 1]))),
         (vec(Items(*ROWS), Items([1, 1])),), FLOAT, name="vectors of lists"),
    # --- stack ---
    Case("TensorListStack", (tl(*ROWS), UNKNOWN), (A,), FLOAT, **DD),
    Case("TensorListStack", (tl(*ROWS), i32([2])), (A,), {**FLOAT, "num_elements": 3},
         name="shape and count given"),
    Case("TensorListStack", (tl(None, [1, 2], None), UNKNOWN), (f32([[0, 0], [1, 2], [0, 0]]),),
         FLOAT, name="uninitialized items", **DD),
    Case("TensorListStack", (tl(es=(2, 3)), UNKNOWN), (np.zeros((0, 2, 3), np.float32),), FLOAT,
         name="empty", **DD),
    Case("TensorListStack", (tl(b"a", None, es=(), dtype=OBJ), UNKNOWN), (s([b"a", b""]),),
         {"element_dtype": OBJ}, name="strings", **DD),
    Case("TensorListGather", (tl(*ROWS), i32([2, 0]), UNKNOWN), (f32([[5, 6], [1, 2]]),), FLOAT,
         **DD),
    Case("TensorListGather", (tl(*ROWS), i32([[2, 0], [1, 1]]), i32([2])),
         (f32([[5, 6], [1, 2], [3, 4], [3, 4]]),), FLOAT, name="indices flattened"),
    Case("TensorListGather", (tl(None, None, es=(2,)), NO_DIMS, UNKNOWN),
         (np.zeros((0, 2), np.float32),), FLOAT, name="no indices", **DD),
    Case("TensorListConcatV2", (tl(*ROWS), UNKNOWN, i64([])),
         (f32([1, 2, 3, 4, 5, 6]), i64([2, 2, 2])), FLOAT, **DD),
    Case("TensorListConcatV2", (tl(None, None, es=(-1, 2)), UNKNOWN, i64([1, 3])),
         (np.zeros((4, 2), np.float32), i64([1, 3])), FLOAT, name="leading_dims", **DD),
    Case("TensorListConcatV2", (tl(None, None, es=(3, 2)), UNKNOWN, i64([])),
         (np.zeros((6, 2), np.float32), i64([3, 3])), FLOAT, name="first dim known", **DD),
    Case("TensorListConcatV2", (tl(None, [[1, 2]], None, es=(-1, 2)), UNKNOWN, i64([])),
         (f32([[0, 0], [1, 2], [0, 0]]), i64([1, 1, 1])), FLOAT, name="first dim inferred",
         **DD),
    Case("TensorListConcat", (tl([[1, 2]], [[3, 4], [5, 6]], es=(-1, 2)),),
         (A, i64([1, 2])), {**FLOAT, "element_shape": (-1, 2)}, **DD),
]

INFERENCE = [
    Inference("TensorListStack", (t(OBJ, ()), t(I32, (2,))), (t(F32, (-1, -1, -1)),), FLOAT),
    Inference("TensorListStack", (t(OBJ, ()), t(I32, (2,), [3, -1])), (t(F32, (4, 3, -1)),),
              {**FLOAT, "num_elements": 4}),
    Inference("TensorListGetItem", (t(OBJ, ()), t(I32, ()), t(I32, (), -1)), (t(F32, None),),
              FLOAT),
    Inference("TensorListGetItem", (t(OBJ, ()), t(I32, ()), t(I32, (1, 2))), (t(F32, None),),
              FLOAT),
    Inference("TensorListGather", (t(OBJ, ()), t(I32, (2, 3)), t(I32, (1,), [4])),
              (t(F32, (6, 4)),), FLOAT),
    Inference("TensorListConcatV2", (t(OBJ, ()), t(I32, (2,), [-1, 3]), t(I64, (0,))),
              (t(F32, (-1, 3)), t(I64, (-1,))), FLOAT),
    Inference("TensorListPushBackBatch", (t(OBJ, (-1,)), t(F32, (3, 2))), (t(OBJ, (3,)),)),
    Inference("TensorListConcatLists", (t(OBJ, None), t(OBJ, (2,))), (t(OBJ, (2,)),), FLOAT),
    Inference("TensorListConcatLists", (t(OBJ, (-1, 3)), t(OBJ, (2, -1))), (t(OBJ, (2, 3)),),
              FLOAT),
]

VEC = pair(tl(), tl())
SCALAR_LIST = "Input list must be a scalar saw: [2]"
ERRORS = [
    Bad("EmptyTensorList", (UNKNOWN, i32([2])),
        "max_num_elements expected to be a scalar but got shape: [1]", FLOAT),
    Bad("EmptyTensorList", (i32(3), i32(-1)),
        "The only valid scalar shape tensor is the fully unknown shape specified as -1.", FLOAT),
    Bad("EmptyTensorList", (i32([[1]]), i32(-1)), "Shape must be at most rank 1 but is rank 2",
        FLOAT),
    Bad("EmptyTensorList", (i32([-2]), i32(-1)), "Dimension -2 must be >= -1", FLOAT),
    Bad("TensorListReserve", (i32([2]), i32([3])),
        "The num_elements to reserve must be a tensor size 1, but got [1]", FLOAT),
    Bad("TensorListReserve", (i32([2]), i32(-1)),
        "The num_elements to reserve must be a non negative number, but got -1", FLOAT),
    Bad("TensorListFromTensor", (f32(1), UNKNOWN),
        "Tensor must be at least a vector, but saw shape: []"),
    Bad("TensorListFromTensor", (A, i32([3])),
        "Specified a list with shape [3] from a tensor with shape [2]"),
    Bad("TensorListFromTensor", (A, f32([2])), "allowed values: int32, int64"),
    Bad("TensorListSplit", (A, NO_DIMS, i64([3])),
        "TensorListSplit requires element_shape to be at least of rank 1, but saw: []"),
    Bad("TensorListSplit", (f32([[1], [2], [3]]), i32([-1, 2]), i64([1, 2])),
        "tensor shape [3,1] is not compatible with element_shape [?,2]"),
    Bad("TensorListSplit", (f32([[1], [2], [3]]), UNKNOWN, i64([[3]])),
        "Expected lengths to be a vector, received shape: [1,1]"),
    Bad("TensorListScatter", (A, i32([2, 0]), UNKNOWN),
        "Invalid number of rows in input tensor. Expected: 2 Actual: 3"),
    Bad("TensorListScatterV2", (A, i32([2, 0, 1]), UNKNOWN, i32([5])),
        "num_elements must be a scalar"),
    Bad("TensorListScatterV2", (A, i32([2, 0, 1]), UNKNOWN, i32(-2)),
        "TensorListScatter expects num_elements >= -1, found: -2"),
    Bad("TensorListScatterIntoExistingList", (tl(*ROWS), f32([[7, 7]]), i32([[1]])),
        "Expected indices to be a vector, but received shape: [1,1]"),
    Bad("TensorListScatterIntoExistingList", (tl(*ROWS), f32([[7, 7]]), i32([1, 2])),
        "Expected len(indices) == tensor.shape[0], but saw: 2 vs. 1"),
    Bad("TensorListGetItem", (VEC, i32(0), UNKNOWN), SCALAR_LIST, FLOAT),
    Bad("TensorListSetItem", (VEC, i32(0), f32(1)), SCALAR_LIST),
    Bad("TensorListPushBack", (VEC, f32([1, 2])), SCALAR_LIST),
    Bad("TensorListPopBack", (VEC, UNKNOWN), SCALAR_LIST, FLOAT),
    Bad("TensorListPushBackBatch", (tl(*ROWS), f32([[7, 8]])),
        "Expected input_handles to be a vector, but saw shape: []"),
    Bad("TensorListPushBackBatch", (pair(tl()), f32(7)),
        "Expected tensor to be at least a vector, but saw shape: []"),
    Bad("TensorListPushBackBatch", (pair(tl()), f32([[7, 8], [1, 2]])),
        "Expected tensor.shape[0] == input_handles.size, but saw 2 vs. 1"),
    Bad("TensorListResize", (tl(*ROWS), i32([1])), "size must be a scalar"),
    Bad("TensorListResize", (tl(*ROWS), i32(-1)),
        "TensorListSlice expects size to be non-negative. Got: -1"),
    Bad("TensorListLength", (VEC,), SCALAR_LIST),
    Bad("TensorListElementShape", (VEC,), SCALAR_LIST, {"shape_type": I32}),
    Bad("TensorListConcatLists", (pair(tl(), tl()), tl()),
        "Incompatible input TensorList tensor shapes: [2] vs. []", FLOAT),
    Bad("TensorListStack", (VEC, UNKNOWN), SCALAR_LIST, FLOAT),
    Bad("TensorListStack", (tl(*ROWS), i32(3)),
        "The only valid scalar shape tensor is the fully unknown shape specified as -1.", FLOAT),
    Bad("TensorListGather", (VEC, i32([0]), UNKNOWN), SCALAR_LIST, FLOAT),
    Bad("TensorListGather", (tl(*ROWS), i32([0]), i32([[2]])),
        "Shape must be at most rank 1 but is rank 2", FLOAT),
    Bad("TensorListConcat", (VEC,), SCALAR_LIST, FLOAT),
    Bad("TensorListConcatV2", (tl(*ROWS), NO_DIMS, i64([])),
        "Concat requires elements to be at least vectors, found scalars instead.", FLOAT),
    Bad("TensorListConcatV2", (VEC, UNKNOWN, i64([])), SCALAR_LIST, FLOAT),
]

# Errors that depend on what a list holds: the kernel raises them, no shape rule can.
RUNTIME_ERRORS = [
    ("TensorListLength", (s(b"x"),), {}, "Input handle is not a list. Saw: 'string b'x''"),
    ("TensorListStack", (tl(*ROWS), UNKNOWN), {**FLOAT, "num_elements": 2},
     "Operation expected a list with 2 elements but got a list with 3 elements."),
    ("TensorListStack", (tl(*ROWS), UNKNOWN), {"element_dtype": I32},
     "Invalid data types; op elements int32 but list elements float"),
    ("TensorListStack", (tl(*ROWS), i32([3])), FLOAT,
     "PartialTensorShape: Incompatible shapes during merge: [3] vs. [2]"),
    ("TensorListStack", (tl(*ROWS), i32([2, 1])), FLOAT,
     "PartialTensorShape: Incompatible ranks during merge: 2 vs. 1"),
    ("TensorListStack", (tl(es=(2, -1)), UNKNOWN), FLOAT,
     "Tried to stack elements of an empty list with non-fully-defined element_shape: [2,?]"),
    ("TensorListStack", (tl(None, None, es=(-1, 2)), UNKNOWN), FLOAT,
     "Tried to stack list which only contains uninitialized tensors and has a "
     "non-fully-defined element_shape: [?,2]"),
    ("TensorListStack", (tl([1, 2], [1, 2, 3]), UNKNOWN), FLOAT,
     "PartialTensorShape: Incompatible shapes during merge: [2] vs. [3]"),
    ("TensorListGetItem", (tl(*ROWS), i32(-1), UNKNOWN), FLOAT,
     "Trying to access element -1 in a list with 3 elements."),
    ("TensorListGetItem", (tl(None, None, None), i32(1), UNKNOWN), FLOAT,
     "Trying to read an uninitialized tensor but element_shape is not fully defined: "
     "<unknown> and no list element is set."),
    ("TensorListGetItem", (tl(None, None, es=(2,)), i32(0), i32([3])), FLOAT,
     "PartialTensorShape: Incompatible shapes during merge: [3] vs. [2]"),
    # A filler ScatterIntoExistingList left (TF's default tensor) read from an int list.
    ("TensorListGetItem", (handle(TensorList(I32, None, (np.zeros(0, np.float32),))), i32(0),
                           UNKNOWN),
     {"element_dtype": I32}, "Type mismatch: actual float vs. expect int32"),
    ("TensorListSetItem", (tl(*ROWS), i32(3), f32([9, 9])), {},
     "Trying to modify element 3 in a list with 3 elements."),
    ("TensorListSetItem", (tl(*ROWS), i32(-1), f32([9, 9])),
     {"resize_if_index_out_of_bounds": True},
     "Trying to modify element -1 in a list with 3 elements."),
    ("TensorListSetItem", (tl(*ROWS, es=(2,)), i32(1), f32([9, 9, 9])), {},
     "Tried to set a tensor with incompatible shape at a list index. Item element shape: "
     "[3] list shape: [2]"),
    ("TensorListSetItem", (tl(*ROWS), i32(1), i32([9, 9])), {},
     "Invalid data types; op elements int32 but list elements float"),
    ("TensorListSetItem", (tl(*ROWS), i32([1]), f32([9, 9])), {},
     "Expected argument 1 to be a scalar. ReceivedTensor<type: int32 shape: [1] values: 1>"),
    ("TensorListPushBack", (tl(es=(3,)), f32([1, 2])), {},
     "Tried to append a tensor with incompatible shape to a list. Op element shape: [2] "
     "list shape: [3]"),
    ("TensorListPushBack", (tl([1, 2], limit=1), f32([1, 2])), {},
     "Tried to push item into a full list list size: 1 max_num_elements: 1"),
    ("TensorListPopBack", (tl(), UNKNOWN), FLOAT, "Trying to pop from an empty list."),
    ("TensorListPopBack", (tl([1, 2], None), UNKNOWN), FLOAT,
     "Trying to read an uninitialized tensor but element_shape is not fully defined.<unknown>"),
    ("TensorListPushBackBatch", (pair(tl(es=(2,))), f32([[7, 8, 9]])), {},
     "Tried to append a tensor with incompatible shape to a list at index 0. Op element "
     "shape: [3] list shape: [2]"),
    ("TensorListPushBackBatch", (pair(tl(es=(2,))), i32([[7, 8]])), {},
     "Invalid data type at index 0; op elements int32 but list elements float"),
    ("TensorListGather", (tl(*ROWS), i32([3]), UNKNOWN), FLOAT,
     "Trying to gather element 3 in a list with 3 elements."),
    ("TensorListGather", (tl(*ROWS), NO_DIMS, UNKNOWN), FLOAT,
     "Tried to gather 0-elements from a list with non-fully-defined shape: <unknown>"),
    ("TensorListGather", (tl(None, [1, 2], None), i32([0, 2]), UNKNOWN), FLOAT,
     "Tried to gather uninitialized tensors from a list with non-fully-defined "
     "element_shape: <unknown>"),
    ("TensorListScatter", (A, i32([2, -1, 4]), UNKNOWN), {},
     "Indices in TensorListScatter must all be non-negative."),
    ("TensorListScatterV2", (A, i32([2, 0, 1]), UNKNOWN, i32(2)), {},
     "TensorListScatter: Trying to scatter at index 2 in list with size 2"),
    ("TensorListScatterIntoExistingList", (tl(*ROWS), i32([[7, 7]]), i32([1])), {},
     "Invalid data types; input tensor type: int32 list element_type: float"),
    ("TensorListSplit", (f32([[1], [2], [3]]), UNKNOWN, i64([1, 1])), {},
     "Unused values in tensor. Length of tensor: 3 Values used: 2"),
    ("TensorListSplit", (f32([[1], [2], [3]]), UNKNOWN, i64([1, 3])), {},
     "Attempting to slice [1, 4] from tensor with length 3"),
    ("TensorListSplit", (f32([[1], [2], [3]]), UNKNOWN, i64([-1, 4])), {},
     "Invalid value in lengths: -1"),
    ("TensorListConcatLists", (tl(*ROWS, es=(2,)), tl(es=(-1,))), FLOAT,
     "input_a and input_b TensorList element shapes are not identical at index 0.  Saw [2] "
     "vs. [?]"),
    ("TensorListConcatLists", (tl(*ROWS), tl(dtype=I32)), FLOAT,
     "input_b[0].dtype != element_dtype.  Saw: int32 vs. float"),
    ("TensorListConcatV2", (tl(f32(1), f32(2)), UNKNOWN, i64([])), FLOAT,
     "Concat saw a scalar shape at index 0 but requires at least vectors."),
    ("TensorListConcatV2", (tl(), UNKNOWN, i64([])), FLOAT,
     "All except the first dimension must be fully defined when concating an empty tensor "
     "list. element_shape: <unknown>"),
    ("TensorListConcatV2", (tl(None, None, es=(-1, 2)), UNKNOWN, i64([1])), FLOAT,
     "List contains uninitialized tensor at index 1 but leading_dims has only 1 elements."),
    ("TensorListConcatV2", (tl([[1, 2]], [[3, 4], [5, 6]]), i32([1, 2]), i64([])), FLOAT,
     "First entry of element_shape input does not match the first dim of list element at "
     "index: 1 Expected: 1 Actual: 2"),
    ("TensorListConcatV2", (tl([[1, 2]], [[3, 4, 5]]), UNKNOWN, i64([])), FLOAT,
     "PartialTensorShape: Incompatible shapes during merge: [2] vs. [3]"),
    ("TensorListConcat", (tl(None, None, es=(3, 2)),), FLOAT,
     "Trying to concat list with only uninitialized tensors but "
     "element_shape_except_first_dim is not fully defined: <unknown>"),
    ("TensorListConcat", (tl(None, None),), {**FLOAT, "element_shape": (-1, 2)},
     "Concating lists with uninitialized tensors is not supported in this version of "
     "TensorListConcat. Consider updating your GraphDef to run the newer version."),
]


@pytest.mark.parametrize("op_name, inputs, attrs, fragment", RUNTIME_ERRORS,
                         ids=[f"{r[0]}-{r[3][:30]}" for r in RUNTIME_ERRORS])  # fmt: skip
def test_runtime_error(op_name: str, inputs: Sequence[np.ndarray], attrs: dict[str, Any],
                       fragment: str) -> None:  # fmt: skip
    with pytest.raises(InvalidArgumentError) as raised:
        lookup(op_name).run(inputs, attrs)
    assert raised.value.message == fragment


def test_lists_are_values() -> None:
    """An op that "changes" a list leaves its input as it was (TF's value semantics)."""
    before = tl(*ROWS)
    kept = [item.copy() for item in list_of(before).items]
    lookup("TensorListSetItem").run([before, i32(0), f32([0, 0])], {})
    lookup("TensorListPushBack").run([before, f32([7, 7])], {})
    lookup("TensorListPopBack").run([before, UNKNOWN], FLOAT)
    lookup("TensorListResize").run([before, i32(1)], {})
    lookup("TensorListScatterIntoExistingList").run([before, f32([[9, 9]]), i32([2])], {})
    after = list_of(before)
    assert len(after) == 3
    assert all(_same(a, k) for a, k in zip(after.items, kept, strict=True))


def test_sum_and_zeros_like() -> None:
    """What AddN and ZerosLike of DT_VARIANT lists give in TF (``+`` and ``zeros_like``)."""
    total = list_of(tl(None, [1, 1], [2, 2])) + list_of(tl(*ROWS))
    assert total == Items(ROWS[0], [4, 5], [7, 8])
    assert list_of(tl(None, [1, 2], limit=3)).zeros_like() == Items(None, [0, 0])
    with pytest.raises(InvalidArgumentError, match=r"different lengths\. One is 3 and the other"):
        _ = list_of(tl(*ROWS)) + list_of(tl([1, 2]))
    with pytest.raises(InvalidArgumentError, match=r"element shapes\. One is \[2\] and the other"):
        _ = list_of(tl(*ROWS)) + list_of(tl([1], [2], [3]))
    with pytest.raises(InvalidArgumentError, match=r"different dtypes\. One is float and the"):
        _ = list_of(tl(*ROWS)) + list_of(tl([1, 2], [3, 4], [5, 6], dtype=I32))
    # What AddN and ZerosLike kernels call for DT_VARIANT inputs holding lists.
    assert holds_lists(pair(tl(), tl())) and not holds_lists(s([b"x"]))
    summed = add_lists([pair(tl([1, 1]), tl()), pair(tl([2, 2]), tl())])
    assert summed[0] == Items([3, 3]) and summed[1] == Items()
    assert zeros_like_list(tl([5, 5]))[()] == Items([0, 0])
    with pytest.raises(InvalidArgumentError, match="ZerosLike non-scalar Tensor"):
        zeros_like_list(pair(tl()))


def test_bool_and_int_lists() -> None:
    made = lookup("TensorListFromTensor").run([b([True, False]), UNKNOWN], {})[0]
    got = lookup("TensorListGetItem").run([made, i32(1), UNKNOWN], {"element_dtype": BOOL})
    assert got[0].dtype == BOOL and got[0].tolist() is False
    stacked = lookup("TensorListStack").run([tl([1, 2], dtype=I64), i32([2])],
                                            {"element_dtype": I64})  # fmt: skip
    assert stacked[0].tolist() == [[1, 2]] and stacked[0].dtype == I64


@pytest.mark.parametrize("module", [tensor_list, create, scatter, items, stack],
                         ids=lambda m: m.__name__)  # fmt: skip
def test_doctests(module: ModuleType) -> None:
    failed, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failed == 0


def test_addn_and_zeros_like_take_lists_as_tf_dispatches_them() -> None:
    # What gradients of TensorArray code send: AddN and ZerosLike of DT_VARIANT lists.
    one = handle(TensorList(np.dtype(np.float32), None, (f32([1, 2]), f32(3))))
    (total,) = lookup("AddN").run([one, one], {})
    assert [x.tolist() for x in total[()].items] == [[2, 4], 6]
    (zeros,) = lookup("ZerosLike").run([one], {})
    assert [x.tolist() for x in zeros[()].items] == [[0, 0], 0]
    with pytest.raises(InvalidArgumentError, match="of string is not in the list"):
        lookup("AddN").run([s([b"a"]), s([b"b"])], {})
