"""The long fuzz run: ``python -m tests.fuzz --minutes 10`` (``make fuzz``).

Starts a worker (``python -m eager_async serve``) in its own process and a probe client
beside it, sends the whole hostile list and every registered op, then a seeded mix of
mutated real requests, ops with random attrs and random bytes until the time is up.
Prints a summary (inputs per class, statuses, crashes, hangs, INTERNAL/UNKNOWN with their
first examples, probe latency) and exits 1 if it found anything or a probe call took more
than 100 ms.

With ``--atheris`` (``pip install atheris``), part of the mutations come from libFuzzer's
mutation engine. Coverage guidance does not apply: the code under test runs in the worker
process, which libFuzzer does not see, so atheris serves as a mutator only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

from . import corpus as corpus_module
from .corpus import Seed
from .generators import Case
from .plan import endless
from .runner import Runner, failed, format_summary, write_json


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10, help="how long (default 10)")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed (default: from the clock, printed)")
    parser.add_argument("--corpus", type=Path, action="append", default=None,
                        metavar="DIR", help="seed corpus directory of *.jsonl requests "
                        "(repeatable; default tests/fuzz/corpus and tests/vectors/stock_client)")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT",
                        help="write the full report as JSON")
    parser.add_argument("--memory-limit-gib", type=float, default=8,
                        help="the worker's data-segment limit (RLIMIT_DATA) in GiB; 0: none")
    parser.add_argument("--worker-arg", action="append", default=[],
                        help="an extra argument for `python -m eager_async serve`")
    parser.add_argument("--atheris", action="store_true",
                        help="also use libFuzzer's mutator (needs `pip install atheris`)")
    parser.add_argument("--verbose", action="store_true", help="print every case")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else int(time.time()) & 0xFFFFFFF
    seeds = corpus_module.load(args.corpus or corpus_module.DEFAULT_DIRS)
    limit = int(args.memory_limit_gib * (1 << 30)) or None
    print(f"fuzz: seed {seed}, {len(seeds)} seed requests, {args.minutes} min"
          f"{', atheris mutator' if args.atheris else ''}", file=sys.stderr, flush=True)
    runner = Runner(worker_args=tuple(args.worker_arg), memory_limit=limit,
                    verbose=args.verbose)
    deadline = time.monotonic() + args.minutes * 60
    if args.atheris:
        _with_atheris(runner, seed, seeds, deadline, args.json)
    try:
        runner.run(endless(seed, seeds), deadline)
    finally:
        report = runner.finish()
    return _conclude(report, seed, args.json, "built-in mutators")


def _conclude(report: dict[str, Any], seed: int, json_path: Path | None, engine: str) -> int:
    report["seed"] = seed
    report["engine"] = engine
    print(format_summary(report), flush=True)
    if json_path:
        write_json(report, json_path)
    return 1 if failed(report) else 0


def _with_atheris(runner: Runner, seed: int, seeds: list[Seed], deadline: float,
                  json_path: Path | None) -> NoReturn:
    """The same plan run inside ``atheris.Fuzz``, whose libFuzzer loop calls us once per
    input (its bytes unused): ``atheris.Mutate`` is only callable from inside that loop.
    libFuzzer's loop never returns, so the run ends with ``os._exit``."""
    import tempfile

    import atheris

    cases: Iterator[Case] | None = None

    def one_input(data: bytes) -> None:
        nonlocal cases
        if cases is None:
            cases = endless(seed, seeds, external=atheris.Mutate)
        if time.monotonic() > deadline:
            status = _conclude(runner.finish(), seed, json_path,
                               "built-in mutators and libFuzzer's (atheris)")
            sys.stdout.flush()
            sys.stderr.flush()
            with contextlib.suppress(OSError):  # kept if libFuzzer left something in it
                os.rmdir(artifacts)
            os._exit(status)
        runner.run([next(cases)])

    artifacts = tempfile.mkdtemp(prefix="fuzz-atheris-")
    atheris.Setup([sys.argv[0], "-runs=-1", f"-seed={seed or 1}", "-timeout=3600",
                   "-rss_limit_mb=0", f"-artifact_prefix={artifacts}/",
                   "-print_final_stats=0", "-report_slow_units=86400"], one_input)
    atheris.Fuzz()
    raise AssertionError("libFuzzer's loop returned")


if __name__ == "__main__":
    raise SystemExit(main())
