"""benchmarks/profile.py without profiling anything: its command line, and the reading of a
callgrind total from a real callgrind output file (valgrind run on /bin/true, a fraction of
a second), checked against the figure valgrind itself reports."""

from __future__ import annotations

import doctest
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """benchmarks/profile.py as a module, under a name that does not shadow the standard
    library's ``profile``; its helper modules import from beside it, as when it runs."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("profile_script", BENCHMARKS / "profile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "profile_script", module)  # dataclasses look it up
    spec.loader.exec_module(module)
    return module


def test_defaults(script: ModuleType) -> None:
    args = script.parse_args([])
    assert args.ops == 5000 and args.jobs == 2 and args.counter == "auto"
    assert [s.name for s in args.scenarios] == [
        "sync-unary-k1000", "async-unary-k1000", "sync-unary-k1", "grpclib-k1"]
    assert args.checkout == BENCHMARKS.parent
    assert args.python == Path(sys.executable)
    assert args.json == BENCHMARKS.parent / "bench-results" / "profile.json"
    assert args.keep is None


def test_options(script: ModuleType, tmp_path: Path) -> None:
    args = script.parse_args([
        "--ops", "200", "--scenarios", "grpclib-k1, sync-unary-k1", "--checkout",
        str(tmp_path), "--python", "/usr/bin/python3", "--counter", "callgrind",
        "--jobs", "1", "--json", str(tmp_path / "p.json"), "--timeout", "60",
    ])  # fmt: skip
    assert [s.name for s in args.scenarios] == ["grpclib-k1", "sync-unary-k1"]
    assert (args.ops, args.jobs, args.timeout) == (200, 1, 60.0)
    assert args.checkout == tmp_path.resolve()
    assert [script.ops_for(s, args.ops) for s in args.scenarios] == [20, 20]


@pytest.mark.parametrize("argv", [["--scenarios", "sync-unary"], ["--scenarios", ","],
                                  ["--ops", "0"], ["--counter", "time"]])  # fmt: skip
def test_bad_options_are_usage_errors(script: ModuleType, argv: list[str],
                                      capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    with pytest.raises(SystemExit) as exit_:
        script.parse_args(argv)
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_callgrind_total_of_a_real_run(script: ModuleType, tmp_path: Path) -> None:
    from instruction_counter import Callgrind  # beside profile.py, on the path from `script`

    out = tmp_path / "true.callgrind"
    run = subprocess.run(Callgrind().wrap(["/bin/true"], out), capture_output=True, text=True,
                         timeout=60)  # fmt: skip
    assert run.returncode == 0, run.stderr
    # valgrind's own report of the same figure, e.g. "==123== Collected : 126651"
    (reported,) = re.findall(r"Collected : (\d+)", (tmp_path / "true.callgrind.log").read_text())
    assert Callgrind().total(out) == int(reported) > 0


def test_incomplete_callgrind_output_is_an_error() -> None:
    from instruction_counter import callgrind_total

    with pytest.raises(ValueError, match="totals"):
        callgrind_total("# callgrind format\nevents: Ir\nsummary: 5\nfn=main\n")


def test_doctests(script: ModuleType) -> None:
    import instruction_counter
    import server_process

    for module in (script, instruction_counter, server_process):
        assert doctest.testmod(module).failed == 0
