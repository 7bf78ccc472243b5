"""Plain records the runtime works on: what an Enqueue item or a reply means, free of any
wire format, so the hot path may decode with any protobuf runtime."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

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


@dataclass(frozen=True, slots=True)
class HandleRef:
    """Names the tensor ``(op_id, output_num)``; ``device`` is "" when the client did not say."""

    op_id: int
    output_num: int
    device: str = ""


Input = HandleRef | np.ndarray
"""An op input: a tensor this worker holds, or one sent inline."""


@dataclass(frozen=True, slots=True)
class OpItem:
    """Run op ``name``; ``op_id == -1`` asks for the outputs inline instead of as handles.

    ``step_id`` (TF's ``func_step_id``) names the rendezvous step of the ``_Send`` ops a
    component function runs; 0 means the context's own.
    """

    op_id: int
    name: str
    inputs: tuple[Input, ...]
    attrs: Mapping[str, Any]
    device: str = ""
    control_op_ids: tuple[int, ...] = ()
    step_id: int = 0


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


@dataclass(frozen=True, slots=True)
class QueueResult:
    """The reply to one item: output shapes, and the outputs themselves for ``op_id == -1``."""

    shapes: tuple[Shape, ...] = ()
    tensors: tuple[np.ndarray, ...] = field(default=())
