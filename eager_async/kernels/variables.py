"""Resource variables: VarHandleOp, AssignVariableOp, ReadVariableOp, AssignAddVariableOp,
AssignSubVariableOp, VarIsInitializedOp, DestroyResourceOp, ResourceGather.

A DT_RESOURCE tensor is a 0-d object array holding a ``Variable``: the state lives in the
tensor the client holds a handle to, so it belongs to that client's context and goes
when the handle does. Each VarHandleOp makes a new variable (TF 2 eager gives every
variable a unique shared_name, so sharing by name never happens there). Assignments
replace the stored array instead of writing into it, so a value read earlier never
changes under its reader. Like TF, the declared shape binds an assignment only with
``validate_shape``; AssignAdd/AssignSub need the value's shape to be the variable's.

The op contract cannot tell a resource from a string (both are object arrays): each
kernel checks that its input 0 holds a ``Variable``.

>>> handle = var_handle_op(dtype=np.dtype(np.float32), shape=(), shared_name=b"")
>>> assign_variable_op(handle, np.float32(3), validate_shape=False)
>>> read_variable_op(handle, dtype=np.dtype(np.float32))
array(3., dtype=float32)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import FailedPreconditionError, InvalidArgumentError, NotFoundError
from ._checks import STRING, shape_str, tf_name
from .registry import op
from .specs import Shape, TensorSpec

__all__ = ["Variable"]

RESOURCE = STRING  # object arrays carry both strings and resources; kernels tell them apart


@dataclass(eq=False)
class Variable:
    """One resource variable: its declared dtype and shape, and its value once assigned."""

    dtype: np.dtype
    shape: Shape
    name: str
    value: np.ndarray | None = None
    destroyed: bool = False

    def read(self, op: str) -> np.ndarray:
        """The value; FAILED_PRECONDITION like TF when there is none."""
        if self.value is None:
            state = "was destroyed" if self.destroyed else "is not initialized"
            raise FailedPreconditionError(
                f"{op}: variable '{self.name}' {state}; assign it a value first "
                "(AssignVariableOp)"
            )
        return self.value


def _not_a_handle(op_name: str, dtype: np.dtype, shape: Shape) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"{op_name}: input 0 must be a resource handle (the output of VarHandleOp), not a "
        f"{tf_name(dtype)} tensor of shape {shape_str(shape)}"
    )


def _variable(op_name: str, handle: np.ndarray) -> Variable:
    item = handle.item() if handle.dtype == RESOURCE and handle.ndim == 0 else None
    if not isinstance(item, Variable):
        raise _not_a_handle(op_name, handle.dtype, handle.shape)
    return item


def _scalar_handle(op_name: str, handle: TensorSpec | np.ndarray) -> None:
    if handle.shape not in (None, ()):
        raise _not_a_handle(op_name, handle.dtype, handle.shape)


def _on_handle(op_name: str) -> Callable[..., None]:
    """The shape rule of an op on a variable's handle (input 0): the handle is a scalar;
    no output, or one whose shape is the variable's, unknown until it runs."""

    def rule(resource: TensorSpec, *rest: TensorSpec) -> None:
        _scalar_handle(op_name, resource)

    return rule


def _scalar(*specs: TensorSpec) -> Shape:
    return ()


@op("VarHandleOp", shape=_scalar)
def var_handle_op(*, dtype: np.dtype, shape: Shape, shared_name: bytes) -> np.ndarray:
    """A handle to a new, uninitialised variable."""
    handle = np.empty((), dtype=RESOURCE)
    handle[()] = Variable(dtype, shape, shared_name.decode(errors="replace") or "anonymous")
    return handle


def _checked_value(
    op_name: str, variable: Variable, value: np.ndarray, validate_shape: bool = False
) -> np.ndarray:
    if value.dtype != variable.dtype:
        raise InvalidArgumentError(
            f"{op_name}: trying to assign variable with wrong dtype. Expected "
            f"{tf_name(variable.dtype)} got {tf_name(value.dtype)}"
        )
    if validate_shape and variable.shape is not None and not _fits(value.shape, variable.shape):
        raise InvalidArgumentError(
            f"{op_name}: trying to assign a value of shape {shape_str(value.shape)} to "
            f"variable '{variable.name}' of shape {shape_str(variable.shape)}"
        )
    return value


def _fits(shape: tuple[int, ...], declared: tuple[int, ...]) -> bool:
    return len(shape) == len(declared) and all(
        d in (-1, n) for d, n in zip(declared, shape, strict=True)
    )


