"""A real TensorFlow 2.21 eager worker, for side-by-side benchmarks against eager_async.

Runs TensorFlow's in-process gRPC server, by default as job ``worker`` task 0 of a
one-task cluster. TensorFlow is not a dependency of eager_async: install it into its own
venv first, then run this file with that venv's interpreter:

    python3 -m venv .venv-tf && .venv-tf/bin/pip install tensorflow-cpu==2.21.0
    .venv-tf/bin/python benchmarks/tf_worker.py --port 0      # or --port 50061

``--port 0`` picks a free loopback port. Once the server is up it prints exactly one line
to stdout, ``tf worker listening on 127.0.0.1:PORT``, and then serves until SIGTERM or
SIGINT, exiting 0. TensorFlow's own log lines go to stderr. Drive it with
``.venv/bin/python benchmarks/tf_smoke.py 127.0.0.1:PORT``.

A task of a larger cluster (``make interop-cluster``) names its job, index and the whole
ClusterSpec, as ``tf.train.ClusterSpec`` takes it (a list of addresses per job, or a dict
index -> address)::

    .venv-tf/bin/python benchmarks/tf_worker.py --job ps --task 0 \\
        --cluster '{"worker": ["127.0.0.1:2223"], "ps": ["127.0.0.1:2222"]}'

It serves on the port its own entry names; ``--port`` (not 0) binds another port instead
(``ServerDef.port``), for a task whose entry names a proxy in front of it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
from types import FrameType
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def own_address(cluster: dict[str, Any], job: str, task: int) -> str:
    """The address ``cluster`` gives task ``task`` of ``job``; SystemExit if none."""
    tasks = cluster.get(job)
    if isinstance(tasks, list) and 0 <= task < len(tasks):
        return str(tasks[task])
    if isinstance(tasks, dict) and str(task) in {str(key) for key in tasks}:
        return str({str(key): value for key, value in tasks.items()}[str(task)])
    raise SystemExit(f"--cluster names no task {task} of job {job!r}: {json.dumps(cluster)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a TensorFlow 2.21 eager worker.")
    parser.add_argument("--port", type=int, default=0,
                        help="port to serve on; 0 picks one (with --cluster: the port of "
                        "this task's entry)")
    parser.add_argument("--job", default="worker", help="this task's job (default worker)")
    parser.add_argument("--task", type=int, default=0, help="this task's index (default 0)")
    parser.add_argument("--cluster", help="the whole ClusterSpec as JSON, job -> addresses "
                        "(default: this task alone, at localhost:PORT)")
    args = parser.parse_args(argv)

    if args.cluster is None:
        port = args.port or free_port()
        cluster: dict[str, Any] = {args.job: {args.task: f"localhost:{port}"}}
        if (args.job, args.task) == ("worker", 0):  # exactly what it always was
            cluster = {"worker": [f"localhost:{port}"]}
    else:
        cluster = json.loads(args.cluster)
        port = int(own_address(cluster, args.job, args.task).rsplit(":", 1)[1])

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        print(f"tf worker: {signal.Signals(signum).name}, stopping", file=sys.stderr,
              flush=True)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    import tensorflow as tf
    from tensorflow.core.protobuf import tensorflow_server_pb2

    server_def = tensorflow_server_pb2.ServerDef(
        cluster=tf.train.ClusterSpec(cluster).as_cluster_def(), job_name=args.job,
        task_index=args.task, protocol="grpc")
    if args.cluster is not None and args.port and args.port != port:
        server_def.port = port = args.port
    # Kept referenced until os._exit: dropping it would run TF's half-working stop.
    _server = tf.distribute.Server(server_def, start=True)
    print(f"tf worker listening on 127.0.0.1:{port}", flush=True)
    # Timed: the OS may deliver the signal to one of TF's threads, and Python runs the
    # handler only when the main thread next wakes up.
    while not stop.wait(1.0):
        pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # TF's gRPC server has no clean shutdown: skip its teardown


if __name__ == "__main__":
    raise SystemExit(main())
