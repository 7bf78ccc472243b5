"""Records of the resource-variable ops: short programs over one variable (the ops have
state, so a record is a sequence of steps), and errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from kernel_records import Bad, f32, i32, i64

from eager_async.errors import EagerError, FailedPreconditionError, InvalidArgumentError
from eager_async.kernels import TensorSpec, lookup

F32 = np.dtype(np.float32)
HANDLE = "handle"  # stands for the variable's handle in a step's inputs


@dataclass(frozen=True)
class Step:
    """Run ``op`` on the program's variable; expect ``outputs`` or ``error``/``fragment``."""

    op: str
    inputs: tuple[Any, ...] = (HANDLE,)
    attrs: Mapping[str, Any] = field(default_factory=dict)
    outputs: tuple[np.ndarray, ...] | None = None
    error: type[EagerError] | None = None
    fragment: str = ""


@dataclass(frozen=True)
class Program:
    """A variable made by VarHandleOp with ``attrs``, then ``steps`` in order."""

    name: str
    attrs: Mapping[str, Any]
    steps: tuple[Step, ...]

    @property
    def ops(self) -> set[str]:
        """Every op the program runs."""
        return {"VarHandleOp"} | {step.op for step in self.steps}


READ = Step("ReadVariableOp", attrs={"dtype": F32})
PROGRAMS = [
    Program("assign-read-update", {"dtype": F32, "shape": (2,)}, (
        Step("VarIsInitializedOp", outputs=(np.array(False),)),
        Step("ReadVariableOp", attrs={"dtype": F32}, error=FailedPreconditionError,
             fragment="is not initialized"),
        Step("AssignVariableOp", (HANDLE, f32([1, 2])), outputs=()),
        Step("VarIsInitializedOp", outputs=(np.array(True),)),
        Step("AssignAddVariableOp", (HANDLE, f32([10, 10])), outputs=()),
        Step("AssignSubVariableOp", (HANDLE, f32([1, 0])), outputs=()),
        Step("ReadVariableOp", attrs={"dtype": F32}, outputs=(f32([10, 12]),)),
        Step("ResourceGather", (HANDLE, i32([1, 1, 0])), {"dtype": F32},
             outputs=(f32([12, 12, 10]),)),
        Step("ResourceGather", (HANDLE, i32([2])), {"dtype": F32},
             error=InvalidArgumentError, fragment="indices[0] = 2 is not in [0, 2)"),
        Step("AssignVariableOp", (HANDLE, f32([1, 2, 3])), {"validate_shape": True},
             error=InvalidArgumentError, fragment="a value of shape [3] to variable"),
        Step("AssignVariableOp", (HANDLE, i32([1, 2])), error=InvalidArgumentError,
             fragment="wrong dtype. Expected float got int32"),
        Step("DestroyResourceOp", outputs=()),
        Step("ReadVariableOp", attrs={"dtype": F32}, error=FailedPreconditionError,
             fragment="was destroyed"),
    )),
    Program("a new shape without validate_shape", {"dtype": F32, "shape": (2,)}, (
        Step("AssignVariableOp", (HANDLE, f32([1, 2, 3])), outputs=()),
        Step("ReadVariableOp", attrs={"dtype": F32}, outputs=(f32([1, 2, 3]),)),
    )),
    Program("int64 wraps, shape unknown", {"dtype": np.dtype(np.int64), "shape": None}, (
        Step("AssignVariableOp", (HANDLE, i64([2**63 - 1])), outputs=()),
        Step("AssignAddVariableOp", (HANDLE, i64([1])), outputs=()),
        Step("ReadVariableOp", attrs={"dtype": np.dtype(np.int64)},
             outputs=(i64([-(2**63)]),)),
        Step("AssignAddVariableOp", (HANDLE, i64([1, 2])), error=InvalidArgumentError,
             fragment="shapes must be equal"),
    )),
]

ERRORS = [
    Bad(op, (f32(1), f32(1))[: count], "expected to be a resource tensor", attrs)
    for op, count, attrs in (
        ("AssignVariableOp", 2, {}), ("AssignAddVariableOp", 2, {}),
        ("AssignSubVariableOp", 2, {}), ("ReadVariableOp", 1, {"dtype": F32}),
        ("VarIsInitializedOp", 1, {}), ("DestroyResourceOp", 1, {}),
        ("ResourceGather", 2, {"dtype": F32}),
    )
] + [
    Bad("VarHandleOp", (), "missing attr \'dtype\'"),
    Bad("VarHandleOp", (f32(1),), "do not match 1 inputs specified", {"dtype": F32}),
]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_program(program: Program) -> None:
    make = lookup("VarHandleOp")
    (handle,) = make.run([], program.attrs)
    assert [(s.dtype, s.shape) for s in make.shapes([], program.attrs)] == [
        (handle.dtype, handle.shape)]
    for step in program.steps:
        spec = lookup(step.op)
        inputs = [handle if x is HANDLE else x for x in step.inputs]
        specs = [TensorSpec(a.dtype, a.shape, a) for a in inputs]
        if step.error is not None:
            with pytest.raises(step.error) as caught:
                spec.shapes(specs, step.attrs)
                spec.run(inputs, step.attrs)
            assert step.fragment in caught.value.message
            continue
        outputs = spec.run(inputs, step.attrs)
        assert step.outputs is not None
        assert len(outputs) == len(step.outputs) == len(spec.shapes(specs, step.attrs))
        for actual, expected in zip(outputs, step.outputs, strict=True):
            assert actual.dtype == expected.dtype
            np.testing.assert_array_equal(actual, expected)


def test_a_value_read_earlier_does_not_change() -> None:
    (handle,) = lookup("VarHandleOp").run([], {"dtype": F32, "shape": (1,)})
    lookup("AssignVariableOp").run([handle, f32([1])], {})
    (before,) = lookup("ReadVariableOp").run([handle], {"dtype": F32})
    lookup("AssignAddVariableOp").run([handle, f32([5])], {})
    assert before.tolist() == [1.0]