@op("AssignVariableOp", shape=_on_handle("AssignVariableOp"))
def assign_variable_op(resource: np.ndarray, value: np.ndarray, *, validate_shape: bool) -> None:
    """Set the variable's value (a private copy of it)."""
    variable = _variable("AssignVariableOp", resource)
    variable.value = np.array(_checked_value("AssignVariableOp", variable, value, validate_shape))
    variable.destroyed = False


def _accumulate(op_name: str, resource: np.ndarray, delta: np.ndarray, sign: int) -> None:
    variable = _variable(op_name, resource)
    current = variable.read(op_name)
    _checked_value(op_name, variable, delta)
    if delta.shape != current.shape:
        raise InvalidArgumentError(
            f"{op_name}: cannot update variable of shape {shape_str(current.shape)} using a "
            f"tensor of shape {shape_str(delta.shape)}, shapes must be equal"
        )
    with np.errstate(all="ignore"):  # integers wrap, as in TF
        variable.value = current + delta if sign > 0 else current - delta


@op("AssignAddVariableOp", shape=_on_handle("AssignAddVariableOp"))
def assign_add_variable_op(resource: np.ndarray, value: np.ndarray) -> None:
    """variable += value."""
    _accumulate("AssignAddVariableOp", resource, value, +1)


@op("AssignSubVariableOp", shape=_on_handle("AssignSubVariableOp"))
def assign_sub_variable_op(resource: np.ndarray, value: np.ndarray) -> None:
    """variable -= value."""
    _accumulate("AssignSubVariableOp", resource, value, -1)


@op("ReadVariableOp", shape=_on_handle("ReadVariableOp"))
def read_variable_op(resource: np.ndarray, *, dtype: np.dtype) -> np.ndarray:
    """The variable's current value."""
    variable = _variable("ReadVariableOp", resource)
    value = variable.read("ReadVariableOp")
    if dtype != value.dtype:
        raise InvalidArgumentError(
            f"ReadVariableOp: trying to read variable '{variable.name}' as "
            f"{tf_name(dtype)}, but it holds {tf_name(value.dtype)}"
        )
    return value


def _is_initialized_shape(resource: TensorSpec) -> Shape:
    _scalar_handle("VarIsInitializedOp", resource)
    return ()


@op("VarIsInitializedOp", shape=_is_initialized_shape)
def var_is_initialized_op(resource: np.ndarray) -> np.ndarray:
    """Whether the variable holds a value."""
    return np.array(_variable("VarIsInitializedOp", resource).value is not None)


@op("DestroyResourceOp", shape=_on_handle("DestroyResourceOp"))
def destroy_resource_op(resource: np.ndarray, *, ignore_lookup_error: bool) -> None:
    """Drop the variable's value; reading it afterwards fails. Another resource that
    knows how to be deleted (a multi-device iterator) is deleted its own way."""
    item = resource.item() if resource.dtype == RESOURCE and resource.ndim == 0 else None
    delete = getattr(item, "delete", None)
    if not isinstance(item, Variable) and callable(delete):
        delete()
        return
    variable = _variable("DestroyResourceOp", resource)
    if variable.destroyed and not ignore_lookup_error:
        raise NotFoundError(f"DestroyResourceOp: variable '{variable.name}' does not exist")
    variable.value, variable.destroyed = None, True


def _gather(resource: TensorSpec | np.ndarray, batch_dims: int) -> None:
    _scalar_handle("ResourceGather", resource)
    if batch_dims != 0:
        raise InvalidArgumentError("ResourceGather: batch_dims other than 0 is not supported yet")


def _gather_shape(resource: TensorSpec, indices: TensorSpec, *, batch_dims: int) -> Shape:
    _gather(resource, batch_dims)
    return None  # the variable's shape is not in its handle's spec


@op("ResourceGather", shape=_gather_shape)
def resource_gather(resource: np.ndarray, indices: np.ndarray, *, batch_dims: int) -> np.ndarray:
    """Rows ``indices`` (along axis 0) of the variable's value."""
    _gather(resource, batch_dims)
    params = _variable("ResourceGather", resource).read("ResourceGather")
    if params.ndim == 0:
        raise InvalidArgumentError("ResourceGather: params must be at least 1-D, got a scalar")
    bad = (indices < 0) | (indices >= params.shape[0])
    if bad.any():
        position = int(np.flatnonzero(bad.ravel())[0])
        raise InvalidArgumentError(
            f"ResourceGather: indices[{position}] = {int(indices.ravel()[position])} is not "
            f"in [0, {params.shape[0]})"
        )
    return np.asarray(params[indices])
