"""``_Send`` and ``_Recv``, the two ends of an edge between tasks of a cluster.

``_Send`` leaves its input in the context's rendezvous under TF's key and the op's step,
and the receiving task's ``WorkerService/RecvTensor`` takes it (a stock TF client reads
values that way; ``eager_async.rendezvous``). ``_Recv`` fetches what the sending device's
task left: through the rendezvous when that is this worker, else by calling that task's
RecvTensor (``eager_async.peers``), as when a client runs part of a function locally and
feeds this worker's part.

>>> rendezvous_key(send_device=b"/job:w/task:0/device:CPU:0", send_device_incarnation=1,
...                recv_device=b"/job:c/task:0/device:CPU:0", tensor_name=b"edge_1_x")
'/job:w/task:0/device:CPU:0;0000000000000001;/job:c/task:0/device:CPU:0;edge_1_x;0:0'
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InvalidArgumentError
from .registry import no_outputs, op

__all__ = ["rendezvous_key"]

_U64 = (1 << 64) - 1


def rendezvous_key(
    *, send_device: bytes, send_device_incarnation: int, recv_device: bytes, tensor_name: bytes
) -> str:
    """The key a ``_Send``'s attrs name, as TF's client spells it."""
    try:
        return (
            f"{send_device.decode()};{send_device_incarnation & _U64:016x};"
            f"{recv_device.decode()};{tensor_name.decode()};0:0"
        )
    except UnicodeDecodeError:
        raise InvalidArgumentError(
            "_Send: send_device, recv_device and tensor_name must be UTF-8 strings"
        ) from None



def _recv_shape(*, send_device: bytes, env: Any) -> None:
    env.cluster.address_of(send_device.decode(errors="replace"))  # some task must send it
    return None  # the shape is known once the sender has sent it


@op("_HostSend", shape=no_outputs)  # a device's host-memory tensor; the CPU's is all host
@op("_Send", shape=no_outputs)
def send(
    tensor: np.ndarray, *, tensor_name: bytes, send_device: bytes, send_device_incarnation: int,
    recv_device: bytes, env: Any,
) -> None:  # fmt: skip
    """Leave ``tensor`` in the rendezvous until the client takes it."""
    key = rendezvous_key(
        send_device=send_device,
        send_device_incarnation=send_device_incarnation,
        recv_device=recv_device,
        tensor_name=tensor_name,
    )
    env.rendezvous.put(env.step_id, key, tensor)


@op("_HostRecv", shape=_recv_shape)
@op("_Recv", shape=_recv_shape)
def recv(
    *, tensor_name: bytes, send_device: bytes, send_device_incarnation: int,
    recv_device: bytes, env: Any,
) -> np.ndarray:  # fmt: skip
    """The tensor the send device's task sent under this key and step; waits for it."""
    key = rendezvous_key(
        send_device=send_device,
        send_device_incarnation=send_device_incarnation,
        recv_device=recv_device,
        tensor_name=tensor_name,
    )
    address = env.cluster.address_of(send_device.decode(errors="replace"))
    if address is None:
        value: np.ndarray = env.rendezvous.take_blocking(env.step_id, key)
        return value
    received: np.ndarray = env.peers.recv_tensor_blocking(address, env.step_id, key)
    return received
