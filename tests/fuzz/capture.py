"""Capture the fuzzer's seed corpus: every request message an unmodified TensorFlow 2.21
client sends to an eager_async worker, method and bytes, through a recording proxy.

    .venv-tf/bin/python tests/fuzz/capture.py [--out tests/fuzz/corpus/tf-2.21-client.jsonl]

It starts ``python -m eager_async serve --port 0`` (the main venv's Python, ``--worker-python``),
a byte-for-byte forwarding proxy in this process (``tests/interop/proxy.py``'s
``Forwarder``, recording each request), then this file's ``client`` program (below) in a
subprocess of the TF venv's Python, pointed at the proxy. The client exercises what a
TF program sends a remote worker: ops on tensors of several dtypes, strings, a failing op,
tf.function with cond/while (functions registered, then called), variables, gradients, a
tf.data pipeline, async execution with its sync points, a function spanning the client
and the worker (RunComponentFunction), a reconnect (a new context on the same worker).

Each request becomes one JSON line ``{"method", "hex", "source"}`` (duplicates dropped,
messages over ``--max-bytes`` left out so the corpus stays small). The bytes are facts
about TF 2.21's client, stored so the repository needs neither TensorFlow nor a capture
to fuzz. Context ids, incarnations and ports in them are those of the capture run; the
fuzzer rewrites context ids to its own before sending.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
from concurrent import futures
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "tests" / "fuzz" / "corpus" / "tf-2.21-client.jsonl"


def capture(out: Path, worker_python: str, max_bytes: int, timeout: float) -> int:
    import grpc

    sys.path.insert(0, str(ROOT / "tests" / "interop"))
    from proxy import MAX_CALLS, UNLIMITED, Forwarder, Recorder

    records: list[tuple[str, bytes]] = []
    lock = threading.Lock()

    class Recording(Forwarder):  # type: ignore[misc]
        def inspect(self, method: str, request: bytes) -> bytes:
            with lock:
                records.append((method, bytes(request)))
            return request

    worker = subprocess.Popen(
        [worker_python, "-m", "eager_async", "serve", "--port", "0"],
        cwd=ROOT, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert worker.stderr is not None
        address = None
        for line in worker.stderr:
            match = re.search(r"listening on (\S+:\d+)", line)
            if match:
                address = match.group(1)
                break
        if address is None:
            print("the worker did not start", file=sys.stderr)
            return 1
        threading.Thread(target=lambda: [None for _ in worker.stderr or ()],
                         daemon=True).start()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=MAX_CALLS),
                             options=UNLIMITED)
        server.add_generic_rpc_handlers([Recording(address, Recorder(False))])
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        try:
            client = subprocess.run([sys.executable, __file__, "client", f"127.0.0.1:{port}"],
                                    env=env, timeout=timeout, check=False)
        finally:
            server.stop(grace=1).wait()
        print(f"client exited {client.returncode}", file=sys.stderr)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    seen: set[tuple[str, bytes]] = set()
    lines = []
    for method, payload in records:
        if (method, payload) in seen or len(payload) > max_bytes:
            continue
        seen.add((method, payload))
        lines.append(json.dumps({"method": method, "hex": payload.hex(),
                                 "source": "TF 2.21 client (tests/fuzz/capture.py)"}))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"{len(lines)} requests ({len(records)} before dedup) -> {out}", file=sys.stderr)
    return 0


def client(address: str) -> int:  # runs in the TF venv, in its own process
    import numpy as np
    import tensorflow as tf

    worker = "/job:worker/replica:0/task:0/device:CPU:0"
    local = "/job:localhost/replica:0/task:0/device:CPU:0"
    failures = 0

    def section(name: str, body: Any) -> None:
        nonlocal failures
        try:
            body()
            print(f"ok   {name}", flush=True)
        except Exception as error:  # a failure on eager_async still left its requests
            failures += 1
            print(f"FAIL {name}: {type(error).__name__}: {str(error)[:200]}", flush=True)
            with contextlib.suppress(Exception):
                tf.experimental.async_clear_error()

    def math() -> None:
        with tf.device(worker):
            x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
            y = tf.matmul(x, x) + tf.reduce_sum(x, axis=0)
            z = tf.cast(tf.range(6, dtype=tf.int64), tf.float64) * 0.5
            b = tf.logical_and(x > 1.5, x < 3.5)
            h = tf.constant(np.arange(4, dtype=np.float16)) * 2
            c = tf.complex(x, -x)
            s = tf.strings.join([tf.constant(["a", "", "héllo"]), "x"], separator="-")
            u = tf.concat([tf.zeros([2, 1], tf.uint8), tf.ones([2, 2], tf.uint8)], axis=1)
            t = tf.transpose(tf.reshape(tf.range(24), [2, 3, 4]), [2, 0, 1])
            g = tf.gather(t, [3, 0], axis=0)
        for value in (y, z, b, h, c, s, u, g):
            value.numpy()

    def failing() -> None:
        with tf.device(worker):
            with contextlib.suppress(tf.errors.InvalidArgumentError):
                tf.reshape(tf.range(6), [4, 4]).numpy()
            with contextlib.suppress(tf.errors.InvalidArgumentError):
                (tf.zeros([2, 3]) + tf.zeros([4, 5])).numpy()

    def functions() -> None:
        @tf.function
        def pick(x: Any) -> Any:
            return tf.cond(tf.reduce_sum(x) > 0, lambda: x * 2.0, lambda: tf.abs(x) + 1.0)

        @tf.function
        def fibonacci(n: Any) -> Any:
            _, a, _ = tf.while_loop(lambda i, a, b: i < n, lambda i, a, b: (i + 1, b, a + b),
                                    (tf.constant(0), tf.constant(0, tf.int64),
                                     tf.constant(1, tf.int64)))
            return a

        @tf.function
        def nested(x: Any) -> Any:
            return pick(x) + tf.cast(fibonacci(tf.constant(7)), tf.float32)

        with tf.device(worker):
            pick(tf.constant([1.0, -2.0, 4.0])).numpy()
            fibonacci(tf.constant(10)).numpy()
            nested(tf.constant([-1.0, -2.0])).numpy()

    def variables() -> None:
        with tf.device(worker):
            v = tf.Variable([1.0, 2.0, 3.0])
            w = tf.Variable(tf.zeros([3, 2]))
            v.assign_add([1.0, 1.0, 1.0])
            w.assign(tf.ones([3, 2]))
            with tf.GradientTape() as tape:
                loss = tf.reduce_sum(tf.square(tf.matmul(tf.reshape(v, [1, 3]), w)))
            grads = tape.gradient(loss, [v, w])
            tf.keras.optimizers.SGD(0.1).apply_gradients(zip(grads, [v, w], strict=True))
            v.numpy(), w.numpy()

    def dataset() -> None:
        with tf.device(worker):
            data = tf.data.Dataset.range(10).map(lambda x: x * 2).filter(
                lambda x: x % 3 == 0).batch(2)
            for _ in data:
                pass

    def multi_device() -> None:
        @tf.function
        def across(x: Any) -> Any:
            with tf.device(worker):
                y = tf.square(x) + 1.0
            with tf.device(local):
                z = y * 3.0
            with tf.device(worker):
                return tf.reduce_sum(z)

        across(tf.constant([1.0, 2.0])).numpy()

    def asynchronous() -> None:
        tf.config.experimental.set_synchronous_execution(False)
        try:
            with tf.device(worker):
                x = tf.constant([1.0, 2.0])
                for _ in range(3):
                    x = x * 2 + 1
                with tf.experimental.async_scope():
                    y = tf.reduce_max(x)
                y.numpy()
                with contextlib.suppress(tf.errors.InvalidArgumentError):
                    tf.reshape(tf.range(3), [2, 2]).numpy()
                tf.experimental.async_clear_error()
        finally:
            tf.config.experimental.set_synchronous_execution(True)

    tf.config.experimental_connect_to_host(address, job_name="worker")
    for name, body in [("math", math), ("failing ops", failing), ("functions", functions),
                       ("variables", variables), ("dataset", dataset),
                       ("multi-device function", multi_device),
                       ("async execution", asynchronous)]:
        section(name, body)
    # Connecting again makes a new context on the same worker.
    section("reconnect", lambda: (tf.config.experimental_connect_to_host(
        address, job_name="worker"), math()))
    print(f"{failures} sections failed", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["client"]:
        return client(args[1])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--worker-python", default=str(ROOT / ".venv" / "bin" / "python"))
    parser.add_argument("--max-bytes", type=int, default=32768,
                        help="leave out requests larger than this")
    parser.add_argument("--timeout", type=float, default=300, help="seconds for the client")
    options = parser.parse_args(args)
    return capture(options.out, options.worker_python, options.max_bytes, options.timeout)


if __name__ == "__main__":
    raise SystemExit(main())
