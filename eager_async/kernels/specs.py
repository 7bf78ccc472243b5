"""What is known about a tensor before it is computed: its dtype, static shape and, once
known, its value.

>>> TensorSpec(np.dtype("float32"), (2, -1))
TensorSpec(dtype=dtype('float32'), shape=(2, -1), value=None)
"""

from __future__ import annotations

from typing import Final

import numpy as np

__all__ = ["VALUE_DTYPES", "Shape", "TensorSpec"]

Shape = tuple[int, ...] | None
"""A static shape: a tuple of dims where -1 is an unknown size, or None for unknown rank."""


VALUE_DTYPES = frozenset({np.dtype(np.int32), np.dtype(np.int64)})
"""The dtypes whose values shape rules read (shapes, axes, permutations)."""


class TensorSpec:
    """What is known about a tensor before it is computed.

    ``value`` is the tensor itself when it is already known (an inline input, or an
    output that has finished). Shape rules read it only for ``VALUE_DTYPES`` inputs (a
    shape, an axis, a permutation): the memo of inferred shapes relies on that. Two specs
    are equal when dtype and shape are; the value is not compared.

    Immutable; a plain class rather than a frozen dataclass, whose ``__init__`` was a
    tenth of a tiny op's cost (every op makes one per input and output).
    """

    __slots__ = ("_key", "dtype", "shape", "value")

    def __init__(self, dtype: np.dtype, shape: Shape, value: np.ndarray | None = None) -> None:
        self.dtype: Final = dtype
        self.shape: Final = shape
        self.value: Final = value
        self._key: tuple[object, ...] | None = None  # see memo_key

    def elements(self) -> int | None:
        """How many elements a tensor of this spec has; None while a dim is unknown.

        >>> TensorSpec(np.dtype("float32"), (2, 3)).elements()
        6
        """
        shape = self.shape
        if shape is None:
            return None
        count = 1
        for dim in shape:
            if dim < 0:
                return None
            count *= dim
        return count

    def memo_key(self, max_values: int) -> tuple[object, ...] | None:
        """What a shape rule can read of this spec, as a dict key: dtype, shape, and the
        values of a ``VALUE_DTYPES`` tensor of at most ``max_values`` elements (None,
        no key, for a larger one). Computed once: a producer's spec is read by every op
        that consumes it."""
        key = self._key
        if key is None:
            value = self.value
            values: tuple[object, ...] | None = None
            if value is not None and self.dtype in VALUE_DTYPES:
                if value.size > max_values:
                    key = ()
                else:
                    values = tuple(value.ravel().tolist())
            if key is None:
                key = (self.dtype, self.shape, values)
            self._key = key
        return key or None

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, TensorSpec)
            and self.dtype == other.dtype
            and self.shape == other.shape
        )

    def __hash__(self) -> int:
        return hash((self.dtype, self.shape))

    def __repr__(self) -> str:
        return f"TensorSpec(dtype={self.dtype!r}, shape={self.shape!r}, value={self.value!r})"
