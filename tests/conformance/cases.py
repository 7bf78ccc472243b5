"""The conformance case list: every kernel record of ``tests/test_kernels_*.py``, plus
variants generated from each ``Case``.

- Records: each ``Case`` and ``Bad`` (the ``CASES`` and ``ERRORS`` tables), each random
  ``Distribution`` and each step of a variable ``Program`` (the handle a step names is
  the output of the program's VarHandleOp, so a program's calls run in order).
- Variants of a ``Case``: the inputs of one type attr (``T``, ``Tidx``, ...: from TF's op
  definition) cast to each other dtype of ``TARGETS`` where the cast keeps the values
  (float to int only for whole finite numbers in range, complex to real only without an
  imaginary part); dtypes the op does not take are kept, as cases it must reject. When
  one type attr types every input and the outputs have the inputs' broadcast shape
  (element-wise ops), also the same case on scalars, on 0-size vectors and, for two
  inputs, on broadcasting ``(3,1)`` and ``(1,4)`` operands.

Records are always kept. Variants are deduplicated and taken round-robin across ops
until ``max_cases``, so a family with many records cannot crowd out the others. Every
call finally carries the attrs a TF client would send (``as_sent``), on both sides.
"""

from __future__ import annotations

import hashlib
import importlib
import pickle
import sys
from collections import Counter, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
from transport import (
    REF,
    Signature,
    Untransportable,
    dtype_name,
    encode_array,
    encode_attr,
    infer_attrs,
    type_groups,
)

from eager_async.kernels import TensorSpec, lookup

TARGETS = tuple(
    np.dtype(name)
    for name in ("float16", "float32", "float64", "int32", "int64", "bool", "complex64")
)
"""The dtypes each Case is recast to."""


@dataclass(frozen=True, slots=True)
class Ref:
    """An input that is output ``output`` of step ``step`` of the same program."""

    step: int
    output: int = 0


@dataclass(frozen=True)
class Call:
    """One op call of the conformance run.

    ``kind`` says where it comes from (``Case``, ``Bad``, ``Distribution``, ``Program``
    or ``variant``); calls with the same non-empty ``program`` run in order and may take
    ``Ref`` inputs.
    """

    op: str
    inputs: tuple[Any, ...]
    attrs: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""
    kind: str = "Case"
    program: str = ""


def load_records(tests_dir: Path) -> tuple[list[Call], dict[str, str]]:
    """Every record of the ``test_kernels_*.py`` tables, importing them as
    ``tests/test_kernel_tables.py`` does (with ``tests_dir`` on ``sys.path``); and the
    modules that failed to import, with the error (a table being written right now must
    not stop the others from being checked)."""
    if str(tests_dir) not in sys.path:
        sys.path.insert(0, str(tests_dir))
    calls: list[Call] = []
    broken: dict[str, str] = {}
    for path in sorted(tests_dir.glob("test_kernels_*.py")):
        try:
            module = importlib.import_module(path.stem)
        except Exception as exc:
            broken[path.name] = f"{type(exc).__name__}: {exc}"
            continue
        family = path.stem.removeprefix("test_kernels_")
        seen: Counter[str] = Counter()
        # Records calling functions need them registered in a context, and _Send/_Recv a
        # peer: the service tests cover those, not this runner.
        for case in getattr(module, "CASES", []):
            if getattr(case, "functions", ()) or case.op.startswith("_"):
                continue
            calls.append(Call(case.op, _arrays(case.inputs), dict(case.attrs),
                              _label(family, seen, case.op, str(case.name or "")), "Case"))
        for bad in getattr(module, "ERRORS", []):
            if getattr(bad, "functions", ()) or bad.op.startswith("_"):
                continue
            calls.append(Call(bad.op, _arrays(bad.inputs), dict(bad.attrs),
                              _label(family, seen, bad.op, f"rejects '{bad.fragment[:40]}'"),
                              "Bad"))
        for dist in getattr(module, "DISTRIBUTIONS", []):
            calls.append(Call(dist.op, _arrays(dist.inputs), dict(dist.attrs),
                              _label(family, seen, dist.op, "distribution"), "Distribution"))
        handle = getattr(module, "HANDLE", None)
        # Programs of steps on one variable (``attrs`` of its VarHandleOp, ``steps``);
        # programs of other shapes (file I/O) need the worker's own setup.
        for program in getattr(module, "PROGRAMS", []):
            if not hasattr(program, "attrs"):
                continue
            label = f"{family}: {program.name}"
            calls.append(Call("VarHandleOp", (), dict(program.attrs), f"{label} step 0",
                              "Program", label))
            for number, step in enumerate(program.steps, 1):
                inputs = tuple(Ref(0) if handle is not None and x is handle else np.asarray(x)
                               for x in step.inputs)
                calls.append(Call(step.op, inputs, dict(step.attrs),
                                  f"{label} step {number}", "Program", label))
    return calls, broken


