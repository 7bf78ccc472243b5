"""Three worker tasks and a client: a ring of copies t0 -> t1 -> t2 -> t0 and functions
spanning all three tasks.

    .venv-tf/bin/python tests/interop/cluster_programs/three_tasks.py \\
        --cluster '{"worker": ["H:P0", "H:P1", "H:P2"], "localhost": ["H:PC"]}'

Every case takes the three task devices and is run once with the local CPU for all of
them (the reference) and once on tasks 0, 1 and 2; what both read back must agree. An
8 MiB tensor goes round the ring (``figure ring_8MiB_s``).
"""

from __future__ import annotations

import time

import numpy as np
import tensorflow as tf
from _cluster import Cluster, main, parse_args


def ring_of_copies(d0: str, d1: str, d2: str) -> object:
    """t0 -> t1 -> t2 -> t0, an op on each hop, then back to the client."""
    with tf.device(d0):
        x = tf.reshape(tf.range(12, dtype=tf.float32), [3, 4]) / 3.0
    with tf.device(d1):
        y = x + 1.0
    with tf.device(d2):
        z = tf.matmul(y, y, transpose_a=True)
    with tf.device(d0):
        w = tf.reduce_sum(z, axis=0) - x[0]
    return [x, y, z, w]


def ring_of_variables(d0: str, d1: str, d2: str) -> object:
    """A variable on each task, each assigned from the previous task's, twice round."""
    devices = [d0, d1, d2]
    variables = []
    for index, name in enumerate(devices):
        with tf.device(name):
            variables.append(tf.Variable(tf.fill([4], float(index + 1))))
    for _ in range(2):
        for index, name in enumerate(devices):
            previous = variables[index - 1]
            with tf.device(name):
                variables[index].assign(previous * 1.5 + variables[index])
    return variables


def function_spanning_three(d0: str, d1: str, d2: str) -> object:
    """One tf.function with ops on each of the three tasks, called from the client and
    run on task 2."""
    @tf.function
    def spread(x: tf.Tensor) -> dict[str, tf.Tensor]:
        with tf.device(d0):
            a = tf.sin(x) * 2.0
        with tf.device(d1):
            b = tf.matmul(a, a, transpose_b=True)
        with tf.device(d2):
            c = tf.reduce_sum(b, axis=1) + tf.reduce_max(a)
        with tf.device(d0):
            d = tf.concat([c, tf.reshape(a, [-1])], axis=0)
        return {"a": a, "b": b, "c": c, "d": d}

    x = tf.reshape(tf.range(8, dtype=tf.float32) / 5.0, [2, 4])
    first = spread(x)
    with tf.device(d2):
        second = spread(x + 1.0)
    return [first, second]


def function_with_variables_on_three(d0: str, d1: str, d2: str) -> object:
    """A training step as a tf.function: one layer's variable on each task, gradients and
    updates across all three, run on task 1."""
    variables = []
    for index, (name, shape) in enumerate(zip((d0, d1, d2), ([4, 5], [5, 3], [3, 1]),
                                              strict=True)):
        with tf.device(name):
            variables.append(tf.Variable(tf.random.stateless_normal(shape, seed=[index, 9])))
    x = tf.reshape(tf.range(24, dtype=tf.float32) / 12.0, [6, 4])

    @tf.function
    def step(inputs: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            h = inputs
            for variable, name in zip(variables, (d0, d1, d2), strict=True):
                with tf.device(name):
                    h = tf.tanh(tf.matmul(h, variable))
            loss = tf.reduce_mean(tf.square(h - 0.5))
        for variable, grad in zip(variables, tape.gradient(loss, variables), strict=True):
            variable.assign_sub(0.2 * grad)
        return loss

    with tf.device(d1):
        losses = [step(x) for _ in range(3)]
    return [losses, variables]


def ring_transfer(cluster: Cluster, devices: list[str]) -> None:
    """8 MiB round the ring t0 -> t1 -> t2 -> t0, timed and checksummed."""
    def body() -> tuple[bool, str]:
        size = 2 * 1024 * 1024
        want = tf.reduce_sum(tf.cast(tf.random.stateless_uniform([size], seed=[1, 2]),
                                     tf.float64)).numpy()
        with tf.device(devices[0]):
            t = tf.random.stateless_uniform([size], seed=[1, 2])
            t[:1].numpy()  # made before the clock starts
        started = time.perf_counter()
        for name in [*devices[1:], devices[0]]:
            with tf.device(name):
                t = tf.identity(t)
        with tf.device(devices[0]):
            got = tf.reduce_sum(tf.cast(t, tf.float64)).numpy()
        seconds = time.perf_counter() - started
        cluster.figure("ring_8MiB_s", seconds)
        return bool(np.isclose(got, want, rtol=1e-12)), f"{seconds:.2f} s; sum {got} vs {want}"

    cluster.attempt("ring_8MiB t0->t1->t2->t0", body)


def run(cluster: Cluster) -> None:
    devices = cluster.tasks("worker")
    for case in (ring_of_copies, ring_of_variables, function_spanning_three,
                 function_with_variables_on_three):
        cluster.compare(case.__name__, case, devices, rtol=1e-5, atol=1e-5)
    ring_transfer(cluster, devices)


if __name__ == "__main__":
    main(run, Cluster.connect(parse_args().cluster))
