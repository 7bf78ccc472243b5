"""The options of ``python -m eager_async bench``, free of grpcio and matplotlib so that
the command line can offer them without importing either.

>>> parse(["--quick", "--scenarios", "tiny"]).scenarios
('sync-unary', 'async-unary', 'async-stream', 'sync-stream')
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .workloads import QUICK, SCENARIOS, TINY, Sizes

__all__ = ["BenchOptions", "Load", "add_arguments", "options_from_args", "parse"]

DEFAULT_SIZES = Sizes()
_GROUPS = {"all": tuple(SCENARIOS), "tiny": TINY, "transfer": ("push", "pull")}


@dataclass(frozen=True, slots=True)
class Load:
    """How requests are offered. In a tiny-op run ``clients`` connections each drive
    ``contexts`` contexts at once, every context sending the scenario's whole list of
    requests; ``rate`` (ops/s, over all contexts) sends on a schedule without waiting
    for replies (open loop; latency counts from the scheduled time). ``duration``
    repeats every scenario's passes until that many seconds of timed work.

    >>> Load(clients=2, contexts=3).lanes
    6
    """

    clients: int = 1
    contexts: int = 1
    rate: float | None = None
    duration: float | None = None

    @property
    def lanes(self) -> int:
        """Contexts driven at once in a tiny-op run."""
        return self.clients * self.contexts


@dataclass(frozen=True, slots=True)
class BenchOptions:
    """What to measure and against whom. Without ``address`` the harness starts its own
    worker (and measures its CPU); ``compare`` adds a second EagerService, run in
    alternation with ours, whose CPU is measured when ``compare_pid`` is given."""

    address: str | None = None
    compare: str | None = None
    compare_pid: int | None = None
    compare_label: str = "compared"
    scenarios: tuple[str, ...] = tuple(SCENARIOS)
    sizes: Sizes = DEFAULT_SIZES
    repeat: int = 3
    json_path: Path | None = Path("bench-results/bench.json")
    plot_path: Path | None = Path("bench-results/bench.png")
    timeout: float = 600.0
    progress: bool | None = None
    load: Load = Load()
    baseline: Path | None = None


def _scenario_list(text: str) -> tuple[str, ...]:
    names: list[str] = []
    for word in filter(None, (w.strip() for w in text.split(","))):
        group = _GROUPS.get(word, (word,) if word in SCENARIOS else None)
        if group is None:
            choices = ", ".join([*SCENARIOS, *_GROUPS])
            raise argparse.ArgumentTypeError(f"unknown scenario {word!r} (choose from {choices})")
        names.extend(n for n in group if n not in names)
    return tuple(n for n in SCENARIOS if n in names)


def _int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("batch sizes must be positive")
    return values


def _positive(kind: type[int] | type[float]) -> Callable[[str], float]:
    def convert(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be above 0: {text!r}")
        return value
    return convert


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` options to ``parser``."""
    scenarios = ", ".join(f"{s.name} ({s.unit})" for s in SCENARIOS.values())
    parser.add_argument("--address", metavar="HOST:PORT",
                        help="an existing worker (default: start `python -m eager_async serve`)")
    parser.add_argument("--compare", metavar="HOST:PORT",
                        help="another EagerService (e.g. TensorFlow's) to run in alternation")
    parser.add_argument("--compare-pid", type=int, metavar="PID",
                        help="pid of the --compare worker, to measure its CPU")
    parser.add_argument("--compare-label", default="compared", metavar="NAME",
                        help="name of the --compare worker in the table (default: compared)")
    parser.add_argument("--scenarios", type=_scenario_list, default=tuple(SCENARIOS),
                        metavar="LIST", help=f"comma-separated: {scenarios}; "
                        "or the groups tiny, transfer, all (default: all)")
    parser.add_argument("--ops", type=int, help="tiny ops per run (default 20000; K=1 a tenth)")
    parser.add_argument("--batch-sizes", type=_int_list, metavar="K,...",
                        help="tiny ops per request (default 1,100,1000)")
    parser.add_argument("--matmul-size", type=int, metavar="N", help="N x N matrices (1024)")
    parser.add_argument("--transfer-mib", type=int, metavar="MIB",
                        help="size of the push/pull tensor (64)")
    parser.add_argument("--repeat", type=int, help="runs per scenario and worker (default 3)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (2000 ops, 256x256, 8 MiB) and one run")
    parser.add_argument("--json", type=Path, default=Path("bench-results/bench.json"),
                        metavar="PATH", help="where to write results (default %(default)s)")
    parser.add_argument("--plot", type=Path, default=Path("bench-results/bench.png"),
                        metavar="PATH", help="PNG: tiny ops vs K, MatMul and transfers, "
                        "log scales with min-max spread (default %(default)s)")
    parser.add_argument("--no-plot", action="store_true", help="write no plot")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per RPC")
    load = parser.add_argument_group("load", "how requests are offered (docs/benchmark.md)")
    load.add_argument("--duration", type=_positive(float), metavar="SECONDS",
                      help="run each scenario for a time: whole passes (fresh contexts each) "
                      "repeat until this many seconds of timed work (default: one pass)")
    load.add_argument("--clients", type=_positive(int), default=1, metavar="N",
                      help="connections to each worker; tiny-op runs drive them all at "
                      "once, and many-contexts spreads its contexts over them (default 1)")
    load.add_argument("--contexts", type=_positive(int), default=1, metavar="M",
                      help="contexts each connection drives at once in a tiny-op run, each "
                      "sending all of the run's requests (default 1)")
    load.add_argument("--rate", type=_positive(float), metavar="OPS_PER_S",
                      help="open loop: send requests on a schedule of this many ops/s "
                      "(all contexts together) without waiting for replies; latency "
                      "counts from the scheduled time (default: closed loop)")
    load.add_argument("--many-contexts", type=_positive(int), metavar="N",
                      help="contexts the many-contexts scenario runs at once, each "
                      "sending --ops/500 single-op requests (default 128)")
    parser.add_argument("--baseline", type=Path, metavar="FILE",
                        help="a JSON file of an earlier run: print and record this run's "
                        "ratio to it, flagging changes beyond its min-max spread")


def options_from_args(args: argparse.Namespace) -> BenchOptions:
    """BenchOptions from arguments parsed by a parser given ``add_arguments``."""
    sizes = QUICK if args.quick else DEFAULT_SIZES
    overrides = {"ops": args.ops, "batch_sizes": args.batch_sizes,
                 "matmul_n": args.matmul_size, "transfer_mib": args.transfer_mib,
                 "many_contexts": args.many_contexts}
    sizes = dataclasses.replace(sizes, **{k: v for k, v in overrides.items() if v is not None})
    repeat = args.repeat if args.repeat is not None else (1 if args.quick else 3)
    return BenchOptions(
        address=args.address, compare=args.compare, compare_pid=args.compare_pid,
        compare_label=args.compare_label, scenarios=args.scenarios, sizes=sizes,
        repeat=max(1, repeat), json_path=args.json,
        plot_path=None if args.no_plot else args.plot, timeout=args.timeout,
        load=Load(clients=int(args.clients), contexts=int(args.contexts), rate=args.rate,
                  duration=args.duration),
        baseline=args.baseline,
    )


def parse(argv: Sequence[str]) -> BenchOptions:
    """BenchOptions from a ``bench`` command line (without the word ``bench``)."""
    parser = argparse.ArgumentParser(prog="python -m eager_async bench")
    add_arguments(parser)
    return options_from_args(parser.parse_args(argv))
