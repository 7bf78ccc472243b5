"""Two worker tasks and a client: tensors, variables, functions, gradients and errors
that cross from one task to the other.

    .venv-tf/bin/python tests/interop/cluster_programs/two_tasks.py \\
        --cluster '{"worker": ["H:P0", "H:P1"], "localhost": ["H:PC"]}'

The client connects with ``tf.config.experimental_connect_to_cluster`` (its job is
``localhost``). Every case takes the two task devices, ``case(d0, d1)``, and is run once
with both the local CPU (the reference) and once on tasks 0 and 1; what both read back
must agree (one case runs with synchronous execution off). Then a function on task 1
that fails (check_numerics on a NaN, a bad reshape in the part on task 0) must raise
InvalidArgumentError and leave the cluster usable, and a 64 MiB float32 tensor is moved
from task 0 to task 1 (``figure transfer_64MiB_s``).
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf
from _cluster import LOCAL, Cluster, main, parse_args

BIG = 16 * 1024 * 1024  # float32 elements: 64 MiB


def cross_task_tensor(d0: str, d1: str) -> object:
    """A tensor made on task 0, used by ops on task 1, and the result used on the client."""
    with tf.device(d0):
        x = tf.range(12, dtype=tf.float32) * 1.5
    with tf.device(d1):
        y = tf.reshape(x, [3, 4]) + tf.constant(2.0)
        m = tf.matmul(y, y, transpose_b=True)
    with tf.device(LOCAL):
        z = tf.reduce_sum(m, axis=1) - 1.0
    return [x, y, m, z]


def cross_task_dtypes(d0: str, d1: str) -> object:
    """Integer, boolean, float64 and string tensors copied from task 0 to task 1."""
    with tf.device(d0):
        ints = tf.range(10, dtype=tf.int64) * 3
        flags = ints % 2 == 0
        doubles = tf.cast(ints, tf.float64) / 7.0
        words = tf.strings.as_string(ints)
    with tf.device(d1):
        return [ints + 1, tf.logical_not(flags), doubles * 2.0,
                tf.strings.join([words, words], separator="-")]


def async_ping_pong(d0: str, d1: str) -> object:
    """A chain of 60 ops alternating between the tasks with synchronous execution off
    (each op's input lives on the other task), read back once at the end."""
    tf.config.experimental.set_synchronous_execution(False)
    try:
        x = tf.constant([1.0, 2.0, 3.0])
        for step in range(60):
            with tf.device(d0 if step % 2 == 0 else d1):
                x = x * 1.01 + 0.5
        value = x.numpy()
    finally:
        tf.config.experimental.set_synchronous_execution(True)
    return value


def variable_across(d0: str, d1: str) -> object:
    """A variable on task 0, read and assign_add'ed from task 1 (eagerly: TF runs the
    resource ops where the variable lives and moves the values)."""
    with tf.device(d0):
        v = tf.Variable([1.0, 2.0, 3.0])
    with tf.device(d1):
        first = tf.identity(v) * 2.0
        v.assign_add(tf.constant([10.0, 20.0, 30.0]))
        v.assign_add(first)
        second = v.read_value() + 1.0
    return [first, second, v]


def variable_in_function_on_task1(d0: str, d1: str) -> object:
    """A tf.function run on task 1 that reads and assign_adds a variable on task 0."""
    with tf.device(d0):
        v = tf.Variable(tf.reshape(tf.range(6, dtype=tf.float32), [2, 3]))

    @tf.function
    def bump(delta: tf.Tensor) -> tf.Tensor:
        v.assign_add(delta)
        return tf.reduce_sum(v.read_value() * 2.0)

    with tf.device(d1):
        total = bump(tf.ones([2, 3]))
        again = bump(tf.fill([2, 3], 0.5))
    return [total, again, v]


def function_on_both_tasks(d0: str, d1: str) -> object:
    """One tf.function whose ops are placed on both tasks (``tf.device`` inside)."""
    @tf.function
    def both(x: tf.Tensor) -> dict[str, tf.Tensor]:
        with tf.device(d0):
            a = tf.matmul(x, x) + 1.0
            s = tf.reduce_sum(a)
        with tf.device(d1):
            b = tf.nn.relu(a - s / 10.0)
            c = tf.concat([b, a], axis=0)
        with tf.device(d0):
            d = tf.reduce_max(c, axis=0)
        return {"a": a, "b": b, "c": c, "d": d}

    x = tf.reshape(tf.range(9, dtype=tf.float32) / 4.0 - 1.0, [3, 3])
    return [both(x), both(x * 2.0)]


def remote_function_inputs(d0: str, d1: str) -> object:
    """A tf.function run on task 1 whose inputs are a tensor and a variable on task 0."""
    with tf.device(d0):
        x = tf.random.stateless_normal([4, 5], seed=[3, 4])
        w = tf.Variable(tf.random.stateless_normal([5, 2], seed=[5, 6]))

    @tf.function
    def layer(inputs: tf.Tensor, weights: tf.Variable) -> tf.Tensor:
        return tf.tanh(tf.matmul(inputs, weights))

    with tf.device(d1):
        first = layer(x, w)
        w.assign_sub(tf.fill([5, 2], 0.25))
        # TF's own workers let the next call's part on task 0 read w before this
        # assignment lands (seen on an all-TF cluster): wait for it.
        w.numpy()
        second = layer(x, w)
    return [first, second]


def gradient_tape_eager(d0: str, d1: str) -> object:
    """A GradientTape over variables on both tasks (ops run eagerly on each)."""
    with tf.device(d0):
        w0 = tf.Variable(tf.random.stateless_normal([4, 3], seed=[1, 1]))
    with tf.device(d1):
        w1 = tf.Variable(tf.random.stateless_normal([3, 2], seed=[2, 2]))
    x = tf.reshape(tf.range(20, dtype=tf.float32) / 10.0, [5, 4])
    with tf.GradientTape() as tape:
        with tf.device(d0):
            h = tf.tanh(tf.matmul(x, w0))
        with tf.device(d1):
            y = tf.matmul(h, w1)
            loss = tf.reduce_mean(tf.square(y - 1.0))
    grads = tape.gradient(loss, [w0, w1])
    return [loss, grads]


def gradient_tape_function(d0: str, d1: str) -> object:
    """Three SGD steps of a tf.function whose forward, backward and updates span both
    tasks (variables on task 0 and task 1)."""
    with tf.device(d0):
        w0 = tf.Variable(tf.random.stateless_normal([4, 3], seed=[1, 1]))
    with tf.device(d1):
        w1 = tf.Variable(tf.random.stateless_normal([3, 2], seed=[2, 2]))
    x = tf.reshape(tf.range(20, dtype=tf.float32) / 10.0, [5, 4])

    @tf.function
    def step(inputs: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            with tf.device(d0):
                h = tf.tanh(tf.matmul(inputs, w0))
            with tf.device(d1):
                loss = tf.reduce_mean(tf.square(tf.matmul(h, w1) - 1.0))
        g0, g1 = tape.gradient(loss, [w0, w1])
        w0.assign_sub(0.1 * g0)
        w1.assign_sub(0.1 * g1)
        return loss

    losses = [step(x) for _ in range(3)]
    return [losses, w0, w1]


def nan_in_function_on_task1(d0: str, d1: str) -> object:
    """check_numerics on a NaN, inside a function run on task 1 with an input on task 0."""
    with tf.device(d0):
        x = tf.constant([1.0, 2.0, 0.0]) / tf.constant([1.0, 1.0, 0.0])  # 0/0: NaN

    @tf.function
    def check(t: tf.Tensor) -> tf.Tensor:
        with tf.device(d0):
            u = t + 1.0
        with tf.device(d1):
            return tf.debugging.check_numerics(u, "the NaN crossed from task 0") * 2.0

    with tf.device(d1):
        return check(x)


def bad_reshape_on_task0_part(d0: str, d1: str) -> object:
    """A bad reshape in the part of a task-1 function that runs on task 0."""
    @tf.function
    def reshape(t: tf.Tensor, shape: tf.Tensor) -> tf.Tensor:
        with tf.device(d0):
            u = tf.reshape(t, shape)
        with tf.device(d1):
            return u * 3.0

    with tf.device(d1):
        return reshape(tf.range(6, dtype=tf.float32), tf.constant([4, 2]))


def transfer(cluster: Cluster, d0: str, d1: str) -> None:
    """64 MiB made on task 0, copied to task 1: timed, checksummed on both sides, and
    checked against the same tensor made locally."""
    def checksum(t: tf.Tensor) -> tf.Tensor:
        wide = tf.cast(t, tf.float64)
        weights = tf.cast(tf.range(tf.size(t)) % 1021, tf.float64)
        return tf.stack([tf.reduce_sum(wide), tf.reduce_sum(wide * weights)])

    def body() -> tuple[bool, str]:
        want = checksum(tf.random.stateless_uniform([BIG], seed=[7, 8])).numpy()
        with tf.device(d0):
            big = tf.random.stateless_uniform([BIG], seed=[7, 8])
            source = checksum(big).numpy()
        started = time.perf_counter()
        with tf.device(d1):
            moved = tf.identity(big)
            tail = moved[-4:]
        tail.numpy()
        seconds = time.perf_counter() - started
        cluster.figure("transfer_64MiB_s", seconds)
        with tf.device(d1):
            arrived = checksum(moved).numpy()
        if not np.array_equal(arrived, source):
            return False, f"checksum on task 1 {arrived} != on task 0 {source}"
        if not np.allclose(source, want, rtol=1e-9):
            return False, f"checksum {source} != the local tensor's {want}"
        return True, f"{seconds:.2f} s, {64 / seconds:.0f} MiB/s"

    cluster.attempt("transfer_64MiB task0->task1", body)


def run(cluster: Cluster) -> None:
    d0, d1 = cluster.tasks("worker")
    cases = [cross_task_tensor, cross_task_dtypes, async_ping_pong, variable_across,
             variable_in_function_on_task1, function_on_both_tasks, remote_function_inputs,
             gradient_tape_eager, gradient_tape_function]
    for case in cases:
        cluster.compare(case.__name__, case, [d0, d1], rtol=1e-5, atol=1e-5)
    for case in (nan_in_function_on_task1, bad_reshape_on_task0_part):
        cluster.raises(case.__name__, case, [d0, d1], tf.errors.InvalidArgumentError)
        for again in (cross_task_tensor, function_on_both_tasks):
            cluster.compare(f"{again.__name__} after {case.__name__}", again, [d0, d1],
                            rtol=1e-5, atol=1e-5)
    transfer(cluster, d0, d1)


if __name__ == "__main__":
    main(run, Cluster.connect(parse_args().cluster))
