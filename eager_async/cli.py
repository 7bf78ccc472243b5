"""``python -m eager_async``: the command line, and the only place that picks the event
loop, logging and signal handling."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

from . import bench, health_probe
from .exit_status import ExitStatus
from .limits import Limits
from .local_cluster import LocalCluster, LocalClusterError, Task
from .log_format import LOG_FORMATS, configure_logging
from .metrics import MetricsEndpointError
from .runtime import RuntimeOptions
from .security import Security, read_tokens
from .server import EagerServer

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m eager_async")
    parser.add_argument("--version", action="version", version=f"eager_async {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run an EagerService worker",
        epilog=f"Every option can also come from the environment: {_ENVIRONMENT_PREFIX}"
        "<OPTION>, e.g. EAGER_ASYNC_PORT=50052 or EAGER_ASYNC_MAX_TENSOR_BYTES=2G; "
        "a flag given on the command line wins.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port", type=_port(free=True), default=50051, help="port (0 picks a free one)"
    )
    serve.add_argument("--job", default="worker", help="job name when a client sends none")
    serve.add_argument("--task", type=int, default=0, help="task index when a client sends none")
    _add_worker_options(serve)
    _add_security_options(serve)
    _add_observability_options(serve)
    cluster = commands.add_parser(
        "cluster",
        usage="%(prog)s --workers N [--ps M] [options]",
        help="run N workers (and M parameter servers) on free local ports; "
        "prints the ClusterSpec and TF_CONFIG, stops them all on a signal",
    )
    cluster.add_argument(
        "--workers",
        type=_at_least(1),
        required=True,
        metavar="N",
        help="worker tasks (/job:worker/task:0 ... N-1)",
    )
    cluster.add_argument(
        "--ps",
        type=_at_least(0),
        default=0,
        metavar="M",
        help="parameter-server tasks (/job:ps/...), default none",
    )
    cluster.add_argument(
        "--host", default="127.0.0.1", help="address the tasks bind and the ClusterSpec names"
    )
    cluster.add_argument(
        "--chief-port",
        type=_port(free=False),
        default=None,
        help="the port TF_CONFIG gives the chief, i.e. the tf.distribute "
        "coordinator (default: a free one)",
    )
    cluster.add_argument(
        "--json",
        metavar="PATH",
        type=Path,
        default=None,
        help='also write {"cluster": ..., "tf_config": ...} to PATH',
    )
    cluster.add_argument(
        "--keep-going",
        action="store_true",
        help="when a task exits, log it and keep the others running "
        "(default: stop them all and exit 1)",
    )
    _add_worker_options(cluster)
    bench.add_arguments(
        commands.add_parser(
            "bench", help="measure a worker (ours, started unless --address; --compare another)"
        )
    )
    health_probe.add_command(commands)
    for worker_parser in (serve, cluster):
        _defaults_from_environment(worker_parser)
    args = parser.parse_args(argv)
    if args.command == "health":
        return health_probe.run(args)
    if args.command == "bench":
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        return bench.main(bench.options_from_args(args))

    if args.allow_file_io is not None and not args.allow_file_io.is_dir():
        parser.error(f"--allow-file-io {args.allow_file_io}: not a directory")
    if args.command == "cluster":
        if args.json is not None and not args.json.parent.is_dir():
            parser.error(f"--json {args.json}: {args.json.parent} is not a directory")
        if not isinstance(logging.getLevelName(args.log_level.upper()), int):
            parser.error(f"--log-level {args.log_level}: not a logging level")
        return _run_cluster(args)
    # Checked here rather than by the option's type: a local cluster passes it on to its
    # tasks unchecked, and its tests use a value every task refuses.
    if args.threads is not None and args.threads < 1:
        serve.error(f"--threads {args.threads}: must be at least 1")
    try:
        configure_logging(args.log_level, args.log_format, http2=args.log_http2)
    except ValueError as error:
        parser.error(str(error))
    try:
        limits = _limits(args)
    except ValueError as error:
        parser.error(str(error))
    try:
        security = _security(args)
    except ValueError as error:
        parser.error(str(error))
    options = RuntimeOptions(
        limits=limits, job=args.job, task=args.task, file_root=args.allow_file_io
    )
    if options.file_root is not None:
        logging.getLogger(__name__).info(
            "clients may read and write files under %s (--allow-file-io)", options.file_root
        )
    server = EagerServer(
        args.host, args.port, threads=args.threads, options=options, security=security,
        metrics_port=args.metrics_port, metrics_host=args.metrics_host,
        access_log=args.access_log,
    )  # fmt: skip
    _tune_garbage_collection()
    _favour_the_event_loop()
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve_until_signalled(server))
    except _CannotListenError as error:
        print(f"{parser.prog} serve: error: cannot listen on {args.host}:{args.port}: "
              f"{error}", file=sys.stderr)  # fmt: skip
        return ExitStatus.CANNOT_LISTEN
    except MetricsEndpointError as error:
        print(f"{parser.prog} serve: error: {error}", file=sys.stderr)
        return ExitStatus.CANNOT_LISTEN
    if server.kernels_abandoned:
        # Their threads would keep the interpreter from exiting: leave without them.
        logging.shutdown()
        os._exit(0)
    return 0


def _add_worker_options(parser: argparse.ArgumentParser) -> None:
    # The options of a worker process; `cluster` passes them on to each of its tasks.
    parser.add_argument("--threads", type=int, default=None, help="kernel threads")
    limits = parser.add_argument_group(
        "limits", "what clients may make the worker receive, hold and compute; over a "
        "limit a request gets RESOURCE_EXHAUSTED naming it. Sizes take K, M, G, T "
        "(binary) suffixes; unset ones take the default shown (memory: 3/4 of what the "
        "process may use: the machine's, its ulimit or its cgroup's)",
    )  # fmt: skip
    for name, help_text in _LIMITS.items():
        default = getattr(Limits(), name)
        limits.add_argument(
            "--" + name.replace("_", "-"),
            type=_size,
            default=None,
            metavar="N",
            help=f"{help_text} (default {default})",
        )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING, ...")
    parser.add_argument(
        "--allow-file-io",
        "--allow-io",
        metavar="DIR",
        type=Path,
        default=None,
        help="let clients have the worker read and write files (checkpoints: "
        "SaveV2, RestoreV2) under DIR only; without it, none at all",
    )


_LIMITS = {
    "max_message_bytes": "bytes of one request message, refused before it is read",
    "max_receiving_bytes": "request bytes being received at once, over all connections",
    "max_tensor_bytes": "bytes of one tensor, received or computed",
    "context_memory_bytes": "bytes of the live tensors of one context",
    "memory_bytes": "bytes of the live tensors of all contexts",
    "max_contexts": "live contexts",
    "max_queued_requests": "Enqueue requests an async context buffers before Enqueue waits",
    "max_function_nodes": "nodes of a registered function with its library",
    "max_function_depth": "how deep function calls nest",
    "max_string_bytes": "bytes of one string element",
    "recv_timeout_secs": "seconds a RecvTensor waits for its _Send before DEADLINE_EXCEEDED",
}
"""The ``Limits`` fields ``serve`` takes as flags, with their help."""

_ENVIRONMENT_PREFIX = "EAGER_ASYNC_"

_SUFFIXES = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _size(text: str) -> int:
    """A positive count, ``1G`` style suffixes allowed."""
    scale = _SUFFIXES.get(text[-1:].upper(), 1)
    digits = text[:-1] if scale != 1 else text
    try:
        value = int(digits) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1024, 64M, 2G)") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text!r}")
    return value


def _limits(args: argparse.Namespace) -> Limits:
    given = {name: getattr(args, name) for name in _LIMITS if getattr(args, name) is not None}
    return Limits(**given)


def _defaults_from_environment(parser: argparse.ArgumentParser) -> None:
    """Let ``EAGER_ASYNC_<OPTION>`` (``EAGER_ASYNC_MAX_TENSOR_BYTES=2G``) set any option
    of ``parser``; a flag on the command line still wins. argparse converts and checks
    string defaults like arguments, so a bad value is the same one-line error."""
    for action in parser._actions:  # argparse has no public list of a parser's options
        if not action.option_strings or action.dest == "help":
            continue
        value = os.environ.get(_ENVIRONMENT_PREFIX + action.dest.upper())
        if value is None:
            continue
        if isinstance(action, argparse._StoreTrueAction):
            parser.set_defaults(**{action.dest: value.lower() in ("1", "true", "yes", "on")})
        else:
            parser.set_defaults(**{action.dest: value})


def _add_observability_options(parser: argparse.ArgumentParser) -> None:
    # `serve` only: metrics, and how the log looks (docs/operations-metrics.md).
    group = parser.add_argument_group(
        "metrics and logs", "Prometheus metrics over HTTP, the log's format, the access "
        "log (docs/operations-metrics.md)",
    )  # fmt: skip
    group.add_argument(
        "--metrics-port", metavar="PORT", type=_port(free=True), default=None,
        help="serve Prometheus metrics at http://HOST:PORT/metrics (0: a free port, "
        "logged); default: no metrics",
    )  # fmt: skip
    group.add_argument(
        "--metrics-host", metavar="HOST", default=None,
        help="address the metrics endpoint binds (default: --host)",
    )  # fmt: skip
    group.add_argument(
        "--log-format", metavar="|".join(LOG_FORMATS), type=_log_format, default="text",
        help="text (default), or json: one JSON object per line",
    )  # fmt: skip
    group.add_argument(
        "--access-log", action="store_true",
        help="log an INFO line per RPC on the logger eager_async.access (default: none; "
        "a line costs ~14 us, as much as a tiny op)",
    )  # fmt: skip
    group.add_argument(
        "--log-http2", action="store_true",
        help="let the HTTP/2 layers (grpclib, h2, hpack) log below WARNING too; at "
        "--log-level debug they log every frame",
    )  # fmt: skip




def _log_format(text: str) -> str:
    # A type rather than choices: argparse checks a default (from the environment)
    # against the type, never against choices.
    if text not in LOG_FORMATS:
        raise argparse.ArgumentTypeError(f"not one of {', '.join(LOG_FORMATS)}: {text!r}")
    return text


def _add_security_options(parser: argparse.ArgumentParser) -> None:
    # `serve` only: the tasks of a local `cluster` call each other with no credentials.
    group = parser.add_argument_group(
        "security", "TLS and authentication; without them the worker speaks plaintext and "
        "serves anyone who reaches its port (README: Security)",
    )  # fmt: skip
    group.add_argument(
        "--tls-cert", metavar="FILE", type=Path, default=None,
        help="the worker's certificate chain (PEM); with --tls-key it speaks TLS only",
    )  # fmt: skip
    group.add_argument(
        "--tls-key", metavar="FILE", type=Path, default=None,
        help="the unencrypted private key of --tls-cert (PEM)",
    )  # fmt: skip
    group.add_argument(
        "--tls-client-ca", metavar="FILE", type=Path, default=None,
        help="mutual TLS: clients must present a certificate issued by this CA (PEM)",
    )  # fmt: skip
    group.add_argument(
        "--token-file", metavar="FILE", type=Path, default=None,
        help="every RPC but health checks must carry 'authorization: Bearer <token>' "
        "with a token of FILE (one per line)",
    )  # fmt: skip


def _security(args: argparse.Namespace) -> Security | None:
    """``serve``'s security flags as settings (None when none is given); ValueError with
    a one-line reason naming the flag when they are incomplete or a file is unusable."""
    files = {"--tls-cert": args.tls_cert, "--tls-key": args.tls_key,
             "--tls-client-ca": args.tls_client_ca, "--token-file": args.token_file}  # fmt: skip
    if all(path is None for path in files.values()):
        return None
    for flag, path in files.items():
        if path is not None:
            try:
                path.open("rb").close()
            except OSError as error:
                raise ValueError(f"{flag} {path}: {error.strerror or error}") from None
    try:
        tokens = frozenset() if args.token_file is None else read_tokens(args.token_file)
        security = Security(args.tls_cert, args.tls_key, args.tls_client_ca, tokens)
        security.server_ssl_context()  # the files' contents, checked before serving
    except (OSError, ValueError) as error:
        raise ValueError(str(error)) from None
    return security


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _port(*, free: bool) -> Callable[[str], int]:
    """A TCP port's number; with ``free``, 0 as well (the system picks a free one)."""
    lowest, hint = (0, " (0 picks a free one)") if free else (1, "")

    def parse(text: str) -> int:
        port = int(text)
        if not lowest <= port < 65536:
            raise argparse.ArgumentTypeError(f"not a port: {port}{hint}")
        return port

    parse.__name__ = "port"  # argparse's word for a value int() refuses: "invalid port value"
    return parse


