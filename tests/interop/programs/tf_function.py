"""tf.function on the worker: control flow, nested functions, captured variables, asserts.

    .venv-tf/bin/python tests/interop/programs/tf_function.py HOST:PORT

Every case defines its functions afresh, so each device traces its own graph and the
worker is sent the whole function (registered, then called as one op).
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf
from _common import Session, main


def cond_case() -> object:
    """tf.cond on a tensor predicate, both branches, and AutoGraph's ``if``."""
    @tf.function
    def pick(x: tf.Tensor) -> tf.Tensor:
        return tf.cond(tf.reduce_sum(x) > 0, lambda: x * 2.0, lambda: tf.abs(x) + 1.0)

    @tf.function
    def autograph_if(x: tf.Tensor) -> tf.Tensor:
        if tf.reduce_max(x) > 2.0:
            y = tf.square(x)
            y -= 1.0
        else:
            y = -x
        return y

    positive, negative = tf.constant([1.0, 2.0]), tf.constant([-3.0, 1.0])
    return [pick(positive), pick(negative), autograph_if(positive * 2.0),
            autograph_if(positive)]


def while_case() -> object:
    """tf.while_loop, AutoGraph ``while``/``for`` over tf.range, and a TensorArray."""
    @tf.function
    def fibonacci(n: tf.Tensor) -> tf.Tensor:
        _, a, _ = tf.while_loop(lambda i, a, b: i < n, lambda i, a, b: (i + 1, b, a + b),
                                (tf.constant(0), tf.constant(0, tf.int64),
                                 tf.constant(1, tf.int64)))
        return a

    @tf.function
    def collatz_steps(x: tf.Tensor) -> tf.Tensor:
        steps = tf.constant(0)
        while x != 1:
            x = tf.where(x % 2 == 0, x // 2, 3 * x + 1)
            steps += 1
        return steps

    @tf.function
    def squares(n: tf.Tensor) -> tf.Tensor:
        out = tf.TensorArray(tf.float32, size=n)
        for i in tf.range(n):
            out = out.write(i, tf.cast(i * i, tf.float32))
        return out.stack()

    return [fibonacci(tf.constant(50)), collatz_steps(tf.constant(27)), squares(tf.constant(6))]


def nested_case() -> object:
    """tf.functions calling tf.functions, two levels deep, with several outputs."""
    @tf.function
    def dense(x: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
        return tf.nn.relu(tf.matmul(x, w))

    @tf.function
    def block(x: tf.Tensor, w: tf.Tensor) -> tf.Tensor:
        return dense(dense(x, w), w) + x

    @tf.function
    def model(x: tf.Tensor) -> dict[str, tf.Tensor]:
        w = tf.reshape(tf.range(9, dtype=tf.float32) / 10.0 - 0.3, [3, 3])
        y = block(block(x, w), tf.transpose(w))
        return {"y": y, "norm": tf.norm(y), "argmax": tf.argmax(y, axis=1)}

    return model(tf.constant([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]]))


def captured_variables_case() -> object:
    """Variables created outside, captured and updated inside a function, many calls."""
    counter = tf.Variable(0, dtype=tf.int64)
    total = tf.Variable(tf.zeros([3]))

    @tf.function
    def step(x: tf.Tensor) -> tf.Tensor:
        counter.assign_add(1)
        total.assign_add(x * tf.cast(counter, tf.float32))
        if counter % 2 == 0:
            total.assign(total / 2.0)
        return total.read_value()

    last = None
    for i in range(5):
        last = step(tf.constant([1.0, 2.0, 3.0]) + float(i))
    return [counter, total, last]


def created_inside_case() -> object:
    """A variable created on the first call of a function (the usual tf.Module pattern)."""
    class Scale(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w: tf.Variable | None = None

        @tf.function
        def __call__(self, x: tf.Tensor) -> tf.Tensor:
            if self.w is None:
                self.w = tf.Variable(tf.ones([x.shape[-1]]) * 0.5)
            self.w.assign_add(tf.ones_like(self.w) * 0.25)
            return x * self.w

    scale = Scale()
    first = scale(tf.constant([2.0, 4.0]))
    second = scale(tf.constant([1.0, 1.0]))
    return [first, second, scale.w]


def asserts_case() -> object:
    """tf.debugging asserts that hold, inside a function and eagerly."""
    @tf.function
    def checked(x: tf.Tensor) -> tf.Tensor:
        tf.debugging.assert_positive(x)
        tf.debugging.assert_equal(tf.shape(x), tf.constant([3]))
        tf.debugging.assert_less(x, 10.0)
        tf.debugging.assert_rank(x, 1)
        tf.debugging.assert_all_finite(x, "finite")
        tf.debugging.Assert(tf.reduce_all(x > 0), [x])
        y = tf.debugging.check_numerics(tf.math.log(x), "log")
        return y

    x = tf.constant([1.0, 2.0, 3.0])
    tf.debugging.assert_near(x, x + 1e-7)
    tf.debugging.assert_non_negative(x)
    return checked(x)


def signature_case() -> object:
    """input_signature with a None dimension, retracing, and int/bool arguments."""
    @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32),
                                  tf.TensorSpec([], tf.bool)])
    def flip(x: tf.Tensor, reverse: tf.Tensor) -> tf.Tensor:
        return tf.cond(reverse, lambda: tf.reverse(x, [0]), lambda: x)

    @tf.function
    def power(x: tf.Tensor, n: int) -> tf.Tensor:  # a Python int: one trace per value
        return x ** n

    rows = tf.reshape(tf.range(8, dtype=tf.float32), [4, 2])
    return [flip(rows, tf.constant(True)), flip(rows[:3], tf.constant(False)),
            power(rows, 2), power(rows, 3)]


