"""Records of Case and StatelessCase (``eager_async.kernels.case_ops``); each names the
branch functions it may call. TF 2.21 runs the last branch for an index out of range
(``tf.switch_case`` with index 5 or -1 of three branches gives the third's result)."""

from __future__ import annotations

import numpy as np
import pytest
from kernel_records import Bad, Case, f32, i32, lookup

from eager_async.attrs import FuncAttr, Placeholder
from eager_async.errors import InvalidArgumentError, NotFoundError
from eager_async.functions import ArgSpec, FunctionSpec, NodeSpec
from eager_async.kernels import TensorSpec

F32, I32 = np.dtype(np.float32), np.dtype(np.int32)
T = {"T": Placeholder("T")}


def _fn(name: str, op: str, out: str) -> FunctionSpec:
    return FunctionSpec(name, (ArgSpec("x", type_attr="T"),), (ArgSpec("y", type_attr="T"),),
                        (NodeSpec("n", op, ("x", "x") if op == "Mul" else ("x",), T),),
                        {"y": f"n:{out}:0"})  # fmt: skip


SQUARE, NEGATE, SAME = (
    _fn("SquareFn", "Mul", "z"),
    _fn("Negate", "Neg", "y"),
    _fn("Same", "Identity", "output"),
)
BRANCHES = (SQUARE, NEGATE, SAME)
CASE = {"branches": [FuncAttr("SquareFn"), FuncAttr("Negate"), FuncAttr("Same")], "Tout": [F32]}

CASES = [
    Case("Case", (i32(0), f32([3, -2])), (f32([9, 4]),), CASE, functions=BRANCHES),
    Case("Case", (i32(1), f32(3)), (f32(-3),), CASE, functions=BRANCHES, name="second branch"),
    Case(
        "StatelessCase",
        (i32(5), f32(3)),
        (f32(3),),
        CASE,
        functions=BRANCHES,
        name="past the end: the last branch",
    ),
    Case(
        "StatelessCase",
        (i32(-1), f32([7])),
        (f32([7]),),
        CASE,
        functions=BRANCHES,
        name="negative: the last branch",
    ),
]

ERRORS = [
    Bad("Case", (i32([0]), f32(3)), "branch_index must be scalar", CASE, functions=BRANCHES),
    Bad("StatelessCase", (i32(0), f32(3)), "missing attr 'branches'", {"Tout": [F32]}),
    Bad(
        "StatelessCase",
        (i32(0), f32(3)),
        "Function 'Nope' is not registered",
        {"branches": [FuncAttr("Nope")], "Tout": [F32]},
        NotFoundError,
    ),
]


def test_unknown_index_merges_the_branches() -> None:
    """With the index unknown, the static shape is what every branch's outputs share."""
    case = lookup("StatelessCase", BRANCHES)
    specs = [TensorSpec(I32, ()), TensorSpec(F32, (2, 3))]
    assert [s.shape for s in case.shapes(specs, CASE)] == [(2, 3)]
    stacked = {**CASE, "branches": [FuncAttr("SquareFn"), FuncAttr("Twice")]}
    twice = FunctionSpec("Twice", (ArgSpec("x", type_attr="T"),), (ArgSpec("y", type_attr="T"),),
                         (NodeSpec("p", "Pack", ("x", "x"), {"N": 2, "axis": 0, **T}),),
                         {"y": "p:output:0"})  # fmt: skip
    merged = lookup("StatelessCase", (SQUARE, twice)).shapes(specs, stacked)
    assert [s.shape for s in merged] == [None]


def test_branches_of_different_dtypes_are_refused() -> None:
    to_int = FunctionSpec("ToInt", (ArgSpec("x", type_attr="T"),), (ArgSpec("y", dtype=I32),),
                          (NodeSpec("c", "Cast", ("x",), {"SrcT": Placeholder("T"),
                                                          "DstT": I32}),),
                          {"y": "c:y:0"})  # fmt: skip
    attrs = {**CASE, "branches": [FuncAttr("SquareFn"), FuncAttr("ToInt")]}
    case = lookup("Case", (SQUARE, to_int))
    with pytest.raises(InvalidArgumentError, match="different dtypes"):
        case.shapes([TensorSpec(I32, ()), TensorSpec(F32, ())], attrs)
