"""Our half of the conformance run (each call through the registry, shape function
first, as the runtime does), and the verdict on one call: does eager_async answer what
TensorFlow answers?

Two outcomes agree when both fail with the same gRPC status (messages are listed in
the report, never compared), or both succeed with the same number of outputs, each of
the same dtype, shape and values: exact for integers, bools and strings; within
``TOLERANCES`` for floating point, NaN equal to NaN. Random ops agree on dtype and
shape alone. A call whose outputs agree still fails when our shape function promised
other dtypes or shapes than the kernel produced.
"""

from __future__ import annotations

import asyncio
import re
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
from cases import Call, Ref
from transport import BFLOAT16, OPAQUE, Outcome, describe, error

from eager_async.errors import EagerError
from eager_async.functions import FunctionLibrary
from eager_async.kernels import TensorSpec
from eager_async.op_env import OpEnv, OpKernel
from eager_async.rendezvous import Rendezvous

TOLERANCES = {
    "float16": 1e-3, "bfloat16": 1e-2,
    "float32": 1e-5, "complex64": 1e-5,
    "float64": 1e-10, "complex128": 1e-10,
}
"""rtol and atol by output dtype. bfloat16 keeps 8 significant bits (one unit in the last
place is 2**-7 relative), so 1e-3 would fail every result rounded the other way."""

# TF prefixes kernel errors with the function it wrapped the op in: noise in a report.
_WRAPPER = re.compile(r"^\{\{function_node [^}]*\}\}\s*")
# TF's words for "an attr the caller must set is not set".
_MISSING_ATTR = ("missing attr", "No argument found for attr", "not in NodeDef")


@dataclass(frozen=True, slots=True)
class Verdict:
    """How one call compares: ``kind`` names the first difference ("" when they agree),
    ``ours`` and ``theirs`` say briefly what each side answered."""

    agree: bool
    kind: str
    ours: str
    theirs: str


def run_ours(calls: Sequence[Call]) -> list[Outcome]:
    """Every call on eager_async, in order (a program's steps see the earlier outputs),
    in one context, as TF's side runs them: a seeded random op's instance keeps its place
    in its stream from one call to the next with the same attrs."""
    library = FunctionLibrary()
    loop = asyncio.new_event_loop()
    env = OpEnv(context_id=1, step_id=1, rendezvous=Rendezvous(loop), lookup=library.lookup)
    try:
        return _run_all(calls, lambda op: library.lookup(op, env))
    finally:
        loop.close()


