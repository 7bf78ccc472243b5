"""The worker's ``grpc.health.v1.Health``: what load balancers, Kubernetes and
``python -m eager_async health`` ask before they send work.

Check and Watch answer for ``""`` (the worker as a whole) and for each service it
serves (``SERVICES``); any other name is NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch).
Every name is UNKNOWN until the worker listens, SERVING while it serves, and NOT_SERVING
from the moment it begins to shut down. A Watch open then receives NOT_SERVING, and its
stream ends with UNAVAILABLE once the worker stops serving RPCs. The service needs no
token (``security``), so that probes carry none.

>>> health = WorkerHealth()                       # doctest: +SKIP
>>> grpclib.server.Server([..., health])          # doctest: +SKIP
>>> health.set_serving(True)                      # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpclib.client
import grpclib.const
import grpclib.server
from google.protobuf.message import DecodeError
from grpclib.exceptions import GRPCError
from grpclib.health.check import ServiceStatus
from grpclib.health.service import Health
from grpclib.health.v1.health_grpc import HealthStub
from grpclib.health.v1.health_pb2 import HealthCheckRequest, HealthCheckResponse

__all__ = ["SERVICES", "WorkerHealth", "check_health"]

SERVICES = ("tensorflow.eager.EagerService", "tensorflow.WorkerService")
"""The services whose health a worker reports by name (besides ``""``, the worker)."""

_Stream = grpclib.server.Stream[HealthCheckRequest, HealthCheckResponse]


class _Named:
    """A service as grpclib's ``Health`` keys its checks: by the name its mapping gives."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __mapping__(self) -> dict[str, Any]:
        return {f"/{self._name}/": None}


class _CheckedHealthRequest:
    """grpclib's health request type, whose corrupt bytes are INVALID_ARGUMENT (grpclib
    would answer UNKNOWN)."""

    @staticmethod
    def FromString(data: bytes) -> HealthCheckRequest:  # the protobuf method grpclib calls
        """The request ``data`` holds."""
        try:
            request: HealthCheckRequest = HealthCheckRequest.FromString(data)
        except DecodeError as error:
            raise GRPCError(
                grpclib.const.Status.INVALID_ARGUMENT,
                f"Health: the request is not a valid HealthCheckRequest ({error})",
            ) from None
        return request


class WorkerHealth(Health):
    """grpclib's ``grpc.health.v1.Health`` over one status shared by the worker and each
    of ``SERVICES`` (they start and stop together); its requests are checked (a corrupt
    one is INVALID_ARGUMENT).

    >>> health = WorkerHealth()
    >>> health.set_serving(True)
    """

    def __init__(self) -> None:
        self._serving = ServiceStatus()
        super().__init__({_Named(name): [self._serving] for name in SERVICES})

    def set_serving(self, serving: bool) -> None:
        """SERVING (True) or NOT_SERVING (False) for every name, told to every Watch;
        the worker sets False as it begins to shut down."""
        self._serving.set(serving)

    async def Watch(self, stream: _Stream) -> None:
        """grpclib's Watch, ended with UNAVAILABLE when the worker stops serving RPCs."""
        try:
            await super().Watch(stream)
        except asyncio.CancelledError:
            if self._serving.__status__() is not False:
                raise  # the watcher went away
            # The server cancels every running RPC as it closes, maybe before this stream
            # had its turn to send NOT_SERVING: send it (again, at worst), then the reason.
            await stream.send_message(
                HealthCheckResponse(status=HealthCheckResponse.NOT_SERVING)
            )
            raise GRPCError(
                grpclib.const.Status.UNAVAILABLE, "the worker is shutting down"
            ) from None

    def __mapping__(self) -> dict[str, grpclib.const.Handler]:
        return {
            path: handler._replace(request_type=_CheckedHealthRequest)
            for path, handler in super().__mapping__().items()
        }


async def check_health(host: str, port: int, service: str = "", timeout: float = 5.0) -> str:
    """The status a worker's ``Health/Check`` gives ``service`` (``"SERVING"``,
    ``"NOT_SERVING"``, ...), as ``python -m eager_async health`` prints it. Raises
    ``GRPCError`` (NOT_FOUND: an unknown service), ``OSError`` (nothing listens there)
    or ``TimeoutError`` (no answer within ``timeout`` seconds).

    >>> await check_health("127.0.0.1", 50051)      # doctest: +SKIP
    'SERVING'
    """
    channel = grpclib.client.Channel(host, port)
    try:
        async with asyncio.timeout(timeout):
            reply = await HealthStub(channel).Check(HealthCheckRequest(service=service))
    finally:
        channel.close()
    name: str = HealthCheckResponse.ServingStatus.Name(reply.status)
    return name