def _run_cluster(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    serve_args = ["--log-level", args.log_level]
    for name in _LIMITS:
        if getattr(args, name) is not None:
            serve_args += ["--" + name.replace("_", "-"), str(getattr(args, name))]
    if args.threads is not None:
        serve_args += ["--threads", str(args.threads)]
    if args.allow_file_io is not None:
        serve_args += ["--allow-file-io", str(args.allow_file_io.resolve())]
    cluster = LocalCluster(
        args.workers,
        args.ps,
        host=args.host,
        chief_port=args.chief_port,
        serve_args=serve_args,
        on_output=_echo,
    )
    # The default loop: a supervisor has too little to do for uvloop to matter.
    with asyncio.Runner() as runner:
        return runner.run(_supervise_until_signalled(cluster, args.json, args.keep_going))


def _echo(task: Task, line: str) -> None:
    print(f"[{task}] {line}", file=sys.stderr, flush=True)


async def _supervise_until_signalled(
    cluster: LocalCluster, json_path: Path | None, keep_going: bool
) -> int:
    log = logging.getLogger(__name__)
    main_task = asyncio.current_task()
    assert main_task is not None
    signalled = False

    def on_signal(signum: signal.Signals) -> None:
        # The first signal stops the cluster gracefully; one more during that makes
        # wait_closed() kill what is left at once.
        nonlocal signalled
        log.info("%s received: stopping the cluster", signum.name)
        signalled = True
        main_task.cancel()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    # The tasks run in their own sessions, so a closed terminal's SIGHUP reaches only us;
    # under nohup it stays ignored.
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
        loop.add_signal_handler(signal.SIGHUP, on_signal, signal.SIGHUP)
    status = 0
    try:
        async with cluster:
            _announce(cluster, json_path)
            status = await _supervise(cluster, keep_going)
    except asyncio.CancelledError:
        if not signalled:
            raise
        log.info("every task has stopped")
    except LocalClusterError as error:
        log.error("%s", error)
        return 1
    return status


def _announce(cluster: LocalCluster, json_path: Path | None) -> None:
    spec, tf_config = cluster.cluster_spec(), cluster.tf_config()
    if json_path is not None:
        # Written whole, then renamed: a script polling for the file never reads half.
        partial = json_path.with_name(json_path.name + ".partial")
        partial.write_text(json.dumps({"cluster": spec, "tf_config": tf_config}) + "\n")
        os.replace(partial, json_path)
    print(json.dumps(spec))
    print(f"export TF_CONFIG={shlex.quote(json.dumps(tf_config))}", flush=True)
    rows = "".join(
        f"\n  {task!s:<10} {cluster.address(task):<22} pid {cluster.pid(task)}"
        for task in cluster.tasks
    )
    print(
        f"eager_async cluster: {len(cluster.tasks)} tasks up (Ctrl-C stops them all){rows}\n"
        "Clients: tf.train.ClusterSpec(<the JSON line>) with "
        "tf.config.experimental_connect_to_cluster, or eval the export line for "
        "tf.distribute (README: A local cluster).",
        file=sys.stderr,
        flush=True,
    )


async def _supervise(cluster: LocalCluster, keep_going: bool) -> int:
    log = logging.getLogger(__name__)
    for _ in cluster.tasks:
        ended = await cluster.next_exit()
        if not keep_going:
            log.error("%s: stopping the cluster", ended)
            return 1
        log.error("%s; the other tasks keep running (--keep-going)", ended)
    log.error("every task has exited")
    return 1


def _tune_garbage_collection() -> None:
    # Every enqueued op allocates a few objects and almost none form cycles; with the
    # default threshold the collector runs every 700 allocations and took about a third
    # of a tiny op's CPU time (benchmarks/). Collect young objects less often, and keep
    # the objects of start-up out of every full collection.
    gc.set_threshold(50_000, 20, 100)
    gc.freeze()


def _favour_the_event_loop() -> None:
    # A kernel thread running Python (a loop, a large request being decoded) keeps the
    # GIL for up to the switch interval each time the event loop asks for it, and one RPC
    # asks several times: at the default 5 ms, every other client waited tens of ms
    # (tests/fuzz's probe). 1 ms costs the kernel threads a few more switches.
    sys.setswitchinterval(0.001)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _serve_until_signalled(server: EagerServer) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await server.start()
    except MetricsEndpointError:
        raise
    except OSError as error:  # the address: bind() said no
        raise _CannotListenError(error.strerror or str(error)) from None
    try:
        await stop.wait()
        logging.getLogger(__name__).info("signal received, shutting down")
    finally:
        server.close()
        await server.wait_closed()


class _CannotListenError(Exception):
    """``serve`` could not bind its address (the reason is the message)."""


def _version() -> str:
    try:
        return metadata.version("eager_async")
    except metadata.PackageNotFoundError:  # run from a checkout that is not installed
        from . import __version__

        return __version__
