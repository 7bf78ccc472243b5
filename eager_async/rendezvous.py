"""The rendezvous through which a stock TF client reads values: a ``_Send`` op leaves its
input under a key, and the client's ``WorkerService/RecvTensor`` call takes it.

The client names the tensor by step id (its context id) and a rendezvous key
``<send_device>;<send incarnation as 16 hex digits>;<recv_device>;<tensor_name>;0:0``.
Whichever comes first, the send or the receive, waits for the other.

>>> rendezvous.put(context_id, key, array)     # doctest: +SKIP (from a _Send, in a kernel thread)
>>> await rendezvous.take(context_id, key)      # doctest: +SKIP (the RecvTensor RPC)
"""

from __future__ import annotations

import asyncio

import numpy as np

from .errors import CancelledError, DeadlineExceededError, EagerError

__all__ = ["Rendezvous"]

_U64 = (1 << 64) - 1


class Rendezvous:
    """Tensors in transit, keyed by (step id, rendezvous key); one consumer each, who
    waits at most ``timeout`` seconds for the value."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float = 3600) -> None:
        self._loop = loop
        self._timeout = timeout
        self._slots: dict[tuple[int, str], asyncio.Future[np.ndarray]] = {}

    @property
    def pending(self) -> int:
        """How many receivers wait for a send."""
        return sum(1 for slot in self._slots.values() if not slot.done())

    def sent(self, step_id: int, key: str) -> bool:
        """Whether a value was sent under ``key`` and not taken yet."""
        slot = self._slots.get((step_id & _U64, key))
        return slot is not None and slot.done() and slot.exception() is None

    def _slot(self, step_id: int, key: str) -> asyncio.Future[np.ndarray]:
        return self._slots.setdefault((step_id & _U64, key), self._loop.create_future())

    def put(self, step_id: int, key: str, value: np.ndarray) -> None:
        """Leave ``value`` for the receiver (thread-safe: kernels call it)."""
        self._loop.call_soon_threadsafe(self._fill, step_id, key, value)

    def _fill(self, step_id: int, key: str, value: np.ndarray) -> None:
        slot = self._slot(step_id, key)
        if not slot.done():
            slot.set_result(value)

    def fail(self, step_id: int, key: str, error: EagerError) -> None:
        """The send under ``key`` will never come: its receiver gets ``error`` instead
        (thread-safe; a value already sent stays)."""
        self._loop.call_soon_threadsafe(self._fail, step_id, key, error)

    def _fail(self, step_id: int, key: str, error: EagerError) -> None:
        slot = self._slot(step_id, key)
        if not slot.done():
            slot.set_exception(error)
            slot.exception()  # retrieved: nobody may ever ask for it

    async def take(self, step_id: int, key: str) -> np.ndarray:
        """The value sent under ``key``, waiting for it if need be."""
        slot = self._slot(step_id, key)
        try:
            async with asyncio.timeout(self._timeout):
                return await asyncio.shield(slot)
        except TimeoutError:
            raise DeadlineExceededError(
                f"nothing was sent under '{key}' (step {step_id & _U64}) within "
                f"{self._timeout:g} s (the worker's recv_timeout_secs)"
            ) from None
        finally:
            # Taken, failed, or the receiver gave up: either way the slot is done with.
            self._slots.pop((step_id & _U64, key), None)

    def take_blocking(self, step_id: int, key: str) -> np.ndarray:
        """``take`` from a kernel thread (a ``_Recv`` of a tensor this worker sends)."""
        return asyncio.run_coroutine_threadsafe(self.take(step_id, key), self._loop).result()

    def abort(self, step_id: int, reason: str) -> None:
        """Fail the receivers of ``step_id`` and drop its unclaimed values."""
        for slot_key in [k for k in self._slots if k[0] == step_id & _U64]:
            slot = self._slots.pop(slot_key)
            if not slot.done():
                slot.set_exception(CancelledError(reason))
