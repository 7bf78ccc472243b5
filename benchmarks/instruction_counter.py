"""What counts a process's instructions for benchmarks/profile.py: ``perf stat`` where the
machine has hardware counters, else valgrind's callgrind. Either wraps the server's
command line, counts every thread of the process from its start to its exit, and leaves
the total in a file read once the process has exited.

>>> counter = choose_counter("auto")                              # doctest: +SKIP
>>> argv = counter.wrap(["python", "-m", "eager_async", "serve"], Path("run.out"))  # doctest: +SKIP
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import psutil

__all__ = ["Callgrind", "Counter", "Perf", "callgrind_total", "choose_counter", "perf_total"]


class Counter(Protocol):
    """A way of counting the instructions a command runs."""

    @property
    def name(self) -> str:
        """``perf`` or ``callgrind``."""
        ...

    def wrap(self, argv: list[str], out: Path) -> list[str]:
        """The command line that runs ``argv`` counted, its total left in ``out``."""
        ...

    def total(self, out: Path) -> int:
        """The instructions counted, read from ``out`` after the process has exited."""
        ...

    def counted_pid(self, launched: int) -> int:
        """The pid of the counted process itself (to signal it), given the launched one."""
        ...

    def version(self) -> str:
        """The counter's name and version, for the record."""
        ...


@dataclass(frozen=True, slots=True)
class Callgrind:
    """valgrind's callgrind: exact and repeatable, about 50 times slower than native.

    Valgrind runs the program in its own process (same pid) and serializes its threads;
    the counts are written when the process exits, so it must exit rather than be killed.
    """

    name: str = "callgrind"

    def wrap(self, argv: list[str], out: Path) -> list[str]:
        """``valgrind --tool=callgrind`` around ``argv``; valgrind's own messages go to
        ``out`` + ``.log`` so they never mix with the server's log."""
        return [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            f"--log-file={out}.log",
            # Per-function counts only: the total is the same, the file much smaller.
            "--dump-line=no", "--dump-instr=no", "--collect-systime=no",
            # No gdbserver: nothing here talks to it, and it polls.
            "--vgdb=no", "--trace-children=no",
            *argv,
        ]  # fmt: skip

    def total(self, out: Path) -> int:
        """The ``totals:`` of the callgrind file ``out``."""
        return callgrind_total(out.read_text(errors="replace"))

    def counted_pid(self, launched: int) -> int:
        """Valgrind is the process itself."""
        return launched

    def version(self) -> str:
        """``valgrind-3.19.0`` style."""
        return _output(["valgrind", "--version"])


@dataclass(frozen=True, slots=True)
class Perf:
    """``perf stat`` counting user-space instructions (``instructions:u``): native speed,
    its counts a little noisier than callgrind's (interrupts, speculation)."""

    name: str = "perf"

    def wrap(self, argv: list[str], out: Path) -> list[str]:
        """``perf stat`` around ``argv``, its CSV report in ``out``."""
        return ["perf", "stat", "-x", ",", "-e", "instructions:u", "-o", str(out), "--", *argv]

    def total(self, out: Path) -> int:
        """The count in perf's CSV report ``out``."""
        return perf_total(out.read_text(errors="replace"))

    def counted_pid(self, launched: int) -> int:
        """perf's only child. perf stat itself dies of SIGTERM without writing its report:
        the counted process must be the one to exit."""
        children = psutil.Process(launched).children()
        if len(children) != 1:
            raise RuntimeError(f"perf stat (pid {launched}) has {len(children)} children, not 1")
        return int(children[0].pid)

    def version(self) -> str:
        """``perf version 6.1`` style."""
        return _output(["perf", "--version"])

    @staticmethod
    def works() -> bool:
        """Whether perf is installed and this machine gives it an instruction counter
        (in many VMs and containers it reports ``<not supported>``)."""
        with tempfile.TemporaryDirectory() as scratch:
            out = Path(scratch) / "perf.csv"
            try:
                subprocess.run(Perf().wrap(["true"], out), capture_output=True, timeout=30,
                               check=True)  # fmt: skip
                perf_total(out.read_text())
            except (OSError, subprocess.SubprocessError, ValueError):
                return False
        return True


def choose_counter(name: str) -> Counter:
    """``perf``, ``callgrind``, or ``auto``: perf when it works here, else callgrind."""
    if name == "perf" or (name == "auto" and Perf.works()):
        return Perf()
    if name in ("callgrind", "auto"):
        return Callgrind()
    raise ValueError(f"no such counter: {name!r} (perf, callgrind or auto)")


def callgrind_total(text: str) -> int:
    """The instructions (event ``Ir``) a callgrind output file counted: its ``totals:``
    line, summed over the file's parts if it holds several dumps.

    ``totals:`` rather than ``summary:``: the two can differ by a few hundred instructions
    in a threaded program, and ``totals:`` is the figure callgrind itself reports.

    >>> callgrind_total("events: Ir\\nsummary: 12\\nfn=main\\n3 12\\ntotals: 12\\n")
    12
    """
    events: list[str] = []
    total, found = 0, False
    for line in text.splitlines():
        if line.startswith("events:"):
            events = line.split()[1:]
        elif line.startswith("totals:"):
            if "Ir" not in events:
                raise ValueError("a callgrind file with no Ir event before its totals")
            total += int(line.split()[1 + events.index("Ir")])
            found = True
    if not found:
        raise ValueError("no 'totals:' line: not a complete callgrind output file")
    return total


def perf_total(text: str) -> int:
    """The instruction count in ``perf stat -x ,`` output.

    >>> perf_total("# started on Mon\\n\\n1234,,instructions:u,1000,100.00,,\\n")
    1234
    """
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2].startswith("instructions"):
            if not fields[0].isdigit():
                raise ValueError(f"perf counted no instructions: {fields[0]}")
            return int(fields[0])
    raise ValueError("no instructions line in perf's output")


def _output(argv: list[str]) -> str:
    return subprocess.run(argv, capture_output=True, text=True, check=True,
                          timeout=30).stdout.strip()  # fmt: skip
