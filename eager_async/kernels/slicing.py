"""The slicing family's old names and signatures, ``(inputs, attrs) -> list``, kept for
modules written against them (``math_grad`` runs StridedSlice through these). The ops
live in ``array_ops`` now: ``slices``, ``concat`` (Split, SplitV) and ``selection``
(TopKV2). Each name calls the registered op, so the op contract is checked as for any
call.

>>> strided_slice([np.arange(5), np.int32([1]), np.int32([4]), np.int32([2])], {})
[array([1, 3])]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._checks import INDEX, DTypes
from .registry import Attrs, LegacyKernel, LegacyShapeFn, TensorSpec, lookup

__all__ = [
    "SPLITV_LEN_TYPES",
    "STRIDED_DEFAULTS",
    "TOP_K_INDEX_TYPES",
    "reverse_v2",
    "reverse_v2_shape",
    "slice_op",
    "slice_shape",
    "split",
    "split_shape",
    "split_v",
    "split_v_shape",
    "strided_slice",
    "strided_slice_shape",
    "top_k_v2",
    "top_k_v2_shape",
]

SPLITV_LEN_TYPES: DTypes = INDEX | {np.dtype(np.int8)}
TOP_K_INDEX_TYPES: DTypes = INDEX | {np.dtype(np.int16)}
STRIDED_DEFAULTS = {
    "begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0,
}  # fmt: skip


def _legacy(name: str) -> tuple[LegacyKernel, LegacyShapeFn]:
    """Op ``name``'s run and shape inference, as the old kernel and shape function."""

    def kernel(inputs: Sequence[np.ndarray], attrs: Attrs) -> list[np.ndarray]:
        return lookup(name).run(inputs, attrs)

    def shape(specs: Sequence[TensorSpec], attrs: Attrs) -> list[TensorSpec]:
        return lookup(name).shapes(specs, attrs)

    kernel.__doc__ = f"{name} on ``inputs``: its outputs, as a list."
    shape.__doc__ = f"The output specs of {name} on ``specs``."
    return kernel, shape


split, split_shape = _legacy("Split")
split_v, split_v_shape = _legacy("SplitV")
slice_op, slice_shape = _legacy("Slice")
strided_slice, strided_slice_shape = _legacy("StridedSlice")
reverse_v2, reverse_v2_shape = _legacy("ReverseV2")
top_k_v2, top_k_v2_shape = _legacy("TopKV2")
