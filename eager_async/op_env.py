"""What an op that needs its context receives as ``env``: the context's functions and ops
(one call level deeper), the rendezvous, and the step it runs in.

Function calls, control flow, ``_Send`` and dataset ops are registered like any kernel;
the registry hands them an ``OpEnv`` because they name a keyword-only ``env``.

>>> env = OpEnv(context_id=7, step_id=7, rendezvous=rendezvous,
...             lookup=library.lookup)                    # doctest: +SKIP
>>> env.function("SquareFn").run([np.int32(3)], {})       # doctest: +SKIP
[array(9, dtype=int32)]
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .cluster import ClusterView
from .errors import CancelledError, InvalidArgumentError, NotFoundError, ResourceExhaustedError
from .kernels import TensorSpec
from .limits import MAX_DEPTH
from .peers import Peers
from .rendezvous import Rendezvous

__all__ = ["CANCELLED", "MAX_DEPTH", "Interruptible", "OpEnv", "OpKernel", "running_for"]

CANCELLED = "cancelled"
"""The key of a context's kernel state that says why the context was closed: kernels
that loop (While) stop at their next iteration once it is set."""

class Interruptible(Protocol):
    """Work whose caller may give up on it (a sync Enqueue request's batch of ops)."""

    @property
    def interrupted(self) -> str | None:
        """Why the caller gave up, once it has."""
        ...


_THREAD = threading.local()


def running_for(work: Interruptible | None) -> None:
    """Say which work the kernels this thread runs next are part of (None: none), so
    that ``OpEnv.check_cancelled`` stops them once its caller gives up."""
    _THREAD.work = work


class OpKernel(Protocol):
    """What the runtime needs of an op: a registered kernel or a function."""

    @property
    def stateful(self) -> bool:
        """Whether a function body runs it although no output depends on it."""
        ...

    def shapes(self, specs: Sequence[TensorSpec], attrs: Mapping[str, Any]) -> list[TensorSpec]:
        """Output specs, computed without running anything."""
        ...

    def run(self, inputs: Sequence[np.ndarray], attrs: Mapping[str, Any]) -> list[np.ndarray]:
        """The outputs."""
        ...


Lookup = Callable[[str, "OpEnv"], OpKernel]


class OpEnv:
    """One op's view of its context: ``kernel`` and ``function`` find ops and registered
    functions one call level deeper; ``rendezvous``, ``step_id``, ``cluster`` (who serves
    which device) and ``peers`` (channels to the other tasks) serve ``_Send``/``_Recv``.

    ``state`` is the context's store for kernels that keep state between calls, as TF's
    kernel instances do (a seeded random op's position in its stream); ``scope`` names
    where the op runs, ``(function, node, function, node, ...)`` from the outermost call,
    empty for an op the client enqueued, so that such state can be kept per node.
    ``file_root`` is the directory whose files the checkpoint ops may read and write for
    clients (the worker's ``--allow-file-io``); None allows none.
    """

    __slots__ = (
        "_lookup",
        "cluster",
        "context_id",
        "depth",
        "file_root",
        "max_depth",
        "peers",
        "rendezvous",
        "scope",
        "state",
        "step_id",
    )

    def __init__(
        self,
        *,
        context_id: int,
        step_id: int,
        rendezvous: Rendezvous,
        lookup: Lookup,
        state: dict[Hashable, Any] | None = None,
        cluster: ClusterView | None = None,
        peers: Peers | None = None,
        scope: tuple[str, ...] = (),
        depth: int = 0,
        file_root: Path | None = None,
        max_depth: int = MAX_DEPTH,
    ) -> None:
        if depth >= max_depth:
            raise ResourceExhaustedError(
                f"function calls nest deeper than this worker's max_function_depth "
                f"({max_depth}): a recursive function?"
            )
        self.context_id = context_id
        self.step_id = step_id
        self.rendezvous = rendezvous
        self.state: dict[Hashable, Any] = {} if state is None else state
        self.cluster = cluster or ClusterView()
        self.peers = peers
        self.scope = scope
        self.depth = depth
        self.file_root = file_root
        self.max_depth = max_depth
        self._lookup = lookup

    def deeper(self, scope: tuple[str, ...] = ()) -> OpEnv:
        """The env of an op one call level down, at ``scope`` within this one."""
        return self._derived(scope=self.scope + scope, depth=self.depth + 1)

    def at_step(self, step_id: int) -> OpEnv:
        """This env sending and receiving under ``step_id`` (the parts of a function that
        spans tasks meet in the rendezvous under a step of their own)."""
        return self._derived(step_id=step_id)

    def instance(self) -> OpEnv:
        """This env with kernel state of its own (an instantiation of functions apart
        from the context's, as a dataset iterator's), dropped with it."""
        return self._derived(state={})

    def _derived(
        self,
        *,
        step_id: int | None = None,
        state: dict[Hashable, Any] | None = None,
        scope: tuple[str, ...] | None = None,
        depth: int | None = None,
    ) -> OpEnv:
        """This env with the fields given changed."""
        return OpEnv(
            context_id=self.context_id,
            step_id=self.step_id if step_id is None else step_id,
            rendezvous=self.rendezvous,
            lookup=self._lookup,
            state=self.state if state is None else state,
            cluster=self.cluster,
            peers=self.peers,
            scope=self.scope if scope is None else scope,
            depth=self.depth if depth is None else depth,
            file_root=self.file_root,
            max_depth=self.max_depth,
        )

    def check_cancelled(self) -> None:
        """Raise CANCELLED once the op's context was closed, or the request it runs for
        abandoned (see ``running_for``): a kernel that loops calls it between
        iterations, so either frees the thread it runs on."""
        reason = self.state.get(CANCELLED)
        if reason is not None:
            raise CancelledError(f"the op's context was closed: {reason}")
        work: Interruptible | None = getattr(_THREAD, "work", None)
        if work is not None and work.interrupted is not None:
            raise CancelledError(f"the op's request was abandoned: {work.interrupted}")

    def kernel(self, name: str, scope: tuple[str, ...] = ()) -> OpKernel:
        """The registered function or op ``name``, running one level deeper (as the node
        ``scope`` names, when it is a function body's node)."""
        return self._lookup(name, self.deeper(scope))

    def function(self, name: str) -> OpKernel:
        """The registered function ``name``; NOT_FOUND when unknown, INVALID_ARGUMENT when
        ``name`` is an op."""
        try:
            kernel = self.kernel(name)
        except NotFoundError:
            raise NotFoundError(
                f"Function '{name}' is not registered in this context; register it first "
                "(QueueItem.register_function)"
            ) from None
        if not getattr(kernel, "is_function", False):
            raise InvalidArgumentError(
                f"'{name}' is not a function registered in this context; register it first "
                "(QueueItem.register_function)"
            )
        return kernel
