"""Records of the ops of ``tf.random.Generator`` (``stateful_random``,
``random_binomial``): programs of steps on a generator's state variable, with what
TensorFlow 2.21 (CPU) returned, left in the state or failed with, pasted and compared
exactly (a NaN equals a NaN); errors; and NonDeterministicInts, whose values are the
operating system's.

The programs run as the conformance harness sends them to TF: a VarHandleOp with an
anonymous shared name (an uninitialised variable reads as an empty vector there), then
each step on it.
"""

from __future__ import annotations

import doctest
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pytest
from kernel_records import INF, NAN, Bad, Inference, bf16, f16, f32, f64, i32, i64, t, u32
from test_kernels_variables import HANDLE, Program, Step

from eager_async.errors import (
    EagerError,
    InvalidArgumentError,
    NotFoundError,
    UnimplementedError,
)
from eager_async.kernels import TensorSpec, lookup, random_binomial, stateful_random

u64 = partial(np.array, dtype=np.uint64)
F16, F32, F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
I32, I64 = np.dtype(np.int32), np.dtype(np.int64)
U32, U64 = np.dtype(np.uint32), np.dtype(np.uint64)
BF16 = bf16(0).dtype
RESOURCE = np.dtype(object)

PROGRAMS = [
    Program("Generator.from_seed(1234): reads, skips, every draw", {"dtype": I64, "shape": (3,)}, (
        Step("AssignVariableOp", (HANDLE, i64([1234, 0, 0])), {}, outputs=()),
        Step("RngReadAndSkip", (HANDLE, i32(1), u64(3)), {}, outputs=(i64([1234, 0, 0]),)),
        Step("RngReadAndSkip", (HANDLE, i32(3), u64(0)), {}, outputs=(i64([2002, 0, 0]),)),
        Step("StatefulStandardNormalV2", (HANDLE, i64(1), i64([2, 3])), {"dtype": F32},
            outputs=(f32([[1.1264246, -1.0338292, 0.25710702], [-0.10831461, -0.39451364,
            -0.40056673]]),)),
        Step("StatefulStandardNormalV2", (HANDLE, i64(3), i32([3])), {"dtype": F64},
            outputs=(f64([1.5668330268910822, 0.20392102210760304, -0.051999370318228454]),)),
        Step("StatefulStandardNormalV2", (HANDLE, i64(1), i64([4])), {"dtype": F16},
            outputs=(f16([-0.4766, -1.6045, 1.856, 1.742]),)),
        Step("StatefulUniform", (HANDLE, i64(1), i64([5])), {"dtype": F16}, outputs=(f16([0.05664,
            0.8945, 0.1973, 0.504, 0.1758]),)),
        Step("StatefulUniform", (HANDLE, i64(1), i64([4])), {"dtype": BF16},
            outputs=(bf16([0.3359375, 0.859375, 0.21875, 0.375]),)),
        Step("StatefulUniform", (HANDLE, i64(1), i64([2, 2])), {"dtype": F64},
            outputs=(f64([[0.27451537682209115, 0.4492504742056649], [0.9762265211466294,
            0.24891541758719193]]),)),
        Step("StatefulUniform", (HANDLE, i64(1), i64([3])), {"dtype": F32},
            outputs=(f32([0.3324331, 0.940145, 0.5317973]),)),
        Step("StatefulTruncatedNormal", (HANDLE, i64(1), i64([6])), {"dtype": F32},
            outputs=(f32([-1.8865834, -1.0579805, -0.39961973, -0.84513885, -0.58110553,
            -0.17121981]),)),
        Step("StatefulTruncatedNormal", (HANDLE, i64(1), i64([3])), {"dtype": F64},
            outputs=(f64([-0.12020842150117936, -0.9874238664896641, 0.002270049069406587]),)),
        Step("StatefulTruncatedNormal", (HANDLE, i64(1), i64([4])), {"dtype": BF16},
            outputs=(bf16([1.109375, -1.6171875, -0.6796875, 0.8828125]),)),
        Step("StatefulUniformInt", (HANDLE, i64(1), i64([6]), i32(-5), i32(5)), {"dtype": I32},
            outputs=(i32([2, 3, 3, 2, -1, 4]),)),
        Step("StatefulUniformInt", (HANDLE, i64(1), i64([3]), i64(-(2**63)),
            i64(2**63 - 1)), {"dtype": I64}, outputs=(i64([-4068691539822305428,
            9088310747026324956, 5135257672938364310]),)),
        Step("StatefulUniformFullInt", (HANDLE, i64(1), i64([3])), {"dtype": U32},
            outputs=(u32([3857463862, 204980725, 3518012301]),)),
        Step("StatefulUniformFullInt", (HANDLE, i64(1), i64([2])), {"dtype": I64},
            outputs=(i64([544273428759935297, -4184175840406002333]),)),
        Step("StatefulUniformFullInt", (HANDLE, i64(1), i64([2])), {"dtype": U64},
            outputs=(u64([8605317914910541266, 3840249570396909983]),)),
        Step("StatefulUniformFullInt", (HANDLE, i64(1), i64([2])), {"dtype": I32},
            outputs=(i32([-1031269757, -1396843411]),)),
        Step("StatefulUniform", (HANDLE, i64(1), i64([0, 4])), {"dtype": F32},
            outputs=(np.zeros((0, 4), F32),)),
        Step("RngReadAndSkip", (HANDLE, i32(1), u64(0)), {}, outputs=(i64([17362, 0, 0]),)),
        Step("RngSkip", (HANDLE, i64(1), i64(-1)), {}, outputs=()),
        Step("ReadVariableOp", (HANDLE,), {"dtype": I64}, outputs=(i64([17106, 0, 0]),)),
    )),
    Program("the counter carries, and the carry TF drops", {"dtype": I64, "shape": (3,)}, (
        Step("AssignVariableOp", (HANDLE, i64([-1, 5, 7])), {}, outputs=()),
        Step("RngSkip", (HANDLE, i64(1), i64(1)), {}, outputs=()),
        Step("ReadVariableOp", (HANDLE,), {"dtype": I64}, outputs=(i64([255, 6, 7]),)),
        Step("AssignVariableOp", (HANDLE, i64([-1, -1, 7])), {}, outputs=()),
        Step("RngReadAndSkip", (HANDLE, i32(1), u64(1)), {}, outputs=(i64([-1, -1, 7]),)),
        Step("ReadVariableOp", (HANDLE,), {"dtype": I64}, outputs=(i64([255, 0, 7]),)),
        # 256 * (2**56 - 1) = 2**64 - 256: the carry out of the counter's lowest word wraps
        # the count's high word to zero, and TF's Skip drops it.
        Step("AssignVariableOp", (HANDLE, i64([256, 0, 7])), {}, outputs=()),
        Step("RngReadAndSkip", (HANDLE, i32(1), u64(2**56 - 1)), {}, outputs=(i64([256, 0, 7]),)),
        Step("ReadVariableOp", (HANDLE,), {"dtype": I64}, outputs=(i64([0, 0, 7]),)),
        Step("AssignVariableOp", (HANDLE, i64([5, 0, 7])), {}, outputs=()),
        Step("RngReadAndSkip", (HANDLE, i32(1), u64(2**64 - 1)), {}, outputs=(i64([5, 0, 7]),)),
        Step("ReadVariableOp", (HANDLE,), {"dtype": I64}, outputs=(i64([-251, 0, 7]),)),
        Step("AssignVariableOp", (HANDLE, i64([0, 0, 7])), {}, outputs=()),
        Step("RngSkip", (HANDLE, i64(1), i64(2**62)), {}, outputs=()),
        Step("ReadVariableOp", (HANDLE,), {"dtype": I64}, outputs=(i64([0, 0, 7]),)),
        Step("AssignVariableOp", (HANDLE, i64([-1, 0, 7])), {}, outputs=()),
        Step("StatefulUniform", (HANDLE, i64(1), i64([8])), {"dtype": F32},
            outputs=(f32([0.26962852, 0.73853886, 0.36826348, 0.20272076, 0.46037483, 0.9285182,
            0.34555566, 0.35096502]),)),
        Step("ReadVariableOp", (HANDLE,), {"dtype": I64}, outputs=(i64([2047, 1, 7]),)),
        Step("AssignVariableOp", (HANDLE, i64([-2, -1, 7])), {}, outputs=()),
        Step("StatefulStandardNormalV2", (HANDLE, i64(1), i64([4])), {"dtype": F64},
            outputs=(f64([-1.2588699651970285, 1.6719759898912632, -0.023205942379657347,
            -1.1609048793562444]),)),
        Step("ReadVariableOp", (HANDLE,), {"dtype": I64}, outputs=(i64([1022, 0, 7]),)),
    )),
    Program("errors in TF's order", {"dtype": I64, "shape": (3,)}, (
        Step("StatefulUniform", (HANDLE, i64(1), i64([2])), {"dtype": F32},
            error=InvalidArgumentError,
            fragment="For the Philox algorithm, the size of state must be at least 3; got 0"),
        Step("RngReadAndSkip", (HANDLE, i32(9), u64(1)), error=InvalidArgumentError,
            fragment="Unsupported algorithm id: 9"),
        Step("AssignVariableOp", (HANDLE, i64([1, 2, 3])), {}, outputs=()),
        Step("StatefulUniform", (HANDLE, i64(2), i64([2])), {"dtype": F32},
            error=UnimplementedError,
            fragment="Non-XLA devices don't support the ThreeFry algorithm."),
        Step("RngSkip", (HANDLE, i64(2), i64(1)), error=UnimplementedError,
            fragment="Non-XLA devices don't support the ThreeFry algorithm."),
        Step("RngReadAndSkip", (HANDLE, i32(2), u64(1)), error=UnimplementedError,
            fragment="Non-XLA devices don't support the ThreeFry algorithm."),
        Step("RngSkip", (HANDLE, i64(0), i64(1)), error=InvalidArgumentError,
            fragment="Unsupported algorithm id: 0"),
        Step("StatefulUniform", (HANDLE, i64([1]), i64([2])), {"dtype": F32},
            error=InvalidArgumentError, fragment="input 1 (0-based) must have shape [], not [1]"),
        Step("RngReadAndSkip", (HANDLE, i32(1), u64([1])), error=InvalidArgumentError,
            fragment="input 2 (0-based) must have shape [], not [1]"),
        Step("RngSkip", (HANDLE, i64(1), i64([1])), error=InvalidArgumentError,
            fragment="input 2 (0-based) must have shape [], not [1]"),
        Step("StatefulUniform", (HANDLE, i64(1), i64([[2]])), {"dtype": F32},
            error=InvalidArgumentError,
            fragment="shape must be a vector of {int32,int64}, got shape [1,1]"),
        Step("StatefulUniform", (HANDLE, i64(1), f32([2.0])), {"dtype": F32},
            error=InvalidArgumentError, fragment="shape must be a vector of {int32,int64}."),
        Step("StatefulStandardNormalV2", (HANDLE, i64(1), i64([-2])), {"dtype": F32},
            error=InvalidArgumentError, fragment="Dimension -2 must be >= 0"),
        Step("StatefulUniformInt", (HANDLE, i64(1), i64([0]), i32(5), i32(5)), {"dtype": I32},
            error=InvalidArgumentError, fragment="Need minval < maxval, got 5 >= 5"),
        Step("StatefulUniformInt", (HANDLE, i64(1), i64([2]), i32([1]), i32(5)), {"dtype": I32},
            error=InvalidArgumentError, fragment="minval must be 0-D, got shape [1]"),
        Step("StatefulUniformInt", (HANDLE, i64(1), i64([2]), i32(1), i32([5])), {"dtype": I32},
            error=InvalidArgumentError, fragment="maxval must be 0-D, got shape [1]"),
        Step("StatefulUniformInt", (HANDLE, i64(2), i64([-2]), i64(6), i64(5)), {"dtype": I64},
            error=InvalidArgumentError, fragment="Need minval < maxval, got 6 >= 5"),
        Step("StatefulUniformFullInt", (HANDLE, i64(2), i64([2])), {"dtype": U64},
            error=UnimplementedError,
            fragment="Non-XLA devices don't support the ThreeFry algorithm."),
        Step("StatefulTruncatedNormal", (HANDLE, i64(7), i64([2])), {"dtype": F32},
            error=InvalidArgumentError, fragment="Unsupported algorithm id: 7"),
        Step("ReadVariableOp", (HANDLE,), {"dtype": I64}, outputs=(i64([1, 2, 3]),)),
        Step("StatefulUniform", (HANDLE, i64(3), i64([0])), {"dtype": F32}, outputs=(f32([]),)),
        Step("AssignVariableOp", (HANDLE, i64([1, 2])), {}, outputs=()),
        Step("StatefulUniform", (HANDLE, i64(1), i64([0])), {"dtype": F32},
            error=InvalidArgumentError,
            fragment="For the Philox algorithm, the size of state must be at least 3; got 2"),
        Step("RngReadAndSkip", (HANDLE, i32(3), u64(1)), error=InvalidArgumentError,
            fragment="For the Philox algorithm, the size of state must be at least 3; got 2"),
        Step("AssignVariableOp", (HANDLE, i64([[1, 2, 3]])), {}, outputs=()),
        Step("RngSkip", (HANDLE, i64(1), i64(1)), error=InvalidArgumentError,
            fragment="RNG state must have one and only one dimension, not 2"),
        Step("AssignVariableOp", (HANDLE, i64([])), {}, outputs=()),
        Step("StatefulUniformFullInt", (HANDLE, i64(2), i64([2])), {"dtype": U64},
            error=UnimplementedError,
            fragment="Non-XLA devices don't support the ThreeFry algorithm."),
    )),
    Program("an int32 state", {"dtype": I32, "shape": (3,)}, (
        Step("AssignVariableOp", (HANDLE, i32([1, 2, 3])), {}, outputs=()),
        Step("RngReadAndSkip", (HANDLE, i32(2), u64(1)), error=InvalidArgumentError,
            fragment="dtype of RNG state variable must be int64, not int32"),
        Step("StatefulUniform", (HANDLE, i64(9), i64([2])), {"dtype": F32},
            error=InvalidArgumentError, fragment="Unsupported algorithm id: 9"),
        Step("StatefulRandomBinomial", (HANDLE, i64(1), i32([1]), f64([5.0]), f64([0.5])),
            {"dtype": I64}, error=InvalidArgumentError,
            fragment="dtype of RNG state variable must be int64, not int32"),
        Step("ReadVariableOp", (HANDLE,), {"dtype": I32}, outputs=(i32([1, 2, 3]),)),
    )),
    Program("a state longer than Philox's", {"dtype": I64, "shape": (5,)}, (
        Step("AssignVariableOp", (HANDLE, i64([1, 2, 3, 4, 5])), {}, outputs=()),
        Step("StatefulUniform", (HANDLE, i64(1), i64([3])), {"dtype": F32},
            outputs=(f32([0.45901167, 0.53342485, 0.9627732]),)),
        Step("RngSkip", (HANDLE, i64(1), i64(2)), {}, outputs=()),
        Step("ReadVariableOp", (HANDLE,), {"dtype": I64}, outputs=(i64([1281, 2, 3, 4, 5]),)),
    )),
    # TF's binomial kernel writes the counter through a pointer it takes before it un-shares
    # the state's buffer, so its skip is lost while another tensor shares the buffer (a
    # literal just assigned, a value read and kept): RngSkip un-shares it first, and
    # RngReadAndSkip with delta 0 reads the state into a tensor of its own.
    Program("binomial", {"dtype": I64, "shape": (3,)}, (
        Step("AssignVariableOp", (HANDLE, i64([7, 8, 9])), {}, outputs=()),
        Step("RngSkip", (HANDLE, i64(1), i64(0)), {}, outputs=()),
        Step("StatefulRandomBinomial", (HANDLE, i64(1), i32([2, 3]), f64([10.0, 20.0, 30.0]),
            f64([0.5, 0.2, 0.9])), {"dtype": I64}, outputs=(i64([[8, 2, 26], [5, 4, 22]]),)),
        Step("RngReadAndSkip", (HANDLE, i32(1), u64(0)), {}, outputs=(i64([192007, 8, 9]),)),
        Step("StatefulRandomBinomial", (HANDLE, i64(1), i32([2, 2, 3]), f32([[10.0], [50.0]]),
            f32([0.5, 0.2, 0.9])), {"dtype": F32}, outputs=(f32([[[5.0, 3.0, 9.0], [27.0, 11.0,
            45.0]], [[7.0, 2.0, 8.0], [23.0, 7.0, 43.0]]]),)),
        Step("RngReadAndSkip", (HANDLE, i32(1), u64(0)), {}, outputs=(i64([576007, 8, 9]),)),
        Step("StatefulRandomBinomial", (HANDLE, i64(1), i32([8]), f16(1e+03), f16(0.3)),
            {"dtype": F16}, outputs=(f16([293.0, 307.0, 301.0, 303.0, 308.0, 321.0, 288.0,
            311.0]),)),
        Step("StatefulRandomBinomial", (HANDLE, i64(1), i32([1, 8]), f64([0.0, -5.0, 10.0, 10.0,
            10.0, 10.0, INF, 10.5]), f64([0.5, 0.5, 0.0, -1.0, 1.0, 2.0, 0.3, 0.7])),
            {"dtype": F64}, outputs=(f64([[0.0, 0.0, 0.0, 0.0, 10.0, 10.0, INF, 8.5]]),)),
        Step("StatefulRandomBinomial", (HANDLE, i64(1), i32([2, 4]), f64([INF, 1e+30, 10.0, INF]),
            f64([0.7, 0.3, 0.5, 0.3])), {"dtype": I32}, outputs=(i32([[-2147483648, -2147483648, 2,
            -2147483648], [-2147483648, -2147483648, 6, -2147483648]]),)),
        Step("StatefulRandomBinomial", (HANDLE, i64(1), i32([3, 2]), f64([3000.0, 20.0]), f64([0.9,
            0.95])), {"dtype": I64}, outputs=(i64([[2697, 20], [2708, 19], [2709, 19]]),)),
        Step("StatefulRandomBinomial", (HANDLE, i64(1), i32([]), f64(100.0), f64(0.3)),
            {"dtype": I32}, outputs=(i32(28),)),
        Step("StatefulRandomBinomial", (HANDLE, i64(1), i32([0, 3]), f64([10.0, 20.0, 30.0]),
            f64(0.5)), {"dtype": I64}, outputs=(np.zeros((0, 3), I64),)),
        Step("RngReadAndSkip", (HANDLE, i32(1), u64(0)), {}, outputs=(i64([1702407, 8, 9]),)),
        Step("StatefulRandomBinomial", (HANDLE, i64(3), i32([1]), f64([10.0]), f64([0.5])),
            {"dtype": I64}, error=InvalidArgumentError, fragment="Unsupported algorithm id: 3"),
        Step("StatefulRandomBinomial", (HANDLE, i64(2), i32([1]), f64([10.0]), f64([0.5])),
            {"dtype": I64}, error=InvalidArgumentError, fragment="Unsupported algorithm id: 2"),
        Step("StatefulRandomBinomial", (HANDLE, i64([1]), i32([1]), f64([10.0]), f64([0.5])),
            {"dtype": I64}, error=InvalidArgumentError,
            fragment="algorithm must be of shape [], not [1]"),
        Step("StatefulRandomBinomial", (HANDLE, i64(1), i32([3]), f64([10.0, 20.0, 30.0]),
            f64([0.5, 0.2])), {"dtype": I64}, error=InvalidArgumentError,
            fragment="counts and probs must have compatible batch dimensions: [3] vs. [2]"),
        Step("StatefulRandomBinomial", (HANDLE, i64(1), i32([3]), f64([10.0]), f64([0.5])),
            {"dtype": I64}, error=InvalidArgumentError,
            fragment="Shape passed in must end with broadcasted shape."),
        Step("StatefulRandomBinomial", (HANDLE, i64(1), i32([[1]]), f64([10.0]), f64([0.5])),
            {"dtype": I64}, error=InvalidArgumentError,
            fragment="Input shape should be a vector, got shape: [1,1]"),
        Step("StatefulRandomBinomial", (HANDLE, i64(1), i32([-1, 1]), f64([10.0]), f64([0.5])),
            {"dtype": I64}, error=InvalidArgumentError, fragment="Dimension -1 must be >= 0"),
        Step("RngReadAndSkip", (HANDLE, i32(1), u64(0)), {}, outputs=(i64([1702407, 8, 9]),)),
        Step("AssignVariableOp", (HANDLE, i64([7, 8])), {}, outputs=()),
        Step("StatefulRandomBinomial", (HANDLE, i64(1), i32([1]), f64([10.0]), f64([0.5])),
            {"dtype": I64}, error=InvalidArgumentError,
            fragment="For Philox algorithm, the size of state must be at least 3; got 2"),
    )),
]