def _label(family: str, seen: Counter[str], op: str, text: str) -> str:
    """``core: broadcast``; records without a name are numbered per op."""
    seen[op] += 1
    return f"{family}: {text or '#' + str(seen[op])}"


def _arrays(values: Iterable[Any]) -> tuple[np.ndarray, ...]:
    return tuple(np.asarray(value) for value in values)


def convert(array: np.ndarray, target: np.dtype) -> np.ndarray | None:
    """``array`` as ``target`` when the cast keeps its values (near enough), else None.

    >>> convert(np.array([1.0, -2.0]), np.dtype("int32"))
    array([ 1, -2], dtype=int32)
    >>> convert(np.array([np.nan]), np.dtype("int32")) is None
    True
    """
    values = np.asarray(array)
    if values.dtype == np.dtype(object):
        return None
    if values.dtype.name == "bfloat16":
        values = values.astype(np.float32)
    if values.dtype.kind == "c" and target.kind != "c":
        if np.any(values.imag != 0):
            return None
        values = values.real
    if target.kind == "b":
        return np.asarray(values != 0)
    if target.kind in "iu":
        if values.dtype.kind == "f":
            if not np.all(np.isfinite(values)):
                return None
            values = np.round(values)
        info = np.iinfo(target)
        # As Python numbers: NumPy would compare a float16 with 2**63 by overflowing it.
        if values.size and (values.min().item() < info.min or values.max().item() > info.max):
            return None
    elif values.size and values.dtype.kind in "fciu":
        parts = np.abs(np.stack([values.real, values.imag]).astype(np.float64))
        finite = parts[np.isfinite(parts)]
        if finite.size and finite.max() > np.finfo(target).max:
            return None  # would overflow to inf
    return values.astype(target)


def variants(call: Call, signature: Signature | None) -> list[Call]:
    """The generated variants of one Case (none for ops TensorFlow does not know)."""
    if signature is None:
        return []
    inputs = call.inputs
    groups = type_groups(signature, len(inputs), call.attrs)
    made: list[Call] = []
    for attr, positions in groups.items():
        sources = {inputs[p].dtype for p in positions}
        if len(sources) != 1:
            continue  # already mixed dtypes: a rejection case, nothing to recast
        (source,) = sources
        for target in TARGETS:
            if target == source:
                continue
            cast = [convert(inputs[p], target) for p in positions]
            if any(array is None for array in cast):
                continue
            recast = list(inputs)
            for position, array in zip(positions, cast, strict=True):
                recast[position] = array
            # The type attr follows the new inputs, as a client would send it.
            attrs = {key: value for key, value in call.attrs.items() if key != attr}
            made.append(Call(call.op, tuple(recast), attrs,
                             f"{call.name} [{attr}={dtype_name(target)}]", "variant"))
    covered = sorted(p for positions in groups.values() for p in positions)
    if len(groups) == 1 and covered == list(range(len(inputs))) and _elementwise(call):
        made += [replace(call, inputs=shaped, name=f"{call.name} [{label}]", kind="variant")
                 for label, shaped in _reshaped(inputs)]
    return made


def _elementwise(call: Call) -> bool:
    """Whether the call's outputs have the broadcast shape of its inputs, by our own shape
    function: only picks the cases worth reshaping (Conv2D on scalars would not test
    much, and aborts TF), it judges nothing."""
    shapes = [np.shape(a) for a in call.inputs]
    try:
        expected = np.broadcast_shapes(*shapes)
        specs = [TensorSpec(a.dtype, a.shape, a) for a in call.inputs]
        outputs = lookup(call.op).shapes(specs, call.attrs)
    except Exception:  # not broadcastable, or rejected: nothing element-wise to vary
        return False
    return bool(shapes) and bool(outputs) and all(o.shape == expected for o in outputs)


