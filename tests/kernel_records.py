"""Op records for the table-driven kernel tests, in the manner of JAX's lax_reference
tests, and the checks every record goes through.

- ``Case``: inputs, attrs and the expected outputs (explicit values, or a NumPy reference
  with a tolerance). The check also tests the op's shape function: exact with every input
  value known, and compatible with the outputs when no value is known.
- ``Inference``: a shape function on partly unknown inputs (-1 dims, unknown rank/value).
- ``Bad``: inputs an op must reject, with a message fragment, by the shape function and
  by the kernel.

Each ``tests/test_kernels_*.py`` holds the tables of one op family (``CASES``,
``INFERENCE``, ``ERRORS``); ``test_kernel_tables.py`` runs them all and fails when a
registered op has no record.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import ml_dtypes
import numpy as np
import pytest

from eager_async.errors import EagerError, InvalidArgumentError
from eager_async.executor import quietly
from eager_async.functions import FunctionLibrary, FunctionSpec
from eager_async.kernels import TensorSpec
from eager_async.op_env import OpEnv, OpKernel
from eager_async.rendezvous import Rendezvous

BF16 = np.dtype(ml_dtypes.bfloat16)
f16 = partial(np.array, dtype=np.float16)
bf16 = partial(np.array, dtype=BF16)
f32 = partial(np.array, dtype=np.float32)
f64 = partial(np.array, dtype=np.float64)
i8 = partial(np.array, dtype=np.int8)
i16 = partial(np.array, dtype=np.int16)
i32 = partial(np.array, dtype=np.int32)
i64 = partial(np.array, dtype=np.int64)
u8 = partial(np.array, dtype=np.uint8)
u32 = partial(np.array, dtype=np.uint32)
c64 = partial(np.array, dtype=np.complex64)
b = partial(np.array, dtype=np.bool_)
s = partial(np.array, dtype=object)  # TF strings: object arrays of bytes
NAN, INF = float("nan"), float("inf")
I32_MIN, I32_MAX = -(2**31), 2**31 - 1

_rng = np.random.default_rng(0)


def rand(shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
    return _rng.standard_normal(shape).astype(dtype)


Reference = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Case:
    """One op run: ``expected`` holds the outputs, or a NumPy reference of the inputs.

    ``data_dependent``: the output sizes depend on input values no shape function may read
    (Where, Unique), so inferred shapes need only be compatible with the outputs.
    """

    op: str
    inputs: tuple[np.ndarray, ...]
    expected: tuple[np.ndarray, ...] | Reference
    attrs: Mapping[str, Any] = field(default_factory=dict)
    tol: float = 0.0
    name: str = ""
    data_dependent: bool = False
    functions: tuple[FunctionSpec, ...] = ()


@dataclass(frozen=True)
class Inference:
    """A shape function on specs without values (-1 dims, None shapes)."""

    op: str
    specs: tuple[TensorSpec, ...]
    expected: tuple[TensorSpec, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)


def t(dtype: Any, shape: tuple[int, ...] | None, value: Any = None) -> TensorSpec:
    """A spec for Inference records; ``value`` only for int inputs a shape function reads."""
    return TensorSpec(np.dtype(dtype), shape, None if value is None else np.asarray(value))


@dataclass(frozen=True)
class Bad:
    """Inputs an op must reject, with a fragment of the message."""

    op: str
    inputs: tuple[np.ndarray, ...]
    fragment: str
    attrs: Mapping[str, Any] = field(default_factory=dict)
    error: type[EagerError] = InvalidArgumentError
    functions: tuple[FunctionSpec, ...] = ()


# The rendezvous of records' ops (``_Send``, ``_Recv``) lives on a loop of its own, in a
# thread of its own, as the server's loop serves kernel threads.
LOOP = asyncio.new_event_loop()
threading.Thread(target=LOOP.run_forever, name="records-loop", daemon=True).start()
atexit.register(LOOP.call_soon_threadsafe, LOOP.stop)
RENDEZVOUS = Rendezvous(LOOP)
STEP = 1


def lookup(op: str, functions: Sequence[FunctionSpec] = ()) -> OpKernel:
    """The op ``op`` bound to a context-free ``OpEnv`` whose library holds ``functions``
    (what a record of a function-calling op calls)."""
    library = FunctionLibrary()
    for function in functions:
        library.add(function)
    env = OpEnv(context_id=STEP, step_id=STEP, rendezvous=RENDEZVOUS, lookup=library.lookup)
    return library.lookup(op, env)


def case_id(case: Case) -> str:
    """A readable pytest id for a Case."""
    return f"{case.op}-{case.name}" if case.name else case.op


def _specs(arrays: Sequence[np.ndarray], *, values: bool) -> list[TensorSpec]:
    return [TensorSpec(a.dtype, a.shape, a if values else None) for a in arrays]


def _assert_same(actual: np.ndarray, expected: np.ndarray, tol: float) -> None:
    assert isinstance(actual, np.ndarray), type(actual)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if expected.dtype == object:
        assert actual.tolist() == expected.tolist()
    elif expected.dtype.kind in "fcV" or expected.dtype == BF16:
        wide = np.complex128 if expected.dtype.kind == "c" else np.float64
        np.testing.assert_allclose(actual.astype(wide), expected.astype(wide), rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(actual, expected)


def compatible(inferred: TensorSpec, actual: np.ndarray) -> bool:
    """Whether ``actual`` is a tensor ``inferred`` allows: same dtype, and the inferred
    shape (unknown rank, or -1 dims) matches."""
    if inferred.dtype != actual.dtype:
        return False
    if inferred.shape is None:
        return True
    return len(inferred.shape) == actual.ndim and all(
        d in (-1, n) for d, n in zip(inferred.shape, actual.shape, strict=True)
    )


def check_case(case: Case) -> None:
    """Run the kernel and its shape function on one Case."""
    spec = lookup(case.op, case.functions)
    # As the executor runs kernels: NumPy's floating-point errors silent, as TF's are.
    outputs = quietly(lambda: spec.run(case.inputs, case.attrs))
    expected = case.expected
    if callable(expected):
        expected = (np.asarray(expected(*case.inputs)),)
    assert len(outputs) == len(expected)
    for actual, want in zip(outputs, expected, strict=True):
        _assert_same(actual, want, case.tol)

    known = spec.shapes(_specs(case.inputs, values=True), case.attrs)
    if case.data_dependent:
        assert all(compatible(k, a) for k, a in zip(known, outputs, strict=True)), known
    else:
        assert [(o.dtype, o.shape) for o in known] == [(a.dtype, a.shape) for a in outputs]
    unknown = spec.shapes(_specs(case.inputs, values=False), case.attrs)
    assert len(unknown) == len(outputs)
    assert all(compatible(i, a) for i, a in zip(unknown, outputs, strict=True)), unknown


def check_inference(case: Inference) -> None:
    """The shape function's answer on partly unknown specs."""
    inferred = lookup(case.op).shapes(case.specs, case.attrs)
    assert [(o.dtype, o.shape) for o in inferred] == [(e.dtype, e.shape) for e in case.expected]


def check_rejects(bad: Bad) -> None:
    """Both the shape function and the kernel reject ``bad`` with its message."""
    spec = lookup(bad.op, bad.functions)
    with pytest.raises(bad.error) as before:
        spec.shapes(_specs(bad.inputs, values=True), bad.attrs)
    assert bad.fragment in before.value.message
    with pytest.raises(bad.error) as during:
        quietly(lambda: spec.run(bad.inputs, bad.attrs))
    assert bad.fragment in during.value.message