def functional_case() -> object:
    """tf.map_fn, tf.scan, tf.foldl and tf.switch_case (loops the library builds)."""
    @tf.function
    def run(x: tf.Tensor, branch: tf.Tensor) -> list[tf.Tensor]:
        mapped = tf.map_fn(lambda row: tf.reduce_sum(row * row), x)
        scanned = tf.scan(lambda acc, row: acc + row, x)
        folded = tf.foldl(lambda acc, row: acc * 0.5 + row, x)
        switched = tf.switch_case(branch, [lambda: x[0], lambda: x[1], lambda: -x[2]])
        return [mapped, scanned, folded, switched]

    x = tf.reshape(tf.range(12, dtype=tf.float32), [4, 3])
    return run(x, tf.constant(1)) + run(x, tf.constant(2))


def stateless_random_case() -> object:
    """Stateless random ops and a seeded tf.random.Generator inside a function."""
    generator = tf.random.Generator.from_seed(1234)

    @tf.function
    def draw() -> list[tf.Tensor]:
        return [tf.random.stateless_normal([2, 3], seed=[7, 11]),
                tf.random.stateless_uniform([4], seed=[1, 2], minval=0, maxval=10,
                                            dtype=tf.int32),
                generator.normal([3]),
                generator.uniform([2], maxval=5.0)]

    return draw() + draw()


def eager_and_graph_agree_case() -> object:
    """The same function run eagerly (tf.config.run_functions_eagerly) and as a graph."""
    def body(x: tf.Tensor) -> tf.Tensor:
        for _ in tf.range(3):
            x = tf.nn.softmax(x * 2.0)
        return x

    graph = tf.function(body)
    x = tf.constant([[0.5, 1.5, -1.0]])
    tf.config.run_functions_eagerly(True)
    try:
        eager = tf.function(body)(x)
    finally:
        tf.config.run_functions_eagerly(False)
    return [graph(x), eager]


CASES: dict[str, Callable[[], object]] = {
    "tf.cond, autograph if": cond_case,
    "tf.while_loop, autograph while/for, TensorArray": while_case,
    "nested tf.functions": nested_case,
    "captured variables updated inside": captured_variables_case,
    "variable created on first call (tf.Module)": created_inside_case,
    "tf.debugging asserts that pass": asserts_case,
    "input_signature and retracing": signature_case,
    "map_fn, scan, foldl, switch_case": functional_case,
    "stateless random and tf.random.Generator": stateless_random_case,
    "run_functions_eagerly vs graph": eager_and_graph_agree_case,
}


def run(session: Session) -> None:
    """Every check of this program."""
    for name, case in CASES.items():
        session.compare(name, case)


if __name__ == "__main__":
    main(run)
