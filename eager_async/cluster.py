"""The cluster a context belongs to, as its client's ServerDef describes it: which task
serves at which address, so ops can reach the task a device name belongs to.

>>> view = ClusterView.from_jobs({"localhost": {0: "localhost:2222"}}, local=("worker", 0))
>>> view.address_of("/job:localhost/replica:0/task:0/device:CPU:0")
'localhost:2222'
>>> view.address_of("/job:worker/replica:0/task:0/device:CPU:0") is None   # ourselves
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ._proto import tensorflow as tf
from .devices import DeviceName
from .errors import InvalidArgumentError

__all__ = ["ClusterView"]


@dataclass(frozen=True, slots=True)
class ClusterView:
    """Job -> task -> "host:port" of every task in a context's cluster, and which task
    is this worker (``local``)."""

    jobs: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    local: tuple[str, int] = ("worker", 0)

    @classmethod
    def from_jobs(
        cls, jobs: Mapping[str, Mapping[int, str]], *, local: tuple[str, int]
    ) -> ClusterView:
        """A view of ``jobs`` in which task ``local`` is this worker."""
        return cls({job: dict(tasks) for job, tasks in jobs.items()}, local)

    @classmethod
    def from_server_def(
        cls, server_def: tf.ServerDef | None, *, local: tuple[str, int]
    ) -> ClusterView:
        """The cluster a ServerDef names (empty when it names none)."""
        if server_def is None or server_def.cluster is None:
            return cls(local=local)
        return cls({job.name: dict(job.tasks) for job in server_def.cluster.job}, local)

    def address_of(self, device: str) -> str | None:
        """The address of the task that owns ``device``; None when it is this worker.

        Raises INVALID_ARGUMENT naming the cluster when no task of it owns the device.
        """
        name = DeviceName.parse(device)
        job = name.job if name.job is not None else self.local[0]
        task = name.task if name.task is not None else 0
        if (job, task) == self.local:
            return None
        address = self.jobs.get(job, {}).get(task)
        if address is None:
            known = ", ".join(
                f"/job:{j}/task:{t}"
                for j, tasks in sorted(self.jobs.items())
                for t in sorted(tasks)
            )
            raise InvalidArgumentError(
                f"Device '{device}' belongs to no task of this context's cluster "
                f"({known or 'no cluster was given in CreateContext'})"
            )
        return address
