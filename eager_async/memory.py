"""Memory quotas: the bytes of live tensors a context, and the worker, may hold.

An op's outputs are accounted before its kernel allocates them, from the shapes its
shape rule gives (the values of its int inputs known by then): a ``Fill`` of 10^10
elements is refused with RESOURCE_EXHAUSTED naming the limit, not attempted. Once the
kernel ran, the bytes it really made replace the estimate; they return to the quota
when the op's node goes (its handles released, its context closed).

A string (or resource, variant) element counts ``OBJECT_ELEMENT_BYTES`` plus its length.

>>> worker = MemoryQuota("memory_bytes", 1 << 30)
>>> context = MemoryQuota("context_memory_bytes", 1 << 20, parent=worker)
>>> context.reserve(4 << 20, "Fill (op id 3)")          # doctest: +ELLIPSIS
Traceback (most recent call last):
...
eager_async.errors.ResourceExhaustedError: Fill (op id 3) needs 4194304 bytes...
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np

from .errors import ResourceExhaustedError
from .kernels import TensorSpec
from .tensors import OBJECT_ELEMENT_BYTES

__all__ = [
    "MemoryQuota",
    "array_bytes",
    "current_quota",
    "outputs_bytes",
    "quota_of_thread",
    "spec_bytes",
]

What = str | Callable[[], str]
"""What holds the bytes, for error messages: a text, or a function that makes it (made
only when there is an error: an op's name and id formatted op after op cost more than
the accounting)."""

_LOCK = threading.Lock()  # quotas are charged from kernel threads and the loop alike
_THREAD = threading.local()


class MemoryQuota:
    """Bytes held against ``limit`` (the limit named ``name``); a context's quota also
    draws on its ``parent``, the worker's."""

    __slots__ = ("limit", "max_tensor_bytes", "name", "parent", "used")

    def __init__(
        self,
        name: str,
        limit: int,
        parent: MemoryQuota | None = None,
        *,
        max_tensor_bytes: int | None = None,
    ) -> None:
        self.name = name
        self.limit = limit
        self.parent = parent
        self.max_tensor_bytes = limit if max_tensor_bytes is None else max_tensor_bytes
        self.used = 0

    def check_tensor(self, nbytes: int, what: What) -> None:
        """RESOURCE_EXHAUSTED when one tensor of ``nbytes`` is over max_tensor_bytes."""
        if nbytes > self.max_tensor_bytes:
            raise ResourceExhaustedError(
                f"{_said(what)} would make a tensor of {nbytes} bytes, over this worker's "
                f"max_tensor_bytes ({self.max_tensor_bytes}); raise --max-tensor-bytes "
                "if it is meant"
            )

    def check_specs(self, specs: Sequence[TensorSpec], what: What) -> None:
        """Raise as ``reserve_specs`` would, holding nothing (a function's intermediates,
        which live while the call runs)."""
        nbytes = self.reserve_specs(specs, what)
        if nbytes:
            self.release(nbytes)

    def reserve_specs(self, specs: Sequence[TensorSpec], what: What) -> int | None:
        """Hold the bytes of tensors of ``specs`` (each checked by ``check_tensor``);
        None, holding nothing, while a dim is unknown."""
        total = 0
        for spec in specs:
            size = spec_bytes(spec)
            if size is None:
                return None
            self.check_tensor(size, what)
            total += size
        if total:
            self.reserve(total, what)
        return total

    def reserve(self, nbytes: int, what: What) -> None:
        """Hold ``nbytes`` more for ``what`` (an op, a sent tensor), or raise
        RESOURCE_EXHAUSTED naming the first limit it would pass and hold nothing."""
        with _LOCK:
            quota: MemoryQuota | None = self
            while quota is not None:
                if quota.used + nbytes > quota.limit:
                    raise ResourceExhaustedError(
                        f"{_said(what)} needs {nbytes} bytes, and {quota.used} of this worker's "
                        f"{quota.name} ({quota.limit}) are held by live tensors: release "
                        f"handles you no longer need, or raise --{quota.name.replace('_', '-')}"
                    )
                quota = quota.parent
            self._add(nbytes)

    def release(self, nbytes: int) -> None:
        """Give back ``nbytes`` held before."""
        with _LOCK:
            self._add(-nbytes)

    def adjust(self, nbytes: int) -> None:
        """Hold ``nbytes`` more (or fewer) without checking: what a kernel really made
        beyond its estimate, which exists by now."""
        with _LOCK:
            self._add(nbytes)

    def _add(self, nbytes: int) -> None:
        quota: MemoryQuota | None = self
        while quota is not None:
            quota.used += nbytes
            quota = quota.parent


def _said(what: What) -> str:
    return what if isinstance(what, str) else what()


def spec_bytes(spec: TensorSpec) -> int | None:
    """The bytes of a tensor of ``spec``, or None while a dim is unknown."""
    count = spec.elements()
    if count is None:
        return None
    dtype = spec.dtype
    return count * (OBJECT_ELEMENT_BYTES if dtype.kind == "O" else dtype.itemsize)


_SAMPLED = 1024  # string elements whose lengths are read; more are extrapolated


def array_bytes(array: np.ndarray) -> int:
    """What ``array`` holds, its strings' bytes included: counted up to ``_SAMPLED``
    elements, estimated from as many evenly spread ones beyond (ten million of them took
    seconds to count, one by one)."""
    if array.dtype.kind != "O":
        return int(array.nbytes)
    flat = array.reshape(-1)
    sample = flat if flat.size <= _SAMPLED else flat[:: flat.size // _SAMPLED]
    lengths = sum(len(e) for e in sample if isinstance(e, bytes | str))
    return array.size * OBJECT_ELEMENT_BYTES + lengths * array.size // max(sample.size, 1)


def outputs_bytes(outputs: Sequence[np.ndarray], inputs: Sequence[np.ndarray]) -> int:
    """The bytes of ``outputs`` that are new: an output that is an input (Identity) or a
    view of one (Reshape) holds nothing more."""
    total = 0
    for out in outputs:
        base = out.base
        for array in inputs:  # a handful: loops beat building sets of ids per op
            if out is array or (base is not None and base is array):
                break
            held = array.base
            if held is not None and (out is held or base is held):
                break
        else:
            total += array_bytes(out)
    return total


def quota_of_thread(quota: MemoryQuota | None) -> None:
    """Make ``quota`` the one the kernels this thread runs next draw on (None: none)."""
    _THREAD.quota = quota


def current_quota() -> MemoryQuota | None:
    """The quota of the op this thread is running (function bodies check against it)."""
    return getattr(_THREAD, "quota", None)
