"""Shared by the interop programs: connect to a worker, run each case on it and on the
local CPU, compare what comes back, print one line per check, and exit.

A program is an ordinary TensorFlow 2.21 client run with the TF venv's Python::

    .venv-tf/bin/python tests/interop/programs/eager_math.py HOST:PORT

and is written as a list of cases, each a function that builds and runs TensorFlow code
under whatever device scope is current and returns what it read back::

    session = Session.connect(sys.argv[1])
    session.compare("add[float32]", lambda: tf.constant([1.0, 2.0]) + 1)
    sys.exit(session.finish())

``compare`` runs the case twice, under the local CPU (the reference; this process's
TensorFlow) and under the worker's CPU, and compares every value: dtype, shape, and
values (exact for integers, booleans and strings; within a tolerance for floats). Each
check prints ``ok   name`` or ``FAIL name: detail``; the last line is ``N/M checks passed``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# TF's reference (Eigen) kernels: oneDNN reorders float sums, which only adds noise to a
# comparison with another implementation. The runner sets the same for TF's worker.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import tensorflow as tf
from tensorflow.python.eager import context as eager_context

WORKER = "/job:worker/replica:0/task:0/device:CPU:0"
# After experimental_connect_to_host this process's own CPU keeps its name.
LOCAL = "/job:localhost/replica:0/task:0/device:CPU:0"

Case = Callable[[], Any]


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How close two floating-point arrays must be: ``|got - want| <= atol + rtol*|want|``."""

    rtol: float
    atol: float


# Per dtype; a case may ask for a looser one where its float math differs more (training).
TOLERANCES: dict[str, Tolerance] = {
    "float16": Tolerance(2e-3, 2e-3),
    "bfloat16": Tolerance(2e-2, 2e-2),
    "float32": Tolerance(1e-5, 1e-6),
    "complex64": Tolerance(1e-5, 1e-6),
    "float64": Tolerance(1e-12, 1e-13),
    "complex128": Tolerance(1e-12, 1e-13),
}


def to_numpy(value: Any) -> Any:
    """``value`` with every tensor, variable and scalar replaced by a NumPy array, keeping
    dicts, lists and tuples; reading a remote tensor copies it here."""
    if isinstance(value, dict):
        return {key: to_numpy(item) for key, item in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):  # Unique, TopKV2, ...
        return to_numpy(value._asdict())
    if isinstance(value, list | tuple):
        return type(value)(to_numpy(item) for item in value)
    if isinstance(value, tf.RaggedTensor):
        return {"values": to_numpy(value.flat_values),
                "row_splits": to_numpy(list(value.nested_row_splits))}
    if isinstance(value, tf.SparseTensor):
        return {"indices": value.indices.numpy(), "values": value.values.numpy(),
                "dense_shape": value.dense_shape.numpy()}
    if isinstance(value, tf.Tensor | tf.Variable):
        return np.asarray(value.numpy())
    if isinstance(value, bytes | str | bool | int | float | complex | np.generic | np.ndarray):
        return np.asarray(value)
    raise TypeError(f"a case returned a {type(value).__name__}; return tensors or arrays")


def leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, array) for every array in a nested structure of dicts, lists and tuples."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from leaves(item, f"{path}[{index}]")
    else:
        yield path or "value", value


@dataclass(frozen=True, slots=True)
class Difference:
    """The outcome of comparing two structures: ``problem`` is None when they agree;
    ``max_abs`` is the largest absolute difference over the floating-point leaves."""

    problem: str | None
    max_abs: float


def difference(got: Any, want: Any, tolerance: Tolerance | None = None) -> Difference:
    """Compare two nested structures of arrays, leaf by leaf: same paths, dtypes and
    shapes; equal values, or close ones for floating-point leaves."""
    got_leaves, want_leaves = dict(leaves(got)), dict(leaves(want))
    if got_leaves.keys() != want_leaves.keys():
        return Difference(f"structure {sorted(got_leaves)} != {sorted(want_leaves)}", 0.0)
    max_abs = 0.0
    for path, want_leaf in want_leaves.items():
        got_leaf = got_leaves[path]
        if got_leaf.dtype != want_leaf.dtype:
            return Difference(f"{path}: dtype {got_leaf.dtype} != {want_leaf.dtype}", max_abs)
        if got_leaf.shape != want_leaf.shape:
            return Difference(f"{path}: shape {got_leaf.shape} != {want_leaf.shape}", max_abs)
        kind = want_leaf.dtype.name
        if kind in TOLERANCES:
            limit = tolerance or TOLERANCES[kind]
            wide = np.complex128 if want_leaf.dtype.kind == "c" else np.float64
            g, w = got_leaf.astype(wide), want_leaf.astype(wide)
            finite = np.isfinite(w) & np.isfinite(g)
            if want_leaf.size and finite.any():
                max_abs = max(max_abs, float(np.max(np.abs(g - w)[finite])))
            if not np.allclose(g, w, rtol=limit.rtol, atol=limit.atol, equal_nan=True):
                return Difference(f"{path}: values differ (max |diff| {max_abs:.3g}, "
                                  f"rtol {limit.rtol:g}, atol {limit.atol:g}): "
                                  f"got {brief(got_leaf)}, want {brief(want_leaf)}", max_abs)
        elif not np.array_equal(got_leaf, want_leaf):
            return Difference(f"{path}: got {brief(got_leaf)}, want {brief(want_leaf)}",
                              max_abs)
    return Difference(None, max_abs)


