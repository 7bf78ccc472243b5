"""The hot path runs compiled where it was built, and as its Python source when asked."""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

from eager_async import compilation

PACKAGE = Path(compilation.__file__).parent

_PROBE = (
    "import json, eager_async.context, eager_async.enqueue_reader, eager_async.kernels;"
    "from eager_async import compilation;"
    "print(json.dumps(compilation.compiled_modules()))"
)


def _built() -> list[str]:
    """The hot modules with an extension on disk beside their source."""
    return [
        name
        for name in compilation.HOT_MODULES
        if any(
            PACKAGE.joinpath(*name.split(".")[1:]).with_suffix(suffix).exists()
            for suffix in importlib.machinery.EXTENSION_SUFFIXES
        )
    ]


def _compiled_in_child(pure: bool) -> list[str]:
    environment = {k: v for k, v in os.environ.items() if k != compilation.PURE_PYTHON_VARIABLE}
    if pure:
        environment[compilation.PURE_PYTHON_VARIABLE] = "1"
    output = subprocess.run(
        [sys.executable, "-c", _PROBE], env=environment, capture_output=True, text=True,
        check=True, cwd=PACKAGE.parent,
    ).stdout  # fmt: skip
    return list(json.loads(output))


def test_built_modules_are_the_ones_imported() -> None:
    # Every hot module is compiled or none is (one shared library); a built one is used.
    assert _built() in ([], list(compilation.HOT_MODULES))
    assert _compiled_in_child(pure=False) == _built()


def test_the_pure_python_switch_imports_the_source() -> None:
    assert _compiled_in_child(pure=True) == []


def test_this_process_runs_what_its_environment_asks() -> None:
    imported = compilation.compiled_modules()
    if os.environ.get(compilation.PURE_PYTHON_VARIABLE):
        assert imported == []
    else:
        assert imported == [m for m in _built() if m in sys.modules]

