"""The package's weight at import: ``import eager_async`` loads no public module until a
name is used (PEP 562), and every public name still resolves; and the pieces of
``benchmarks/install_weight.py`` that run without installing anything."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import eager_async

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT
    )
    return result.stdout


@pytest.fixture(scope="module")
def install_weight() -> ModuleType:
    """benchmarks/install_weight.py as a module."""
    spec = importlib.util.spec_from_file_location(
        "install_weight_script", ROOT / "benchmarks" / "install_weight.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_import_loads_no_heavy_module() -> None:
    loaded = json.loads(_run("import sys, json, eager_async; print(json.dumps(list(sys.modules)))"))
    heavy = {"numpy", "grpclib", "eager_async.kernels", "eager_async.server", "scipy"}
    assert heavy.isdisjoint(loaded), heavy & set(loaded)


def test_scipy_is_never_imported() -> None:
    code = "import sys, eager_async.server, eager_async.kernels; print('scipy' in sys.modules)"
    assert _run(code).strip() == "False"


def test_every_public_name_resolves_in_a_fresh_process() -> None:
    names = ", ".join(eager_async.__all__)
    out = _run(f"from eager_async import {names}; print(serve.__module__, Limits.__module__)")
    assert out.split() == ["eager_async.server", "eager_async.limits"]


def test_public_names_are_listed_and_loaded_once() -> None:
    assert set(eager_async.__all__) <= set(dir(eager_async))
    assert set(eager_async._HOMES) == set(eager_async.__all__)
    first = eager_async.EagerServer
    assert eager_async.EagerServer is first
    assert "EagerServer" in vars(eager_async)  # kept: later lookups skip __getattr__


def test_submodules_load_on_first_use() -> None:
    code = (
        "import sys, eager_async; before = 'eager_async.health' in sys.modules; "
        "print(before, eager_async.health.__name__, eager_async.errors.EagerError.__name__)"
    )
    assert _run(code).split() == ["False", "eager_async.health", "EagerError"]


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'eager_async' has no attribute 'Nope'"):
        eager_async.Nope  # noqa: B018
    with pytest.raises(AttributeError, match="has no attribute '__wrapped__'"):
        eager_async.__wrapped__  # noqa: B018
    with pytest.raises(ImportError, match="cannot import name 'Nope'"):
        exec("from eager_async import Nope", {})


def test_report_shows_sizes_and_a_failing_import(install_weight: ModuleType) -> None:
    figures = {
        "source": "/src", "pure_python": True, "install_seconds": 12.5, "compiled_extensions": [],
        "site_packages_bytes": 108_000_000, "site_packages_bytes_without_pip": 85_700_000,
        "distributions": {"numpy": 71_400_000, "eager_async": 4_700_000},
        "top": ["numpy", "eager_async"], "runs": 5,
        "import_seconds": {
            "import eager_async": {"median": 0.033, "runs": [0.03] * 5},
            "from eager_async import serve": {"error": "ModuleNotFoundError: x"},
        },
    }  # fmt: skip
    text = install_weight.report(figures)
    assert "pip install (a clean copy of) /src (pure Python): 12.5 s" in text
    assert "compiled hot path        no" in text
    assert "without pip/setuptools     85.7 MB" in text
    assert "numpy                        71.4 MB" in text
    assert "import eager_async                           0.033 s" in text
    assert "fails: ModuleNotFoundError: x" in text


def test_runs_must_be_positive(
    install_weight: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        install_weight.main(["--runs", "0"])
    assert "--runs must be at least 1" in capsys.readouterr().err


def test_import_timing_reports_errors(install_weight: ModuleType, tmp_path: Path) -> None:
    python = Path(sys.executable)
    ok = install_weight._import_timing(python, "import json", 2, tmp_path)
    assert len(ok["runs"]) == 2 and ok["median"] > 0
    bad = install_weight._import_timing(python, "import no_such_module_here", 2, tmp_path)
    assert bad == {"error": "ModuleNotFoundError: No module named 'no_such_module_here'"}