def brief(array: Any, limit: int = 80) -> str:
    """A one-line, shortened repr of an array for a FAIL line."""
    text = " ".join(np.array2string(np.asarray(array), threshold=8, precision=6).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# Lines of a TF error message that say where, not what.
BANNERS = ("Graph execution error:", "Detected at node", "<stack traces unavailable>", "File ")


def error_line(error: BaseException) -> str:
    """``Class: the first line that says what failed`` (TF's messages carry banners and op
    traces; a graph execution error with several root errors: the first of them)."""
    message = error.message if isinstance(error, tf.errors.OpError) else str(error)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    root = next((line for line in lines if line.startswith("(0) ")), None)
    telling = [line for line in lines if not line.startswith(BANNERS)]
    first = root or (telling or lines or [""])[0]
    return f"{type(error).__name__}: {first[:300]}"


class Checks:
    """The checks a program ran so far and their outcomes, printed one line each."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.started = time.perf_counter()

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        """Record and print one check."""
        if ok:
            self.passed += 1
            print(f"ok   {name}{f'  ({detail})' if detail else ''}", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}: {detail}", flush=True)
        return ok

    @staticmethod
    def clear_error() -> None:
        """Forget a failed op's error so the session goes on (async executors keep it)."""
        with contextlib.suppress(tf.errors.OpError):
            eager_context.async_wait()
        tf.experimental.async_clear_error()

    def finish(self) -> int:
        """Print the summary line; the process exit status: 0 when every check passed."""
        total = self.passed + self.failed
        seconds = time.perf_counter() - self.started
        print(f"{self.passed}/{total} checks passed in {seconds:.1f} s", flush=True)
        return 0 if total and not self.failed else 1


class Session(Checks):
    """One client session against a worker: the checks run so far and their outcomes."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address

    @classmethod
    def connect(cls, address: str) -> Session:
        """Connect this process's eager context to the worker at ``address`` as job
        ``worker`` (``tf.config.experimental_connect_to_host``)."""
        tf.config.experimental_connect_to_host(address, job_name="worker")
        return cls(address)

    def run(self, device: str, case: Case) -> Any:
        """Run ``case`` under ``device``, read everything back, and wait for every op it
        queued, so that a failure is charged to this case and not to the next one."""
        try:
            with tf.device(device):
                value = to_numpy(case())
                eager_context.async_wait()
                # A worker may answer an op before running it (eager_async does), so its
                # failure can reach the client only with the reply to a later op.
                tf.identity(tf.constant(0)).numpy()
            return value
        except BaseException:
            with contextlib.suppress(Exception):  # never hide the case's own error
                self.clear_error()
            raise

    def reference(self, name: str, case: Case) -> tuple[bool, Any]:
        """Run ``case`` locally; a failure here is a bug in the program, said so loudly."""
        try:
            return True, self.run(LOCAL, case)
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            self.check(name, False, f"the LOCAL reference raised {error_line(error)} "
                       "(a bug in this program)")
            return False, None

    def compare(self, name: str, case: Case, *, rtol: float | None = None,
                atol: float | None = None) -> bool:
        """Run ``case`` locally and on the worker and compare what both read back.

        ``rtol``/``atol`` override the per-dtype float tolerance for every float leaf.
        """
        tolerance = None
        if rtol is not None or atol is not None:
            tolerance = Tolerance(rtol or 0.0, atol or 0.0)
        ok, want = self.reference(name, case)
        if not ok:
            return False
        try:
            got = self.run(WORKER, case)
        except Exception as error:
            return self.check(name, False, error_line(error))
        outcome = difference(got, want, tolerance)
        if outcome.problem is not None:
            return self.check(name, False, outcome.problem)
        return self.check(name, True, f"max |diff| {outcome.max_abs:.2g}"
                          if outcome.max_abs else "")

    def raises(self, name: str, case: Case) -> bool:
        """Run a case that must fail: the worker must raise the same ``tf.errors`` class
        as the local run does."""
        want = self._error_of(LOCAL, case)
        if want is None:
            return self.check(name, False, "the LOCAL reference did not raise "
                              "(a bug in this program)")
        got = self._error_of(WORKER, case)
        if got is None:
            return self.check(name, False, f"no error; want {type(want).__name__}")
        if type(got) is not type(want):
            return self.check(name, False, f"got {error_line(got)}; want {error_line(want)}")
        return self.check(name, True, type(got).__name__)

    def _error_of(self, device: str, case: Case) -> BaseException | None:
        try:
            self.run(device, case)
        except Exception as error:
            return error
        return None

def main(run: Callable[[Session], None]) -> None:
    """The entry point of a program: connect to ``argv[1]``, run, exit with the status."""
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} HOST:PORT")
    session = Session.connect(sys.argv[1])
    try:
        run(session)
    except Exception as error:  # a crash of the program counts as one failed check
        traceback.print_exc(file=sys.stderr)
        session.check("program", False, f"crashed: {error_line(error)}")
    sys.exit(session.finish())
