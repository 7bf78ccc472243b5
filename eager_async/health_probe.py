"""``python -m eager_async health HOST:PORT``: ask a worker's ``grpc.health.v1.Health``
and exit 0 when it is SERVING, 1 otherwise (a container's HEALTHCHECK, a probe).

``python -m eager_async`` runs it without importing the rest of the command line (the
worker, NumPy, the benchmark), so that a probe every few seconds stays cheap.

>>> main(["127.0.0.1:50051", "--timeout", "2"])   # doctest: +SKIP
SERVING
0
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from grpclib.exceptions import GRPCError, StreamTerminatedError

from .exit_status import ExitStatus
from .health import check_health

__all__ = ["add_command", "main", "run"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``health`` with ``argv`` (its arguments, after the word ``health``)."""
    parser = argparse.ArgumentParser(prog="python -m eager_async")
    add_command(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(["health", *(argv or [])]))


def add_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``health`` command to ``commands`` (a parser's subcommands)."""
    health = commands.add_parser(
        "health",
        help="ask a worker's grpc.health.v1.Health; exit 0 when SERVING, 1 otherwise "
        "(a container's HEALTHCHECK, a probe)",
    )
    health.add_argument("address", metavar="HOST:PORT", type=_host_port)
    health.add_argument(
        "--service", default="", help="a service's name, e.g. tensorflow.eager.EagerService "
        "(default: the worker as a whole)",
    )  # fmt: skip
    health.add_argument(
        "--timeout", type=float, default=5.0, metavar="SECONDS",
        help="how long to wait for the answer (default 5)",
    )  # fmt: skip


def _host_port(text: str) -> tuple[str, int]:
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"not HOST:PORT: {text!r} (e.g. 127.0.0.1:50051)")
    return host.strip("[]") or "127.0.0.1", int(port)


def run(args: argparse.Namespace) -> int:
    """Ask the worker ``args`` names; print its status; the exit status."""
    # Docker reads any status but 0 and 1 as a broken check: every failure here is 1.
    host, port = args.address
    try:
        status = asyncio.run(check_health(host, port, args.service, args.timeout))
    except GRPCError as error:
        status = f"{error.status.name} {error.message or ''}".strip()
    except (OSError, StreamTerminatedError) as error:
        status = f"UNREACHABLE {error}"
    except TimeoutError:
        status = f"UNREACHABLE no answer within {args.timeout:g} s"
    print(status)
    return ExitStatus.OK if status == "SERVING" else ExitStatus.FAILED
