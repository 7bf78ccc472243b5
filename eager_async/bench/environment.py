"""What a benchmark ran on, for its JSON: eager_async's version and git commit, Python,
the platform, the CPU, NumPy's BLAS and the variables that steer it, and the command.

BLAS is as this process loads it: the harness's own worker runs the same interpreter
and NumPy, so it is the worker's too (not a ``--compare`` worker's).

>>> sorted(describe())[:3]
['blas', 'blas_env', 'command_line']
"""

from __future__ import annotations

import ctypes
import os
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["BLAS_ENV", "cpu_model", "describe"]

BLAS_ENV = ("OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
# openblas_get_parallel(): how OpenBLAS was built to run its threads.
_OPENBLAS_THREADING = {0: "sequential", 1: "pthreads", 2: "openmp"}


def describe() -> dict[str, Any]:
    """The facts above as a JSON-ready dict (None where one cannot be found)."""
    commit, dirty = _git_commit()
    return {
        "eager_async_version": _version(),
        "git_commit": commit,
        "git_dirty": dirty,
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu": {"model": cpu_model(), "count": os.cpu_count(),
                "usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                else os.cpu_count()},
        "blas": _blas(),
        "blas_env": {name: os.environ.get(name) for name in BLAS_ENV},
        "command_line": shlex.join(getattr(sys, "orig_argv", sys.argv)),
    }


def _version() -> str | None:
    try:
        return metadata.version("eager_async")
    except metadata.PackageNotFoundError:
        return None


def _git_commit() -> tuple[str | None, bool | None]:
    """HEAD of the checkout this package was imported from, and whether files differ
    from it; (None, None) outside a git checkout or without git."""
    checkout = Path(__file__).resolve().parents[2]
    if not (checkout / ".git").exists():
        return None, None
    try:
        head = subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=10, check=True)
        status = subprocess.run(["git", "-C", str(checkout), "status", "--porcelain",
                                 "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None, None
    return head.stdout.strip(), bool(status.stdout.strip())


def cpu_model() -> str | None:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what ``platform`` says).

    >>> isinstance(cpu_model(), (str, type(None)))
    True
    """
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() in ("model name", "Hardware", "cpu model"):
                return value.strip()
    except OSError:
        pass
    return platform.processor() or None


def _blas() -> dict[str, Any]:
    """NumPy's BLAS as built (name, version, configuration) and as loaded: OpenBLAS's
    own answer for its core type, thread count and threading layer, when it is
    OpenBLAS and its library can be found in this process."""
    import numpy as np

    built: dict[str, Any] = {}
    try:
        config = np.show_config(mode="dicts")
        built = dict(config.get("Build Dependencies", {}).get("blas", {}))
    except (TypeError, ValueError, AttributeError):  # NumPy older than 1.26
        pass
    blas: dict[str, Any] = {"numpy": np.__version__, "name": built.get("name"),
                            "version": built.get("version"),
                            "build_config": built.get("openblas configuration")}
    blas.update(_openblas_runtime())
    return blas


def _openblas_runtime() -> dict[str, Any]:
    library = _loaded_openblas()
    if library is None:
        return {"threading_layer": None, "threads": None, "runtime_config": None}
    found: dict[str, Any] = {}
    # NumPy's wheels rename OpenBLAS's symbols (scipy_ prefix, 64_ suffix); try each form.
    for prefix, suffix in (("", ""), ("scipy_", "64_"), ("", "64_")):
        try:
            parallel = getattr(library, f"{prefix}openblas_get_parallel{suffix}")
            threads = getattr(library, f"{prefix}openblas_get_num_threads{suffix}")
            config = getattr(library, f"{prefix}openblas_get_config{suffix}")
        except AttributeError:
            continue
        config.restype = ctypes.c_char_p
        found = {"threading_layer": _OPENBLAS_THREADING.get(parallel(), "unknown"),
                 "threads": threads(), "runtime_config": config().decode()}
        break
    return found or {"threading_layer": None, "threads": None, "runtime_config": None}


def _loaded_openblas() -> ctypes.CDLL | None:
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    paths = sorted({line.split()[-1] for line in maps.splitlines()
                    if "openblas" in line.lower() and line.split()[-1].startswith("/")})
    if not paths:
        return None
    try:
        return ctypes.CDLL(paths[0])
    except OSError:
        return None
