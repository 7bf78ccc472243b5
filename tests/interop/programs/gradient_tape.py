"""tf.GradientTape on the worker: an MLP and a small CNN, eagerly and in a tf.function.

    .venv-tf/bin/python tests/interop/programs/gradient_tape.py HOST:PORT

The weights start from fixed NumPy values (sent to the device), the forward pass runs
under the current device scope, and the case returns the loss and every gradient.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf
from _common import Session, main

# Gradients go through long float32 chains (conv, softmax); the two sides sum in
# different orders.
RTOL, ATOL = 1e-4, 1e-5

Forward = Callable[[dict[str, tf.Variable], tf.Tensor, tf.Tensor], tf.Tensor]


def initial(shape: tuple[int, ...], seed: int, scale: float = 0.3) -> np.ndarray:
    """Fixed float32 weights."""
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)


def mlp_weights() -> dict[str, tf.Variable]:
    """A 6-16-8-3 MLP's variables on the current device."""
    shapes = {"w1": (6, 16), "b1": (16,), "w2": (16, 8), "b2": (8,), "w3": (8, 3), "b3": (3,)}
    return {name: tf.Variable(initial(shape, seed), name=name)
            for seed, (name, shape) in enumerate(shapes.items())}


def mlp_forward(w: dict[str, tf.Variable], x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """relu, tanh, then softmax cross-entropy against one-hot labels."""
    h = tf.nn.relu(tf.matmul(x, w["w1"]) + w["b1"])
    h = tf.tanh(tf.nn.bias_add(tf.matmul(h, w["w2"]), w["b2"]))
    logits = tf.matmul(h, w["w3"]) + w["b3"]
    loss = tf.nn.softmax_cross_entropy_with_logits(labels=tf.one_hot(y, 3), logits=logits)
    return tf.reduce_mean(loss) + 1e-3 * tf.add_n([tf.nn.l2_loss(w["w1"]),
                                                   tf.nn.l2_loss(w["w2"])])


def mlp_data() -> tuple[tf.Tensor, tf.Tensor]:
    """A batch of 10 examples."""
    return tf.constant(initial((10, 6), 100, 1.0)), tf.constant(np.arange(10) % 3)


def cnn_weights() -> dict[str, tf.Variable]:
    """Two conv layers and a dense head for 12x12x2 images."""
    shapes = {"k1": (3, 3, 2, 4), "c1": (4,), "k2": (3, 3, 4, 6), "c2": (6,),
              "dense": (3 * 3 * 6, 5), "bias": (5,)}
    return {name: tf.Variable(initial(shape, 10 + seed), name=name)
            for seed, (name, shape) in enumerate(shapes.items())}


def cnn_forward(w: dict[str, tf.Variable], x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    """conv-bias-relu-maxpool, conv(VALID, strided)-sigmoid, a strided slice, dense, sparse
    softmax cross-entropy."""
    h = tf.nn.conv2d(x, w["k1"], strides=1, padding="SAME")
    h = tf.nn.max_pool2d(tf.nn.relu(tf.nn.bias_add(h, w["c1"])), ksize=2, strides=2,
                         padding="VALID")
    h = tf.sigmoid(tf.nn.conv2d(h, w["k2"], strides=1, padding="SAME") + w["c2"])
    h = h[:, ::2, 1::2, :]  # 6x6 -> 3x3, a strided slice with a gradient
    logits = tf.matmul(tf.reshape(h, [tf.shape(h)[0], -1]), w["dense"]) + w["bias"]
    losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
    return tf.reduce_mean(losses)


def cnn_data() -> tuple[tf.Tensor, tf.Tensor]:
    """A batch of 4 images."""
    return tf.constant(initial((4, 12, 12, 2), 200, 1.0)), tf.constant([0, 3, 4, 1])


def gradients(weights: dict[str, tf.Variable], forward: Forward,
              data: tuple[tf.Tensor, tf.Tensor], compiled: bool) -> object:
    """Loss and gradient of every weight, by a tape run eagerly or in a tf.function."""
    def step(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, list[tf.Tensor]]:
        with tf.GradientTape() as tape:
            loss = forward(weights, x, y)
        return loss, tape.gradient(loss, list(weights.values()))

    loss, grads = (tf.function(step) if compiled else step)(*data)
    return {"loss": loss, **dict(zip(weights, grads, strict=True))}


def tape_features() -> object:
    """Persistent tapes, watched tensors, second derivatives, gather's sparse gradient,
    stop_gradient, and a jacobian."""
    x = tf.constant([0.5, -1.0, 2.0])
    table = tf.Variable(tf.reshape(tf.range(12, dtype=tf.float32), [4, 3]))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            y = tf.reduce_sum(x ** 3 + tf.sin(x))
        dy = inner.gradient(y, x)
        z = tf.reduce_sum(tf.gather(table, [1, 1, 3]) * tf.stop_gradient(table[0]))
        squares = x * x
    sparse = tape.gradient(z, table)
    return {
        "dy": dy,
        "d2y": tape.gradient(dy, x),
        "gather_grad": tf.convert_to_tensor(sparse),
        "jacobian": tape.jacobian(squares, x),
    }


def gradient_case(weights: Callable[[], dict[str, tf.Variable]], forward: Forward,
                  data: Callable[[], tuple[tf.Tensor, tf.Tensor]],
                  compiled: bool) -> Callable[[], object]:
    """A case computing ``gradients`` of fresh weights on fresh data."""
    return lambda: gradients(weights(), forward, data(), compiled)


def run(session: Session) -> None:
    """Every check of this program."""
    for compiled in (False, True):
        mode = "tf.function" if compiled else "eager"
        session.compare(f"MLP gradients ({mode})",
                        gradient_case(mlp_weights, mlp_forward, mlp_data, compiled),
                        rtol=RTOL, atol=ATOL)
        session.compare(f"CNN gradients ({mode})",
                        gradient_case(cnn_weights, cnn_forward, cnn_data, compiled),
                        rtol=RTOL, atol=ATOL)
    session.compare("persistent tape, 2nd order, gather, jacobian", tape_features,
                    rtol=RTOL, atol=ATOL)


if __name__ == "__main__":
    main(run)
