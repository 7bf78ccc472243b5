"""Custom training loops on the worker: a GradientTape step applied by Keras optimizers
(SGD, SGD with momentum, Adam, RMSprop, Adagrad) and by ``tf.compat.v1.train`` optimizers
(GradientDescent, Momentum, Adam), eagerly and in a tf.function.

    .venv-tf/bin/python tests/interop/programs/custom_loop.py HOST:PORT

Each case trains a small two-layer regression model for 20 steps from fixed weights and
returns the loss per step, the final weights and the optimizer's slot variables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from _common import Session, main

RTOL, ATOL = 1e-4, 1e-5
STEPS = 20

Optimizer = Any  # a Keras optimizer or a tf.compat.v1.train.Optimizer


def problem() -> tuple[np.ndarray, np.ndarray]:
    """32 examples of a noisy linear target."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5], [3.0]], np.float32) + 0.1).astype(np.float32)
    return x, y


def weights() -> list[tf.Variable]:
    """A 4-8-1 model's variables from fixed values, on the current device."""
    rng = np.random.default_rng(9)
    return [tf.Variable((rng.standard_normal(shape) * 0.4).astype(np.float32), name=name)
            for name, shape in [("w1", (4, 8)), ("b1", (8,)), ("w2", (8, 1)), ("b2", (1,))]]


def loss_of(variables: list[tf.Variable], x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """Mean squared error of the tanh MLP."""
    w1, b1, w2, b2 = variables
    prediction = tf.matmul(tf.tanh(tf.matmul(x, w1) + b1), w2) + b2
    return tf.reduce_mean(tf.square(prediction - y))


def keras_loop(make: Callable[[], Optimizer], compiled: bool) -> Callable[[], object]:
    """A case: tape, ``optimizer.apply_gradients``, ``STEPS`` times."""
    def case() -> object:
        x, y = (tf.constant(array) for array in problem())
        variables = weights()
        optimizer = make()

        def step() -> tf.Tensor:
            with tf.GradientTape() as tape:
                loss = loss_of(variables, x, y)
            grads = tape.gradient(loss, variables)
            optimizer.apply_gradients(zip(grads, variables, strict=True))
            return loss

        run = tf.function(step) if compiled else step
        losses = [run() for _ in range(STEPS)]
        return {"loss": tf.stack(losses), "weights": variables,
                "slots": [v.value for v in optimizer.variables]}

    return case


def v1_loop(make: Callable[[], Optimizer], compiled: bool) -> Callable[[], object]:
    """A case: ``tf.compat.v1.train`` optimizer ``minimize`` (eager) or
    ``compute_gradients`` + ``apply_gradients`` (in a tf.function)."""
    def case() -> object:
        x, y = (tf.constant(array) for array in problem())
        variables = weights()
        optimizer = make()
        global_step = tf.Variable(0, dtype=tf.int64, trainable=False)

        def eager_step() -> tf.Tensor:
            optimizer.minimize(lambda: loss_of(variables, x, y), var_list=variables,
                               global_step=global_step)
            return loss_of(variables, x, y)

        @tf.function
        def graph_step() -> tf.Tensor:
            pairs = optimizer.compute_gradients(lambda: loss_of(variables, x, y),
                                                var_list=variables)
            optimizer.apply_gradients(pairs, global_step=global_step)
            return loss_of(variables, x, y)

        run = graph_step if compiled else eager_step
        losses = [run() for _ in range(STEPS)]
        slots = [optimizer.get_slot(v, name) for v in variables
                 for name in optimizer.get_slot_names()]
        return {"loss": tf.stack(losses), "weights": variables, "slots": slots,
                "global_step": global_step}

    return case


KERAS: dict[str, Callable[[], Optimizer]] = {
    "SGD": lambda: keras.optimizers.SGD(0.05),
    "SGD momentum nesterov": lambda: keras.optimizers.SGD(0.02, momentum=0.9, nesterov=True),
    "Adam": lambda: keras.optimizers.Adam(0.02),
    "RMSprop": lambda: keras.optimizers.RMSprop(0.01),
    "Adagrad": lambda: keras.optimizers.Adagrad(0.1),
}

V1 = tf.compat.v1.train
COMPAT_V1: dict[str, Callable[[], Optimizer]] = {
    "GradientDescent": lambda: V1.GradientDescentOptimizer(0.05),
    "Momentum": lambda: V1.MomentumOptimizer(0.02, momentum=0.9),
    "Adam": lambda: V1.AdamOptimizer(0.02),
}


def run(session: Session) -> None:
    """Every check of this program."""
    for compiled in (False, True):
        mode = "tf.function" if compiled else "eager"
        for name, make in KERAS.items():
            session.compare(f"keras {name} ({mode})", keras_loop(make, compiled),
                            rtol=RTOL, atol=ATOL)
        for name, make in COMPAT_V1.items():
            session.compare(f"tf.compat.v1.train {name} ({mode})", v1_loop(make, compiled),
                            rtol=RTOL, atol=ATOL)


if __name__ == "__main__":
    main(run)
