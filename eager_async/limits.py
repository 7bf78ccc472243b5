"""The worker's limits: how much one client may make it receive, hold and compute.

Every limit is a field of ``Limits``, set by a ``serve`` flag of the same name
(``--max-tensor-bytes``) or an ``EAGER_ASYNC_*`` environment variable
(``EAGER_ASYNC_MAX_TENSOR_BYTES``). A request over a limit gets RESOURCE_EXHAUSTED with
a message naming it. The defaults let every real TensorFlow program run: the largest
message TF's own worker accepts, and memory quotas a share of the machine's memory.

>>> Limits().max_message_bytes
2147483647
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["MAX_DEPTH", "Limits", "machine_memory"]

MAX_DEPTH = 32
"""How deep function calls may nest at most (``max_function_depth`` may be lower);
deeper would reach Python's own recursion limit."""


def machine_memory() -> int:
    """The memory this process may use, in bytes: the machine's, or less where a
    resource limit (``ulimit -v``/``-d``) or the cgroup (a container's memory limit) says
    so; 8 GiB where the system does not say."""
    try:
        sizes = [os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")]
    except (ValueError, OSError, AttributeError):
        sizes = [8 << 30]
    for limit in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
        soft = resource.getrlimit(limit)[0]
        if soft != resource.RLIM_INFINITY:
            sizes.append(soft)
    try:
        cgroup = Path("/sys/fs/cgroup/memory.max").read_text().strip()
    except OSError:
        cgroup = "max"
    if cgroup.isdigit():
        sizes.append(int(cgroup))
    return min(sizes)


def _share_of_memory() -> int:
    return machine_memory() * 3 // 4


@dataclass(frozen=True, slots=True)
class Limits:
    """What one worker accepts; every field is a ``serve`` flag and an environment
    variable (see the module docstring).

    - ``max_message_bytes``: a request message, refused from its 5-byte gRPC prefix,
      before any of it is buffered (TF's worker: 2 GiB - 1).
    - ``max_receiving_bytes``: request bytes being received at once over all
      connections; a message that would pass it waits for none, it is refused.
    - ``max_tensor_bytes``: one tensor, received or computed.
    - ``context_memory_bytes``: the live tensors of one context.
    - ``memory_bytes``: the live tensors of every context together.
    - ``max_contexts``: live contexts.
    - ``max_queued_requests``: Enqueue requests an async context buffers before
      Enqueue waits (backpressure, not an error).
    - ``max_function_nodes``: nodes of one registered function, its library included.
    - ``max_function_depth``: how deep function calls nest (at most ``MAX_DEPTH``).
    - ``max_string_bytes``: one element of a string tensor.
    - ``recv_timeout_secs``: how long a RecvTensor waits for its ``_Send``.
    """

    max_message_bytes: int = 2**31 - 1
    max_receiving_bytes: int = field(default_factory=_share_of_memory)
    max_tensor_bytes: int = field(default_factory=_share_of_memory)
    context_memory_bytes: int = field(default_factory=_share_of_memory)
    memory_bytes: int = field(default_factory=_share_of_memory)
    max_contexts: int = 10_000
    max_queued_requests: int = 1024
    max_function_nodes: int = 1_000_000
    max_function_depth: int = MAX_DEPTH
    max_string_bytes: int = 2**31 - 1
    recv_timeout_secs: int = 3600

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"limit {name} must be a positive integer, got {value!r}")
        if self.max_function_depth > MAX_DEPTH:
            raise ValueError(
                f"limit max_function_depth may be at most {MAX_DEPTH} (deeper calls would "
                f"reach Python's recursion limit), got {self.max_function_depth}"
            )