def _run_all(calls: Sequence[Call], lookup: Callable[[str], OpKernel]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    steps: list[list[np.ndarray]] = []
    program = ""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for call in calls:
            if not call.program or call.program != program:
                steps = []
                program = call.program
            outcome, outputs = _run_one(call, steps, lookup)
            steps.append(outputs)
            outcomes.append(outcome)
    return outcomes


def _run_one(
    call: Call, steps: Sequence[list[np.ndarray]], lookup: Callable[[str], OpKernel]
) -> tuple[Outcome, list[np.ndarray]]:
    inputs = []
    for value in call.inputs:
        if isinstance(value, Ref):
            if value.step >= len(steps) or value.output >= len(steps[value.step]):
                return error("SKIPPED", f"step {value.step} of the program failed"), []
            inputs.append(steps[value.step][value.output])
        else:
            inputs.append(value)
    try:
        spec = lookup(call.op)
        inferred = spec.shapes([TensorSpec(a.dtype, a.shape, a) for a in inputs], call.attrs)
        outputs = spec.run(inputs, call.attrs)
    except EagerError as exc:
        return error(exc.code.name, exc.message), []
    except Exception as exc:  # a kernel bug: the worker answers INTERNAL
        return error("INTERNAL", f"{type(exc).__name__}: {exc} ({_where(exc)})"), []
    return {"outputs": outputs, "inferred": inferred}, outputs


def _where(exc: BaseException) -> str:
    """``math.py:123``: the innermost frame that raised, for a kernel author to look at."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"


def decode_outcome(outcome: Outcome) -> Outcome:
    """A TF outcome with its bfloat16 outputs back as ml_dtypes arrays."""
    if "outputs" not in outcome:
        return outcome  # an error (with "aborted" when TF crashed on it)
    outputs = [
        value[BFLOAT16].view(ml_dtypes.bfloat16)
        if isinstance(value, dict) and BFLOAT16 in value else value
        for value in outcome["outputs"]
    ]
    return {"outputs": outputs}


def compare(ours: Outcome, theirs: Outcome, *, random: bool) -> Verdict:
    """The verdict on one call; ``random`` ops compare dtypes and shapes only."""
    mine, tf = short(ours), short(theirs)
    if theirs.get("aborted"):
        return Verdict(False, "TF aborted", mine, tf)
    if "error" in ours or "error" in theirs:
        if "error" not in theirs:
            return Verdict(False, "ours fails", mine, tf)
        if "error" not in ours:
            # Ours infers an attr TF insists on (Unpack's num): lenient, not wrong.
            lenient = any(words in theirs["error"]["message"] for words in _MISSING_ATTR)
            return Verdict(False, "TF needs attr" if lenient else "TF fails", mine, tf)
        same = ours["error"]["status"] == theirs["error"]["status"]
        return Verdict(same, "" if same else "status", mine, tf)
    outputs, expected = ours["outputs"], theirs["outputs"]
    if len(outputs) != len(expected):
        return Verdict(False, "output count", mine, tf)
    for index, (actual, want) in enumerate(zip(outputs, expected, strict=True)):
        if isinstance(want, dict) and OPAQUE in want:
            if not _opaque(actual):
                return Verdict(False, "dtype", mine, tf)
            continue
        if actual.dtype != want.dtype:
            return Verdict(False, "dtype", mine, tf)
        if actual.shape != want.shape:
            return Verdict(False, "shape", mine, tf)
        if not random:
            differs = value_difference(actual, want)
            if differs is not None:
                where, ours_value, tf_value = differs
                return Verdict(False, "values", f"out {index}{where}: {ours_value}",
                               f"{tf_value}")
    promised = ours["inferred"]
    if len(promised) != len(outputs) or not all(
        _fits(spec, actual) for spec, actual in zip(promised, outputs, strict=True)
    ):
        said = ", ".join(f"{s.dtype}{list(s.shape) if s.shape is not None else '?'}"
                         for s in promised)
        return Verdict(False, "shape function", f"shape fn said {said}; ran {mine}", tf)
    return Verdict(True, "", mine, tf)


def _opaque(value: np.ndarray) -> bool:
    """Whether our output is a handle (an object array of something other than bytes)."""
    return value.dtype == np.dtype(object) and not all(
        isinstance(item, bytes) for item in value.flat)


def _fits(spec: TensorSpec, actual: np.ndarray) -> bool:
    if spec.dtype != actual.dtype:
        return False
    if spec.shape is None:
        return True
    return len(spec.shape) == actual.ndim and all(
        d in (-1, n) for d, n in zip(spec.shape, actual.shape, strict=True))


def value_difference(actual: np.ndarray, want: np.ndarray) -> tuple[str, str, str] | None:
    """None when the values agree; else where the first difference is (with how many
    elements differ), our value there and TF's."""
    if want.dtype == np.dtype(object):
        equal = np.array([a == w for a, w in zip(actual.flat, want.flat, strict=True)],
                         dtype=bool).reshape(want.shape)
    elif want.dtype.kind in "biu":
        equal = np.asarray(actual == want)
    else:
        tol = TOLERANCES.get(want.dtype.name, 1e-5)
        wide = np.complex128 if want.dtype.kind == "c" else np.float64
        equal = np.isclose(actual.astype(wide), want.astype(wide), rtol=tol, atol=tol,
                           equal_nan=True)
    if equal.all():
        return None
    first = tuple(int(i) for i in np.argwhere(~equal)[0])
    where = f"[{','.join(map(str, first))}]" if first else ""
    count = f" ({int((~equal).sum())}/{equal.size} differ)" if equal.size > 1 else ""
    return where + count, _item(actual[first]), _item(want[first])


def _item(value: Any) -> str:
    text = repr(value.item() if hasattr(value, "item") else value)
    return text if len(text) <= 40 else text[:37] + "..."


def short(outcome: Outcome, width: int = 400) -> str:
    """An outcome in a line: ``float32[2,3]`` or ``INVALID_ARGUMENT: first line``."""
    if "error" in outcome:
        status, message = outcome["error"]["status"], outcome["error"]["message"]
        message = _WRAPPER.sub("", message.strip())
        line = message.splitlines()[0] if message else ""
        text = f"{status}: {line}"
    else:
        text = describe(outcome["outputs"]) or "(no outputs)"
    return text if len(text) <= width else text[: width - 3] + "..."


def messages(ours: Outcome, theirs: Outcome) -> Mapping[str, str] | None:
    """Both error messages when both sides failed (for the report's list)."""
    if "error" in ours and "error" in theirs:
        return {"ours": ours["error"]["message"], "tf": theirs["error"]["message"]}
    return None
