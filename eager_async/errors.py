"""The one error tree of eager_async; every error carries the gRPC status it becomes.

    EagerError                      INTERNAL   a bug in eager_async (logged once)
    ├── InvalidArgumentError        INVALID_ARGUMENT   the caller sent something malformed
    ├── NotFoundError               NOT_FOUND          the caller named an op/function we lack
    ├── AbortedError                ABORTED            the caller's view of this worker is stale
    │   └── ContextNotFoundError    ABORTED            the caller's context id is unknown
    ├── AlreadyExistsError          INVALID_ARGUMENT   a context id re-created with an older view
    ├── FailedPreconditionError     FAILED_PRECONDITION the caller used state that is not ready
    ├── CancelledError              CANCELLED          the work was cancelled (context closed)
    ├── OutOfRangeError             OUT_OF_RANGE       the caller read past the end (an iterator)
    ├── ResourceExhaustedError      RESOURCE_EXHAUSTED the caller asked for more than there is
    ├── DeadlineExceededError       DEADLINE_EXCEEDED  what the caller waits for did not come
    ├── PermissionDeniedError       PERMISSION_DENIED  the caller asked for what a worker refuses
    ├── DataLossError               DATA_LOSS          the caller's data cannot be kept whole
    ├── UnavailableError            UNAVAILABLE        a peer task cannot be reached
    ├── UnauthenticatedError        UNAUTHENTICATED    the caller's token was missing or wrong
    ├── UnknownError                UNKNOWN            a worker answered a status it did not explain
    ├── PeerError                   (the peer's)       a peer task answered with a status no
    │                                                  other class carries (ABORTED, ...)
    └── UnimplementedError          UNIMPLEMENTED      the caller asked for something not built

A peer's error keeps its status: ``PeerError.of`` picks the class of that status.
On the client, ``error_for_status`` turns a worker's answer into the class of its status.

Only ``service.py`` turns these into transport statuses; everything else raises them.
"""

from __future__ import annotations

import enum

__all__ = [
    "AbortedError",
    "AlreadyExistsError",
    "CancelledError",
    "ContextNotFoundError",
    "DataLossError",
    "DeadlineExceededError",
    "EagerError",
    "FailedPreconditionError",
    "InvalidArgumentError",
    "NotFoundError",
    "OutOfRangeError",
    "PeerError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "StatusCode",
    "UnauthenticatedError",
    "UnavailableError",
    "UnimplementedError",
    "UnknownError",
    "error_for_status",
]


class StatusCode(enum.IntEnum):
    """gRPC status codes (the numbers are gRPC's), so the runtime needs no transport import."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class EagerError(Exception):
    """Base of every error eager_async raises; used directly it means a bug of ours.

    >>> EagerError("boom").code
    <StatusCode.INTERNAL: 13>
    """

    code: StatusCode = StatusCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgumentError(EagerError):
    """The caller sent a malformed tensor, attr, shape, handle or device."""

    code = StatusCode.INVALID_ARGUMENT


class NotFoundError(EagerError):
    """The caller named an op or function this worker does not have."""

    code = StatusCode.NOT_FOUND


class AbortedError(EagerError):
    """The caller's view of this worker is out of date: it asks for state of an earlier
    incarnation (the worker restarted), as TF answers a restarted task's peers."""

    code = StatusCode.ABORTED


class ContextNotFoundError(AbortedError):
    """The caller used a context id this worker does not know (never created, closed,
    collected after its keep-alive ran out, or the worker restarted)."""


class AlreadyExistsError(EagerError):
    """The caller re-created a context id with a view id older than the live one.

    TensorFlow answers INVALID_ARGUMENT here, so we do too.
    """

    code = StatusCode.INVALID_ARGUMENT


class FailedPreconditionError(EagerError):
    """The caller used state that is not ready (e.g. an uninitialised variable)."""

    code = StatusCode.FAILED_PRECONDITION


class CancelledError(EagerError):
    """The work was dropped before it finished: its context was closed or replaced,
    or the server shut down."""

    code = StatusCode.CANCELLED


class UnimplementedError(EagerError):
    """The caller asked for a feature eager_async does not provide."""

    code = StatusCode.UNIMPLEMENTED


class OutOfRangeError(EagerError):
    """The caller read past the end of something: an exhausted iterator ("End of
    sequence"), as TF answers."""

    code = StatusCode.OUT_OF_RANGE


