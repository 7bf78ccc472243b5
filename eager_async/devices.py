"""This worker's device names and TensorFlow's partial device-name matching."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from .errors import InvalidArgumentError

__all__ = ["DeviceName", "WorkerDevices"]

_PART = re.compile(r"^(job|replica|task|device|cpu|gpu):(.*)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class DeviceName:
    """A parsed, possibly partial device name: None stands for "any".

    >>> DeviceName.parse("/job:worker/task:0/device:CPU:0").job
    'worker'
    """

    job: str | None = None
    replica: int | None = None
    task: int | None = None
    type: str | None = None
    id: int | None = None

    @classmethod
    def parse(cls, name: str) -> DeviceName:
        """Parse ``/job:J/replica:R/task:T/device:TYPE:ID`` (any part may be left out,
        ``/cpu:0`` and a bare ``CPU:0`` are accepted, as TensorFlow accepts them)."""
        fields: dict[str, object] = {}
        try:
            for part in filter(None, name.split("/")):
                match = _PART.match(part)
                if match is None:
                    kind, _, ident = part.rpartition(":")
                    if not kind:
                        raise ValueError(part)
                    fields["type"], fields["id"] = kind.upper(), _index(ident)
                    continue
                key, value = match.group(1).lower(), match.group(2)
                if key == "job":
                    fields["job"] = value
                elif key in ("replica", "task"):
                    fields[key] = int(value)
                elif key == "device":
                    kind, _, ident = value.partition(":")
                    fields["type"], fields["id"] = kind.upper(), _index(ident)
                else:
                    fields["type"], fields["id"] = key.upper(), _index(value)
        except ValueError:
            raise InvalidArgumentError(f"Malformed device name: '{name}'") from None
        return cls(**fields)  # type: ignore[arg-type]

    def matches(self, other: DeviceName) -> bool:
        """Whether every part this name sets equals ``other``'s."""
        return all(
            mine is None or mine == theirs
            for mine, theirs in (
                (self.job, other.job),
                (self.replica, other.replica),
                (self.task, other.task),
                (self.type, other.type),
                (self.id, other.id),
            )
        )


def _index(text: str) -> int | None:
    return None if text in ("", "*") else int(text)


_parse = lru_cache(maxsize=1024)(DeviceName.parse)


class WorkerDevices:
    """The devices of one worker in one context (today: one CPU).

    >>> WorkerDevices("worker", 1).cpu
    '/job:worker/replica:0/task:1/device:CPU:0'
    """

    __slots__ = ("cpu", "job", "names", "replica", "task")

    def __init__(self, job: str, task: int, replica: int = 0) -> None:
        self.job: Final = job
        self.task: Final = task
        self.replica: Final = replica
        # Computed once: every op's device is compared with it (a property would
        # format the name op after op).
        self.cpu: Final = f"/job:{job}/replica:{replica}/task:{task}/device:CPU:0"
        self.names: Final = (self.cpu,)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WorkerDevices) and (self.job, self.task, self.replica) == (
            other.job, other.task, other.replica)

    def __hash__(self) -> int:
        return hash((self.job, self.task, self.replica))

    def __repr__(self) -> str:
        return f"WorkerDevices(job={self.job!r}, task={self.task}, replica={self.replica})"

    def resolve(self, name: str) -> str:
        """The local device ``name`` refers to ("" means the CPU); InvalidArgumentError
        listing the available devices when it names none of them."""
        if not name or name == self.cpu:  # what nearly every op says: skip parsing
            return self.cpu
        wanted = _parse(name)
        for local in self.names:
            if wanted.matches(_parse(local)):
                return local
        raise InvalidArgumentError(
            f"Device '{name}' is not on this worker. Available devices: {', '.join(self.names)}"
        )
