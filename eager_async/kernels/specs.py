"""What is known about a tensor before it is computed: its dtype, static shape and, once
known, its value.

>>> TensorSpec(np.dtype("float32"), (2, -1))
TensorSpec(dtype=dtype('float32'), shape=(2, -1), value=None)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Shape", "TensorSpec"]

Shape = tuple[int, ...] | None
"""A static shape: a tuple of dims where -1 is an unknown size, or None for unknown rank."""


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """What is known about a tensor before it is computed.

    ``value`` is the tensor itself when it is already known (an inline input, or an
    output that has finished). Shape rules read it only for int32/int64 inputs (a
    shape, an axis, a permutation): the memo of inferred shapes relies on that.
    """

    dtype: np.dtype
    shape: Shape
    value: np.ndarray | None = field(default=None, compare=False)
