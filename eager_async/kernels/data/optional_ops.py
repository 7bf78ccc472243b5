"""Optionals: a DT_VARIANT that holds an element or nothing (OptionalFromValue,
OptionalNone, OptionalHasValue, OptionalGetValue). IteratorGetNextAsOptional makes them
too.

>>> opt = optional_from_value([np.array(7, np.int32)])
>>> optional_has_value(opt), optional_get_value(opt, output_types=[np.dtype("int32")],
...                                             output_shapes=[()])
(array(True), [array(7, dtype=int32)])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ...errors import InvalidArgumentError
from .._checks import shape_str, tf_name
from ..registry import op
from ..specs import Shape, TensorSpec
from .datasets import Element, compatible, object_of, scalar, variant

__all__ = ["Optional", "check_optional_value"]


@dataclass(frozen=True, slots=True)
class Optional:
    """An element (``value``) or none."""

    value: Element | None


def check_optional_value(types: Sequence[np.dtype], shapes: Sequence[Shape],
                         value: Element) -> None:  # fmt: skip
    """TF's checks of an optional's value against the types and shapes asked for."""
    if len(value) != len(types):
        raise InvalidArgumentError(
            f"The given optional has {len(value)} components, expected {len(types)}"
        )
    for index, (component, dtype, shape) in enumerate(zip(value, types, shapes, strict=False)):
        if component.dtype != dtype:
            raise InvalidArgumentError(
                f"The given optional does not match the expected type for component {index}. "
                f"Expected: {tf_name(dtype)}. Actual: {tf_name(component.dtype)}."
            )
        if not compatible(shape, component.shape):
            raise InvalidArgumentError(
                f"The given optional does not match the expected shape for component "
                f"{index}. Expected: {shape_str(shape)}. Actual: {shape_str(component.shape)}."
            )


def _optional(op_name: str, tensor: np.ndarray) -> Optional:
    return object_of(op_name, tensor, Optional, "an optional (a DT_VARIANT made by an Optional op)")


@op("OptionalFromValue", shape=scalar)
def optional_from_value(components: list[np.ndarray]) -> np.ndarray:
    """An optional holding ``components``."""
    return variant(Optional(tuple(components)))


@op("OptionalNone", shape=scalar)
def optional_none() -> np.ndarray:
    """An optional holding nothing."""
    return variant(Optional(None))


@op("OptionalHasValue", shape=scalar)
def optional_has_value(optional: np.ndarray) -> np.ndarray:
    """Whether the optional holds a value."""
    return np.array(_optional("OptionalHasValue", optional).value is not None)


def _get_value_rule(optional: TensorSpec, *, output_shapes: list[Shape]) -> list[Shape]:
    return list(output_shapes)


@op("OptionalGetValue", shape=_get_value_rule)
def optional_get_value(
    optional: np.ndarray, *, output_types: list[np.dtype], output_shapes: list[Shape]
) -> list[np.ndarray]:
    """The optional's value; INVALID_ARGUMENT when it has none."""
    value = _optional("OptionalGetValue", optional).value
    if value is None:
        raise InvalidArgumentError("The given optional does not have a value.")
    check_optional_value(output_types, output_shapes, value)
    return list(value)
