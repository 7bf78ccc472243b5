"""Progress through a benchmark on stderr: a rich bar with the elapsed time and an ETA on a
terminal, erased when done; elsewhere (CI, a pipe, a log file) one plain line per step,
with no escape codes.

>>> import io
>>> out = io.StringIO()
>>> bar = Progress(2, stream=out)
>>> bar.step("sync-unary K=1 ours (1/1)"); bar.close()
>>> out.getvalue().startswith("bench [1/2]")
True
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress

__all__ = ["Progress"]


class Progress:
    """Counts ``total`` steps; ``step(label)`` announces the step about to run. Silent
    when ``enabled`` is False; a bar when ``stream`` (stderr by default) is a terminal,
    else plain lines."""

    def __init__(self, total: int, *, enabled: bool | None = None,
                 stream: TextIO | None = None) -> None:
        self.total = max(1, total)
        self.done = 0
        self._steps = 0
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = enabled is not False
        self._started = time.monotonic()
        self._bar: RichProgress | None = None
        if self._enabled and self._stream.isatty():
            self._bar = RichProgress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                console=Console(file=self._stream), transient=True)
            self._task = self._bar.add_task("starting", total=self.total)
            self._bar.start()

    def step(self, label: str) -> None:
        """Mark the previous step done and show ``label`` as running."""
        self._steps += 1
        self.done = min(self.total, self._steps - 1)
        if not self._enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, description=label)
            return
        elapsed = time.monotonic() - self._started
        eta = (f"ETA {elapsed / self.done * (self.total - self.done):.0f}s" if self.done
               else "ETA ?")
        self._stream.write(f"bench [{self._steps}/{self.total}] {elapsed:.0f}s {eta}  "
                           f"{label}\n")
        self._stream.flush()

    def close(self) -> None:
        """Finish: erase the bar (plain lines stay)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
