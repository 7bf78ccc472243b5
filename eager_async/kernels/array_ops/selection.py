"""Ops that pick elements and say where they are: Where, Unique, and TopKV2 (which TF
defines among its nn ops).

Where TF differs from NumPy:

- TopKV2 breaks ties by the lower index, and ``sorted=False`` may return any order, so
  it gets the sorted one too; ``k`` may be int16;
- Unique keeps the order of first occurrence and treats every NaN as distinct (TF
  hashes values, and NaN != NaN);
- Where has no float16 kernel on TF's CPU: UNIMPLEMENTED;
- the output sizes of Where and Unique are data-dependent: their shape rules answer -1.

>>> unique(np.int32([4, 1, 4]), out_idx=np.dtype("int32"))
(array([4, 1], dtype=int32), array([0, 1, 0], dtype=int32))
"""

from __future__ import annotations

import numpy as np

from ...errors import InvalidArgumentError, UnimplementedError
from .._checks import STRING, shape_str
from ..registry import op
from ..specs import Shape, TensorSpec
from ._common import read_ints, spec_of, widened


def _where_shape(x: TensorSpec) -> Shape:
    if x.dtype == np.dtype(np.float16):
        raise UnimplementedError(
            "No WhereOp available for float16/half type on CPU; Cast the input to float32"
        )
    if x.shape is not None and len(x.shape) == 0:
        raise InvalidArgumentError("WhereOp : Unhandled input dimensions: 0")
    # How many elements are true is known only once the kernel has run.
    return None if x.shape is None else (-1, len(x.shape))


@op("Where", shape=_where_shape)
def where(x: np.ndarray) -> np.ndarray:
    """Where with one input: int64 coordinates of the nonzero (true) elements, row-major."""
    _where_shape(spec_of(x))
    return np.argwhere(x != 0).astype(np.int64, copy=False)


def _unique_shape(x: TensorSpec) -> tuple[Shape, Shape]:
    if x.shape is not None and len(x.shape) != 1:
        raise InvalidArgumentError("unique expects a 1D vector.")
    # How many values are distinct is known only once the kernel has run.
    return (-1,), ((-1,) if x.shape is None else x.shape)


@op("Unique", shape=_unique_shape)
def unique(x: np.ndarray, *, out_idx: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values in first-seen order (NaNs all distinct), and each x's index."""
    _unique_shape(spec_of(x))
    if x.dtype == STRING:
        # Object arrays do not sort reliably; a dict keeps first occurrences in order.
        firsts: dict[bytes, int] = {}
        idx = [firsts.setdefault(v, len(firsts)) for v in x.tolist()]
        y = np.array(list(firsts), dtype=object) if firsts else np.empty(0, dtype=object)
        return y, np.array(idx, dtype=out_idx)
    # equal_nan=False: every NaN is distinct from every other.
    _, first, inverse = np.unique(x, return_index=True, return_inverse=True, equal_nan=False)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return x[first[order]], rank[inverse].astype(out_idx)


def _top_k_shape(x: TensorSpec, k: TensorSpec) -> tuple[Shape, Shape]:
    value = read_ints("TopKV2", k, "k", ranks=(0,))
    if value is not None and value[0] < 0:
        raise InvalidArgumentError(f"Need k >= 0, got {value[0]}")
    if x.shape is None:
        return None, None
    if len(x.shape) == 0:
        raise InvalidArgumentError(f"input must be >= 1-D, got shape {shape_str(x.shape)}")
    n = -1 if value is None else value[0]
    if n >= 0 and 0 <= x.shape[-1] < n:
        raise InvalidArgumentError(
            f"input must have at least k columns. Had {x.shape[-1]}, needed {n}"
        )
    return (*x.shape[:-1], n), (*x.shape[:-1], n)


@op("TopKV2", shape=_top_k_shape)
def top_k_v2(
    x: np.ndarray, k: np.ndarray, *, index_type: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """The k largest of each last-dim row, descending, ties to the lower index."""
    _top_k_shape(spec_of(x), spec_of(widened(k)))  # an int16 k is read widened
    # A stable ascending sort of the reversed row, read backwards, is descending with
    # ties broken by the lower index, as TF does.
    order = np.argsort(x[..., ::-1], axis=-1, kind="stable")[..., ::-1][..., : int(k)]
    picked = x.shape[-1] - 1 - order
    return np.take_along_axis(x, picked, axis=-1), picked.astype(index_type)