def _reshaped(inputs: Sequence[np.ndarray]) -> list[tuple[str, tuple[np.ndarray, ...]]]:
    """The same inputs as scalars, as 0-size vectors, and as a broadcasting pair."""
    shaped = []
    if any(a.ndim for a in inputs):
        shaped.append(("scalars", tuple(
            np.array(a.ravel()[0], dtype=a.dtype) if a.size else _blank((), a.dtype)
            for a in inputs)))
    if any(a.size for a in inputs):
        shaped.append(("0-size", tuple(_blank((0,), a.dtype) for a in inputs)))
    if len(inputs) == 2 and all(a.size for a in inputs):
        x, y = inputs
        shaped.append(("broadcast (3,1) (1,4)", (np.resize(x.ravel(), (3, 1)),
                                                 np.resize(y.ravel(), (1, 4)))))
    return shaped


def _blank(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    if dtype == np.dtype(object):
        return np.full(shape, b"", dtype=object)
    return np.zeros(shape, dtype)


def build(
    records: Sequence[Call], signatures: Mapping[str, Signature | None], max_cases: int
) -> tuple[list[Call], list[tuple[Call, str]], int]:
    """The calls to run, the records skipped as untransportable (with the reason), and
    how many variants did not fit in ``max_cases``.

    All records are kept (program steps even when they repeat); variants of the Cases
    are deduplicated and taken one op at a time until ``max_cases``.
    """
    chosen: list[Call] = []
    skipped: list[tuple[Call, str]] = []
    seen: set[bytes] = set()
    # A program runs whole or not at all: its steps refer to each other by position.
    broken = {call.program for call in records if call.program and _untransportable(call)}

    def admit(call: Call) -> None:
        try:
            key = hashlib.sha1(pickle.dumps(_wire(call, 0))).digest()
        except Untransportable as exc:
            skipped.append((call, str(exc)))
            return
        if call.program or key not in seen:
            seen.add(key)
            chosen.append(call)

    for record in records:
        if record.program in broken:
            skipped.append((record, "a step of its program cannot be sent to TF"))
        else:
            admit(record)
    queues: dict[str, deque[Call]] = {}
    for record in records:
        made = variants(record, signatures.get(record.op)) if record.kind == "Case" else []
        if made:
            queues.setdefault(record.op, deque()).extend(made)
    while queues and len(chosen) < max_cases:
        for op in list(queues):
            if len(chosen) >= max_cases:
                break
            admit(queues[op].popleft())
            if not queues[op]:
                del queues[op]
    left_out = sum(len(queue) for queue in queues.values())
    return [as_sent(call, signatures.get(call.op)) for call in chosen], skipped, left_out


def _untransportable(call: Call) -> bool:
    try:
        _wire(call, 0)
    except Untransportable:
        return True
    return False


def as_sent(call: Call, signature: Signature | None) -> Call:
    """The call with the attrs it would carry from TF's Python client: those the raw-op
    wrapper derives from the inputs (``T``, ``N``, ``Tidx``, ...) filled in, the call's
    own attrs winning. Both sides get these, so neither is judged on guessing an attr
    a TF client always sends."""
    if signature is None:
        return call
    names = ["resource" if isinstance(x, Ref) else dtype_name(x.dtype) for x in call.inputs]
    inferred: dict[str, Any] = {}
    for key, value in infer_attrs(signature, names, call.attrs).items():
        if isinstance(value, int):
            inferred[key] = value
        elif isinstance(value, str) and value in _NUMPY:
            inferred[key] = _NUMPY[value]
        elif isinstance(value, list) and all(name in _NUMPY for name in value):
            inferred[key] = [_NUMPY[name] for name in value]
    return replace(call, attrs={**inferred, **call.attrs})


_NUMPY = {dtype_name(np.dtype(t)): np.dtype(t) for t in (
    np.float16, ml_dtypes.bfloat16, np.float32, np.float64, np.int8, np.int16, np.int32,
    np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_, np.complex64,
    np.complex128, object)}


def to_wire(calls: Sequence[Call]) -> list[dict[str, Any]]:
    """The calls in the transport format (``transport`` module docstring)."""
    starts: dict[str, int] = {}
    wire = []
    for index, call in enumerate(calls):
        start = starts.setdefault(call.program, index) if call.program else index
        wire.append(_wire(call, start))
    return wire


def _wire(call: Call, program_start: int) -> dict[str, Any]:
    inputs = [{REF: [program_start + x.step, x.output]} if isinstance(x, Ref) else encode_array(x)
              for x in call.inputs]
    attrs = {key: encode_attr(value) for key, value in call.attrs.items()}
    return {"op": call.op, "inputs": inputs, "attrs": attrs, "program": call.program}
