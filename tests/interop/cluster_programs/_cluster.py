"""Shared by the cluster programs: read the ClusterSpec, connect, run each case on the
cluster's tasks and on the local CPU, compare, print one line per check, and exit.

A program is an ordinary TensorFlow 2.21 client run with the TF venv's Python::

    .venv-tf/bin/python tests/interop/cluster_programs/two_tasks.py \\
        --cluster '{"worker": ["127.0.0.1:2222", "127.0.0.1:2223"],
                    "localhost": ["127.0.0.1:2224"]}'

``--cluster`` is the ClusterSpec as JSON; the client's own job (``localhost`` for
``experimental_connect_to_cluster``, ``chief`` for ParameterServerStrategy) may be in it,
so that the runner knows (and can put a proxy in front of) the client's address too.

A case is a function of the task devices it uses, ``case(d0, d1, ...)``; ``compare`` runs
it once with every device the local CPU (the reference, this process's TensorFlow) and
once with the cluster's tasks, and compares what both read back (``_common.difference``:
dtypes, shapes, values within a per-dtype tolerance)::

    cluster = Cluster.connect(parse_args().cluster)
    cluster.compare("copy", lambda d0, d1: ..., tasks=2)
    sys.exit(cluster.finish())

Each check prints ``ok   name`` or ``FAIL name: detail``; ``figure NAME VALUE`` lines
report measurements; the last line is ``N/M checks passed``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "programs"))
import tensorflow as tf
from _common import Checks, Tolerance, difference, error_line, to_numpy
from tensorflow.python.eager import context as eager_context

__all__ = ["LOCAL", "Cluster", "device", "parse_args"]

LOCAL = "/job:localhost/replica:0/task:0/device:CPU:0"

Case = Callable[..., Any]


def device(job: str, task: int) -> str:
    """The CPU of task ``task`` of ``job``: ``device("worker", 1)``."""
    return f"/job:{job}/replica:0/task:{task}/device:CPU:0"


def parse_args(argv: Sequence[str] | None = None,
               extra: Callable[[argparse.ArgumentParser], None] | None = None
               ) -> argparse.Namespace:
    """``--cluster JSON`` (required) and whatever ``extra`` adds; ``cluster`` parsed."""
    parser = argparse.ArgumentParser(description=sys.modules["__main__"].__doc__)
    parser.add_argument("--cluster", required=True, help="the ClusterSpec as JSON")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    args.cluster = json.loads(args.cluster)
    return args


class Cluster(Checks):
    """One client connected to a cluster: the checks run so far and their outcomes."""

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__()
        self.spec = spec

    @classmethod
    def connect(cls, spec: dict[str, Any]) -> Cluster:
        """``tf.config.experimental_connect_to_cluster`` as job ``localhost`` (the default)."""
        tf.config.experimental_connect_to_cluster(tf.train.ClusterSpec(spec))
        return cls(spec)

    def tasks(self, job: str = "worker") -> list[str]:
        """The CPU device of every task of ``job``, by index."""
        return [device(job, index) for index in range(len(self.spec[job]))]

    @staticmethod
    def figure(name: str, value: float) -> None:
        """Print one measurement, ``figure NAME VALUE``, for the runner's table."""
        print(f"figure {name} {value:.4g}", flush=True)

    def run(self, case: Case, devices: Sequence[str]) -> Any:
        """Run ``case(*devices)``, read everything back, and wait for every op it queued on
        every task, so that a failure is charged to this case and not to the next."""
        try:
            value = to_numpy(case(*devices))
            eager_context.async_wait()
            for name in dict.fromkeys(devices):
                with tf.device(name):  # an op's error may come back with a later reply
                    tf.identity(tf.constant(0)).numpy()
            return value
        except BaseException:
            with contextlib.suppress(Exception):  # never hide the case's own error
                self.clear_error()
            raise

    def reference(self, name: str, case: Case, count: int) -> tuple[bool, Any]:
        """Run ``case`` with every device local; a failure is a bug in the program."""
        try:
            return True, self.run(case, [LOCAL] * count)
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            self.check(name, False, f"the LOCAL reference raised {error_line(error)} "
                       "(a bug in this program)")
            return False, None

    def compare(self, name: str, case: Case, devices: Sequence[str], *,
                rtol: float | None = None, atol: float | None = None) -> bool:
        """Run ``case`` on the local CPU and on ``devices``; compare what both read back.
        ``rtol``/``atol`` override the per-dtype float tolerance."""
        tolerance = None
        if rtol is not None or atol is not None:
            tolerance = Tolerance(rtol or 0.0, atol or 0.0)
        ok, want = self.reference(name, case, len(devices))
        if not ok:
            return False
        try:
            got = self.run(case, devices)
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            return self.check(name, False, error_line(error))
        outcome = difference(got, want, tolerance)
        if outcome.problem is not None:
            return self.check(name, False, outcome.problem)
        return self.check(name, True, f"max |diff| {outcome.max_abs:.2g}"
                          if outcome.max_abs else "")

    def raises(self, name: str, case: Case, devices: Sequence[str],
               want: type[tf.errors.OpError]) -> bool:
        """Run a case that must fail with ``want`` on the local CPU and on ``devices``."""
        local = self.error_of(case, [LOCAL] * len(devices))
        if not isinstance(local, want):
            return self.check(name, False, f"the LOCAL reference raised {local!r}, not "
                              f"{want.__name__} (a bug in this program)")
        got = self.error_of(case, devices)
        if got is None:
            return self.check(name, False, f"no error; want {want.__name__}")
        if type(got) is not want:
            return self.check(name, False, f"got {error_line(got)}; want {want.__name__}")
        return self.check(name, True, error_line(got)[:160])

    def error_of(self, case: Case, devices: Sequence[str]) -> BaseException | None:
        """The error ``case`` raised on ``devices``, or None."""
        try:
            self.run(case, devices)
        except Exception as error:
            return error
        return None

    def attempt(self, name: str, body: Callable[[], tuple[bool, str]]) -> bool:
        """A free-form check: ``body`` returns (ok, detail); raising fails the check."""
        try:
            ok, detail = body()
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            with contextlib.suppress(Exception):
                self.clear_error()
            return self.check(name, False, error_line(error))
        return self.check(name, ok, detail)


def main(run: Callable[[Cluster], None], cluster: Cluster) -> None:
    """Run the program's checks on ``cluster`` and exit with the status (0: all passed);
    a crash of the program counts as one failed check."""
    try:
        run(cluster)
    except Exception as error:
        traceback.print_exc(file=sys.stderr)
        cluster.check("program", False, f"crashed: {error_line(error)}")
    sys.exit(cluster.finish())