class ResourceExhaustedError(EagerError):
    """The caller asked for more memory or room than the worker has or allows."""

    code = StatusCode.RESOURCE_EXHAUSTED


class DeadlineExceededError(EagerError):
    """What the caller waits for did not come in time: a RecvTensor whose ``_Send``
    never ran within the worker's ``recv_timeout_secs``."""

    code = StatusCode.DEADLINE_EXCEEDED


class PermissionDeniedError(EagerError):
    """The caller asked the worker to do something it refuses to do for any client
    (write a file on the worker's machine)."""

    code = StatusCode.PERMISSION_DENIED


class DataLossError(EagerError):
    """The caller's data would lose parts: padding a dataset element to a smaller shape,
    which TF answers with DATA_LOSS."""

    code = StatusCode.DATA_LOSS


class UnavailableError(EagerError):
    """A peer task of the cluster cannot be reached (down, or a bad address in the
    client's ServerDef)."""

    code = StatusCode.UNAVAILABLE


class PeerError(EagerError):
    """A peer task answered a call of ours with an error status, which is passed on:
    ``PeerError.of`` gives the error of that status (an ``InvalidArgumentError`` for
    INVALID_ARGUMENT, ...), or a ``PeerError`` subclass carrying a status no other
    class has (ABORTED, DEADLINE_EXCEEDED, UNKNOWN, ...).

    >>> PeerError.of(StatusCode.NOT_FOUND, "no such key").code
    <StatusCode.NOT_FOUND: 5>
    >>> PeerError.of(StatusCode.ABORTED, "restarted").code
    <StatusCode.ABORTED: 10>
    """

    @classmethod
    def of(cls, code: StatusCode | int, message: str) -> EagerError:
        """The error of status ``code`` with ``message``."""
        code = StatusCode(code)
        kind = _BY_CODE.get(code)
        if kind is None:
            kind = type(f"Peer{code.name.title().replace('_', '')}Error", (PeerError,), {
                "code": code, "__doc__": f"A peer task answered {code.name}.",
            })  # fmt: skip
            _BY_CODE[code] = kind
        return kind(message)


class UnauthenticatedError(EagerError):
    """The caller sent no bearer token, or one the worker does not know (a worker started
    with ``--token-file``): pass ``token=`` to ``EagerClient``."""

    code = StatusCode.UNAUTHENTICATED


class UnknownError(EagerError):
    """A worker or the transport answered UNKNOWN: a status nobody explained (usually a
    server that is not eager_async, or a bug on its side)."""

    code = StatusCode.UNKNOWN


def error_for_status(code: StatusCode | int, message: str) -> EagerError:
    """The error of this tree for a gRPC status a worker answered with ``message``: the
    client's one mapping (ABORTED is an ``AbortedError``, DEADLINE_EXCEEDED a
    ``DeadlineExceededError``, INTERNAL a plain ``EagerError``; a status no class
    carries, such as ALREADY_EXISTS, a ``PeerError`` of that status).

    >>> error_for_status(StatusCode.DEADLINE_EXCEEDED, "too slow").code
    <StatusCode.DEADLINE_EXCEEDED: 4>
    >>> type(error_for_status(3, "bad")).__name__
    'InvalidArgumentError'
    """
    code = StatusCode(code)
    if code is StatusCode.OK:
        raise ValueError("status OK is not an error")
    kind = _CLIENT_BY_CODE.get(code) or _BY_CODE.get(code)
    if kind is None:
        return PeerError.of(code, message)
    return kind(message)


_BY_CODE: dict[StatusCode, type[EagerError]] = {
    StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    StatusCode.NOT_FOUND: NotFoundError,
    StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    StatusCode.CANCELLED: CancelledError,
    StatusCode.UNIMPLEMENTED: UnimplementedError,
    StatusCode.OUT_OF_RANGE: OutOfRangeError,
    StatusCode.RESOURCE_EXHAUSTED: ResourceExhaustedError,
    StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    StatusCode.DATA_LOSS: DataLossError,
    StatusCode.UNAVAILABLE: UnavailableError,
}

# What a client reads a worker's status as; beside _BY_CODE, statuses a worker's own
# answer means plainly (a peer's ABORTED, above, is about that peer).
_CLIENT_BY_CODE: dict[StatusCode, type[EagerError]] = {
    StatusCode.ABORTED: AbortedError,
    StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    StatusCode.UNKNOWN: UnknownError,
    StatusCode.INTERNAL: EagerError,
}