@dataclass(frozen=True)
class Entropy:
    """An op whose values come from the operating system: only their dtype and shape are
    TF's, and two runs differ."""

    op: str
    inputs: tuple[np.ndarray, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)


DISTRIBUTIONS = [
    Entropy("NonDeterministicInts", (i64([3]),)),
    Entropy("NonDeterministicInts", (i32([2, 50]),), {"dtype": I32}),
    Entropy("NonDeterministicInts", (i64([100]),), {"dtype": U32}),
    Entropy("NonDeterministicInts", (i64([100]),), {"dtype": U64}),
]

ERRORS = [
    # The state is a resource variable's handle; a tensor will not do.
    Bad(name, (f32(1), *rest), "expected to be a resource tensor")
    for name, rest in (
        ("RngReadAndSkip", (i32(1), u64(1))),
        ("RngSkip", (i64(1), i64(1))),
        ("StatefulStandardNormalV2", (i64(1), i32([2]))),
        ("StatefulTruncatedNormal", (i64(1), i32([2]))),
        ("StatefulUniform", (i64(1), i32([2]))),
        ("StatefulUniformFullInt", (i64(1), i32([2]))),
        ("StatefulUniformInt", (i64(1), i32([2]), i32(0), i32(5))),
        ("StatefulRandomBinomial", (i64(1), i32([2]), f64(10), f64(0.5))),
    )
] + [
    Bad("NonDeterministicInts", (i32([[2]]),),
        "shape must be a vector of {int32,int64}, got shape [1,1]"),
    Bad("NonDeterministicInts", (f32([2]),), "shape must be a vector of {int32,int64}."),
    Bad("NonDeterministicInts", (i32([-2]),), "Dimension -2 must be >= 0"),
    Bad("NonDeterministicInts", (i32([2]),), "Could not find a CPU kernel", {"dtype": F32},
        NotFoundError),
]

