"""The cluster a context belongs to, as its client's ServerDef describes it: which task
serves at which address, and the incarnation of each device (TF's rendezvous keys name
it, and a task checks it before it hands a tensor over).

>>> view = ClusterView.from_jobs({"localhost": {0: "localhost:2222"}}, local=("worker", 0))
>>> view.address_of("/job:localhost/replica:0/task:0/device:CPU:0")
'localhost:2222'
>>> view.address_of("/job:worker/replica:0/task:0/device:CPU:0") is None   # ourselves
True
>>> view.full_name("/job:localhost/task:0")
'/job:localhost/replica:0/task:0/device:CPU:0'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ._proto import tensorflow as tf
from .devices import DeviceName
from .errors import InvalidArgumentError

__all__ = ["ClusterView"]


@dataclass(frozen=True, slots=True)
class ClusterView:
    """Job -> task -> "host:port" of every task in a context's cluster, which task is this
    worker (``local``), and the incarnation of every device the client told of
    (``incarnations``, by full device name)."""

    jobs: Mapping[str, Mapping[int, str]] = field(default_factory=dict)
    local: tuple[str, int] = ("worker", 0)
    incarnations: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_jobs(
        cls,
        jobs: Mapping[str, Mapping[int, str]],
        *,
        local: tuple[str, int],
        devices: Iterable[tf.DeviceAttributes] = (),
    ) -> ClusterView:
        """A view of ``jobs`` in which task ``local`` is this worker; ``devices`` are the
        cluster's device attributes (CreateContext's ``cluster_device_attributes``)."""
        incarnations = {device.name: device.incarnation for device in devices}
        return cls({job: dict(tasks) for job, tasks in jobs.items()}, local, incarnations)

    @classmethod
    def from_server_def(
        cls,
        server_def: tf.ServerDef | None,
        *,
        local: tuple[str, int],
        devices: Iterable[tf.DeviceAttributes] = (),
    ) -> ClusterView:
        """The cluster a ServerDef names (empty when it names none)."""
        if server_def is None or server_def.cluster is None:
            return cls.from_jobs({}, local=local, devices=devices)
        jobs = {job.name: dict(job.tasks) for job in server_def.cluster.job}
        return cls.from_jobs(jobs, local=local, devices=devices)

    def task_of(self, device: str) -> tuple[str, int]:
        """The (job, task) owning ``device``; a name without job and task is this worker's,
        a job without a task means its task 0, as in TF."""
        name = DeviceName.parse(device)
        if name.job is None and name.task is None:
            return self.local
        job = name.job if name.job is not None else self.local[0]
        task = (
            name.task if name.task is not None else (self.local[1] if job == self.local[0] else 0)
        )
        return job, task

    def full_name(self, device: str) -> str:
        """``device`` spelled out as TF names it (``/job:J/replica:0/task:T/device:CPU:0``)."""
        job, task = self.task_of(device)
        name = DeviceName.parse(device)
        kind = name.type or "CPU"
        return f"/job:{job}/replica:{name.replica or 0}/task:{task}/device:{kind}:{name.id or 0}"

    def is_local(self, device: str) -> bool:
        """Whether ``device`` belongs to this worker ("" does)."""
        return not device or self.task_of(device) == self.local

    def address_of(self, device: str) -> str | None:
        """The address of the task that owns ``device``; None when it is this worker.

        Raises INVALID_ARGUMENT naming the cluster when no task of it owns the device.
        """
        job, task = self.task_of(device)
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

    def incarnation_of(self, device: str) -> int | None:
        """The incarnation the client reported for ``device``, if it did."""
        return self.incarnations.get(self.full_name(device))
