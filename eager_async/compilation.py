"""Which modules run compiled: the per-op hot path is built with mypyc where a C compiler
exists, and the same source runs as pure Python elsewhere (see ``setup.py``).

Setting ``EAGER_ASYNC_PURE_PYTHON=1`` makes a process (and the workers it starts) import
the pure-Python source even where the compiled modules are installed; CI runs the test
suite both ways.

>>> isinstance(compiled_modules(), list)
True
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

__all__ = [
    "HOT_MODULES",
    "PURE_PYTHON_VARIABLE",
    "SHARED_LIBRARY",
    "compiled_modules",
    "prefer_source",
    "stale_extensions",
]

HOT_MODULES = (
    "eager_async.records",
    "eager_async.enqueue_reader",
    "eager_async.wire",
    "eager_async.handles",
    "eager_async.executor",
    "eager_async.context",
    "eager_async.memory",
    "eager_async.kernels.registry",
    "eager_async.kernels.specs",
    "eager_async.kernels.contract",
    "eager_async.devices",
    "eager_async.functions",
)
"""The modules mypyc compiles: decoding an Enqueue request into records, the handle
table, the context's prepare step, the executor's inner loop, memory quotas, reply
encoding, the op registry and its contract, devices and the function library. Kernel
modules stay interpreted: the registry reads their signatures, which a compiled function
does not have."""

SHARED_LIBRARY = "eager_async._hot_path__mypyc"
"""The extension module holding the compiled code of every hot module (``setup.py``
names its group ``eager_async._hot_path``; mypyc adds the suffix)."""

PURE_PYTHON_VARIABLE = "EAGER_ASYNC_PURE_PYTHON"
"""The environment variable that asks for the pure-Python source."""


def compiled_modules() -> list[str]:
    """The hot modules this process imported as compiled extensions."""
    return [
        name
        for name in HOT_MODULES
        if isinstance(module := sys.modules.get(name), ModuleType)
        and (module.__file__ or "").endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))
    ]


def stale_extensions() -> list[str]:
    """The hot modules whose source is newer than the compiled library beside it (an
    in-place build an edit has outdated). Their code lives in one shared library; the
    module files themselves are stubs that are rebuilt only when a module is added."""
    package = Path(__file__).parent
    libraries = [
        package / f"{SHARED_LIBRARY.rpartition('.')[2]}{suffix}"
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
    ]
    built = [library.stat().st_mtime for library in libraries if library.exists()]
    if not built:
        return []
    return [
        name
        for name in HOT_MODULES
        if package.joinpath(*name.split(".")[1:]).with_suffix(".py").stat().st_mtime
        > max(built)
    ]


class _SourceFinder(importlib.abc.MetaPathFinder):
    """Finds ``eager_async``'s submodules as ``.py`` files only, never as extensions."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("eager_async.") or path is None:
            return None
        for entry in path:
            finder = importlib.machinery.FileFinder(
                entry,
                (importlib.machinery.SourceFileLoader, importlib.machinery.SOURCE_SUFFIXES),
            )
            spec = finder.find_spec(fullname)
            if spec is not None:
                return spec
        return None


def prefer_source() -> None:
    """When ``EAGER_ASYNC_PURE_PYTHON`` is set, import ``eager_async``'s submodules from
    their Python source from now on (called by the package before anything else)."""
    if os.environ.get(PURE_PYTHON_VARIABLE) and not any(
        isinstance(finder, _SourceFinder) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _SourceFinder())
