"""Channels to the other tasks of a cluster, and the one call a worker makes to them:
``WorkerService/RecvTensor``, which fetches a tensor another task's ``_Send`` left in its
rendezvous (a client's local task, or another worker).

One grpclib channel per address, opened on first use and kept until ``close()``. Kernels
run in worker threads; ``recv_tensor_blocking`` lets one wait for a peer's tensor while
the event loop keeps serving.

>>> peers = Peers(loop)                                            # doctest: +SKIP
>>> peers.recv_tensor_blocking("localhost:2222", step_id, key)     # doctest: +SKIP (a thread)
array([1., 2.], dtype=float32)
"""

from __future__ import annotations

import asyncio
import concurrent.futures

import numpy as np
from grpclib.client import Channel
from grpclib.exceptions import GRPCError, StreamTerminatedError

from ._proto import tensorflow as tf
from .errors import CancelledError, PeerError, UnavailableError, UnimplementedError
from .tensors import decode_tensor

__all__ = ["Peers"]

_MAX_MESSAGE = 2**31 - 1  # tensors of any size, as TF's own channels allow


class Peers:
    """The channels of one worker process to its peers."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._channels: dict[str, Channel] = {}
        self._closed = False

    def _stub(self, address: str) -> tf.WorkerServiceStub:
        channel = self._channels.get(address)
        if channel is None:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit():
                raise UnavailableError(f"Peer address '{address}' is not host:port")
            channel = Channel(host, int(port))
            self._channels[address] = channel
        return tf.WorkerServiceStub(channel)

    async def recv_tensor(self, address: str, step_id: int, key: str) -> np.ndarray:
        """The tensor the task at ``address`` sent under (``step_id``, ``key``)."""
        if self._closed:
            raise CancelledError("the worker is shutting down")
        request = tf.RecvTensorRequest(step_id=_signed(step_id), rendezvous_key=key)
        try:
            reply = await self._stub(address).recv_tensor(request)
        except GRPCError as error:
            raise PeerError(
                error.status.value, f"RecvTensor from {address} for '{key}': {error.message}"
            ) from None
        except (OSError, StreamTerminatedError) as error:
            raise UnavailableError(
                f"RecvTensor from {address} for '{key}': the task cannot be reached ({error})"
            ) from None
        if reply.is_dead:
            raise UnimplementedError(
                f"RecvTensor from {address} for '{key}' returned a dead tensor (a branch of "
                "TF1-style control flow not taken), which eager_async does not support"
            )
        if reply.tensor is None:
            raise UnavailableError(f"RecvTensor from {address} for '{key}' carried no tensor")
        return decode_tensor(reply.tensor)

    def recv_tensor_blocking(self, address: str, step_id: int, key: str) -> np.ndarray:
        """``recv_tensor`` from a kernel thread: waits there while the loop serves."""
        future = asyncio.run_coroutine_threadsafe(
            self.recv_tensor(address, step_id, key), self._loop
        )
        try:
            return future.result()
        except concurrent.futures.CancelledError:
            raise CancelledError(f"RecvTensor from {address} for '{key}' was cancelled") from None

    def close(self) -> None:
        """Close every channel; calls in flight fail."""
        self._closed = True
        for channel in self._channels.values():
            channel.close()
        self._channels.clear()


def _signed(step_id: int) -> int:
    """A step id as the int64 the wire carries (contexts' ids are unsigned)."""
    step_id &= (1 << 64) - 1
    return step_id - (1 << 64) if step_id >= 1 << 63 else step_id
