"""What a plain ``pip install .`` weighs: the size of the fresh environment's
site-packages (in total and per distribution, largest first) and the median wall time of
``python -c "import eager_async"`` and of loading the whole server.

    python benchmarks/install_weight.py [--pure] [--runs 5] [--json FILE] [--keep]

A new venv in a temporary directory gets a clean copy of the checkout (or ``--source``;
no ``build/``, venvs, caches or in-place extensions, which setuptools would otherwise
reuse) without extras, through pip's usual index and cache (so it needs the network
unless every wheel is cached). ``--pure`` installs without compiling the hot path
(``EAGER_ASYNC_PURE_PYTHON`` at build time), as a machine without a C compiler does. The
venv is removed afterwards unless ``--keep``. The figures go to stdout as a table and,
with ``--json``, to a file.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TOP = 10
IMPORTS = {
    "import eager_async": "import eager_async",
    "from eager_async import serve, EagerClient": "from eager_async import serve, EagerClient",
}
# Run by the venv's own Python: every distribution's installed bytes, from its RECORD.
_SIZES = """
import importlib.metadata, json, sys
sizes = {}
for dist in importlib.metadata.distributions():
    total = 0
    for file in dist.files or ():
        path = file.locate()
        if path.is_file():
            total += path.stat().st_size
    sizes[dist.metadata["Name"]] = total
json.dump(sizes, sys.stdout)
"""


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _site_packages(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return Path(out.stdout.strip())


# What a fresh clone lacks: build products and caches of the working checkout.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv*", "build", "dist", "*.egg-info", "bench-results", "__pycache__",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis", "*.so",
)  # fmt: skip


def _install(python: Path, source: Path, pure: bool) -> float:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("EAGER_ASYNC_PURE_PYTHON", None)
    if pure:
        env["EAGER_ASYNC_PURE_PYTHON"] = "1"
    started = time.perf_counter()
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(source)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        sys.exit(f"install_weight: pip install failed (no network or no cached wheels?):\n"
                 f"{result.stderr.strip()[-2000:]}")  # fmt: skip
    return time.perf_counter() - started


def _import_timing(python: Path, statement: str, runs: int, cwd: Path) -> dict[str, Any]:
    """The median and every run of ``statement``'s wall time, or the error it ends with."""
    # Outside the checkout, so the installed package is the one imported; one warm-up run
    # first writes the bytecode caches, as any second start of a program finds them.
    unset = ("PYTHONPATH", "EAGER_ASYNC_PURE_PYTHON")
    env = {k: v for k, v in os.environ.items() if k not in unset}
    times = []
    for run in range(runs + 1):
        started = time.perf_counter()
        result = subprocess.run(
            [str(python), "-c", statement], cwd=cwd, env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines()
            return {"error": lines[-1] if lines else f"exit status {result.returncode}"}
        if run:
            times.append(time.perf_counter() - started)
    return {"median": statistics.median(times), "runs": times}


def measure(source: Path, *, pure: bool, runs: int, keep: bool) -> dict[str, Any]:
    """Install ``source`` into a fresh venv and weigh it (see the module docstring)."""
    workdir = Path(tempfile.mkdtemp(prefix="install-weight-"))
    try:
        venv.create(workdir / "venv", with_pip=True)
        python = workdir / "venv" / "bin" / "python"
        site = _site_packages(python)
        baseline = _tree_bytes(site)  # pip (and setuptools) as venv puts them there
        clean = workdir / "source"
        shutil.copytree(source, clean, ignore=_NOT_SOURCE)
        install_seconds = _install(python, clean, pure)
        listing = subprocess.run(
            [str(python), "-c", _SIZES], check=True, capture_output=True, text=True
        )
        sizes = json.loads(listing.stdout)
        imports = {
            label: _import_timing(python, statement, runs, workdir)
            for label, statement in IMPORTS.items()
        }
        total = _tree_bytes(site)
        # mypyc puts the hot path's shared library in the package, its helpers at the top.
        extensions = sorted(
            str(p.relative_to(site)) for p in site.glob("*.so") if "mypyc" in p.name
        ) + sorted(str(p.relative_to(site)) for p in site.glob("eager_async/*.so"))
        largest = sorted(sizes.items(), key=lambda item: -item[1])
        return {
            "source": str(source),
            "pure_python": pure,
            "compiled_extensions": extensions,
            "python": sys.version.split()[0],
            "install_seconds": round(install_seconds, 1),
            "site_packages_bytes": total,
            "site_packages_bytes_without_pip": total - baseline,
            "distributions": dict(largest),
            "top": [name for name, _ in largest[:TOP]],
            "runs": runs,
            "import_seconds": imports,
            "venv": str(workdir / "venv") if keep else None,
        }
    finally:
        if keep:
            shutil.rmtree(workdir / "source", ignore_errors=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _mb(n: int) -> str:
    return f"{n / 1e6:8.1f} MB"


def report(figures: dict[str, Any]) -> str:
    """The figures as a table for people."""
    lines = [
        f"pip install (a clean copy of) {figures['source']}"
        f"{' (pure Python)' if figures['pure_python'] else ''}: {figures['install_seconds']} s",
        f"compiled hot path        {'yes' if figures['compiled_extensions'] else 'no'}",
        f"site-packages            {_mb(figures['site_packages_bytes'])}",
        f"  without pip/setuptools {_mb(figures['site_packages_bytes_without_pip'])}",
        f"largest {TOP} distributions:",
    ]
    for name in figures["top"]:
        lines.append(f"  {name:24} {_mb(figures['distributions'][name])}")
    lines.append(f"import wall time, median of {figures['runs']} runs:")
    for label, timing in figures["import_seconds"].items():
        value = f"{timing['median']:.3f} s" if "median" in timing else f"fails: {timing['error']}"
        lines.append(f"  {label:44} {value}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="what to pip install")
    parser.add_argument("--pure", action="store_true", help="install without mypyc")
    parser.add_argument("--runs", type=int, default=5, help="import timings per statement")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the venv, print its path")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    figures = measure(args.source.resolve(), pure=args.pure, runs=args.runs, keep=args.keep)
    print(report(figures))
    if args.keep:
        print(f"venv kept at {figures['venv']}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
