"""Case and StatelessCase (TF's functional_ops, what ``tf.switch_case`` builds): run one
of the functions of attr ``branches`` on the inputs.

Kept apart from ``functional_ops`` only while that module is being edited elsewhere;
it belongs there, beside If.

An index out of range (negative, or past the last branch) runs the last branch, TF's
default branch. The shape rule follows the branch a known index picks, else what every
branch's outputs share.

>>> case(np.int32(7), [np.float32(3)], branches=[FuncAttr("Neg"), FuncAttr("Square")],
...      env=env)  # doctest: +SKIP
[array(9., dtype=float32)]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..attrs import FuncAttr
from ..errors import InvalidArgumentError
from .registry import Shape, op
from .specs import TensorSpec

__all__ = ["case"]


def _branch(branch_index: int, branches: list[FuncAttr]) -> FuncAttr:
    return branches[branch_index if 0 <= branch_index < len(branches) else -1]


def _scalar_index(shape: Shape) -> None:
    if shape is not None and len(shape):
        raise InvalidArgumentError("branch_index must be scalar")


def _merged(a: TensorSpec, b: TensorSpec) -> Shape:
    if a.dtype != b.dtype:
        raise InvalidArgumentError(
            f"Case: the branches return different dtypes ({a.dtype} vs {b.dtype})"
        )
    if a.shape is None or b.shape is None or len(a.shape) != len(b.shape):
        return None
    return tuple(x if x == y else -1 for x, y in zip(a.shape, b.shape, strict=True))


def _case_shape(
    branch_index: TensorSpec, input: list[TensorSpec], *, branches: list[FuncAttr], env: Any
) -> list[Shape]:
    _scalar_index(branch_index.shape)
    if branch_index.value is not None:
        taken = _branch(int(branch_index.value), branches)
        return [s.shape for s in env.function(taken.name).shapes(input, taken.attrs)]
    outputs = [env.function(b.name).shapes(input, b.attrs) for b in branches]
    if len({len(specs) for specs in outputs}) > 1:
        raise InvalidArgumentError("Case: the branches return different numbers of outputs")
    merged = list(outputs[0])
    for specs in outputs[1:]:
        merged = [TensorSpec(m.dtype, _merged(m, s)) for m, s in zip(merged, specs, strict=True)]
    return [spec.shape for spec in merged]


@op("Case", shape=_case_shape)
def case(
    branch_index: np.ndarray, input: list[np.ndarray], *, branches: list[FuncAttr], env: Any
) -> list[np.ndarray]:
    """The outputs of ``branches[branch_index](*input)`` (the last branch when the index
    is out of range)."""
    _scalar_index(branch_index.shape)
    taken = _branch(int(branch_index), branches)
    results: list[np.ndarray] = env.function(taken.name).run(input, taken.attrs)
    return results


op("StatelessCase", shape=_case_shape)(case)
