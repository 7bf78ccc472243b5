"""The exit statuses of ``python -m eager_async``, one per kind of failure, so that a
supervisor (systemd, Kubernetes, a script) can tell a typo from a taken port.

Every failure is one line on stderr, never a traceback.

>>> ExitStatus.CANNOT_LISTEN
<ExitStatus.CANNOT_LISTEN: 3>
"""

from __future__ import annotations

import enum

__all__ = ["ExitStatus"]


class ExitStatus(enum.IntEnum):
    """Why ``python -m eager_async`` exited.

    >>> int(ExitStatus.USAGE)
    2
    """

    OK = 0
    """Done: a worker stopped by SIGINT or SIGTERM, or ``health`` found it SERVING."""
    FAILED = 1
    """``health``: not SERVING, unknown, or unreachable; ``cluster``: a task exited."""
    USAGE = 2
    """A bad flag or value, an unusable TLS or token file (argparse's status)."""
    CANNOT_LISTEN = 3
    """``serve`` could not bind its address (or its metrics endpoint's): the port is
    taken, not this host's, or below 1024 without the privilege."""
