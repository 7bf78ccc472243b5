"""Builds eager_async, compiling the per-op hot path with mypyc where it can.

The modules in ``eager_async.compilation.HOT_MODULES`` are ordinary, strictly typed
Python; mypyc turns them into C extensions with the machine's C compiler. Where mypyc or
a compiler is missing, or ``EAGER_ASYNC_PURE_PYTHON=1`` is set, the same source is
installed and runs as pure Python. Everything else about the package is in
``pyproject.toml``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).parent

# Read from the package without importing it (its dependencies may not be installed yet).
_namespace: dict[str, Any] = {}
exec((ROOT / "eager_async" / "compilation.py").read_text(), _namespace)
HOT_MODULES: tuple[str, ...] = _namespace["HOT_MODULES"]
GROUP = _namespace["SHARED_LIBRARY"].removesuffix("__mypyc")


class OptionalBuildExt(build_ext):
    """``build_ext`` that leaves the package pure Python when the C build fails: the
    compiled modules share one library, so it is all of them or none."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # no compiler, no headers, a compiler error
            self._give_up(error)

    def _give_up(self, error: Exception) -> None:
        print(
            f"eager_async: compiling the hot path failed ({error}); installing it as "
            "pure Python",
            file=sys.stderr,
        )
        for extension in self.extensions:
            path = Path(self.get_ext_fullpath(extension.name))
            path.unlink(missing_ok=True)
        self.extensions = []


def _extensions() -> list[Any]:
    if os.environ.get("EAGER_ASYNC_PURE_PYTHON"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("eager_async: mypyc is not installed; installing pure Python", file=sys.stderr)
        return []
    sources = [str(Path("eager_async", *name.split(".")[1:])) + ".py" for name in HOT_MODULES]
    try:
        # Its own settings, not the repo's strict ones: a build environment without
        # numpy's stubs must still compile (they only make calls typed as Any).
        return mypycify(  # type: ignore[no-any-return]
            ["--config-file=", "--ignore-missing-imports", *sources],
            opt_level="3",
            group_name=GROUP,  # its shared library inside the package
        )
    except BaseException as error:  # mypyc exits with SystemExit on a type error
        print(f"eager_async: mypyc failed ({error}); installing pure Python", file=sys.stderr)
        return []


setup(ext_modules=_extensions(), cmdclass={"build_ext": OptionalBuildExt})
