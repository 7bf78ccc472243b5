"""What the client raises when a call to a worker fails: the class of ``eager_async.errors``
for the status the worker answered, translated here and nowhere else.

The errors raised are also ``grpclib.exceptions.GRPCError`` instances carrying the same
status (``.status``), so code written against the raw stub keeps working:

>>> error = remote_error(3, "AddV2 (op id 4): Incompatible shapes")
>>> type(error).__name__, error.code.name, error.status.name
('InvalidArgumentError', 'INVALID_ARGUMENT', 'INVALID_ARGUMENT')

A call that outlives its ``timeout`` is a ``DeadlineExceededError``; a worker that cannot
be reached (refused, reset, a TLS handshake that fails) an ``UnavailableError``.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from typing import Any, cast

from grpclib.const import Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from .errors import EagerError, StatusCode, error_for_status

__all__ = ["failure", "remote_error", "translated"]

_WITH_STATUS: dict[type[EagerError], type[EagerError]] = {}


def _init(self: Any, message: str, status: Status) -> None:
    Exception.__init__(self, message)
    self.message = message
    self.status = status
    self.details = None


def _with_status(kind: type[EagerError]) -> type[EagerError]:
    """``kind`` that is also a ``GRPCError``: named, and shown, as ``kind`` itself."""
    both = _WITH_STATUS.get(kind)
    if both is None:
        both = cast(type[EagerError], type(kind.__name__, (kind, GRPCError), {
            "__module__": kind.__module__, "__qualname__": kind.__qualname__,
            "__doc__": kind.__doc__, "__init__": _init,
        }))  # fmt: skip
        _WITH_STATUS[kind] = both
    return both


def remote_error(code: StatusCode | int, message: str) -> EagerError:
    """The error to raise for a worker's answer of status ``code`` with ``message``."""
    plain = error_for_status(code, message)
    kind = _with_status(type(plain))
    error = kind.__new__(kind)
    _init(error, message, Status(int(code)))
    return error


def failure(what: str, error: BaseException, timeout: float | None = None) -> EagerError | None:
    """``error``, raised by a call ``what`` (an RPC's name), as the error to raise: a
    worker's status as the class of that status, a deadline (``timeout`` seconds) as
    DEADLINE_EXCEEDED, a connection that failed as UNAVAILABLE; None for anything else
    (a bug, not the call's outcome)."""
    if isinstance(error, EagerError):
        return error
    if isinstance(error, GRPCError):
        return remote_error(error.status.value, error.message or error.status.name)
    if isinstance(error, TimeoutError):  # grpclib's deadline; an OSError, so first
        return remote_error(
            StatusCode.DEADLINE_EXCEEDED,
            f"{what}: no answer within the timeout of {timeout} s; the worker may still be "
            "running it (pass a larger timeout=, or none)",
        )
    if isinstance(error, StreamTerminatedError | ssl.SSLError | OSError | ProtocolError):
        return remote_error(
            StatusCode.UNAVAILABLE,
            f"{what}: the worker cannot be reached ({type(error).__name__}: {error}); check "
            "its address, that it runs, and its TLS settings",
        )
    return None


@contextlib.contextmanager
def translated(what: str, timeout: float | None = None) -> Iterator[None]:
    """Raise what a call ``what`` fails with as ``failure`` words it."""
    try:
        yield
    except Exception as error:
        translation = failure(what, error, timeout)
        if translation is None or translation is error:
            raise
        raise translation from error
