"""Plain records the runtime works on: what an Enqueue item or a reply means, free of any
wire format, so the hot path may decode with any protobuf runtime."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from .errors import EagerError
from .functions import FunctionSpec

__all__ = [
    "CleanupItem",
    "DecrefItem",
    "HandleRef",
    "Input",
    "InvalidItem",
    "Item",
    "NoopItem",
    "OpItem",
    "QueueResult",
    "RegisterFunctionItem",
    "RemoveFunctionItem",
    "SendTensorItem",
    "Shape",
]

Shape = tuple[int, ...] | None
"""A shape with -1 for an unknown size, or None when even the rank is unknown."""


class HandleRef:
    """Names the tensor ``(op_id, output_num)``; ``device`` is "" when the client did not say.

    Immutable, like every record; a plain class rather than a frozen dataclass because
    the Enqueue reader makes two per tiny op, and a frozen dataclass's ``__init__``
    cost more than the rest of reading the op.

    >>> HandleRef(3, 0) == HandleRef(3, 0, "")
    True
    """

    __slots__ = ("device", "op_id", "output_num")

    def __init__(self, op_id: int, output_num: int, device: str = "") -> None:
        self.op_id: Final = op_id
        self.output_num: Final = output_num
        self.device: Final = device

    def _key(self) -> tuple[int, int, str]:
        return self.op_id, self.output_num, self.device

    def __eq__(self, other: object) -> bool:
        return isinstance(other, HandleRef) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"HandleRef(op_id={self.op_id}, output_num={self.output_num}, "
                f"device={self.device!r})")  # fmt: skip


Input = HandleRef | np.ndarray
"""An op input: a tensor this worker holds, or one sent inline."""


class OpItem:
    """Run op ``name``; ``op_id == -1`` asks for the outputs inline instead of as handles.

    ``step_id`` (TF's ``func_step_id``) names the rendezvous step of the ``_Send`` ops a
    component function runs; 0 means the context's own. Immutable (a plain class for the
    reason ``HandleRef`` gives).
    """

    __slots__ = ("attrs", "control_op_ids", "device", "inputs", "name", "op_id", "step_id")

    def __init__(
        self,
        op_id: int,
        name: str,
        inputs: tuple[Input, ...],
        attrs: Mapping[str, Any],
        device: str = "",
        control_op_ids: tuple[int, ...] = (),
        step_id: int = 0,
    ) -> None:
        self.op_id: Final = op_id
        self.name: Final = name
        self.inputs: Final = inputs
        self.attrs: Final = attrs
        self.device: Final = device
        self.control_op_ids: Final = control_op_ids
        self.step_id: Final = step_id

    def _key(self) -> tuple[Any, ...]:
        return (self.op_id, self.name, self.inputs, self.attrs, self.device,
                self.control_op_ids, self.step_id)  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OpItem):
            return False
        # Inline tensors compare by value (arrays have no single truth value).
        mine, theirs = self._key(), other._key()
        return mine[:2] + mine[3:] == theirs[:2] + theirs[3:] and _same_inputs(
            self.inputs, other.inputs
        )

    __hash__ = None  # type: ignore[assignment]  # attrs and tensors are not hashable

    def __repr__(self) -> str:
        return (f"OpItem(op_id={self.op_id}, name={self.name!r}, inputs={self.inputs!r}, "
                f"attrs={dict(self.attrs)!r}, device={self.device!r}, "
                f"control_op_ids={self.control_op_ids!r}, step_id={self.step_id})")  # fmt: skip


def _same_inputs(mine: tuple[Input, ...], theirs: tuple[Input, ...]) -> bool:
    if len(mine) != len(theirs):
        return False
    for a, b in zip(mine, theirs, strict=True):
        if isinstance(a, HandleRef) or isinstance(b, HandleRef):
            if a != b:
                return False
        elif a.dtype != b.dtype or a.shape != b.shape or not np.array_equal(a, b):
            return False
    return True


@dataclass(frozen=True, slots=True)
class SendTensorItem:
    """Store ``tensors[i]`` as the handle ``(op_id, i)``."""

    op_id: int
    tensors: tuple[np.ndarray, ...]
    device: str = ""


@dataclass(frozen=True, slots=True)
class DecrefItem:
    """Release the handle the client no longer needs."""

    handle: HandleRef


@dataclass(frozen=True, slots=True)
class RegisterFunctionItem:
    """Make ``function`` (and its ``library``) callable as ops in this context."""

    function: FunctionSpec
    library: tuple[FunctionSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class RemoveFunctionItem:
    """Forget the function ``name``."""

    name: str


@dataclass(frozen=True, slots=True)
class NoopItem:
    """An item that only needs an empty reply (sync_remote_executor_for_stream);
    ``wait`` asks to wait for everything enqueued before it."""

    wait: bool = False


@dataclass(frozen=True, slots=True)
class CleanupItem:
    """A step of component functions is over (TF's ``cleanup_function``): what its
    ``_Send``s left unclaimed is dropped."""

    step_id: int


@dataclass(frozen=True, slots=True)
class InvalidItem:
    """An item that could not be decoded; running it raises ``error``, so the items
    before it still run, as TensorFlow does."""

    error: EagerError


Item = (
    OpItem
    | SendTensorItem
    | DecrefItem
    | RegisterFunctionItem
    | RemoveFunctionItem
    | NoopItem
    | CleanupItem
    | InvalidItem
)


class QueueResult:
    """The reply to one item: output shapes, and the outputs themselves for ``op_id == -1``.
    Immutable (a plain class for the reason ``HandleRef`` gives)."""

    __slots__ = ("shapes", "tensors")

    def __init__(
        self, shapes: tuple[Shape, ...] = (), tensors: tuple[np.ndarray, ...] = ()
    ) -> None:
        self.shapes: Final = shapes
        self.tensors: Final = tensors

    def __repr__(self) -> str:
        return f"QueueResult(shapes={self.shapes!r}, tensors={self.tensors!r})"
