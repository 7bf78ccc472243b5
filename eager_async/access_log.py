"""The access log: one INFO line per RPC on the logger ``eager_async.access``.

A line says the method, the context its request named (when it names one), the queue
items of an Enqueue, the gRPC status, the microseconds from headers received to status
sent, the bytes in and out, and the client's address:

    Enqueue OK 1234us context=42 items=1000 in=52011 out=9005 peer=127.0.0.1:50514

The same values are the line's fields in the ``json`` log format (``log_format``):
``method``, ``service``, ``status``, ``code``, ``micros``, ``context_id``, ``items``,
``bytes_received``, ``bytes_sent``, ``peer``.

>>> CallWatcher([AccessLog()]).install(server)   # doctest: +SKIP
"""

from __future__ import annotations

import logging

from grpclib.const import Status

from .calls import Call

__all__ = ["ACCESS_LOGGER", "AccessLog"]

ACCESS_LOGGER = "eager_async.access"
"""The name of the logger the access log writes to."""


class AccessLog:
    """A ``CallObserver`` logging each finished RPC (see the module docstring); nothing
    is built when the logger is below INFO.

    >>> AccessLog().call_finished(call)   # doctest: +SKIP
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.logger = logger or logging.getLogger(ACCESS_LOGGER)

    def batch_answered(self, call: Call, items: int, seconds: float) -> None:
        """Nothing: the access log has a line per RPC, not per request."""

    def call_finished(self, call: Call) -> None:
        """Log ``call``'s line."""
        if not self.logger.isEnabledFor(logging.INFO):
            return
        status = call.status or Status.UNKNOWN
        micros = round(call.seconds * 1e6)
        named = ""
        if call.context_id is not None:
            named += f" context={call.context_id}"
        if call.items is not None:
            named += f" items={call.items}"
        received, sent, peer = call.bytes_received, call.bytes_sent, call.peer
        self.logger.info(
            "%s %s %dus%s in=%d out=%d peer=%s",
            call.method, status.name, micros, named, received, sent, peer,
            extra={
                "method": call.method,
                "service": call.service,
                "status": status.name,
                "code": status.value,
                "micros": micros,
                "context_id": call.context_id,
                "items": call.items,
                "bytes_received": received,
                "bytes_sent": sent,
                "peer": peer,
            },
        )  # fmt: skip