INFERENCE = [
    Inference("RngReadAndSkip", (t(RESOURCE, ()), t(I32, None), t(U64, None)), (t(I64, (3,)),)),
    Inference("StatefulUniform", (t(RESOURCE, ()), t(I64, ()), t(I64, (3,))),
              (t(F32, (-1, -1, -1)),)),
    Inference("StatefulUniformInt", (t(RESOURCE, ()), t(I64, ()), t(I32, None), t(I32, ()),
                                     t(I32, ())), (t(I32, None),)),
    Inference("StatefulRandomBinomial", (t(RESOURCE, ()), t(I64, ()), t(I32, (2,)),
                                         t(F64, (3,)), t(F64, (-1,))), (t(I64, (-1, -1)),)),
    Inference("NonDeterministicInts", (t(I64, (2,), [4, 5]),), (t(I64, (4, 5)),)),
]


def _same(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal dtype, shape and values, bit for bit but for NaN payloads."""
    assert (actual.dtype, actual.shape) == (expected.dtype, expected.shape)
    if expected.dtype.kind == "f" or expected.dtype == BF16:
        wide, want = actual.astype(np.float64), expected.astype(np.float64)
        assert np.array_equal(wide, want, equal_nan=True), (actual, expected)
        assert np.array_equal(np.signbit(wide),
            np.signbit(want) | np.isnan(want) & np.signbit(wide))
    else:
        assert actual.tolist() == expected.tolist()


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_program(program: Program) -> None:
    (handle,) = lookup("VarHandleOp").run([], program.attrs)
    for step in program.steps:
        spec = lookup(step.op)
        inputs = [handle if x is HANDLE else x for x in step.inputs]
        specs = [TensorSpec(a.dtype, a.shape, a) for a in inputs]
        if step.error is not None:
            try:  # a shape rule rejects what it can see is wrong, as the kernel does
                spec.shapes(specs, step.attrs)
            except EagerError as early:
                assert isinstance(early, step.error) and step.fragment in early.message
            with pytest.raises(step.error) as caught:
                spec.run(inputs, step.attrs)
            assert step.fragment in caught.value.message
            continue
        inferred = spec.shapes(specs, step.attrs)
        outputs = spec.run(inputs, step.attrs)
        assert step.outputs is not None and len(outputs) == len(step.outputs) == len(inferred)
        for actual, expected, promised in zip(outputs, step.outputs, inferred, strict=True):
            _same(actual, expected)
            assert promised.dtype == actual.dtype
            assert promised.shape is None or promised.shape == actual.shape


@pytest.mark.parametrize("draw", DISTRIBUTIONS, ids=lambda d: str(d.attrs.get("dtype", I64)))
def test_non_deterministic_ints(draw: Entropy) -> None:
    spec = lookup(draw.op)
    first, second = (spec.run(draw.inputs, draw.attrs)[0] for _ in range(2))
    (inferred,) = spec.shapes([TensorSpec(a.dtype, a.shape, a) for a in draw.inputs],
                              draw.attrs)  # fmt: skip
    assert (first.dtype, first.shape) == (inferred.dtype, inferred.shape)
    assert first.shape == tuple(draw.inputs[0].tolist())
    assert not np.array_equal(first, second)
    # Every bit of the type is random: the top one is set about half the time.
    top = (first.view(f"u{first.itemsize}") >> (8 * first.itemsize - 1)).mean()
    assert first.size < 50 or 0.2 < top < 0.8


def _generator(state: list[int]) -> np.ndarray:
    (handle,) = lookup("VarHandleOp").run([], {"dtype": I64, "shape": (len(state),)})
    lookup("AssignVariableOp").run([handle, i64(state)], {})
    return handle


def _state(handle: np.ndarray) -> list[int]:
    return lookup("ReadVariableOp").run([handle], {"dtype": I64})[0].tolist()


def test_where_tensorflow_corrupts_or_aborts_eager_async_refuses() -> None:
    # TF copies a state of more than three words into its three-word output (heap
    # corruption), and reads an int64 binomial shape as int32 (a CHECK failure).
    handle = _generator([1, 2, 3, 4])
    with pytest.raises(InvalidArgumentError, match="the RNG state has 4 words"):
        lookup("RngReadAndSkip").run([handle, i32(1), u64(1)], {})
    binomial = [handle, i64(1), i64([2]), f64(10), f64(0.5)]
    with pytest.raises(InvalidArgumentError, match="pass the shape as int32"):
        lookup("StatefulRandomBinomial").run(binomial, {"dtype": I64})
    assert _state(handle) == [1, 2, 3, 4]
    # A shape of no dims is never read, so TF takes it in int64 too.
    binomial[2] = i64(np.zeros(0))
    assert lookup("StatefulRandomBinomial").run(binomial, {"dtype": I64})[0].shape == ()


def test_a_state_read_earlier_does_not_change() -> None:
    handle = _generator([1, 2, 3])
    (before,) = lookup("ReadVariableOp").run([handle], {"dtype": I64})
    (read,) = lookup("RngReadAndSkip").run([handle, i32(1), u64(2)], {})
    lookup("StatefulUniform").run([handle, i64(1), i64([2])], {"dtype": F32})
    lookup("StatefulRandomBinomial").run([handle, i64(1), i32([1]), f64(9), f64(0.5)],
                                         {"dtype": I64})  # fmt: skip
    assert before.tolist() == read.tolist() == [1, 2, 3]
    assert _state(handle) == [1 + 256 * (2 + 2 + 200), 2, 3]


def test_a_nan_count_is_refused() -> None:
    # TF's inversion sampler never finishes on one (its sum is never above NaN).
    handle = _generator([1, 2, 3])
    with pytest.raises(InvalidArgumentError, match="counts must not be NaN"):
        lookup("StatefulRandomBinomial").run([handle, i64(1), i32([2]), f64([NAN, 5]),
                                              f64(0.5)], {"dtype": F64})  # fmt: skip
    assert _state(handle) == [1, 2, 3]
    # Where the probability decides without sampling, a NaN count is TF's answer.
    (out,) = lookup("StatefulRandomBinomial").run(
        [handle, i64(1), i32([3]), f64([NAN, NAN, NAN]), f64([0, 1, NAN])], {"dtype": F64})
    assert out[0] == 0 and np.isnan(out[1:]).all()


@pytest.mark.parametrize("module", [stateful_random, random_binomial], ids=lambda m: m.__name__)
def test_doctests(module: Any) -> None:
    failed, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert failed == 0
